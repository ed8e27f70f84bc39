//! Sealing through the ports: the [`SealingKey`] signs, the [`Tsa`] stamps, [`Revocation`]
//! supplies the CRLs of long-term form. The workflow's Seal and ExtendLta tasks and
//! `keiyaku seal` use it.

use std::sync::Arc;

use crate::clock::Clock;
use crate::ports::{Revocation, SealingKey, Tsa};
use der::{Decode, Encode};
use keiyaku_pdf::seal::{FileHash, Level, SealError, Sealer, ValidationData};
use keiyaku_pdf::verify::Certificate;
use time::OffsetDateTime;

/// What a seal is made with.
pub struct Sealing<'a> {
    /// Signs (the service's key).
    pub key: &'a dyn SealingKey,
    /// Stamps (the local TSA, or a certified one).
    pub tsa: &'a dyn Tsa,
    /// Revocation data for long-term form.
    pub revocation: &'a dyn Revocation,
    /// The roots the service's and its TSA's certificates chain to.
    pub anchors: &'a [Certificate],
    /// Time.
    pub clock: Arc<dyn Clock>,
}

/// A file in long-term form, and when it needs its next document timestamp.
pub struct LongTerm {
    /// The file.
    pub pdf: Vec<u8>,
    /// The earliest expiry in the document timestamp's certificate path: renew before it.
    pub renew_by: OffsetDateTime,
}

fn signer(e: impl std::fmt::Display) -> SealError {
    SealError::Signer(e.to_string())
}

impl Sealing<'_> {
    /// Seals `pdf`; also the hash of the sealed file, for [`Sealing::extend_lta`].
    pub async fn seal(
        &self,
        pdf: &[u8],
        level: Level,
        reason: &str,
    ) -> Result<(Vec<u8>, FileHash), SealError> {
        let (revision, hash) = self.seal_revision(pdf, level, reason).await?;
        Ok(([pdf, &revision].concat(), hash))
    }

    /// [`Sealing::seal`] without the copy of `pdf`: the revision to append to it.
    pub async fn seal_revision(
        &self,
        pdf: &[u8],
        level: Level,
        reason: &str,
    ) -> Result<(Vec<u8>, FileHash), SealError> {
        // A dry run for the size of this TSA's tokens, so the reservation fits the first time.
        let token_estimate = match level {
            Level::BT => self.tsa.token_size().await.map_err(signer)?,
            Level::BB => 0,
        };
        let chain = self
            .key
            .chain()
            .await
            .map_err(signer)?
            .iter()
            .map(|der| Certificate::from_der(der))
            .collect::<Result<Vec<_>, _>>()
            .map_err(signer)?;
        let (cert, chain) = chain
            .split_first()
            .ok_or_else(|| SealError::Signer("the sealing key has no certificate".into()))?;
        let sealer = Sealer {
            cert,
            chain,
            sign: |message: Vec<u8>| async move {
                self.key.sign(&message).await.map_err(|e| e.to_string())
            },
            timestamp: |digest: [u8; 32]| async move {
                self.tsa.timestamp(&digest).await.map_err(|e| e.to_string())
            },
            token_estimate,
        };
        sealer
            .seal_revision(pdf, level, reason, "keiyaku", self.clock.now())
            .await
    }

    /// Every certificate of `paths` and, for each certificate below an anchor, current CRLs
    /// from the Revocation port.
    pub async fn validation_data(
        &self,
        paths: &[Vec<Certificate>],
    ) -> Result<ValidationData, SealError> {
        let mut certs: Vec<Vec<u8>> = Vec::new();
        let mut crls: Vec<Vec<u8>> = Vec::new();
        let mut issuers_done: Vec<Vec<u8>> = Vec::new();
        for path in paths {
            for cert in path {
                let der = cert.to_der().map_err(signer)?;
                if !certs.contains(&der) {
                    certs.push(der);
                }
            }
            for pair in path.windows(2) {
                let issuer = pair[1].to_der().map_err(signer)?;
                if issuers_done.contains(&issuer) {
                    continue;
                }
                let cert = pair[0].to_der().map_err(signer)?;
                crls.extend(self.revocation.crls(&cert, &issuer).await.map_err(signer)?);
                issuers_done.push(issuer);
            }
        }
        Ok(ValidationData {
            certs,
            crls,
            ocsps: Vec::new(),
        })
    }

    /// The certificate path of this installation's TSA (from a dry-run token), trusted.
    async fn tsa_path(&self) -> Result<(Vec<Certificate>, usize), SealError> {
        let dry = self.tsa.timestamp(&[0u8; 32]).await.map_err(signer)?;
        let token = keiyaku_pdf::timestamp::check_token(&dry, &[0u8; 32], &[]).map_err(signer)?;
        let path = keiyaku_pdf::verify::validate_path(
            &token.tsa_cert,
            &token.certs,
            self.anchors,
            &[],
            self.clock.now(),
        )
        .map_err(|e| SealError::Signer(format!("the TSA is not trusted: {e}")))?;
        Ok((path, dry.len()))
    }

    /// Extends a sealed file to long-term form (B-LTA): one revision with a DSS (every
    /// certificate of every trusted chain in the file and of this TSA, CRLs current now,
    /// after the last signature's timestamp) and a document timestamp over all of it. The
    /// DSS already holds the document timestamp's own chain and CRLs, so no DSS update has
    /// to follow it. With `known` (from [`Sealing::seal`]) the file is not hashed again.
    pub async fn extend_lta(
        &self,
        pdf: &[u8],
        known: Option<&FileHash>,
    ) -> Result<LongTerm, SealError> {
        let (revision, renew_by, _) = self.extend_lta_revision(pdf, known).await?;
        Ok(LongTerm {
            pdf: [pdf, &revision].concat(),
            renew_by,
        })
    }

    /// [`Sealing::extend_lta`] without the copy of `pdf`: the revision to append to it, when
    /// the file needs its next document timestamp, and the hash of the extended file.
    pub async fn extend_lta_revision(
        &self,
        pdf: &[u8],
        known: Option<&FileHash>,
    ) -> Result<(Vec<u8>, OffsetDateTime, FileHash), SealError> {
        let (tsa_path, estimate) = self.tsa_path().await?;
        let mut paths =
            keiyaku_pdf::verify::certificate_paths(pdf, self.anchors, self.clock.now())?;
        paths.push(tsa_path.clone());
        let data = self.validation_data(&paths).await?;
        let renew_by = tsa_path
            .iter()
            .map(|c| {
                OffsetDateTime::from_unix_timestamp(
                    c.tbs_certificate
                        .validity
                        .not_after
                        .to_unix_duration()
                        .as_secs() as i64,
                )
                .unwrap_or(OffsetDateTime::UNIX_EPOCH)
            })
            .min()
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let mut reserved = estimate + 1024;
        for _ in 0..2 {
            let prepared = keiyaku_pdf::seal::prepare_long_term(pdf, &data, reserved, known)?;
            let token = self.tsa.timestamp(&prepared.digest).await.map_err(signer)?;
            match prepared.finish_revision(&token) {
                Err(SealError::ContentsOverflow { needed, .. }) => reserved = needed + 1024,
                Ok((revision, hash)) => return Ok((revision, renew_by, hash)),
                Err(other) => return Err(other),
            }
        }
        Err(SealError::Encoding(
            "the document timestamp outgrew its reservation twice".into(),
        ))
    }
}
