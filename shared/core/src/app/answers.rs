//! What the sender and the parties do to a document that went out, and what they are told:
//! sending (which starts the workflow's execution), an approver's or recipient's answer
//! (written with a conditional write first, then the waiting task completed), cancelling,
//! reminding; the mails that end a document; and the reconciler that finishes any of these
//! follow-ups a stopped process left in the outbox.

use crate::app::contract;
use crate::domain::answer::Decision;
use crate::domain::document::{Document, Ids, Status};
use crate::domain::user::Caller;
use crate::store::outbox::Pending;

use crate::error::{Error, Result};
use crate::ratelimit::{self, Limit};
use crate::services::needs::{Items, LinkMacs, Mail, Schedule, Settings, Time, Workflows};

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
pub async fn send(
    s: &(impl Items + Workflows + Schedule + Time),
    caller: &Caller,
    id: &str,
) -> Result<Document> {
    let ids = contract::send(s, caller, id).await?;
    crate::failpoint::failpoint("send.committed_before_start");
    crate::app::followups::follow_up(s, crate::app::followups::start(s, &ids).await).await;
    crate::app::documents::get(s, caller, id).await
}

/// A party's answer: recorded once, then the party's waiting task completed. A replay (a
/// double click, a retried request) and another answer are 409 `already_answered` — the
/// replay still finishes the delivery its first request may not have —, an answer to a
/// document that ended 410.
pub(crate) async fn answer(
    s: &(impl Items + Workflows + Schedule + Time),
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
    crate::app::followups::follow_up(
        s,
        crate::app::followups::deliver(s, ids, party, decision).await,
    )
    .await;
    if recorded {
        Ok(())
    } else {
        Err(Error::conflict(
            "already_answered",
            "this answer was already recorded",
        ))
    }
}

/// A logged-in approver approves or rejects (with a reason) a document that waits for them.
pub async fn approve(
    s: &(impl Items + Workflows + Schedule + Time),
    caller: &Caller,
    id: &str,
    decision: Decision,
    reason: Option<String>,
) -> Result<Document> {
    let (doc, _, party) = crate::app::documents::as_approver(s, caller, id).await?;
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
    crate::app::documents::get(s, caller, id).await
}

/// The sender withdraws a document that is out: it is cancelled at once, and the waiting
/// task fails with `Keiyaku.Cancelled` so the machine tells the parties. Once every
/// recipient agreed the contract stands and cannot be withdrawn.
pub async fn cancel(
    s: &(impl Items + Workflows + Schedule + Time),
    caller: &Caller,
    id: &str,
) -> Result<Document> {
    let (mut doc, item) = crate::app::documents::load(s, caller, id).await?;
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
    crate::app::followups::follow_up(s, crate::app::followups::fail_waiting(s, &ids).await).await;
    Ok(doc)
}

/// The sender reminds the party the document waits for (at most once an hour per party):
/// the same request again, marked as a reminder.
pub async fn remind(
    s: &(impl Items + Mail + Time + Settings + LinkMacs),
    caller: &Caller,
    id: &str,
) -> Result<()> {
    let (doc, _) = crate::app::documents::load(s, caller, id).await?;
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
        s.items(),
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
    crate::app::notify::ask_again(s, &doc, phase, &current, &message_id).await?;
    let now = s.now();
    s.items()
        .transact(vec![
            crate::store::documents::history_event_write(
                now,
                &doc,
                caller.user_id().as_str(),
                "document.reminded",
                &caller.ip.to_string(),
            )?,
            crate::store::audit::caller_event(
                now,
                caller,
                "document.reminded",
                Some(format!("document:{}", doc.id)),
            )?,
        ])
        .await?;
    Ok(())
}
