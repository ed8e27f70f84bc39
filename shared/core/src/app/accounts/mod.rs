//! Accounts: sign-up (with its own team), e-mail verification, login and sessions, the
//! profile, password change and reset. Sessions and one-time tokens are opaque 256-bit
//! secrets stored only as hashes, checked for expiry on every read; a password change
//! revokes every other session by bumping the user's session epoch.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::app::teams;
use crate::domain::audit::Outcome;
use crate::domain::team::MemberChange;
use crate::domain::team::{Team, TeamSettings};
use crate::domain::user::{Caller, Client, SessionKind, TeamRole, User};
use crate::error::{Error, Result};
use crate::ids::{Secret, TeamId, UserId, hash_token};
use crate::ports::{Condition, Item, Key, Write};
use crate::ratelimit::{self, address_subject};
use crate::services::needs::{Items, Mail, Settings, Time};
use crate::store::keys;
use crate::store::{from_item, to_json};
use crate::text::{self, Email};
use crate::{app::mail, password};

mod api_tokens;
mod login;
mod passwords;

pub use api_tokens::*;
pub use login::*;
pub use passwords::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum TokenPurpose {
    VerifyEmail,
    ResetPassword,
    /// A login whose password was right, waiting for its second factor.
    SecondFactor,
}

#[derive(Serialize, Deserialize)]
struct OneTimeToken {
    purpose: TokenPurpose,
    team_id: TeamId,
    user_id: UserId,
    /// The account's session epoch when the token was issued: a password change or reset
    /// moves the epoch on, and every reset link issued before stops working.
    #[serde(default)]
    epoch: u64,
    /// What a pending login (`SecondFactor`) becomes once its code is right.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    login: Option<PendingLogin>,
}

/// The first step of a login that waits for its second factor.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct PendingLogin {
    /// The session it opens.
    kind: SessionKind,
    /// The hash of the device cookie the first step came with, when it is the account's.
    device: Option<String>,
    /// Wrong codes given so far: the pending login ends after [`PENDING_ATTEMPTS`].
    attempts: u32,
}

/// Wrong codes a pending login survives.
const PENDING_ATTEMPTS: u32 = 5;
/// Minutes a pending login waits for its code.
const PENDING_MINUTES: i64 = 5;

#[derive(Clone, Serialize, Deserialize)]
struct Session {
    kind: SessionKind,
    team_id: TeamId,
    user_id: UserId,
    csrf: String,
    epoch: u64,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    last_seen: OffsetDateTime,
}

/// How long a device that logged in is known by its cookie.
const DEVICE_DAYS: i64 = 365;

/// A browser that logged in to an account (OWASP's device cookie, kept server-side: only the
/// hash of its token is stored).
#[derive(Serialize, Deserialize)]
struct Device {
    email: String,
}

/// Sign-up input.
pub struct SignUp<'a> {
    /// E-mail address.
    pub email: &'a str,
    /// Name as the user typed it.
    pub name: &'a str,
    /// Chosen password.
    pub password: &'a str,
    /// `ja` (default) or `en`.
    pub language: Option<&'a str>,
}

fn language(raw: Option<&str>) -> Result<String> {
    match raw.unwrap_or("ja") {
        l @ ("ja" | "en") => Ok(l.to_owned()),
        _ => Err(Error::invalid(
            "invalid_language",
            "language",
            "language must be \"ja\" or \"en\"",
        )),
    }
}

/// Creates an account and its own team, and mails a verification link. Answers the same
/// whether or not the address is already registered (that owner gets a different mail).
pub async fn sign_up(
    s: &(impl Items + Mail + Time + Settings),
    input: SignUp<'_>,
    ip: IpAddr,
) -> Result<()> {
    let email = Email::parse(input.email, "email")?;
    let name = text::line(input.name, "name", 100)?;
    let language = language(input.language)?;
    password::check(input.password, Some(email.as_str()), Some(&name))
        .map_err(|w| w.into_error("password"))?;
    ratelimit::hit(
        s.items(),
        s.now(),
        ratelimit::SIGNUP_PER_ADDRESS,
        &address_subject(ip),
    )
    .await?;
    crate::app::domains::refuse_claimed(s, &email).await?;

    if s.items().get(&keys::email(&email)).await?.is_some() {
        s.mailer()
            .send(&mail::already_registered(s, email.as_str())?)
            .await?;
        return Ok(());
    }
    let now = s.now();
    let user = User {
        id: UserId::new(now),
        team_id: TeamId::new(now),
        email: email.clone(),
        name: name.clone(),
        password_hash: password::hash(input.password).await?,
        email_verified: false,
        language,
        role: TeamRole::Admin,
        session_epoch: 1,
        operator: false,
        removed_at: None,
        two_factor: false,
        created_at: now,
    };
    let team = Team {
        id: user.team_id.clone(),
        name: name.clone(),
        created_at: now,
        settings: Default::default(),
        domains: Vec::new(),
    };
    let token = Secret::generate();
    let writes = vec![
        crate::store::users::claim_address(&user)?,
        Write::Put {
            item: Item::new(keys::team(&team.id), to_json(&team)?),
            condition: Condition::NotExists,
        },
        Write::Put {
            item: Item::new(keys::user(&user.team_id, &user.id), to_json(&user)?),
            condition: Condition::NotExists,
        },
        Write::Put {
            item: token_item(
                &token,
                TokenPurpose::VerifyEmail,
                &user,
                now + Duration::hours(24),
            )?,
            condition: Condition::NotExists,
        },
        crate::store::audit::audit_write(now, &user.team_id, &user.id, "account.signed_up", ip)?,
    ];
    match s.items().transact(writes).await {
        Ok(()) => {}
        // Someone registered the same address a moment ago: answer as for a known address.
        Err(crate::ports::StoreError::ConditionFailed) => {
            s.mailer()
                .send(&mail::already_registered(s, email.as_str())?)
                .await?;
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    }
    s.mailer()
        .send(&mail::verify_email(s, email.as_str(), &name, &token.token)?)
        .await?;
    Ok(())
}

fn token_item(
    token: &Secret,
    purpose: TokenPurpose,
    user: &User,
    expires: OffsetDateTime,
) -> Result<Item> {
    let mut item = Item::new(
        keys::token(&token.hash),
        to_json(&OneTimeToken {
            purpose,
            team_id: user.team_id.clone(),
            user_id: user.id.clone(),
            epoch: user.session_epoch,
            login: None,
        })?,
    );
    item.expires_at = Some(expires.unix_timestamp());
    Ok(item)
}

fn invalid_token() -> Error {
    Error::invalid(
        "invalid_token",
        "token",
        "the link is invalid, already used or expired",
    )
}

fn login_expired() -> Error {
    Error::invalid(
        "login_expired",
        "login_token",
        "the login waited too long for its code or had too many wrong ones: log in again",
    )
}

/// Redeems a one-time token of `purpose`: returns the user and the writes that consume the
/// token and store the changed user, for one transaction.
async fn redeem(
    s: &(impl Items + Time),
    raw: &str,
    purpose: TokenPurpose,
    ip: IpAddr,
) -> Result<(User, Item, Key)> {
    ratelimit::hit(
        s.items(),
        s.now(),
        ratelimit::TOKEN_PER_ADDRESS,
        &address_subject(ip),
    )
    .await?;
    if raw.is_empty() || raw.len() > 100 {
        return Err(invalid_token());
    }
    let key = keys::token(&hash_token(raw));
    let item = s.items().get(&key).await?.ok_or_else(invalid_token)?;
    let token: OneTimeToken = from_item(&item)?;
    if token.purpose != purpose {
        return Err(invalid_token());
    }
    let (user, item) = crate::store::users::load_user(s, &token.team_id, &token.user_id)
        .await?
        .ok_or_else(invalid_token)?;
    if purpose == TokenPurpose::ResetPassword && token.epoch != user.session_epoch {
        return Err(invalid_token());
    }
    Ok((user, item, key))
}

pub(crate) async fn commit_user(
    s: &impl Items,
    mut writes: Vec<Write>,
    user: &User,
    before: &Item,
) -> Result<()> {
    let mut item = before.clone();
    item.body = to_json(user)?;
    item.version += 1;
    writes.push(Write::Put {
        item,
        condition: Condition::Version(before.version),
    });
    s.items().transact(writes).await.map_err(|e| match e {
        crate::ports::StoreError::ConditionFailed => Error::conflict(
            "concurrent_change",
            "the account changed meanwhile; try again",
        ),
        other => other.into(),
    })
}

/// Consumes a redeemed token and stores the changed user, with an audit event, at once.
async fn consume(
    s: &(impl Items + Time),
    user: &User,
    before: &Item,
    token_key: Key,
    action: &str,
    ip: IpAddr,
) -> Result<()> {
    let writes = vec![
        Write::Delete {
            key: token_key,
            condition: Condition::Exists,
        },
        crate::store::audit::audit_write(s.now(), &user.team_id, &user.id, action, ip)?,
    ];
    commit_user(s, writes, user, before).await
}

/// Confirms an address from the mailed token (single use).
pub async fn verify_email(s: &(impl Items + Time), token: &str, ip: IpAddr) -> Result<()> {
    let (mut user, before, token_key) = redeem(s, token, TokenPurpose::VerifyEmail, ip).await?;
    user.email_verified = true;
    consume(s, &user, &before, token_key, "account.email_verified", ip).await
}

/// Changes name and/or language.
pub async fn update_profile(
    s: &impl Items,
    caller: &Caller,
    name: Option<&str>,
    lang: Option<&str>,
) -> Result<User> {
    let (mut user, item) = crate::store::users::load_user(s, caller.team(), caller.user_id())
        .await?
        .ok_or(Error::NotFound)?;
    if let Some(name) = name {
        user.name = text::line(name, "name", 100)?;
    }
    if lang.is_some() {
        user.language = language(lang)?;
    }
    commit_user(s, vec![], &user, &item).await?;
    Ok(user)
}

/// Gives the account with this address the operator role (the ops view); run by the
/// `keiyaku operator grant` command on the server itself, never through the API.
pub async fn grant_operator(s: &(impl Items + Time), email: &str) -> Result<User> {
    let email = Email::parse(email, "email")?;
    let (mut user, item) = crate::store::users::user_by_email(s, &email)
        .await?
        .ok_or(Error::NotFound)?;
    if !user.operator {
        user.operator = true;
        let audit = crate::store::audit::outsider_event(
            s.now(),
            &user.team_id,
            "keiyaku operator grant".into(),
            "user.operator_granted",
            Some(format!("user:{}", user.id)),
            "-",
        )?;
        commit_user(s, vec![audit], &user, &item).await?;
    }
    Ok(user)
}
