//! Tsa: an RFC 3161 timestamp for a digest — the local TSA in-process by default, or any
//! RFC 3161 service (a certified Japanese TSA in production) by configuration.

use async_trait::async_trait;

/// What getting a timestamp can fail with. A failure is retried by the workflow; a
/// timestamp is never fabricated or left out.
#[derive(Debug, thiserror::Error)]
pub enum TsaError {
    /// The TSA refused or answered with something that does not check out.
    #[error("timestamp refused: {0}")]
    Refused(String),
    /// The TSA could not be reached.
    #[error("TSA unavailable: {0}")]
    Unavailable(String),
}

/// A time-stamping authority.
#[async_trait]
pub trait Tsa: Send + Sync {
    /// A checked timestamp token (DER ContentInfo) over a SHA-256 digest.
    async fn timestamp(&self, digest: &[u8; 32]) -> Result<Vec<u8>, TsaError>;
}
