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
    /// When an admin removed it from its team: it can no longer log in, and its address is
    /// free again; the record stays, as its documents and history name it.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub removed_at: Option<OffsetDateTime>,
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
    /// Manages the team: members, roles, settings.
    Admin,
    /// Sends documents and sees their own and those shared with them.
    Member,
    /// Reads the team's audit log and documents; changes nothing.
    Auditor,
}

impl TeamRole {
    /// The role as the API names it.
    pub fn as_str(self) -> &'static str {
        match self {
            TeamRole::Admin => "admin",
            TeamRole::Member => "member",
            TeamRole::Auditor => "auditor",
        }
    }

    /// The role the API names `name`.
    pub fn parse(name: &str) -> Option<TeamRole> {
        match name {
            "admin" => Some(TeamRole::Admin),
            "member" => Some(TeamRole::Member),
            "auditor" => Some(TeamRole::Auditor),
            _ => None,
        }
    }
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

/// Where a request comes from, as the audit log records it.
#[derive(Clone, Debug)]
pub struct Client {
    /// The client address (as the edge's trusted-proxy rules determine it).
    pub ip: IpAddr,
    /// The User-Agent it sent.
    pub user_agent: Option<String>,
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
    /// What the caller's team requires of its members.
    pub settings: crate::domain::team::TeamSettings,
    /// The client's User-Agent, for the audit log.
    pub user_agent: Option<String>,
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

    /// Whether the team requires two-factor login and the caller has not enrolled yet: until
    /// they have, they can do nothing else.
    pub fn must_enrol_two_factor(&self) -> bool {
        self.settings.require_two_factor && !self.user.two_factor
    }

    /// The caller, if it may change things (every role but the read-only auditor).
    pub fn writer(&self) -> Result<&Caller, crate::error::Error> {
        match self.user.role {
            TeamRole::Auditor => Err(crate::error::Error::Forbidden {
                code: "read_only_role",
                message: "an auditor reads, and changes nothing".into(),
            }),
            _ => Ok(self),
        }
    }
}

/// A caller who administers their team: only [`TeamAdmin::of`] makes one, so a use case
/// that takes a `&TeamAdmin` cannot run for anyone else.
#[derive(Debug)]
pub struct TeamAdmin<'a>(&'a Caller);

impl<'a> TeamAdmin<'a> {
    /// The caller as their team's admin, or `Forbidden`.
    pub fn of(caller: &'a Caller) -> Result<TeamAdmin<'a>, crate::error::Error> {
        match caller.user.role {
            TeamRole::Admin => Ok(TeamAdmin(caller)),
            _ => Err(crate::error::Error::Forbidden {
                code: "admin_only",
                message: "only the team's admins may do this".into(),
            }),
        }
    }

    /// The admin as a caller.
    pub fn caller(&self) -> &Caller {
        self.0
    }
}
