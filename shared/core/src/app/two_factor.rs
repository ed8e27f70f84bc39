//! Two-factor login: enrolment (a fresh secret for the user's authenticator app, confirmed
//! by a first code, then ten recovery codes), the second step of a login, and turning it
//! off (password and a code). The secret is stored encrypted under a data key of its own
//! bound to the account (the Keys port, as documents are); the last time step accepted and
//! the unused recovery codes' hashes are written back with a condition on the item's
//! version, so each code is accepted once even when two requests race.

use base64::Engine;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::app::accounts::{self, LoggedIn};
use crate::app::teams;
use crate::domain::audit::Outcome;
use crate::domain::team::MemberChange;
use crate::domain::two_factor::{self, CodeRefusal, TotpSecret};
use crate::domain::user::{Caller, Client, User};
use crate::envelope::{self, Binding};
use crate::error::{Error, Result};
use crate::ports::{Condition, Item, Keys, StoreError, Write};
use crate::ratelimit;
use crate::services::needs::{Decrypt, Encrypt, Items, Mail, Settings, Time};
use crate::store::audit::audit_write;
use crate::store::{from_item, keys, to_json};

/// An account's second factor as stored.
#[derive(Serialize, Deserialize)]
struct Enrolment {
    /// The secret, encrypted (base64 of an envelope bound to the account).
    secret: String,
    /// Whether a first code confirmed it: only then do logins ask for codes.
    confirmed: bool,
    /// The last time step a code was accepted for (a code of it or before is refused).
    last_step: Option<u64>,
    /// Hashes of the recovery codes not used yet.
    recovery: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
}

/// What the user's authenticator app needs, shown during enrolment only.
pub struct EnrolmentStarted {
    /// The secret in base32, for typing in by hand.
    pub secret: String,
    /// The `otpauth://` URL the QR code carries.
    pub otpauth_url: String,
}

fn binding(user: &User) -> Binding {
    Binding {
        owner: format!("totp-{}", user.id),
        role: "totp",
        version: 1,
    }
}

/// Small enough for any item: a 20-byte secret in one segment with its header.
const SEALED_LIMIT: usize = 4096;

async fn seal(keys: &dyn Keys, user: &User, secret: &TotpSecret) -> Result<String> {
    let source = envelope::seal_bytes_source(Bytes::copy_from_slice(secret.as_bytes()));
    let sealed = envelope::encrypt(keys, &binding(user), source).await?;
    let bytes = envelope::collect(sealed, SEALED_LIMIT).await?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

async fn open(keys: &dyn Keys, user: &User, sealed: &str) -> Result<TotpSecret> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(sealed)
        .map_err(|_| Error::Integrity("stored second factor unreadable".into()))?;
    let source = envelope::seal_bytes_source(Bytes::from(bytes));
    let plain = envelope::open_stream(keys, &binding(user), source).await?;
    let plain = envelope::collect(plain, SEALED_LIMIT).await?;
    Ok(TotpSecret::from_bytes(plain.to_vec()))
}

async fn load(s: &impl Items, user: &User) -> Result<Option<(Enrolment, Item)>> {
    match s
        .items()
        .get(&keys::two_factor(&user.team_id, &user.id))
        .await?
    {
        Some(item) => Ok(Some((from_item(&item)?, item))),
        None => Ok(None),
    }
}

fn wrong_code(refusal: CodeRefusal) -> Error {
    match refusal {
        CodeRefusal::Malformed => Error::invalid(
            "code_malformed",
            "code",
            "a code is the six digits the app shows, or a recovery code",
        ),
        CodeRefusal::Wrong => Error::invalid("code_wrong", "code", "the code is wrong"),
        CodeRefusal::Replayed => Error::invalid(
            "code_used",
            "code",
            "this code was already used: wait for the next one",
        ),
    }
}

/// Whether `code` is a recovery code rather than six digits (they never look alike).
fn is_recovery_code(code: &str) -> bool {
    code.chars().any(char::is_alphabetic)
}

/// Checks `code` (six digits or a recovery code) against a confirmed enrolment and records
/// its use with a condition, so the same code never works twice.
async fn consume_code(
    s: &(impl Items + Decrypt + Time),
    user: &User,
    code: &str,
) -> Result<(Enrolment, Item)> {
    let (mut enrolment, item) = load(s, user)
        .await?
        .filter(|(e, _)| e.confirmed)
        .ok_or_else(|| Error::conflict("two_factor_off", "two-factor login is not on"))?;
    if code.len() > 64 {
        return Err(wrong_code(CodeRefusal::Malformed));
    }
    if is_recovery_code(code) {
        let hash = two_factor::recovery_hash(code);
        let before = enrolment.recovery.len();
        enrolment
            .recovery
            .retain(|h| !bool::from(subtle::ConstantTimeEq::ct_eq(h.as_bytes(), hash.as_bytes())));
        if enrolment.recovery.len() == before {
            return Err(Error::invalid(
                "code_wrong",
                "code",
                "the recovery code is wrong or was already used",
            ));
        }
    } else {
        let secret = open(s.decryption(), user, &enrolment.secret).await?;
        let step = secret
            .verify(code, s.now(), enrolment.last_step)
            .map_err(wrong_code)?;
        enrolment.last_step = Some(step);
    }
    Ok((enrolment, item))
}

/// The write that stores `enrolment` over `before`, if `before` is unchanged.
fn write_back(enrolment: &Enrolment, before: &Item) -> Result<Write> {
    let mut item = before.clone();
    item.body = to_json(enrolment)?;
    item.version += 1;
    Ok(Write::Put {
        item,
        condition: Condition::Version(before.version),
    })
}

/// A code that lost a race to the same code in another request was used already.
fn raced(e: StoreError) -> Error {
    match e {
        StoreError::ConditionFailed => wrong_code(CodeRefusal::Replayed),
        other => other.into(),
    }
}

/// Counts a code against the account's budget (slowed down beyond it, like passwords).
async fn code_budget(s: &(impl Items + Time), user: &User) -> Result<()> {
    ratelimit::hit(
        s.items(),
        s.now(),
        ratelimit::SECOND_FACTOR_PER_ACCOUNT,
        user.id.as_str(),
    )
    .await
}

/// Starts (or restarts) enrolment: a fresh secret, stored encrypted and unconfirmed.
pub async fn start(s: &(impl Items + Encrypt + Time), caller: &Caller) -> Result<EnrolmentStarted> {
    let user = &caller.user;
    let existing = load(s, user).await?;
    if user.two_factor || existing.as_ref().is_some_and(|(e, _)| e.confirmed) {
        return Err(Error::conflict(
            "two_factor_on",
            "two-factor login is already on: turn it off first to change the app",
        ));
    }
    let secret = TotpSecret::generate(&mut rand::rngs::OsRng);
    let enrolment = Enrolment {
        secret: seal(s.encryption(), user, &secret).await?,
        confirmed: false,
        last_step: None,
        recovery: Vec::new(),
        created_at: s.now(),
    };
    let key = keys::two_factor(&user.team_id, &user.id);
    let (item, condition) = match existing {
        Some((_, before)) => {
            let mut item = before.clone();
            item.body = to_json(&enrolment)?;
            item.version += 1;
            (item, Condition::Version(before.version))
        }
        None => (Item::new(key, to_json(&enrolment)?), Condition::NotExists),
    };
    s.items().put(item, condition).await.map_err(|e| match e {
        StoreError::ConditionFailed => Error::conflict(
            "concurrent_change",
            "enrolment changed meanwhile; try again",
        ),
        other => other.into(),
    })?;
    Ok(EnrolmentStarted {
        secret: secret.base32(),
        otpauth_url: secret.otpauth_url(user.email.as_str()),
    })
}

/// Confirms enrolment with the app's first code: two-factor login is on from now, and the
/// ten recovery codes (shown this once) are returned.
pub async fn confirm(
    s: &(impl Items + Decrypt + Mail + Time + Settings),
    caller: &Caller,
    code: &str,
) -> Result<Vec<String>> {
    let user = &caller.user;
    code_budget(s, user).await?;
    let (mut enrolment, before) = load(s, user)
        .await?
        .filter(|(e, _)| !e.confirmed)
        .ok_or_else(|| {
            Error::conflict(
                "enrolment_not_started",
                "start enrolment first (or two-factor login is already on)",
            )
        })?;
    if code.len() > 64 {
        return Err(wrong_code(CodeRefusal::Malformed));
    }
    let secret = open(s.decryption(), user, &enrolment.secret).await?;
    enrolment.last_step = Some(secret.verify(code, s.now(), None).map_err(wrong_code)?);
    let codes = two_factor::recovery_codes(&mut rand::rngs::OsRng);
    enrolment.recovery = codes.iter().map(|c| two_factor::recovery_hash(c)).collect();
    enrolment.confirmed = true;
    let (mut stored, user_item) = crate::store::users::load_user(s, &user.team_id, &user.id)
        .await?
        .ok_or(Error::NotFound)?;
    stored.two_factor = true;
    let writes = vec![
        write_back(&enrolment, &before)?,
        audit_write(
            s.now(),
            &user.team_id,
            &user.id,
            "account.two_factor_enabled",
            caller.ip,
        )?,
    ];
    accounts::commit_user(s, writes, &stored, &user_item).await?;
    teams::tell(s, &stored, MemberChange::TwoFactorOn).await?;
    Ok(codes)
}

/// Turns two-factor login off, with the password and a code (or a recovery code).
pub async fn disable(
    s: &(impl Items + Decrypt + Mail + Time + Settings),
    caller: &Caller,
    password_text: &str,
    code: &str,
) -> Result<()> {
    let user = &caller.user;
    code_budget(s, user).await?;
    if password_text.len() > 4 * crate::password::MAX_LENGTH
        || !crate::password::verify(password_text, Some(&user.password_hash)).await?
    {
        return Err(Error::invalid(
            "wrong_password",
            "password",
            "the password is wrong",
        ));
    }
    let (_, before) = consume_code(s, user, code).await?;
    let (mut stored, user_item) = crate::store::users::load_user(s, &user.team_id, &user.id)
        .await?
        .ok_or(Error::NotFound)?;
    stored.two_factor = false;
    let writes = vec![
        Write::Delete {
            key: before.key.clone(),
            condition: Condition::Version(before.version),
        },
        audit_write(
            s.now(),
            &user.team_id,
            &user.id,
            "account.two_factor_disabled",
            caller.ip,
        )?,
    ];
    accounts::commit_user(s, writes, &stored, &user_item).await?;
    teams::tell(s, &stored, MemberChange::TwoFactorOff).await?;
    Ok(())
}

/// The second step of a login: the pending login's token and a code (or a recovery code).
/// A wrong code counts against the pending login, which ends after five.
pub async fn login(
    s: &(impl Items + Decrypt + Time + Settings),
    login_token: &str,
    code: &str,
    client: &Client,
) -> Result<LoggedIn> {
    let ip = client.ip;
    ratelimit::hit(
        s.items(),
        s.now(),
        ratelimit::LOGIN_PER_ADDRESS,
        &ratelimit::address_subject(ip),
    )
    .await?;
    let (user, pending, pending_item) = accounts::pending(s, login_token).await?;
    code_budget(s, &user).await?;
    let (enrolment, before) = match consume_code(s, &user, code).await {
        Ok(found) => found,
        Err(e @ Error::Invalid { .. }) => {
            s.items()
                .transact(vec![crate::store::audit::account_event(
                    s.now(),
                    &user.team_id,
                    &user.id,
                    "account.second_factor_failed",
                    Outcome::Failure,
                    ip,
                    client.user_agent.as_deref(),
                )?])
                .await?;
            accounts::pending_refused(s, pending, pending_item).await?;
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    s.items()
        .transact(vec![write_back(&enrolment, &before)?])
        .await
        .map_err(raced)?;
    accounts::pending_accepted(s, user, pending, pending_item, client).await
}
