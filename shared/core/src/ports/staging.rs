//! Staging: where the file of an upload slot goes before it is checked. On AWS the client
//! posts it straight to a staging bucket with a presigned S3 POST (API Gateway takes 10 MB
//! and Lambda 6 MB per request, so large bodies never pass through them), and the next call
//! that needs it takes it from there; locally the server's own `PUT /uploads/{id}` receives
//! it, so nothing is ever staged.

use std::collections::BTreeMap;

use async_trait::async_trait;
use time::OffsetDateTime;

use super::ByteStream;

/// How a client sends the file of an upload slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadTarget {
    /// Where to send it.
    pub url: String,
    /// `PUT` (the body is the file) or `POST` (a multipart form: `fields`, then `file`).
    pub method: String,
    /// The form fields to send before the file (a presigned POST's policy and signature).
    pub fields: BTreeMap<String, String>,
}

/// What staging can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StagingError {
    /// The staging area could not be reached or refused the request; worth retrying.
    #[error("staging: {0}")]
    Unavailable(String),
}

/// Where uploads wait to be checked.
#[async_trait]
pub trait Staging: Send + Sync {
    /// Where the client sends upload `id`, of exactly `size` bytes, until `expires_at`.
    async fn target(
        &self,
        id: &str,
        size: u64,
        expires_at: OffsetDateTime,
    ) -> Result<UploadTarget, StagingError>;
    /// The staged file of upload `id`, if one arrived there.
    async fn take(&self, id: &str) -> Result<Option<ByteStream>, StagingError>;
    /// Removes the staged file of upload `id`, if any.
    async fn discard(&self, id: &str) -> Result<(), StagingError>;
}
