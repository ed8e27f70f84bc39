//! The contract workflow's tasks (`statemachines/contract.asl.json`, handlers named in
//! `statemachines/tasks.json`): the same functions for the AWS task Lambdas and the local
//! executor. Payloads carry ids only (`team_id`, `document_id`, `send`); everything else is
//! read from the document. A party's answer is recorded here with a conditional write
//! before the waiting task is completed.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::accounts::Caller;
use crate::documents::{Document, Status, doc_key, history_event_write};
use crate::error::{Error, Result};
use crate::ids::{DocumentId, TeamId};
use crate::ports::{Condition, StoreError, Write};
use crate::services::Services;

/// The ids every task payload starts with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ids {
    /// The document's team.
    pub team_id: TeamId,
    /// The document.
    pub document_id: DocumentId,
    /// Which send of the document this execution is (1 for the first).
    pub send: u32,
}

/// Which loop of the machine asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Approvers, before anything goes out.
    Approval,
    /// Recipients, in order.
    Agreement,
}

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

/// A party's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// An approver approves.
    Approved,
    /// An approver rejects.
    Rejected,
    /// A recipient agrees.
    Agreed,
    /// A recipient declines.
    Declined,
}

/// One recorded answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// Who (`a1`, `r2`, …).
    pub party_id: String,
    /// In which send.
    pub send: u32,
    /// What.
    pub decision: Decision,
    /// The reason given with a rejection or a decline.
    pub reason: Option<String>,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// From which address.
    pub ip: String,
}

async fn load(s: &Services, ids: &Ids) -> Result<(Document, crate::ports::Item)> {
    let item = s
        .items
        .get(&doc_key(&ids.team_id, &ids.document_id))
        .await?
        .ok_or(Error::NotFound)?;
    let doc = serde_json::from_value(item.body.clone()).map_err(Error::internal)?;
    Ok((doc, item))
}

fn answered<'d>(doc: &'d Document, send: u32, party: &str) -> Option<&'d Answer> {
    doc.answers
        .iter()
        .find(|a| a.send == send && a.party_id == party)
}

/// `next_step`: the next approver or recipient who has not answered in this send, with the
/// seconds left before the deadline; `done` when all have; `cancelled` or `expired` when
/// the document ended while no task was waiting.
pub async fn next_step(s: &Services, ids: &Ids, phase: Phase) -> Result<NextStep> {
    let (doc, _) = load(s, ids).await?;
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
            .find(|p| answered(&doc, ids.send, p).is_none())
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
    s: &Services,
    ids: &Ids,
    party: &str,
    decision: Decision,
    reason: Option<String>,
    ip: &str,
) -> Result<bool> {
    let (mut doc, item) = load(s, ids).await?;
    let is_approver = doc.approvers.iter().any(|a| a.id == party);
    let is_recipient = doc.recipients.iter().any(|r| r.id == party);
    let fits = match decision {
        Decision::Approved | Decision::Rejected => is_approver,
        Decision::Agreed | Decision::Declined => is_recipient,
    };
    if !fits {
        return Err(Error::NotFound);
    }
    if let Some(earlier) = answered(&doc, ids.send, party) {
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
        .items
        .transact(vec![
            Write::Put {
                item: updated,
                condition: Condition::Version(item.version),
            },
            history_event_write(now, &doc, party, action, ip)?,
        ])
        .await
    {
        Ok(()) => Ok(true),
        // Another request changed the document first (the same party in two tabs, another
        // party's answer, a cancel): read it again and answer as that reading says — a
        // replay, a conflict, or this answer recorded now (with its reason).
        Err(StoreError::ConditionFailed) => {
            Box::pin(record_answer(s, ids, party, decision, reason, ip)).await
        }
        Err(other) => Err(other.into()),
    }
}

/// Where a party's latest task token waits (server-side only; never mailed).
fn wait_key(ids: &Ids, party: &str) -> crate::ports::Key {
    crate::ports::Key::new(
        format!("TEAM#{}", ids.team_id),
        format!("WAIT#{}#{party}", ids.document_id),
    )
}

/// Where a recipient link's token (stored hashed) points.
pub(crate) fn link_key(token_hash: &str) -> crate::ports::Key {
    crate::ports::Key::new(format!("RLINK#{token_hash}"), "RLINK")
}

/// What a recipient link opens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientLink {
    /// The document and send.
    pub ids: Ids,
    /// The recipient.
    pub party_id: String,
}

/// A recipient's link token: derived with the key service's MAC from (document, send,
/// party), so a retried `record_wait` mails the same link, and stored only hashed.
async fn link_token(s: &Services, ids: &Ids, party: &str) -> Result<String> {
    let mac = s
        .keys
        .mac(
            format!(
                "recipient-link\0{}\0{}\0{}\0{party}",
                ids.team_id, ids.document_id, ids.send
            )
            .as_bytes(),
        )
        .await?;
    Ok(hex::encode(mac))
}

/// `record_wait`: keeps `task_token` as the party's latest (server-side), then asks the
/// approver (a mail pointing to the app) or mails the recipient their link. One mail per
/// (document, send, party): its Message-ID is fixed, so a retry sends nothing new. A
/// document cancelled or past its deadline meanwhile is `Gone` (`cancelled`, `expired`),
/// which the task reports as `Keiyaku.Cancelled` / a timeout.
pub async fn record_wait(
    s: &Services,
    ids: &Ids,
    phase: Phase,
    party: &str,
    task_token: &str,
) -> Result<()> {
    let (doc, _) = load(s, ids).await?;
    if doc.status == Status::Cancelled {
        return Err(Error::Gone {
            code: "cancelled",
            message: "the sender cancelled the document".into(),
        });
    }
    let now = s.now();
    if doc.expires_at.is_some_and(|at| at <= now) {
        return Err(Error::Gone {
            code: "expired",
            message: "the deadline has passed".into(),
        });
    }
    let wait = crate::ports::Item::new(
        wait_key(ids, party),
        serde_json::json!({ "send": ids.send, "task_token": task_token, "at": now.unix_timestamp() }),
    );
    s.items.put(wait, Condition::None).await?;
    let (sender, _) = crate::accounts::load_user(s, &ids.team_id, &doc.owner_id)
        .await?
        .ok_or_else(|| Error::internal("the sender's account is gone"))?;
    match phase {
        Phase::Approval => {
            let approver = doc
                .approvers
                .iter()
                .find(|a| a.id == party)
                .ok_or_else(|| Error::internal(format!("no approver {party}")))?;
            let mail = crate::mail::approval_request(
                s,
                approver.email.as_str(),
                &approver.name,
                &sender.name,
                &doc.title,
                doc.id.as_str(),
                &format!("approval-{}-{}-{party}@keiyaku", doc.id, ids.send),
            )?;
            s.mailer.send(&mail).await?;
        }
        Phase::Agreement => {
            let recipient = doc
                .recipients
                .iter()
                .find(|r| r.id == party)
                .ok_or_else(|| Error::internal(format!("no recipient {party}")))?;
            let token = link_token(s, ids, party).await?;
            let link = crate::ports::Item::new(
                link_key(&crate::ids::hash_token(&token)),
                serde_json::to_value(RecipientLink {
                    ids: ids.clone(),
                    party_id: party.to_owned(),
                })
                .map_err(Error::internal)?,
            );
            s.items.put(link, Condition::None).await?;
            let deadline = doc
                .expires_at
                .map(|at| {
                    at.to_offset(time::macros::offset!(+9))
                        .format(time::macros::format_description!(
                            "[year]-[month]-[day] [hour]:[minute] JST"
                        ))
                        .unwrap_or_default()
                })
                .unwrap_or_default();
            let mail = crate::mail::agreement_request(
                s,
                recipient.email.as_str(),
                &crate::mail::AgreementRequest {
                    recipient: &recipient.name,
                    sender: &sender.name,
                    title: &doc.title,
                    message: doc.message.as_deref(),
                    link_token: &token,
                    deadline: &deadline,
                    access_code: recipient.access_code_hash.is_some(),
                },
                &format!("agreement-{}-{}-{party}@keiyaku", doc.id, ids.send),
            )?;
            s.mailer.send(&mail).await?;
        }
    }
    Ok(())
}

/// The latest task token a party's wait left (what an answer completes).
pub async fn waiting_token(s: &Services, ids: &Ids, party: &str) -> Result<Option<String>> {
    Ok(s.items
        .get(&wait_key(ids, party))
        .await?
        .filter(|item| item.body["send"] == ids.send)
        .and_then(|item| item.body["task_token"].as_str().map(str::to_owned)))
}

/// Sends a draft: it must name at least one recipient; its deadline defaults to
/// [`crate::parties::DEFAULT_EXPIRY_DAYS`] ahead; it waits for its approvers, if any, else
/// goes to its recipients. The ids of this send, for the workflow's execution.
pub async fn send(s: &Services, caller: &Caller, id: &str) -> Result<Ids> {
    let (mut doc, item) = crate::documents::load(s, caller, id).await?;
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
    let now = s.now();
    doc.expires_at = Some(match doc.expires_at {
        Some(at) => crate::parties::check_expiry(at, now)?,
        None => now + time::Duration::days(crate::parties::DEFAULT_EXPIRY_DAYS),
    });
    doc.send += 1;
    doc.status = if doc.approvers.is_empty() {
        Status::InProgress
    } else {
        Status::AwaitingApproval
    };
    doc.updated_at = now;
    crate::documents::commit_change(s, caller, &doc, &item, "document.sent").await?;
    Ok(Ids {
        team_id: doc.team_id,
        document_id: doc.id,
        send: doc.send,
    })
}

/// Moves the document from `from` to `to` (no change when it is already `to`).
async fn mark(s: &Services, ids: &Ids, from: Status, to: Status) -> Result<()> {
    let (mut doc, item) = load(s, ids).await?;
    // Already there, or ended meanwhile (a cancel or expiry the next step will see).
    if doc.status == to || matches!(doc.status, Status::Cancelled | Status::Expired) {
        return Ok(());
    }
    if doc.status != from {
        return Err(Error::conflict(
            "concurrent_change",
            "the document is not where this step expects it",
        ));
    }
    doc.status = to;
    doc.updated_at = s.now();
    let mut updated = item.clone();
    updated.body = serde_json::to_value(&doc).map_err(Error::internal)?;
    updated.version += 1;
    match s.items.put(updated, Condition::Version(item.version)).await {
        Ok(()) => Ok(()),
        // Changed meanwhile (an answer, a cancel): look again.
        Err(StoreError::ConditionFailed) => Box::pin(mark(s, ids, from, to)).await,
        Err(other) => Err(other.into()),
    }
}

/// `seal`: seals the document for the send (`party` None) or for a recipient's agreement,
/// naming the act in `/Reason` (「送信」, 「山田 花子 様が同意」). Once per (send, step, party).
/// After the send seal the document is with its recipients.
pub async fn seal(s: &Services, ids: &Ids, party: Option<&str>) -> Result<()> {
    let (doc, _) = load(s, ids).await?;
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
    crate::evidence::seal(s, &ids.team_id, &ids.document_id, &step, &reason).await?;
    if party.is_none() {
        mark(s, ids, Status::AwaitingApproval, Status::InProgress).await?;
    }
    Ok(())
}

/// `extend_lta`: long-term form of the sealed file, once.
pub async fn extend_lta(s: &Services, ids: &Ids) -> Result<()> {
    crate::evidence::extend_long_term(s, &ids.team_id, &ids.document_id).await
}
