//! Revocation: current revocation data for a certificate, for the long-term form of a
//! sealed file — issued fresh by the local CA for its own certificates; fetched from the
//! certificate's CRL distribution point (with a timeout and a size cap) for real CAs.

use async_trait::async_trait;

/// What getting revocation data can fail with (retried by the workflow).
#[derive(Debug, thiserror::Error)]
pub enum RevocationError {
    /// The certificate names no way to get its revocation data.
    #[error("no revocation source for the certificate: {0}")]
    NoSource(String),
    /// The source could not be reached, answered too slowly, too much, or with garbage.
    #[error("revocation data unavailable: {0}")]
    Unavailable(String),
}

/// Where revocation data comes from.
#[async_trait]
pub trait Revocation: Send + Sync {
    /// Current CRLs (DER) that speak for `cert` (DER), whose issuer is `issuer` (DER).
    async fn crls(&self, cert: &[u8], issuer: &[u8]) -> Result<Vec<Vec<u8>>, RevocationError>;
}
