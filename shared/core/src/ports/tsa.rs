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

    /// How large this TSA's tokens are, to reserve room in a seal: a dry run, which
    /// adapters cache (a TSA's tokens keep their size).
    async fn token_size(&self) -> Result<usize, TsaError> {
        Ok(self.timestamp(&[0u8; 32]).await?.len())
    }
}

/// A cached token size for [`Tsa::token_size`] (0 until the first dry run).
#[derive(Debug, Default)]
pub struct TokenSize(std::sync::atomic::AtomicUsize);

impl TokenSize {
    /// The cached size, or `dry_run`'s once.
    pub async fn get_or_measure<F>(&self, dry_run: F) -> Result<usize, TsaError>
    where
        F: std::future::Future<Output = Result<Vec<u8>, TsaError>>,
    {
        use std::sync::atomic::Ordering;
        match self.0.load(Ordering::Relaxed) {
            0 => {
                let size = dry_run.await?.len();
                self.0.store(size, Ordering::Relaxed);
                Ok(size)
            }
            size => Ok(size),
        }
    }
}
