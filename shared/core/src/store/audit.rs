//! The audit log in the store: events under their team (`AUDIT#<id>`), written in the same
//! transaction as the act they record, each waiting in the `AUDITPENDING` index until the
//! chaining job links it into its team's chain (whose head is `AUDITHEAD`).

use std::net::IpAddr;

use time::OffsetDateTime;

use crate::domain::audit::{AuditEvent, Outcome};
use crate::domain::user::Caller;
use crate::error::Result;
use crate::ids::{TeamId, UserId};
use crate::ports::{Condition, Item, Write};
use crate::store::{keys, to_json};

/// The write that stores `event` of `team`, waiting to be chained.
pub fn event_write(team: &TeamId, event: &AuditEvent) -> Result<Write> {
    let mut item = Item::new(keys::audit(team, &event.id), to_json(event)?);
    item.index = Some(keys::audit_pending(team, &event.id));
    Ok(Write::Put {
        item,
        condition: Condition::NotExists,
    })
}

/// An event by an account about itself (a login, a password change): who, what, from where.
pub fn audit_write(
    now: OffsetDateTime,
    team: &TeamId,
    actor: &UserId,
    action: &str,
    ip: IpAddr,
) -> Result<Write> {
    account_event(now, team, actor, action, Outcome::Success, ip, None)
}

/// An event by an account about itself, with its outcome and the client's User-Agent.
pub fn account_event(
    now: OffsetDateTime,
    team: &TeamId,
    actor: &UserId,
    action: &str,
    outcome: Outcome,
    ip: IpAddr,
    user_agent: Option<&str>,
) -> Result<Write> {
    event_write(
        team,
        &AuditEvent::new(
            team,
            crate::ids::new_id(now),
            now,
            actor.to_string(),
            action,
            Some(format!("user:{actor}")),
            outcome,
            ip.to_canonical().to_string(),
            user_agent.map(str::to_owned),
        ),
    )
}

/// An event of an authenticated caller's act on `target` (`document:<id>`, `user:<id>`, …).
pub fn caller_event(
    now: OffsetDateTime,
    caller: &Caller,
    action: &str,
    target: Option<String>,
) -> Result<Write> {
    event_in(now, caller.team(), caller, action, target)
}

/// An event of a member reading a document of `team` (their own team's, or another's
/// whose approver they are): it goes to the log of the document's team.
pub fn reader_event(
    now: OffsetDateTime,
    team: &TeamId,
    caller: &Caller,
    action: &str,
    target: String,
) -> Result<Write> {
    event_in(now, team, caller, action, Some(target))
}

fn event_in(
    now: OffsetDateTime,
    team: &TeamId,
    caller: &Caller,
    action: &str,
    target: Option<String>,
) -> Result<Write> {
    event_write(
        team,
        &AuditEvent::new(
            team,
            crate::ids::new_id(now),
            now,
            caller.user_id().to_string(),
            action,
            target,
            Outcome::Success,
            caller.ip.to_canonical().to_string(),
            caller.user_agent.clone(),
        ),
    )
}

/// An event of someone who is not a member (a recipient through their link, or the service
/// itself as `keiyaku`) on a document of `team`.
pub fn outsider_event(
    now: OffsetDateTime,
    team: &TeamId,
    actor: String,
    action: &str,
    target: Option<String>,
    ip: &str,
) -> Result<Write> {
    event_write(
        team,
        &AuditEvent::new(
            team,
            crate::ids::new_id(now),
            now,
            actor,
            action,
            target,
            Outcome::Success,
            ip.to_owned(),
            None,
        ),
    )
}
