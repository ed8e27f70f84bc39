//! The record of one evidence step (a seal, long-term form) applied to a document.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// One evidence step applied to a document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SealRecord {
    /// The step: `send`, `agreement:<party id>`, or `long_term`.
    pub step: String,
    /// The seal's `/Reason` (empty for long-term form).
    pub reason: String,
    /// The file version it produced.
    pub version: u32,
    /// When it was applied.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
}
