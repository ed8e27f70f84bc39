//! Revocation data for long-term form: the local CA issues a fresh CRL for its own
//! certificates; any other certificate's comes from the fetcher beside it (its CRL
//! distribution points).

use std::sync::Arc;

use async_trait::async_trait;
use der::Encode;
use keiyaku_core::clock::Clock;
use keiyaku_core::ports::{Revocation, RevocationError};

use crate::pki::LocalPki;

/// The local CA for its own certificates; `others` for the rest.
pub struct LocalRevocation {
    pki: LocalPki,
    clock: Arc<dyn Clock>,
    others: Arc<dyn Revocation>,
}

impl LocalRevocation {
    /// Revocation data from `pki` for its certificates, and from `others` for the rest.
    pub fn new(pki: LocalPki, clock: Arc<dyn Clock>, others: Arc<dyn Revocation>) -> Self {
        LocalRevocation { pki, clock, others }
    }
}

#[async_trait]
impl Revocation for LocalRevocation {
    async fn crls(&self, cert: &[u8], issuer: &[u8]) -> Result<Vec<Vec<u8>>, RevocationError> {
        for ca in [&self.pki.root, &self.pki.issuing] {
            if ca.cert.to_der().ok().as_deref() == Some(issuer) {
                let crl = LocalPki::crl(ca, self.clock.now())
                    .map_err(|e| RevocationError::Unavailable(e.to_string()))?;
                return Ok(vec![crl]);
            }
        }
        self.others.crls(cert, issuer).await
    }
}
