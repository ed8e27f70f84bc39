//! What the sender and the parties do to a document that went out, and what they are told:
//! sending (which starts the workflow's execution), an approver's or recipient's answer
//! (written with a conditional write first, then the waiting task completed), cancelling,
//! reminding; the mails that end a document; and the reconciler that finishes any of these
//! follow-ups a stopped process left in the outbox.

use serde_json::json;

use crate::contract::{self, OPS_PARTY};
use crate::domain::answer::Decision;
use crate::domain::answer::Ending;
use crate::domain::document::{Document, Ids, Phase, Status};
use crate::domain::user::Caller;
use crate::store::outbox::Pending;

use crate::error::{Error, Result};
use crate::ports::{Condition, Query, WorkflowError};
use crate::ratelimit::{self, Limit};
use crate::services::Services;
use crate::store::keys;

/// Reminders a sender may send per document.
const REMIND_PER_DOCUMENT: Limit = Limit {
    name: "remind-document",
    max: 1,
    window_secs: 60 * 60,
};

/// The error a caller gets for a document that ended.
fn closed(doc: &Document) -> Error {
    Error::Gone {
        code: "document_closed",
        message: format!(
            "the document is {}, no longer waiting for answers",
            doc.status.name()
        ),
    }
}

/// Sends a draft and starts its execution (`doc-<id>-<send>`). The document as sent.
pub async fn send(s: &Services, caller: &Caller, id: &str) -> Result<Document> {
    let ids = contract::send(s, caller, id).await?;
    crate::failpoint::failpoint("send.committed_before_start");
    follow_up(s, start(s, &ids).await).await;
    crate::documents::get(s, caller, id).await
}

/// Schedules the reminders before the deadline, starts the send's execution (a running one
/// with the same input is left as it is) and clears its outbox entry.
async fn start(s: &Services, ids: &Ids) -> Result<()> {
    let input = serde_json::to_value(ids).map_err(Error::internal)?;
    let (doc, _) = crate::store::documents::load(s, ids).await?;
    if let Some(deadline) = doc.expires_at {
        crate::reminders::schedule(s, ids, deadline).await?;
    }
    match s.workflow.start(&ids.execution_name(), input).await {
        Ok(_) => {}
        // Ended already, or (impossibly) another input: nothing to start.
        Err(WorkflowError::AlreadyExists) => {
            tracing::warn!(execution = %ids.execution_name(), "execution already exists");
        }
        Err(other) => return Err(other.into()),
    }
    done(s, &Pending::Start { ids: ids.clone() }).await
}

async fn done(s: &Services, pending: &Pending) -> Result<()> {
    s.items.delete(&pending.key(), Condition::None).await?;
    Ok(())
}

/// A party's answer: recorded once, then the party's waiting task completed. A replay (a
/// double click, a retried request) and another answer are 409 `already_answered` — the
/// replay still finishes the delivery its first request may not have —, an answer to a
/// document that ended 410.
pub(crate) async fn answer(
    s: &Services,
    ids: &Ids,
    party: &str,
    decision: Decision,
    reason: Option<String>,
    ip: &str,
) -> Result<()> {
    let recorded = contract::record_answer(s, ids, party, decision, reason, ip).await?;
    if recorded {
        crate::failpoint::failpoint("answer.recorded_before_deliver");
    }
    // Also after a replay: the first request may have stopped before this.
    follow_up(s, deliver(s, ids, party, decision).await).await;
    if recorded {
        Ok(())
    } else {
        Err(Error::conflict(
            "already_answered",
            "this answer was already recorded",
        ))
    }
}

/// Completes the party's waiting task with their recorded answer and clears the outbox
/// entry. Without a token yet (the wait has not recorded it) the entry stays: the wait
/// delivers it when it runs.
pub(crate) async fn deliver(
    s: &Services,
    ids: &Ids,
    party: &str,
    decision: Decision,
) -> Result<()> {
    let Some(token) = crate::store::waits::waiting_token(s, ids, party).await? else {
        return Ok(());
    };
    match s
        .workflow
        .succeed_task(&token, json!({ "decision": decision }))
        .await
    {
        // Gone: delivered before (a replay, the reconciler), or the wait ended otherwise.
        Ok(()) | Err(WorkflowError::TaskGone) => {}
        Err(other) => return Err(other.into()),
    }
    done(
        s,
        &Pending::Answer {
            ids: ids.clone(),
            party_id: party.to_owned(),
            decision,
        },
    )
    .await
}

/// A logged-in approver approves or rejects (with a reason) a document that waits for them.
pub async fn approve(
    s: &Services,
    caller: &Caller,
    id: &str,
    decision: Decision,
    reason: Option<String>,
) -> Result<Document> {
    let (doc, _, party) = crate::documents::as_approver(s, caller, id).await?;
    let ids = doc.current_send();
    if doc.answer_of(ids.send, &party).is_none() {
        if doc.status != Status::AwaitingApproval {
            return Err(closed(&doc));
        }
        if crate::store::waits::waiting_token(s, &ids, &party)
            .await?
            .is_none()
        {
            return Err(Error::conflict(
                "not_your_turn",
                "an earlier approver has not answered yet",
            ));
        }
    }
    answer(s, &ids, &party, decision, reason, &caller.ip.to_string()).await?;
    crate::documents::get(s, caller, id).await
}

/// The sender withdraws a document that is out: it is cancelled at once, and the waiting
/// task fails with `Keiyaku.Cancelled` so the machine tells the parties. Once every
/// recipient agreed the contract stands and cannot be withdrawn.
pub async fn cancel(s: &Services, caller: &Caller, id: &str) -> Result<Document> {
    let (mut doc, item) = crate::documents::load(s, caller, id).await?;
    match doc.status {
        Status::AwaitingApproval | Status::InProgress | Status::SealFailed => {}
        Status::Draft => {
            return Err(Error::conflict(
                "not_sent",
                "a draft is not out; delete it instead",
            ));
        }
        _ => return Err(closed(&doc)),
    }
    let ids = doc.current_send();
    let answers: Vec<Decision> = doc
        .answers
        .iter()
        .filter(|a| a.send == ids.send)
        .map(|a| a.decision)
        .collect();
    if answers
        .iter()
        .any(|d| matches!(d, Decision::Rejected | Decision::Declined))
    {
        return Err(Error::conflict(
            "already_ending",
            "a party has already rejected or declined; the document is ending",
        ));
    }
    if doc.recipients.iter().all(|r| {
        doc.answer_of(ids.send, &r.id)
            .is_some_and(|a| a.decision == Decision::Agreed)
    }) {
        return Err(Error::conflict(
            "already_agreed",
            "every recipient has agreed; the contract stands",
        ));
    }
    doc.status = Status::Cancelled;
    doc.updated_at = s.now();
    doc.ended_at = Some(s.now());
    let pending = Pending::Cancel { ids: ids.clone() };
    crate::store::documents::commit_change_with(
        s,
        caller,
        &doc,
        &item,
        "document.cancelled",
        vec![pending.write()?],
    )
    .await?;
    follow_up(s, fail_waiting(s, &ids).await).await;
    Ok(doc)
}

/// The follow-up of a committed change (starting an execution, completing or failing a
/// task) failed: its outbox entry stays, and the reconciler is scheduled to finish it, so
/// the caller is answered for what was committed.
async fn follow_up(s: &Services, result: Result<()>) {
    if let Err(e) = result {
        tracing::warn!(error = %e, "a follow-up is left in the outbox; the reconciler will finish it");
        crate::reminders::schedule_reconcile(s).await;
    }
}

/// Fails every task the send waits on with `Keiyaku.Cancelled`, then clears the outbox.
async fn fail_waiting(s: &Services, ids: &Ids) -> Result<()> {
    for (_, token) in crate::store::waits::waits(s, ids).await? {
        match s
            .workflow
            .fail_task(
                &token,
                "Keiyaku.Cancelled",
                "the sender cancelled the document",
            )
            .await
        {
            Ok(()) | Err(WorkflowError::TaskGone) => {}
            Err(other) => return Err(other.into()),
        }
    }
    done(s, &Pending::Cancel { ids: ids.clone() }).await
}

/// Asks the party again, marked as a reminder, under `message_id`.
pub(crate) async fn ask_again(
    s: &Services,
    doc: &Document,
    phase: Phase,
    party: &str,
    message_id: &str,
) -> Result<()> {
    let ids = doc.current_send();
    match phase {
        Phase::Approval => ask_approver(s, doc, &ids, party, Some(message_id)).await,
        Phase::Agreement => {
            let recipient = doc
                .recipients
                .iter()
                .find(|r| r.id == party)
                .ok_or_else(|| Error::internal("the current recipient vanished"))?;
            crate::recipients::issue_link(s, doc, &ids, recipient, Some(message_id)).await
        }
    }
}

/// The sender reminds the party the document waits for (at most once an hour per party):
/// the same request again, marked as a reminder.
pub async fn remind(s: &Services, caller: &Caller, id: &str) -> Result<()> {
    let (doc, _) = crate::documents::load(s, caller, id).await?;
    match doc.status {
        Status::AwaitingApproval | Status::InProgress => {}
        Status::Draft => {
            return Err(Error::conflict("not_sent", "a draft waits for nobody"));
        }
        _ => return Err(closed(&doc)),
    }
    let (phase, current) = crate::store::waits::current_party(s, &doc)
        .await?
        .ok_or_else(|| {
            Error::conflict(
                "nobody_waiting",
                "no party is being asked right now (a seal is being applied); try again shortly",
            )
        })?;
    ratelimit::hit(
        &*s.items,
        s.now(),
        REMIND_PER_DOCUMENT,
        &format!("{}#{}", doc.id, current),
    )
    .await?;
    let message_id = format!(
        "remind-{}-{}-{current}-{}@keiyaku",
        doc.id,
        doc.send,
        crate::ids::new_id(s.now())
    );
    ask_again(s, &doc, phase, &current, &message_id).await?;
    let now = s.now();
    s.items
        .transact(vec![
            crate::store::documents::history_event_write(
                now,
                &doc,
                caller.user_id().as_str(),
                "document.reminded",
                &caller.ip.to_string(),
            )?,
            crate::store::audit::audit_write(
                now,
                caller.team(),
                caller.user_id(),
                "document.reminded",
                caller.ip,
            )?,
        ])
        .await?;
    Ok(())
}

/// Mails an approver the request to approve (`reminder`: with this fresh Message-ID).
pub(crate) async fn ask_approver(
    s: &Services,
    doc: &Document,
    ids: &Ids,
    party: &str,
    reminder: Option<&str>,
) -> Result<()> {
    let approver = doc
        .approvers
        .iter()
        .find(|a| a.id == party)
        .ok_or_else(|| Error::internal(format!("no approver {party}")))?;
    let sender = crate::store::users::sender(s, doc).await?;
    // The mail goes to this address alone, so it may greet a registered holder by their own
    // name; anyone else is invited to register with it first.
    let holder = crate::store::users::user_by_email(s, &approver.email)
        .await?
        .map(|(u, _)| u)
        .filter(|u| u.email_verified);
    let greeting = holder
        .as_ref()
        .map_or_else(|| approver_greeting(approver), |u| u.name.clone());
    let first_id = format!("approval-{}-{}-{party}@keiyaku", doc.id, ids.send);
    let mail = crate::mail::approval_request(
        s,
        approver.email.as_str(),
        &greeting,
        holder.is_some(),
        &sender.name,
        &doc.title,
        doc.id.as_str(),
        reminder.unwrap_or(&first_id),
        reminder.is_some(),
    )?;
    s.mailer.send(&mail).await?;
    Ok(())
}

/// How a mail to an approver greets them: the name the sender gave, else their address
/// (the mail goes to that address alone).
fn approver_greeting(a: &crate::domain::party::Approver) -> String {
    a.name.clone().unwrap_or_else(|| a.email.to_string())
}

/// Someone to mail: party id (`sender` for the sender), name, address.
struct Addressee {
    party: String,
    name: String,
    email: String,
}

/// The parties asked in this send (a wait was recorded for them), in order.
async fn asked(s: &Services, doc: &Document, ids: &Ids) -> Result<Vec<Addressee>> {
    let asked: Vec<String> = crate::store::waits::waits(s, ids)
        .await?
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| p != OPS_PARTY)
        .collect();
    let approvers = doc.approvers.iter().map(|a| Addressee {
        party: a.id.clone(),
        name: approver_greeting(a),
        email: a.email.to_string(),
    });
    let recipients = doc.recipients.iter().map(|r| Addressee {
        party: r.id.clone(),
        name: r.name.clone(),
        email: r.email.to_string(),
    });
    Ok(approvers
        .chain(recipients)
        .filter(|a| asked.contains(&a.party))
        .collect())
}

/// Tells everyone concerned how the document ended: the sender (unless they cancelled it)
/// and every party asked so far, except the one who ended it. One mail per party and
/// ending (fixed Message-IDs).
pub(crate) async fn tell_ending(
    s: &Services,
    doc: &Document,
    ids: &Ids,
    ending: Ending,
) -> Result<()> {
    let actor = match ending {
        Ending::Rejected => Some(Decision::Rejected),
        Ending::Declined => Some(Decision::Declined),
        Ending::Cancelled | Ending::Expired => None,
    }
    .and_then(|d| {
        doc.answers
            .iter()
            .find(|a| a.send == ids.send && a.decision == d)
    });
    let by = actor.and_then(|a| {
        doc.approvers
            .iter()
            .map(|p| (&p.id, p.label()))
            .chain(doc.recipients.iter().map(|r| (&r.id, r.name.as_str())))
            .find(|(id, _)| **id == a.party_id)
            .map(|(_, name)| name.to_owned())
    });
    let mut to = asked(s, doc, ids).await?;
    to.retain(|a| actor.is_none_or(|x| x.party_id != a.party));
    if ending != Ending::Cancelled {
        let sender = crate::store::users::sender(s, doc).await?;
        to.insert(
            0,
            Addressee {
                party: "sender".into(),
                name: sender.name,
                email: sender.email.to_string(),
            },
        );
    }
    let word = match ending {
        Ending::Rejected => Status::Rejected,
        Ending::Declined => Status::Declined,
        Ending::Cancelled => Status::Cancelled,
        Ending::Expired => Status::Expired,
    }
    .name();
    for a in to {
        let mail = crate::mail::ending_notice(
            s,
            &a.email,
            &crate::mail::EndingNotice {
                name: &a.name,
                title: &doc.title,
                ending,
                by: by.as_deref(),
                reason: actor.and_then(|x| x.reason.as_deref()),
            },
            &format!("{word}-{}-{}-{}@keiyaku", doc.id, ids.send, a.party),
        )?;
        s.mailer.send(&mail).await?;
    }
    Ok(())
}

/// Mails every party the completion summary with the sealed file (attached when it fits,
/// else a link: a recipient's own link, the app for the others).
pub(crate) async fn tell_completed(s: &Services, doc: &Document, ids: &Ids) -> Result<()> {
    let pdf = bytes::Bytes::from(crate::store::documents::read_current(s, doc).await?);
    let report = crate::verification::report_on_own(s, pdf.clone()).await?;
    let jst_of = |rfc: &str| {
        time::OffsetDateTime::parse(rfc, &time::format_description::well_known::Rfc3339)
            .map(crate::recipients::jst)
            .unwrap_or_else(|_| rfc.to_owned())
    };
    let timestamps: Vec<String> = report
        .signatures
        .iter()
        .filter_map(|sig| {
            let time = sig.timestamp.as_ref()?.time.as_deref()?;
            let what = match sig.kind {
                keiyaku_pdf::verify::Kind::Signature => {
                    sig.reason.clone().unwrap_or_else(|| "署名 / seal".into())
                }
                keiyaku_pdf::verify::Kind::DocumentTimestamp => {
                    "文書タイムスタンプ（長期署名） / document timestamp (B-LTA)".into()
                }
            };
            Some(format!("{what} — {}", jst_of(time)))
        })
        .collect();
    let sender = crate::store::users::sender(s, doc).await?;
    let with_company = |name: &str, company: &Option<String>, department: &Option<String>| {
        let org: Vec<&str> = [company, department]
            .into_iter()
            .filter_map(|x| x.as_deref())
            .collect();
        if org.is_empty() {
            name.to_owned()
        } else {
            format!("{name}（{}）", org.join(" "))
        }
    };
    let mut parties = vec![format!("送信者 / Sender: {}", sender.name)];
    parties.extend(
        doc.approvers
            .iter()
            .map(|a| format!("承認者 / Approver: {}", a.label())),
    );
    parties.extend(doc.recipients.iter().map(|r| {
        format!(
            "受信者 / Recipient: {}",
            with_company(&r.name, &r.company, &r.department)
        )
    }));
    let agreements: Vec<String> = doc
        .recipients
        .iter()
        .filter_map(|r| {
            let a = doc.answer_of(ids.send, &r.id)?;
            Some(format!("{} — {}", r.name, crate::recipients::jst(a.at)))
        })
        .collect();
    let app_link = format!("{}/documents/{}", s.config.public_url, doc.id);
    let mut to: Vec<(Addressee, String)> = vec![(
        Addressee {
            party: "sender".into(),
            name: sender.name.clone(),
            email: sender.email.to_string(),
        },
        app_link.clone(),
    )];
    for a in &doc.approvers {
        to.push((
            Addressee {
                party: a.id.clone(),
                name: approver_greeting(a),
                email: a.email.to_string(),
            },
            app_link.clone(),
        ));
    }
    for r in &doc.recipients {
        let token = contract::link_token(s, ids, &r.id, r.link_generation).await?;
        to.push((
            Addressee {
                party: r.id.clone(),
                name: r.name.clone(),
                email: r.email.to_string(),
            },
            format!("{}/r/#{token}", s.config.public_url),
        ));
    }
    for (a, link) in to {
        let mail = crate::mail::completed(
            s,
            &a.email,
            &crate::mail::Completion {
                name: &a.name,
                title: &doc.title,
                parties: &parties,
                agreements: &agreements,
                timestamps: &timestamps,
                link: &link,
            },
            Some((&doc.filename, &pdf)),
            &format!("completed-{}-{}-{}@keiyaku", doc.id, ids.send, a.party),
        )?;
        s.mailer.send(&mail).await?;
        crate::failpoint::failpoint("completion.mailed_one");
    }
    Ok(())
}

/// What a reconciliation did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reconciled {
    /// Follow-ups finished.
    pub finished: usize,
    /// Follow-ups still left (failed again, or an answer whose wait has not run yet).
    pub left: usize,
}

/// Finishes every follow-up left in the outbox (a process stopped, or a dependency failed,
/// between a committed change and its effect on the workflow). Runs at start and whenever
/// a follow-up failed (through the scheduler); one that fails again stays for the next run.
pub async fn reconcile(s: &Services) -> Result<Reconciled> {
    let mut done = Reconciled::default();
    let mut after = None;
    loop {
        let page = s
            .items
            .query(&Query {
                pk: keys::PENDING.into(),
                sk_prefix: String::new(),
                after: after.clone(),
                descending: false,
                limit: 1000,
            })
            .await?;
        for item in &page.items {
            reconcile_one(s, item, &mut done).await;
        }
        match page.next {
            Some(n) => after = Some(n),
            None => return Ok(done),
        }
    }
}

async fn reconcile_one(s: &Services, item: &crate::ports::Item, done: &mut Reconciled) {
    {
        let pending: Pending = match serde_json::from_value(item.body.clone()) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(key = %item.key.sk, error = %e, "unreadable outbox entry");
                done.left += 1;
                return;
            }
        };
        let result = match &pending {
            Pending::Start { ids } => start(s, ids).await,
            Pending::Answer {
                ids,
                party_id,
                decision,
            } => deliver(s, ids, party_id, *decision).await,
            Pending::Cancel { ids } => fail_waiting(s, ids).await,
        };
        match result {
            Ok(()) => done.finished += 1,
            Err(e) => {
                done.left += 1;
                tracing::warn!(key = %item.key.sk, error = %e, "outbox entry not finished");
            }
        }
    }
}

/// An operator re-drives a parked seal: the parked task completes, so the machine runs the
/// failed step again (which puts the document back where it was).
pub async fn retry_seal(s: &Services, ids: &Ids) -> Result<()> {
    let (doc, _) = crate::store::documents::load(s, ids).await?;
    if doc.status != Status::SealFailed {
        return Err(Error::conflict(
            "not_seal_failed",
            "this document has no failed seal waiting for a retry",
        ));
    }
    let parked = s
        .items
        .get(&crate::store::waits::wait_key(ids, OPS_PARTY))
        .await?
        .filter(|i| i.body["send"] == ids.send)
        .ok_or_else(|| Error::conflict("not_seal_failed", "no parked seal for this send"))?;
    let token = parked.body["task_token"]
        .as_str()
        .ok_or_else(|| Error::internal("a parked seal without a token"))?
        .to_owned();
    // The step that runs again puts the document back where it was (so a stop in between
    // leaves it parked and retryable, never stranded).
    match s
        .workflow
        .succeed_task(&token, json!({ "retry": true }))
        .await
    {
        Ok(()) => Ok(()),
        Err(WorkflowError::TaskGone) => Err(Error::conflict(
            "not_seal_failed",
            "the parked seal is no longer waiting",
        )),
        Err(other) => Err(other.into()),
    }
}
