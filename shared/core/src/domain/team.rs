//! A team: the company (or person) whose members send documents together. Every item of
//! its members and documents lives under it.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::TeamId;

/// A stored team. Its item's version also serialises changes to its membership (a role
/// change or a removal writes it with a condition), so two admins demoting each other at
/// once cannot leave it without one.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Team {
    /// Its id.
    pub id: TeamId,
    /// Its name (the founder's name at sign-up).
    pub name: String,
    /// When it was made.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}
