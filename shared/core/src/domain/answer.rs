//! A party's answer to a document: approve or reject (approvers), agree or decline
//! (recipients), with when, from where and why.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A party's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// An approver approves.
    Approved,
    /// An approver rejects.
    Rejected,
    /// A recipient agrees.
    Agreed,
    /// A recipient declines.
    Declined,
}

/// One recorded answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// Who (`a1`, `r2`, …).
    pub party_id: String,
    /// In which send.
    pub send: u32,
    /// What.
    pub decision: Decision,
    /// The reason given with a rejection or a decline.
    pub reason: Option<String>,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// From which address.
    pub ip: String,
}

/// How a document ended, as `notify` is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ending {
    /// An approver rejected it.
    Rejected,
    /// A recipient declined.
    Declined,
    /// The sender cancelled.
    Cancelled,
    /// The deadline passed.
    Expired,
}
