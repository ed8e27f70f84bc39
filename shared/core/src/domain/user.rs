//! Accounts as the domain sees them: a user, their role in their team, and the caller of a
//! request, who exists only once authenticated.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::{TeamId, UserId};
use crate::text::Email;

/// A stored user account.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct User {
    /// Its id.
    pub id: UserId,
    /// The team it belongs to (its own, from sign-up).
    pub team_id: TeamId,
    /// Its e-mail address (unique across the service).
    pub email: Email,
    /// Its name as typed.
    pub name: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Whether the address was confirmed.
    pub email_verified: bool,
    /// `ja` or `en`.
    pub language: String,
    /// Its role in its team.
    pub role: TeamRole,
    /// Sessions made under another epoch are revoked.
    pub session_epoch: u64,
    /// Whether the account may use the ops view (`keiyaku operator grant`).
    #[serde(default)]
    pub operator: bool,
    /// Whether logins ask for a second factor (TOTP or a recovery code).
    #[serde(default)]
    pub two_factor: bool,
    /// When it signed up.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A user's role in a team.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TeamRole {
    /// Manages the team.
    Admin,
    /// A member.
    Member,
}

/// How a session's token travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionKind {
    /// A browser's cookie: CSRF token required on state-changing requests.
    Browser,
    /// An API client's bearer token.
    Api,
}

/// An authenticated caller: only authentication (`accounts::authenticate`) makes one, so a use case that takes a
/// `&Caller` cannot run for an anonymous request.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The user, as stored.
    pub user: User,
    /// How the session's token travels.
    pub kind: SessionKind,
    /// The CSRF token of a browser session.
    pub csrf: String,
    /// The client address of this request.
    pub ip: IpAddr,
    /// The hash of the session's token (the session this request is made in).
    pub(crate) session_hash: String,
}

impl Caller {
    /// The caller's team.
    pub fn team(&self) -> &TeamId {
        &self.user.team_id
    }
    /// The caller's user id.
    pub fn user_id(&self) -> &UserId {
        &self.user.id
    }
}
