//! Logging in: the password, the second factor when the account has one, the session it
//! opens (with the device cookie), resolving a session to its caller, and logging out.

use super::*;

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

pub(super) fn invalid_credentials() -> Error {
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

pub(super) async fn pending_login(
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
pub(super) async fn open_session(
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
pub(super) struct NewSession {
    /// Its token.
    pub(super) token: Secret,
    /// Its CSRF token.
    pub(super) csrf: String,
    /// The id of its API token record (API sessions).
    pub(super) api_token_id: Option<String>,
    /// The writes that store it.
    pub(super) writes: Vec<Write>,
}

/// A new session of `kind` for `user` (and, for an API token, the record that lists it,
/// with its `name`), to be written in one transaction with what else the caller writes.
pub(super) fn new_session(
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

pub(super) fn address_not_allowed() -> Error {
    Error::Forbidden {
        code: "address_not_allowed",
        message: "your team allows its members to work only from its own networks".into(),
    }
}

/// The hash of `token` when it is a device cookie of the account `email`.
pub(super) async fn known_device(
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
pub(super) async fn remember_device(s: &(impl Items + Time), email: &Email) -> Result<String> {
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

pub(super) fn session_deadline(s: &impl Settings, session: &Session) -> OffsetDateTime {
    match session.kind {
        SessionKind::Browser => (session.last_seen + s.config().session_idle)
            .min(session.created_at + s.config().session_absolute),
        SessionKind::Api => (session.last_seen + s.config().api_token_idle)
            .min(session.created_at + s.config().api_token_absolute),
    }
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
