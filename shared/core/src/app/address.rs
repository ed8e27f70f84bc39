//! Changing an account's address: asked with the password, proved by a link mailed to the
//! new address (the address the account has now is told at once); on confirmation the
//! address's uniqueness item moves in the same transaction as the account, and the team's
//! admins and the member are told (checklist No.47). An address at a domain another team
//! claimed is refused, as a sign-up from it would be.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::app::{domains, mail, teams};
use crate::domain::team::MemberChange;
use crate::domain::user::{Caller, User};
use crate::error::{Error, Result};
use crate::ids::{TeamId, UserId};
use crate::password;
use crate::ports::{Condition, StoreError, Write};
use crate::ratelimit;
use crate::services::needs::{Items, Mail, Settings, Time};
use crate::store::{from_item, keys, to_json};
use crate::text::Email;

/// Hours the mailed link works.
const CHANGE_HOURS: i64 = 24;

/// A change waiting for its proof.
#[derive(Serialize, Deserialize)]
struct PendingChange {
    team_id: TeamId,
    user_id: UserId,
    /// The new address.
    email: Email,
    /// The account's session epoch when asked: a password change or reset since voids it.
    epoch: u64,
}

/// Asks to change the caller's address to `new` (the password proves it is them): a link
/// goes to the new address, a notice to the current one. When the new address has an
/// account already, that address is told so instead (nothing here reveals it).
pub async fn request(
    s: &(impl Items + Mail + Time + Settings),
    caller: &Caller,
    new: &str,
    password_text: &str,
) -> Result<()> {
    ratelimit::hit(
        s.items(),
        s.now(),
        ratelimit::PASSWORD_CHANGE_PER_ACCOUNT,
        caller.user_id().as_str(),
    )
    .await?;
    let user = &caller.user;
    if password_text.len() > 4 * password::MAX_LENGTH
        || !password::verify(password_text, Some(&user.password_hash)).await?
    {
        return Err(Error::invalid(
            "wrong_password",
            "password",
            "the password is wrong",
        ));
    }
    let email = Email::parse(new, "email")?;
    if email == user.email {
        return Err(Error::invalid(
            "same_address",
            "email",
            "this is the account's address already",
        ));
    }
    domains::refuse_claimed_by_others(s, &email, Some(caller.team())).await?;
    if s.items().get(&keys::email(&email)).await?.is_some() {
        s.mailer()
            .send(&mail::already_registered(s, email.as_str())?)
            .await?;
        return Ok(());
    }
    let token = crate::app::mailed::issue(
        s,
        caller,
        keys::address_change,
        to_json(&PendingChange {
            team_id: user.team_id.clone(),
            user_id: user.id.clone(),
            email: email.clone(),
            epoch: user.session_epoch,
        })?,
        CHANGE_HOURS,
        ("account.address_change_asked", format!("user:{}", user.id)),
    )
    .await?;
    s.mailer()
        .send(&mail::address_change(
            s,
            email.as_str(),
            &user.name,
            &token,
        )?)
        .await?;
    s.mailer()
        .send(&mail::address_change_asked(
            s,
            user.email.as_str(),
            &user.name,
            email.as_str(),
        )?)
        .await?;
    Ok(())
}

fn invalid_link() -> Error {
    Error::invalid(
        "invalid_token",
        "token",
        "the link is invalid, already used or expired: ask for the change again",
    )
}

/// Makes the change from the mailed link: the account has the new address from now on.
pub async fn confirm(
    s: &(impl Items + Mail + Time + Settings),
    token: &str,
    ip: IpAddr,
) -> Result<User> {
    let (key, pending_item) =
        crate::app::mailed::find(s, token, ip, keys::address_change, invalid_link).await?;
    let pending: PendingChange = from_item(&pending_item)?;
    let (mut user, before) = crate::store::users::load_user(s, &pending.team_id, &pending.user_id)
        .await?
        .filter(|(u, _)| u.removed_at.is_none() && u.session_epoch == pending.epoch)
        .ok_or_else(invalid_link)?;
    domains::refuse_claimed_by_others(s, &pending.email, Some(&user.team_id)).await?;
    let old = std::mem::replace(&mut user.email, pending.email.clone());
    let mut item = before.clone();
    item.body = to_json(&user)?;
    item.version += 1;
    s.items()
        .transact(vec![
            Write::Delete {
                key,
                condition: Condition::Version(pending_item.version),
            },
            Write::Delete {
                key: keys::email(&old),
                condition: Condition::Exists,
            },
            crate::store::users::claim_address(&user)?,
            Write::Put {
                item,
                condition: Condition::Version(before.version),
            },
            crate::store::audit::audit_write(
                s.now(),
                &user.team_id,
                &user.id,
                "account.address_changed",
                ip,
            )?,
        ])
        .await
        .map_err(|e| match e {
            // Used a moment ago, or the new address got an account meanwhile.
            StoreError::ConditionFailed => Error::conflict(
                "address_has_account",
                "the link was used already, or the new address has an account now",
            ),
            other => other.into(),
        })?;
    teams::tell(s, &user, MemberChange::AddressChanged).await?;
    Ok(user)
}
