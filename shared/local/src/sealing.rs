//! Sealing with this data dir's keys: the service key of the local PKI signs, the local TSA
//! stamps. Used by `keiyaku seal` (imported paper contracts, measuring); the workflow's Seal
//! task will call the same path through the Keys and Tsa ports.

use std::path::Path;
use std::sync::Arc;

use keiyaku_core::clock::Clock;
use keiyaku_core::ports::Tsa;
use keiyaku_pdf::seal::{Level, SealError, Sealer};
use signature::Signer;

use crate::pki::{LocalPki, LocalTsa};

/// Seals `pdf` with the PKI and TSA of this installation.
pub async fn seal_bytes(
    pki: &LocalPki,
    clock: Arc<dyn Clock>,
    pdf: &[u8],
    level: Level,
    reason: &str,
) -> Result<Vec<u8>, SealError> {
    let tsa = LocalTsa::new(pki.clone(), clock.clone());
    // A dry run for the size of this TSA's tokens, so the reservation fits the first time.
    let token_estimate = match level {
        Level::BT => tsa
            .timestamp(&[0u8; 32])
            .await
            .map_err(|e| SealError::Signer(e.to_string()))?
            .len(),
        Level::BB => 0,
    };
    let chain = [pki.issuing.cert.clone(), pki.root.cert.clone()];
    let key = &pki.service.key;
    let sealer = Sealer {
        cert: &pki.service.cert,
        chain: &chain,
        sign: async |message: &[u8]| -> Result<Vec<u8>, String> {
            let signature: p256::ecdsa::DerSignature = key.sign(message);
            Ok(signature.as_bytes().to_vec())
        },
        timestamp: async |digest: &[u8; 32]| -> Result<Vec<u8>, String> {
            tsa.timestamp(digest).await.map_err(|e| e.to_string())
        },
        token_estimate,
    };
    sealer
        .seal(pdf, level, reason, "keiyaku", clock.now())
        .await
}

/// Seals the file `input` into `output` (written whole or not at all).
pub async fn seal_file(
    pki: &LocalPki,
    clock: Arc<dyn Clock>,
    input: &Path,
    output: &Path,
    level: Level,
    reason: &str,
) -> Result<(), String> {
    let pdf = std::fs::read(input).map_err(|e| format!("{}: {e}", input.display()))?;
    let sealed = seal_bytes(pki, clock, &pdf, level, reason)
        .await
        .map_err(|e| format!("{}: {e} ({})", input.display(), e.code()))?;
    let tmp = output.with_extension("keiyaku-tmp");
    std::fs::write(&tmp, &sealed)
        .and_then(|()| std::fs::rename(&tmp, output))
        .map_err(|e| format!("{}: {e}", output.display()))
}
