//! Handlers: thin HTTP shells around the domain's use cases.

pub mod accounts;
pub mod documents;

use serde::Serialize;
use utoipa::ToSchema;

/// A short acknowledgement.
#[derive(Serialize, ToSchema)]
pub struct StatusMessage {
    /// What happened, e.g. `verification_sent`.
    pub status: String,
}

impl StatusMessage {
    /// An acknowledgement with this status.
    pub fn new(status: &str) -> axum::Json<Self> {
        axum::Json(StatusMessage {
            status: status.to_owned(),
        })
    }
}
