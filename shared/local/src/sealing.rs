//! Sealing with this data dir's keys: the service key of the local PKI signs, the local TSA
//! stamps, the local CA issues the revocation data. Used by `keiyaku seal` (imported paper contracts, measuring); the workflow's Seal
//! task will call the same path through the Keys and Tsa ports.

use std::path::Path;
use std::sync::Arc;

use keiyaku_core::clock::Clock;
use keiyaku_core::ports::Tsa;
use keiyaku_pdf::seal::{FileHash, Level, SealError, Sealer, ValidationData};
use signature::Signer;

use crate::pki::LocalPki;

/// Seals `pdf` with the service key of this installation's PKI, time-stamped by `tsa`; also
/// the hash of the sealed file, for [`extend_lta`].
pub async fn seal_bytes(
    pki: &LocalPki,
    tsa: &dyn Tsa,
    clock: Arc<dyn Clock>,
    pdf: &[u8],
    level: Level,
    reason: &str,
) -> Result<(Vec<u8>, FileHash), SealError> {
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
        .seal_hashed(pdf, level, reason, "keiyaku", clock.now())
        .await
}

/// Extends a sealed file to long-term form (B-LTA): one revision with a DSS (every
/// certificate of every chain, CRLs issued now, after the last signature's timestamp) and a
/// document timestamp over all of it. With `known` (from [`seal_bytes`]) the file is not
/// hashed again. The local TSA's chain and CRL are in the DSS already, so no DSS
/// update has to follow the document timestamp (a remote TSA's chain is embedded in its
/// token; its revocation data comes with the Revocation port).
pub async fn extend_lta(
    pki: &LocalPki,
    tsa: &dyn Tsa,
    clock: Arc<dyn Clock>,
    pdf: &[u8],
    known: Option<&FileHash>,
) -> Result<Vec<u8>, SealError> {
    let encoding = |e: der::Error| SealError::Encoding(e.to_string());
    let signer = |e: String| SealError::Signer(e);
    let now = clock.now();
    let mut certs = Vec::new();
    for issued in [&pki.service, &pki.tsa, &pki.issuing, &pki.root] {
        certs.push(der::Encode::to_der(&issued.cert).map_err(encoding)?);
    }
    let crls = [&pki.root, &pki.issuing]
        .into_iter()
        .map(|issuer| LocalPki::crl(issuer, now).map_err(|e| signer(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    let data = ValidationData {
        certs,
        crls,
        ocsps: Vec::new(),
    };
    let estimate = tsa
        .timestamp(&[0u8; 32])
        .await
        .map_err(|e| signer(e.to_string()))?
        .len();
    let mut reserved = estimate + 1024;
    for _ in 0..2 {
        let prepared = keiyaku_pdf::seal::prepare_long_term(pdf, &data, reserved, known)?;
        let token = tsa
            .timestamp(&prepared.digest)
            .await
            .map_err(|e| signer(e.to_string()))?;
        match prepared.finish(&token) {
            Err(SealError::ContentsOverflow { needed, .. }) => reserved = needed + 1024,
            other => return other,
        }
    }
    Err(SealError::Encoding(
        "the document timestamp outgrew its reservation twice".into(),
    ))
}

/// How far `seal_file` goes.
#[derive(Clone, Copy, Debug)]
pub enum Target {
    /// A seal of this level.
    Level(Level),
    /// A B-T seal extended to B-LTA.
    Lta,
}

/// Seals the file `input` into `output` (written whole or not at all).
pub async fn seal_file(
    pki: &LocalPki,
    tsa: &dyn Tsa,
    clock: Arc<dyn Clock>,
    input: &Path,
    output: &Path,
    level: Target,
    reason: &str,
) -> Result<(), String> {
    let pdf = std::fs::read(input).map_err(|e| format!("{}: {e}", input.display()))?;
    let failed = |e: SealError| format!("{}: {e} ({})", input.display(), e.code());
    let (level, lta) = match level {
        Target::Level(level) => (level, false),
        Target::Lta => (Level::BT, true),
    };
    let (mut sealed, hash) = seal_bytes(pki, tsa, clock.clone(), &pdf, level, reason)
        .await
        .map_err(failed)?;
    // Hold a 20 MB file as few times as possible: the input is done with.
    drop(pdf);
    if lta {
        sealed = extend_lta(pki, tsa, clock, &sealed, Some(&hash))
            .await
            .map_err(failed)?;
    }
    let tmp = output.with_extension("keiyaku-tmp");
    std::fs::write(&tmp, &sealed)
        .and_then(|()| std::fs::rename(&tmp, output))
        .map_err(|e| format!("{}: {e}", output.display()))
}
