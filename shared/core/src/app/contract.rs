//! The contract workflow's tasks (`statemachines/contract.asl.json`, handlers named in
//! `statemachines/tasks.json`): the same functions for the AWS task Lambdas and the local
//! executor. Payloads carry ids only (`team_id`, `document_id`, `send`); everything else is
//! read from the document. A party's answer is recorded here with a conditional write
//! before the waiting task is completed.

use serde::{Deserialize, Serialize};

use crate::domain::answer::{Answer, Decision, Ending};
use crate::domain::document::{Document, Status};
use crate::domain::document::{Ids, Phase};
use crate::domain::user::Caller;
use crate::error::{Error, Result};
use crate::ports::{Condition, Item, StoreError, Write};
use crate::services::needs::{
    Authority, Blobs, Cpu, Decrypt, Encrypt, Items, LinkMacs, Mail, Schedule, SealingPorts,
    Settings, Time, Workflows,
};
use crate::store::documents::history_event_write;
use crate::store::keys;
use crate::store::outbox::Pending;

/// What comes next, as `next_step` returns it (all three keys always present).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextStep {
    /// `approval`, `agreement`, `done`, `cancelled` or `expired`.
    pub kind: String,
    /// The party asked next, for `approval` and `agreement`.
    pub party_id: Option<String>,
    /// Seconds left before the document's deadline, for `approval` and `agreement`.
    pub timeout_seconds: Option<i64>,
}

impl NextStep {
    fn ended(kind: &str) -> Self {
        NextStep {
            kind: kind.to_owned(),
            party_id: None,
            timeout_seconds: None,
        }
    }
}

/// `next_step`: the next approver or recipient who has not answered in this send, with the
/// seconds left before the deadline; `done` when all have; `cancelled` or `expired` when
/// the document ended while no task was waiting.
pub async fn next_step(s: &(impl Items + Time), ids: &Ids, phase: Phase) -> Result<NextStep> {
    let (doc, _) = crate::store::documents::load(s, ids).await?;
    if doc.status == Status::Cancelled {
        return Ok(NextStep::ended("cancelled"));
    }
    let now = s.now();
    let left = doc
        .expires_at
        .map(|at| (at - now).whole_seconds())
        .ok_or_else(|| Error::internal("a sent document has no deadline"))?;
    if left < 1 {
        return Ok(NextStep::ended("expired"));
    }
    let (kind, parties): (&str, Vec<&str>) = match phase {
        Phase::Approval => (
            "approval",
            doc.approvers.iter().map(|a| a.id.as_str()).collect(),
        ),
        Phase::Agreement => (
            "agreement",
            doc.recipients.iter().map(|r| r.id.as_str()).collect(),
        ),
    };
    Ok(
        match parties
            .into_iter()
            .find(|p| doc.answer_of(ids.send, p).is_none())
        {
            Some(party) => NextStep {
                kind: kind.to_owned(),
                party_id: Some(party.to_owned()),
                timeout_seconds: Some(left),
            },
            None => NextStep::ended("done"),
        },
    )
}

/// Records a party's answer, once: the same answer again is a replay (`Ok(false)`); another
/// answer is a conflict; an answer to a document that ended is `document_closed`. `Ok(true)`
/// when this call recorded it (the caller then completes the waiting task).
pub async fn record_answer(
    s: &(impl Items + Time),
    ids: &Ids,
    party: &str,
    decision: Decision,
    reason: Option<String>,
    ip: &str,
) -> Result<bool> {
    record_answer_attempt(s, ids, party, decision, reason, ip, 1).await
}

async fn record_answer_attempt(
    s: &(impl Items + Time),
    ids: &Ids,
    party: &str,
    decision: Decision,
    reason: Option<String>,
    ip: &str,
    attempt: usize,
) -> Result<bool> {
    let (mut doc, item) = crate::store::documents::load(s, ids).await?;
    let is_approver = doc.approvers.iter().any(|a| a.id == party);
    let is_recipient = doc.recipients.iter().any(|r| r.id == party);
    let fits = match decision {
        Decision::Approved | Decision::Rejected => is_approver,
        Decision::Agreed | Decision::Declined => is_recipient,
    };
    if !fits {
        return Err(Error::NotFound);
    }
    if let Some(earlier) = doc.answer_of(ids.send, party) {
        return if earlier.decision == decision {
            Ok(false)
        } else {
            Err(Error::conflict(
                "already_answered",
                "this party has already answered otherwise",
            ))
        };
    }
    let expected = match decision {
        Decision::Approved | Decision::Rejected => Status::AwaitingApproval,
        Decision::Agreed | Decision::Declined => Status::InProgress,
    };
    if doc.status != expected {
        return Err(Error::Gone {
            code: "document_closed",
            message: format!(
                "the document is {:?}, no longer waiting for this answer",
                doc.status
            )
            .to_lowercase(),
        });
    }
    let now = s.now();
    if doc.expires_at.is_some_and(|at| at <= now) {
        return Err(Error::Gone {
            code: "document_closed",
            message: "the deadline for answering has passed".into(),
        });
    }
    doc.answers.push(Answer {
        party_id: party.to_owned(),
        send: ids.send,
        decision,
        reason: reason.clone(),
        at: now,
        ip: ip.to_owned(),
    });
    doc.updated_at = now;
    let action = match decision {
        Decision::Approved => "document.approved",
        Decision::Rejected => "document.rejected",
        Decision::Agreed => "document.agreed",
        Decision::Declined => "document.declined",
    };
    let mut updated = item.clone();
    updated.body = serde_json::to_value(&doc).map_err(Error::internal)?;
    updated.version += 1;
    match s
        .items()
        .transact(vec![
            Write::Put {
                item: updated,
                condition: Condition::Version(item.version),
            },
            history_event_write(now, &doc, party, action, ip)?,
            crate::store::audit::outsider_event(
                now,
                &doc.team_id,
                format!(
                    "{}:{}:{party}",
                    if matches!(decision, Decision::Approved | Decision::Rejected) {
                        "approver"
                    } else {
                        "recipient"
                    },
                    doc.id
                ),
                action,
                Some(format!("document:{}", doc.id)),
                ip,
            )?,
            Pending::Answer {
                ids: ids.clone(),
                party_id: party.to_owned(),
                decision,
            }
            .write()?,
        ])
        .await
    {
        Ok(()) => Ok(true),
        // Another request changed the document first (the same party in two tabs, another
        // party's answer, a cancel): read it again and answer as that reading says — a
        // replay, a conflict, or this answer recorded now (with its reason).
        Err(StoreError::ConditionFailed) if attempt < 8 => {
            Box::pin(record_answer_attempt(
                s,
                ids,
                party,
                decision,
                reason,
                ip,
                attempt + 1,
            ))
            .await
        }
        Err(StoreError::ConditionFailed) => Err(Error::Unavailable(
            "the document kept changing while the answer was recorded".into(),
        )),
        Err(other) => Err(other.into()),
    }
}

/// `record_wait`: keeps `task_token` as the party's latest (server-side), then asks the
/// approver (a mail pointing to the app) or mails the recipient their link. One mail per
/// (document, send, party): its Message-ID is fixed, so a retry sends nothing new. A party
/// who already answered (their answer recorded, its delivery cut off) has the task
/// completed here at once. A cancelled document is `Gone` (`cancelled`), which the task
/// reports as `Keiyaku.Cancelled`; past the deadline nobody is asked, and the wait's own
/// timeout (the seconds `next_step` gave) ends it.
pub async fn record_wait(
    s: &(impl Items + Mail + Workflows + Time + Settings + LinkMacs),
    ids: &Ids,
    phase: Phase,
    party: &str,
    task_token: &str,
) -> Result<()> {
    let now = s.now();
    let wait = Item::new(
        crate::store::waits::wait_key(ids, party),
        serde_json::json!({ "send": ids.send, "task_token": task_token, "at": now.unix_timestamp() }),
    );
    s.items().put(wait, Condition::None).await?;
    // Read after the token is stored: a cancel or an answer committed before this read is
    // seen here, and one committed after it finds the stored token — never neither.
    let (doc, _) = crate::store::documents::load(s, ids).await?;
    if doc.status == Status::Cancelled {
        return Err(cancelled());
    }
    if let Some(answer) = doc.answer_of(ids.send, party) {
        return crate::app::followups::deliver(s, ids, party, answer.decision).await;
    }
    if doc.expires_at.is_some_and(|at| at <= now) {
        return Ok(());
    }
    match phase {
        Phase::Approval => crate::app::notify::ask_approver(s, &doc, ids, party, None).await,
        Phase::Agreement => {
            let recipient = doc
                .recipients
                .iter()
                .find(|r| r.id == party)
                .ok_or_else(|| Error::internal(format!("no recipient {party}")))?;
            crate::app::notify::issue_link(s, &doc, ids, recipient, None).await
        }
    }
}

/// A task found the document cancelled: reported as `Keiyaku.Cancelled`.
fn cancelled() -> Error {
    Error::Gone {
        code: "cancelled",
        message: "the sender cancelled the document".into(),
    }
}

/// Sends a draft: it must name at least one recipient; its deadline defaults to
/// [`crate::domain::party::DEFAULT_EXPIRY_DAYS`] ahead; it waits for its approvers, if any, else
/// goes to its recipients. The ids of this send, for the workflow's execution.
pub async fn send(s: &(impl Items + Time), caller: &Caller, id: &str) -> Result<Ids> {
    let (mut doc, item) = crate::app::documents::load(s, caller, id).await?;
    if doc.status != Status::Draft {
        return Err(Error::conflict("not_a_draft", "only a draft can be sent"));
    }
    if doc.recipients.is_empty() {
        return Err(Error::invalid(
            "no_recipients",
            "recipients",
            "name at least one recipient before sending",
        ));
    }
    crate::app::teams::require_approval(s, caller, &doc).await?;
    let now = s.now();
    doc.expires_at = Some(match doc.expires_at {
        Some(at) => crate::domain::party::check_expiry(at, now)?,
        None => now + time::Duration::days(crate::domain::party::DEFAULT_EXPIRY_DAYS),
    });
    doc.send += 1;
    doc.status = if doc.approvers.is_empty() {
        Status::InProgress
    } else {
        Status::AwaitingApproval
    };
    doc.updated_at = now;
    let ids = Ids {
        team_id: doc.team_id.clone(),
        document_id: doc.id.clone(),
        send: doc.send,
    };
    // The execution starts after this commit; the outbox entry starts it if this process
    // stops in between. Approvers find the document through their index.
    let mut extra = vec![Pending::Start { ids: ids.clone() }.write()?];
    for approver in &doc.approvers {
        extra.push(Write::Put {
            item: Item::new(
                keys::approver_index(&approver.email, &doc.id),
                serde_json::json!({ "team_id": doc.team_id }),
            ),
            condition: Condition::None,
        });
    }
    crate::store::documents::commit_change_with(s, caller, &doc, &item, "document.sent", extra)
        .await?;
    Ok(ids)
}

/// Moves the document from one of `from` to `to`, with a history event (no change when it
/// is already `to`). A document that ended meanwhile (cancelled, expired) stays as it is:
/// the document as it is now is returned either way.
pub(crate) async fn mark(
    s: &(impl Items + Time),
    ids: &Ids,
    from: &[Status],
    to: Status,
) -> Result<Document> {
    for _ in 0..8 {
        let (mut doc, item) = crate::store::documents::load(s, ids).await?;
        if doc.status == to || matches!(doc.status, Status::Cancelled | Status::Expired) {
            return Ok(doc);
        }
        if !from.contains(&doc.status) {
            return Err(Error::conflict(
                "concurrent_change",
                "the document is not where this step expects it",
            ));
        }
        let now = s.now();
        doc.status = to;
        doc.updated_at = now;
        if matches!(
            to,
            Status::Completed | Status::Declined | Status::Rejected | Status::Expired
        ) {
            doc.ended_at = Some(now);
        }
        let mut updated = item.clone();
        updated.body = serde_json::to_value(&doc).map_err(Error::internal)?;
        updated.version += 1;
        let action = format!("document.{}", to.name());
        match s
            .items()
            .transact(vec![
                Write::Put {
                    item: updated,
                    condition: Condition::Version(item.version),
                },
                history_event_write(now, &doc, "keiyaku", &action, "-")?,
            ])
            .await
        {
            Ok(()) => return Ok(doc),
            // Changed meanwhile (an answer, a cancel): look again.
            Err(StoreError::ConditionFailed) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(Error::Unavailable(
        "the document kept changing under a status change".into(),
    ))
}

/// `seal`: seals the document for the send (`party` None) or for a recipient's agreement,
/// naming the act in `/Reason` (「送信」, 「山田 花子 様が同意」). Once per (send, step, party).
/// After the send seal the document is with its recipients.
pub async fn seal(
    s: &(impl Items + Blobs + SealingPorts + Time + Settings + Cpu + Authority + Encrypt + Decrypt),
    ids: &Ids,
    party: Option<&str>,
) -> Result<()> {
    unpark(s, ids).await?;
    let (doc, _) = crate::store::documents::load(s, ids).await?;
    let (step, reason) = match party {
        None => (format!("{}:send", ids.send), "送信".to_owned()),
        Some(party) => {
            let recipient = doc
                .recipients
                .iter()
                .find(|r| r.id == party)
                .ok_or_else(|| Error::internal(format!("no recipient {party}")))?;
            (
                format!("{}:agreement:{party}", ids.send),
                format!("{} 様が同意", recipient.name),
            )
        }
    };
    crate::app::evidence::seal(s, &ids.team_id, &ids.document_id, &step, &reason).await?;
    if party.is_none() {
        mark(s, ids, &[Status::AwaitingApproval], Status::InProgress).await?;
    }
    Ok(())
}

/// `extend_lta`: long-term form of the sealed file, once.
pub async fn extend_lta(
    s: &(impl Items + Blobs + SealingPorts + Time + Settings + Cpu + Authority + Encrypt + Decrypt),
    ids: &Ids,
) -> Result<()> {
    unpark(s, ids).await?;
    crate::app::evidence::extend_long_term(s, &ids.team_id, &ids.document_id).await
}

/// `notify` and `expire`: the document ends as `ending` (a rejected one carries no seal)
/// and everyone concerned is told, one mail per party and ending. The status it has now.
pub async fn end(
    s: &(impl Items + Mail + Schedule + Time + Settings),
    ids: &Ids,
    ending: Ending,
) -> Result<Status> {
    let (from, to): (&[Status], Status) = match ending {
        Ending::Rejected => (&[Status::AwaitingApproval], Status::Rejected),
        Ending::Declined => (&[Status::InProgress], Status::Declined),
        Ending::Cancelled => (&[], Status::Cancelled),
        Ending::Expired => (
            &[
                Status::AwaitingApproval,
                Status::InProgress,
                Status::SealFailed,
            ],
            Status::Expired,
        ),
    };
    let doc = mark(s, ids, from, to).await?;
    crate::app::jobs::cancel_reminders(s, ids).await;
    // Ended otherwise meanwhile (a cancel overtook a decline): say what it became.
    let told = match doc.status {
        Status::Cancelled => Ending::Cancelled,
        Status::Expired => Ending::Expired,
        _ => ending,
    };
    crate::app::notify::tell_ending(s, &doc, ids, told).await?;
    Ok(doc.status)
}

/// `complete`: the file is in long-term form; the document is completed and every party
/// (sender, approvers, recipients) mailed a summary with the sealed file.
pub async fn complete(
    s: &(impl Items + Blobs + Mail + Schedule + Time + Settings + Cpu + Authority + LinkMacs + Decrypt),
    ids: &Ids,
) -> Result<Status> {
    let doc = mark(s, ids, &[Status::InProgress], Status::Completed).await?;
    crate::app::jobs::cancel_reminders(s, ids).await;
    if doc.status == Status::Completed {
        crate::app::notify::tell_completed(s, &doc, ids).await?;
    }
    Ok(doc.status)
}

/// `seal_failed`: a seal or the long-term extension failed after its retries. The document
/// is marked `seal_failed` (its earlier status kept for the retry) and the task token kept
/// for the operators' retry (`POST /ops/executions/{id}/retry`).
pub async fn seal_failed(
    s: &(impl Items + Time),
    ids: &Ids,
    step: &str,
    error: &str,
    task_token: &str,
) -> Result<()> {
    let (doc, _) = crate::store::documents::load(s, ids).await?;
    if doc.status == Status::Cancelled {
        return Err(cancelled());
    }
    let previous = if doc.status == Status::SealFailed {
        // A retried invocation: the status to go back to is the one recorded first.
        s.items()
            .get(&crate::store::waits::wait_key(
                ids,
                crate::store::waits::OPS_PARTY,
            ))
            .await?
            .and_then(|i| serde_json::from_value(i.body["previous"].clone()).ok())
            .unwrap_or(Status::InProgress)
    } else {
        doc.status
    };
    let wait = Item::new(
        crate::store::waits::wait_key(ids, crate::store::waits::OPS_PARTY),
        serde_json::json!({
            "send": ids.send,
            "task_token": task_token,
            "at": s.now().unix_timestamp(),
            "previous": previous,
            "step": step,
            "error": error,
        }),
    );
    s.items().put(wait, Condition::None).await?;
    tracing::error!(document = %ids.document_id, send = ids.send, step, error, "sealing failed; parked for an operator's retry");
    // As in `record_wait`: a cancel committed before this is seen here, one after it finds
    // the parked token.
    if mark(s, ids, &[previous], Status::SealFailed).await?.status == Status::Cancelled {
        return Err(cancelled());
    }
    Ok(())
}

/// After an operator's retry the parked step runs again: the document goes back to where
/// it was before the seal failed (idempotent; nothing to do when it is not parked).
async fn unpark(s: &(impl Items + Time), ids: &Ids) -> Result<()> {
    let (doc, _) = crate::store::documents::load(s, ids).await?;
    if doc.status != Status::SealFailed {
        return Ok(());
    }
    let previous = s
        .items()
        .get(&crate::store::waits::wait_key(
            ids,
            crate::store::waits::OPS_PARTY,
        ))
        .await?
        .and_then(|i| serde_json::from_value(i.body["previous"].clone()).ok())
        .unwrap_or(Status::InProgress);
    mark(s, ids, &[Status::SealFailed], previous).await?;
    Ok(())
}
