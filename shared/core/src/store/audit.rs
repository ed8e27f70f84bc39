//! The audit log in the store: who did what, when, from where, under the team.

use std::net::IpAddr;

use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::ids::{TeamId, UserId};
use crate::ports::{Condition, Item, Write};
use crate::store::keys;

/// An audit event of the team (who, what, when, from where); kept for the audit log.
pub fn audit_write(
    now: OffsetDateTime,
    team: &TeamId,
    actor: &UserId,
    action: &str,
    ip: IpAddr,
) -> Result<Write> {
    let id = crate::ids::new_id(now);
    Ok(Write::Put {
        item: Item::new(
            keys::audit(team, &id),
            serde_json::json!({
                "at": now.format(&time::format_description::well_known::Rfc3339).map_err(Error::internal)?,
                "actor": actor,
                "action": action,
                "ip": ip.to_string(),
            }),
        ),
        condition: Condition::NotExists,
    })
}
