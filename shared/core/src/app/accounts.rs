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

/// What the owner sees of an API token (never the token itself).
#[derive(Serialize, Deserialize)]
struct ApiTokenRecord {
    id: String,
    /// Hash of the token: the key of its session.
    session_hash: String,
    /// What its owner called it (tokens made for scripts); none for a token-mode login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
}

/// One of the caller's API tokens.
#[derive(Clone, Debug)]
pub struct ApiToken {
    /// Its id (for `DELETE /me/tokens/{id}`).
    pub id: String,
    /// Its name (tokens made for scripts); none for a token-mode login.
    pub name: Option<String>,
    /// When it was issued.
    pub created_at: OffsetDateTime,
    /// When it was last used.
    pub last_used: OffsetDateTime,
    /// When it ends unless revoked first.
    pub expires_at: OffsetDateTime,
    /// Whether the request asking is made with it.
    pub current: bool,
}

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

/// A new session's token, and the CSRF token of a browser session.
pub struct LoggedIn {
    /// The session token (cookie value or bearer token).
    pub token: String,
    /// The CSRF token the browser sends back.
    pub csrf: String,
    /// The user.
    pub user: User,
    /// How the session's token travels.
    pub kind: SessionKind,
    /// The team requires two-factor login and this user has not enrolled yet.
    pub must_enrol_two_factor: bool,
    /// A new device token, when the caller did not send a valid one for this account.
    pub device: Option<String>,
}

fn invalid_credentials() -> Error {
    Error::Unauthorized {
        code: "invalid_credentials",
        message: "e-mail address or password is wrong".into(),
    }
}

/// Logs in with e-mail and password: a new session of `kind`. `device` is the token of the
/// caller's device cookie, if it sent one.
pub async fn login(
    s: &(impl Items + Time + Settings),
    email: &str,
    password_text: &str,
    kind: SessionKind,
    client: &Client,
    device: Option<&str>,
) -> Result<LoginStep> {
    let ip = client.ip;
    let ua = client.user_agent.as_deref();
    // Limits first, before any hashing, so a flood costs us nothing.
    ratelimit::hit(
        s.items(),
        s.now(),
        ratelimit::LOGIN_PER_ADDRESS,
        &address_subject(ip),
    )
    .await?;
    let email = Email::parse(email, "email").map_err(|_| invalid_credentials())?;
    // A device that logged in to this account before has its own budget, so guesses from
    // elsewhere cannot lock the owner out; any other device shares the account's, and its
    // address has its own.
    let known_device = match device {
        Some(token) => known_device(s, token, &email).await?,
        None => None,
    };
    let budgets = match &known_device {
        Some(hash) => vec![(ratelimit::LOGIN_PER_DEVICE, format!("{email}#{hash}"))],
        None => vec![
            (ratelimit::LOGIN_PER_ACCOUNT, email.as_str().to_owned()),
            (
                ratelimit::LOGIN_PER_ACCOUNT_ADDRESS,
                format!("{email}#{}", address_subject(ip)),
            ),
        ],
    };
    for (limit, subject) in budgets {
        ratelimit::hit(s.items(), s.now(), limit, &subject).await?;
    }
    if password_text.len() > 4 * password::MAX_LENGTH {
        return Err(invalid_credentials());
    }
    let found = crate::store::users::user_by_email(s, &email).await?;
    let stored = found.as_ref().map(|(u, _)| u.password_hash.as_str());
    if !password::verify(password_text, stored).await? {
        // The owner sees failed logins in the account's history.
        if let Some((user, _)) = &found {
            s.items()
                .transact(vec![crate::store::audit::account_event(
                    s.now(),
                    &user.team_id,
                    &user.id,
                    "account.login_failed",
                    Outcome::Failure,
                    ip,
                    ua,
                )?])
                .await?;
        }
        return Err(invalid_credentials());
    }
    let (user, _) = found.ok_or_else(invalid_credentials)?;
    if !user.email_verified {
        return Err(Error::Forbidden {
            code: "email_not_verified",
            message: "confirm your e-mail address first (see the mail we sent)".into(),
        });
    }
    let settings = teams::team(s, &user.team_id).await?.0.settings;
    if !settings.admits(ip) {
        s.items()
            .transact(vec![crate::store::audit::account_event(
                s.now(),
                &user.team_id,
                &user.id,
                "account.login_refused_address",
                Outcome::Failure,
                ip,
                ua,
            )?])
            .await?;
        return Err(address_not_allowed());
    }
    if user.two_factor {
        return Ok(LoginStep::SecondFactor(
            pending_login(s, &user, kind, known_device).await?,
        ));
    }
    Ok(LoginStep::Done(Box::new(
        open_session(s, user, &settings, kind, client, known_device).await?,
    )))
}

/// A login whose password was right, waiting for its second factor.
pub struct PendingSecondFactor {
    /// The token that carries the login to its second step (`POST /auth/login/second-factor`).
    pub token: String,
    /// When it stops waiting.
    pub expires_at: OffsetDateTime,
}

/// What a right password leads to.
pub enum LoginStep {
    /// A session.
    Done(Box<LoggedIn>),
    /// The account asks for a second factor first.
    SecondFactor(PendingSecondFactor),
}

async fn pending_login(
    s: &(impl Items + Time),
    user: &User,
    kind: SessionKind,
    device: Option<String>,
) -> Result<PendingSecondFactor> {
    let token = Secret::generate();
    let expires_at = s.now() + Duration::minutes(PENDING_MINUTES);
    let mut item = token_item(&token, TokenPurpose::SecondFactor, user, expires_at)?;
    item.body = to_json(&OneTimeToken {
        purpose: TokenPurpose::SecondFactor,
        team_id: user.team_id.clone(),
        user_id: user.id.clone(),
        epoch: user.session_epoch,
        login: Some(PendingLogin {
            kind,
            device,
            attempts: 0,
        }),
    })?;
    s.items().put(item, Condition::NotExists).await?;
    Ok(PendingSecondFactor {
        token: token.token,
        expires_at,
    })
}

/// The pending login of `raw` (a token from [`LoginStep::SecondFactor`]): its user, its
/// record and item (to count a wrong code or consume it).
pub(crate) async fn pending(
    s: &(impl Items + Time),
    raw: &str,
) -> Result<(User, PendingLogin, Item)> {
    if raw.is_empty() || raw.len() > 100 {
        return Err(login_expired());
    }
    let item = s
        .items()
        .get(&keys::token(&hash_token(raw)))
        .await?
        .ok_or_else(login_expired)?;
    let token: OneTimeToken = from_item(&item)?;
    let (Some(login), TokenPurpose::SecondFactor) = (token.login, token.purpose) else {
        return Err(login_expired());
    };
    let (user, _) = crate::store::users::load_user(s, &token.team_id, &token.user_id)
        .await?
        .ok_or_else(login_expired)?;
    if token.epoch != user.session_epoch || !user.two_factor {
        return Err(login_expired());
    }
    Ok((user, login, item))
}

/// Counts a wrong code against a pending login; the last allowed one ends it.
pub(crate) async fn pending_refused(
    s: &impl Items,
    mut login: PendingLogin,
    item: Item,
) -> Result<()> {
    login.attempts += 1;
    // Losing a race to another attempt only means this one was not counted twice.
    let outcome = if login.attempts >= PENDING_ATTEMPTS {
        s.items()
            .delete(&item.key, Condition::Version(item.version))
            .await
    } else {
        let mut token: OneTimeToken = from_item(&item)?;
        token.login = Some(login);
        let mut counted = item.clone();
        counted.body = to_json(&token)?;
        counted.version += 1;
        s.items()
            .put(counted, Condition::Version(item.version))
            .await
    };
    match outcome {
        Ok(()) | Err(crate::ports::StoreError::ConditionFailed) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Ends a pending login whose code was right and opens its session.
pub(crate) async fn pending_accepted(
    s: &(impl Items + Time + Settings),
    user: User,
    login: PendingLogin,
    item: Item,
    client: &Client,
) -> Result<LoggedIn> {
    let settings = teams::team(s, &user.team_id).await?.0.settings;
    if !settings.admits(client.ip) {
        return Err(address_not_allowed());
    }
    // Consumed first, with a condition: one pending login opens one session.
    s.items()
        .delete(&item.key, Condition::Version(item.version))
        .await
        .map_err(|e| match e {
            crate::ports::StoreError::ConditionFailed => login_expired(),
            other => other.into(),
        })?;
    open_session(s, user, &settings, login.kind, client, login.device).await
}

/// A new session of `kind` for `user` (whose credentials were checked, under their team's
/// `settings`), and a device cookie when the caller's device was not known to the account.
async fn open_session(
    s: &(impl Items + Time + Settings),
    user: User,
    settings: &TeamSettings,
    kind: SessionKind,
    client: &Client,
    known_device: Option<String>,
) -> Result<LoggedIn> {
    let NewSession {
        token,
        csrf,
        mut writes,
        ..
    } = new_session(s, &user, kind, None)?;
    writes.push(crate::store::audit::account_event(
        s.now(),
        &user.team_id,
        &user.id,
        "account.logged_in",
        Outcome::Success,
        client.ip,
        client.user_agent.as_deref(),
    )?);
    s.items().transact(writes).await?;
    let device = match known_device {
        Some(_) => None,
        None => Some(remember_device(s, &user.email).await?),
    };
    let must_enrol_two_factor = !user.two_factor && settings.require_two_factor;
    Ok(LoggedIn {
        token: token.token,
        csrf,
        user,
        kind,
        must_enrol_two_factor,
        device,
    })
}

/// A session about to be stored.
struct NewSession {
    /// Its token.
    token: Secret,
    /// Its CSRF token.
    csrf: String,
    /// The id of its API token record (API sessions).
    api_token_id: Option<String>,
    /// The writes that store it.
    writes: Vec<Write>,
}

/// A new session of `kind` for `user` (and, for an API token, the record that lists it,
/// with its `name`), to be written in one transaction with what else the caller writes.
fn new_session(
    s: &(impl Time + Settings),
    user: &User,
    kind: SessionKind,
    name: Option<String>,
) -> Result<NewSession> {
    let now = s.now();
    let token = Secret::generate();
    let csrf = Secret::generate().token;
    let session = Session {
        kind,
        team_id: user.team_id.clone(),
        user_id: user.id.clone(),
        csrf: csrf.clone(),
        epoch: user.session_epoch,
        created_at: now,
        last_seen: now,
    };
    let mut item = Item::new(keys::session(&token.hash), to_json(&session)?);
    item.expires_at = Some(session_deadline(s, &session).unix_timestamp());
    let mut writes = vec![Write::Put {
        item,
        condition: Condition::NotExists,
    }];
    let mut api_token_id = None;
    if kind == SessionKind::Api {
        let id = crate::ids::new_id(now);
        api_token_id = Some(id.clone());
        let mut record = Item::new(
            keys::api_token(&user.team_id, &user.id, &id),
            to_json(&ApiTokenRecord {
                id,
                session_hash: token.hash.clone(),
                name,
            })?,
        );
        record.expires_at = Some((now + s.config().api_token_absolute).unix_timestamp());
        writes.push(Write::Put {
            item: record,
            condition: Condition::NotExists,
        });
    }
    Ok(NewSession {
        token,
        csrf,
        api_token_id,
        writes,
    })
}

/// A named API token for scripts, made by a logged-in user whose logins ask for a second
/// factor: the one way for a script around the code. Its token is shown once.
pub async fn create_api_token(
    s: &(impl Items + Time + Settings),
    caller: &Caller,
    name: &str,
) -> Result<(ApiToken, String)> {
    if !caller.user.two_factor {
        return Err(Error::Forbidden {
            code: "two_factor_required",
            message: "turn on two-factor login before making API tokens".into(),
        });
    }
    let name = text::line(name, "name", 100)?;
    let NewSession {
        token,
        api_token_id,
        mut writes,
        ..
    } = new_session(s, &caller.user, SessionKind::Api, Some(name.clone()))?;
    writes.push(crate::store::audit::caller_event(
        s.now(),
        caller,
        "account.api_token_created",
        api_token_id.as_ref().map(|id| format!("token:{id}")),
    )?);
    s.items().transact(writes).await?;
    let now = s.now();
    Ok((
        ApiToken {
            id: api_token_id.unwrap_or_default(),
            name: Some(name),
            created_at: now,
            last_used: now,
            expires_at: now + s.config().api_token_idle.min(s.config().api_token_absolute),
            current: false,
        },
        token.token,
    ))
}

fn address_not_allowed() -> Error {
    Error::Forbidden {
        code: "address_not_allowed",
        message: "your team allows its members to work only from its own networks".into(),
    }
}

/// The hash of `token` when it is a device cookie of the account `email`.
async fn known_device(
    s: &(impl Items + Time),
    token: &str,
    email: &Email,
) -> Result<Option<String>> {
    if token.is_empty() || token.len() > 100 {
        return Ok(None);
    }
    let hash = hash_token(token);
    let Some(item) = s.items().get(&keys::device(&hash)).await? else {
        return Ok(None);
    };
    let expired = item
        .expires_at
        .is_some_and(|t| t <= s.now().unix_timestamp());
    let device: Device = from_item(&item)?;
    Ok((!expired && device.email == email.as_str()).then_some(hash))
}

/// A new device token for the account `email` (its hash stored for a year).
async fn remember_device(s: &(impl Items + Time), email: &Email) -> Result<String> {
    let token = Secret::generate();
    let mut item = Item::new(
        keys::device(&token.hash),
        to_json(&Device {
            email: email.as_str().to_owned(),
        })?,
    );
    item.expires_at = Some((s.now() + Duration::days(DEVICE_DAYS)).unix_timestamp());
    s.items().put(item, Condition::NotExists).await?;
    Ok(token.token)
}

fn session_deadline(s: &impl Settings, session: &Session) -> OffsetDateTime {
    match session.kind {
        SessionKind::Browser => (session.last_seen + s.config().session_idle)
            .min(session.created_at + s.config().session_absolute),
        SessionKind::Api => (session.last_seen + s.config().api_token_idle)
            .min(session.created_at + s.config().api_token_absolute),
    }
}

/// The caller's API tokens that still work, newest first.
pub async fn list_api_tokens(
    s: &(impl Items + Time + Settings),
    caller: &Caller,
) -> Result<Vec<ApiToken>> {
    let page = s
        .items()
        .query(&crate::ports::Query {
            pk: keys::team_pk(caller.team()),
            sk_prefix: keys::api_tokens_prefix(caller.user_id()),
            after: None,
            descending: true,
            limit: 1000,
        })
        .await?;
    let mut out = Vec::new();
    for item in page.items {
        let record: ApiTokenRecord = from_item(&item)?;
        let key = keys::session(&record.session_hash);
        let Some(session_item) = s.items().get(&key).await? else {
            continue;
        };
        let session: Session = from_item(&session_item)?;
        let expires_at = session_deadline(s, &session);
        if expires_at <= s.now() || session.epoch != caller.user.session_epoch {
            continue;
        }
        out.push(ApiToken {
            id: record.id,
            name: record.name,
            created_at: session.created_at,
            last_used: session.last_seen,
            expires_at,
            current: key == keys::session(&caller.session_hash),
        });
    }
    Ok(out)
}

/// Revokes one of the caller's API tokens.
pub async fn revoke_api_token(s: &(impl Items + Time), caller: &Caller, id: &str) -> Result<()> {
    if id.is_empty() || id.len() > 64 {
        return Err(Error::NotFound);
    }
    let key = keys::api_token(caller.team(), caller.user_id(), id);
    let item = s.items().get(&key).await?.ok_or(Error::NotFound)?;
    let record: ApiTokenRecord = from_item(&item)?;
    s.items()
        .transact(vec![
            Write::Delete {
                key: keys::session(&record.session_hash),
                condition: Condition::None,
            },
            Write::Delete {
                key,
                condition: Condition::None,
            },
            crate::store::audit::caller_event(
                s.now(),
                caller,
                "account.api_token_revoked",
                Some(format!("token:{id}")),
            )?,
        ])
        .await?;
    Ok(())
}

/// Resolves a session token to its caller, or `Unauthorized` (unknown, expired, revoked,
/// or presented the wrong way: a browser session only as a cookie, an API token only as a
/// bearer token).
pub async fn authenticate(
    s: &(impl Items + Time + Settings),
    token: &str,
    presented_as: SessionKind,
    ip: IpAddr,
) -> Result<Caller> {
    let expired = || Error::unauthorized("not logged in, or the session has ended");
    if token.is_empty() || token.len() > 100 {
        return Err(expired());
    }
    let session_hash = hash_token(token);
    let item = s
        .items()
        .get(&keys::session(&session_hash))
        .await?
        .ok_or_else(expired)?;
    let mut session: Session = from_item(&item)?;
    let now = s.now();
    if session.kind != presented_as || session_deadline(s, &session) <= now {
        return Err(expired());
    }
    let (user, _) = crate::store::users::load_user(s, &session.team_id, &session.user_id)
        .await?
        .ok_or_else(expired)?;
    if user.session_epoch != session.epoch || user.removed_at.is_some() {
        return Err(expired());
    }
    let settings = teams::team(s, &user.team_id).await?.0.settings;
    if !settings.admits(ip) {
        return Err(address_not_allowed());
    }
    // Record activity at most once a minute.
    if now - session.last_seen > Duration::minutes(1) {
        session.last_seen = now;
        let mut touched = item.clone();
        touched.body = to_json(&session)?;
        touched.version += 1;
        touched.expires_at = Some(session_deadline(s, &session).unix_timestamp());
        // Losing a race to another request only means an older last_seen.
        let _ = s
            .items()
            .put(touched, Condition::Version(item.version))
            .await;
    }
    Ok(Caller {
        user,
        kind: session.kind,
        csrf: session.csrf,
        ip,
        session_hash,
        settings,
        user_agent: None,
    })
}

/// Ends the caller's session.
pub async fn logout(s: &impl Items, caller: &Caller) -> Result<()> {
    s.items()
        .delete(&keys::session(&caller.session_hash), Condition::None)
        .await?;
    Ok(())
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

/// Changes the password (the current one is required) and revokes every other session; the
/// member and the team's admins are mailed.
pub async fn change_password(
    s: &(impl Items + Mail + Time + Settings),
    caller: &Caller,
    current: &str,
    new: &str,
) -> Result<()> {
    ratelimit::hit(
        s.items(),
        s.now(),
        ratelimit::PASSWORD_CHANGE_PER_ACCOUNT,
        caller.user_id().as_str(),
    )
    .await?;
    let (mut user, item) = crate::store::users::load_user(s, caller.team(), caller.user_id())
        .await?
        .ok_or(Error::NotFound)?;
    if current.len() > 4 * password::MAX_LENGTH
        || !password::verify(current, Some(&user.password_hash)).await?
    {
        return Err(Error::invalid(
            "wrong_password",
            "current",
            "the current password is wrong",
        ));
    }
    password::check(new, Some(user.email.as_str()), Some(&user.name))
        .map_err(|w| w.into_error("new"))?;
    user.password_hash = password::hash(new).await?;
    user.session_epoch += 1;
    // The session making the change moves to the new epoch; every other one is revoked.
    let session_item = s
        .items()
        .get(&keys::session(&caller.session_hash))
        .await?
        .ok_or_else(|| Error::unauthorized("the session has ended"))?;
    let mut session: Session = from_item(&session_item)?;
    session.epoch = user.session_epoch;
    let mut moved = session_item.clone();
    moved.body = to_json(&session)?;
    moved.version += 1;
    let writes = vec![
        Write::Put {
            item: moved,
            condition: Condition::Version(session_item.version),
        },
        crate::store::audit::audit_write(
            s.now(),
            &user.team_id,
            &user.id,
            "account.password_changed",
            caller.ip,
        )?,
    ];
    commit_user(s, writes, &user, &item).await?;
    teams::tell(s, &user, MemberChange::PasswordChanged).await
}

/// Mails a reset link if the address has an account; answers the same either way.
pub async fn request_reset(
    s: &(impl Items + Mail + Time + Settings),
    email: &str,
    ip: IpAddr,
) -> Result<()> {
    ratelimit::hit(
        s.items(),
        s.now(),
        ratelimit::RESET_PER_ADDRESS,
        &address_subject(ip),
    )
    .await?;
    let email = Email::parse(email, "email")?;
    ratelimit::hit(
        s.items(),
        s.now(),
        ratelimit::RESET_PER_ACCOUNT,
        email.as_str(),
    )
    .await?;
    let Some((user, _)) = crate::store::users::user_by_email(s, &email).await? else {
        return Ok(());
    };
    let token = Secret::generate();
    s.items()
        .put(
            token_item(
                &token,
                TokenPurpose::ResetPassword,
                &user,
                s.now() + Duration::hours(1),
            )?,
            Condition::NotExists,
        )
        .await?;
    s.mailer()
        .send(&mail::password_reset(
            s,
            email.as_str(),
            &user.name,
            &token.token,
        )?)
        .await?;
    Ok(())
}

/// Sets a new password from a reset token (single use); every session is revoked. The
/// mailed link also proves the address, so it counts as verified. The member and the
/// team's admins are mailed.
pub async fn confirm_reset(
    s: &(impl Items + Mail + Time + Settings),
    token: &str,
    new: &str,
    ip: IpAddr,
) -> Result<()> {
    let (mut user, before, token_key) = redeem(s, token, TokenPurpose::ResetPassword, ip).await?;
    password::check(new, Some(user.email.as_str()), Some(&user.name))
        .map_err(|w| w.into_error("new"))?;
    user.password_hash = password::hash(new).await?;
    user.session_epoch += 1;
    user.email_verified = true;
    consume(s, &user, &before, token_key, "account.password_reset", ip).await?;
    teams::tell(s, &user, MemberChange::PasswordChanged).await
}

/// Why a password would be refused (rate-limited; no account needed).
pub async fn password_check(
    s: &(impl Items + Time),
    pw: &str,
    email: Option<&str>,
    name: Option<&str>,
    ip: IpAddr,
) -> Result<Option<password::Weakness>> {
    ratelimit::hit(
        s.items(),
        s.now(),
        ratelimit::PASSWORD_CHECK_PER_ADDRESS,
        &address_subject(ip),
    )
    .await?;
    Ok(password::check(pw, email, name).err())
}
