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
    let signer = |e: String| SealError::Signer(e);
    let data = validation_data(pki, clock.now())?;
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

/// Every certificate of the local PKI's chains (service and TSA) and CRLs issued `now`.
pub fn validation_data(
    pki: &LocalPki,
    now: time::OffsetDateTime,
) -> Result<ValidationData, SealError> {
    let mut certs = Vec::new();
    for issued in [&pki.service, &pki.tsa, &pki.issuing, &pki.root] {
        certs.push(
            der::Encode::to_der(&issued.cert).map_err(|e| SealError::Encoding(e.to_string()))?,
        );
    }
    let crls = [&pki.root, &pki.issuing]
        .into_iter()
        .map(|issuer| LocalPki::crl(issuer, now).map_err(|e| SealError::Signer(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ValidationData {
        certs,
        crls,
        ocsps: Vec::new(),
    })
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

#[cfg(test)]
mod tests {
    //! The verifier against seals of every level made with a real local PKI, and against
    //! the tampering a verifier must catch.
    use super::*;
    use keiyaku_core::clock::SystemClock;
    use keiyaku_pdf::PdfReader;
    use keiyaku_pdf::verify::{Coverage, Kind, LaterChanges, Report, Status, verify};
    use lopdf::Object;

    use crate::pki::LocalTsa;

    struct Fixture {
        _dir: tempfile::TempDir,
        pki: LocalPki,
        tsa: LocalTsa,
        clock: Arc<dyn Clock>,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let pki = LocalPki::open_or_create(dir.path(), "http://127.0.0.1:8080").unwrap();
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let tsa = LocalTsa::new(pki.clone(), clock.clone());
        Fixture {
            _dir: dir,
            pki,
            tsa,
            clock,
        }
    }

    impl Fixture {
        async fn seal(&self, pdf: &[u8], level: Level, reason: &str) -> Vec<u8> {
            seal_bytes(&self.pki, &self.tsa, self.clock.clone(), pdf, level, reason)
                .await
                .unwrap()
                .0
        }

        async fn lta(&self, pdf: &[u8]) -> Vec<u8> {
            extend_lta(&self.pki, &self.tsa, self.clock.clone(), pdf, None)
                .await
                .unwrap()
        }

        fn verify(&self, pdf: &[u8]) -> Report {
            verify(
                pdf,
                std::slice::from_ref(&self.pki.root.cert),
                time::OffsetDateTime::now_utc(),
            )
            .unwrap()
        }
    }

    fn codes(report: &Report) -> Vec<&'static str> {
        report
            .signatures
            .iter()
            .flat_map(|s| s.problems.iter().map(|p| p.code))
            .collect()
    }

    #[tokio::test]
    async fn each_level_is_reported_as_reached() {
        let f = fixture();
        let pdf = keiyaku_pdf::sample::pdf_with_pages(2);
        let bb = f.seal(&pdf, Level::BB, "送信").await;
        let bt = f.seal(&pdf, Level::BT, "送信").await;
        let blt = keiyaku_pdf::seal::add_dss(&bt, &validation_data(&f.pki, f.clock.now()).unwrap())
            .unwrap();
        let blta = f.lta(&bt).await;
        for (file, level) in [
            (&bb, keiyaku_pdf::verify::Level::BB),
            (&bt, keiyaku_pdf::verify::Level::BT),
            (&blt, keiyaku_pdf::verify::Level::BLT),
            (&blta, keiyaku_pdf::verify::Level::BLTA),
        ] {
            let report = f.verify(file);
            assert_eq!(
                report.status,
                Status::Valid,
                "{level:?}: {:?}",
                codes(&report)
            );
            assert_eq!(report.level, Some(level));
            let seal = &report.signatures[0];
            assert!(seal.intact && seal.signature_valid && seal.trusted);
            assert_eq!(seal.reason.as_deref(), Some("送信"));
        }
        // B-T's timestamp and B-LTA's revocation data are reported.
        let report = f.verify(&blta);
        let seal = &report.signatures[0];
        assert!(
            seal.timestamp
                .as_ref()
                .is_some_and(|t| t.valid && t.trusted)
        );
        assert_eq!(seal.revocation, "good");
        assert_eq!(seal.later_changes, LaterChanges::Allowed);
        assert_eq!(seal.changes, ["document_timestamp", "dss"]);
        let document_timestamp = &report.signatures[1];
        assert_eq!(document_timestamp.kind, Kind::DocumentTimestamp);
        assert_eq!(document_timestamp.coverage, Coverage::EntireFile);
        // Without its DSS, B-T has no revocation data to show.
        assert_eq!(f.verify(&bt).signatures[0].revocation, "no_data");
    }

    #[tokio::test]
    async fn a_contract_sealed_at_each_step_then_extended_verifies_whole() {
        let f = fixture();
        let mut pdf = keiyaku_pdf::sample::pdf_with_xref_stream(3);
        for reason in ["送信", "山田 花子 様が同意", "佐藤 一郎 様が同意"] {
            pdf = f.seal(&pdf, Level::BT, reason).await;
        }
        let pdf = f.lta(&pdf).await;
        let report = f.verify(&pdf);
        assert_eq!(report.status, Status::Valid, "{:?}", codes(&report));
        assert_eq!(report.level, Some(keiyaku_pdf::verify::Level::BLTA));
        let kinds: Vec<Kind> = report.signatures.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            [
                Kind::Signature,
                Kind::Signature,
                Kind::Signature,
                Kind::DocumentTimestamp
            ]
        );
        assert_eq!(
            report.signatures[0].changes,
            ["document_timestamp", "dss", "signature"]
        );
        assert!(report.summary_text().contains("有効 / Result: VALID"));
    }

    #[tokio::test]
    async fn a_root_that_is_not_trusted_is_indeterminate_not_invalid() {
        let f = fixture();
        let other = fixture();
        let sealed = f
            .seal(&keiyaku_pdf::sample::pdf_with_pages(1), Level::BT, "送信")
            .await;
        let report = verify(
            &sealed,
            std::slice::from_ref(&other.pki.root.cert),
            time::OffsetDateTime::now_utc(),
        )
        .unwrap();
        assert_eq!(report.status, Status::Indeterminate);
        assert!(
            codes(&report).contains(&"untrusted"),
            "{:?}",
            codes(&report)
        );
        assert_eq!(report.status.exit_code(), 2);
    }

    /// Appends a revision redefining `objects` (number, PDF text), with a classic table or a
    /// cross-reference stream.
    fn append(pdf: &[u8], objects: &[(u32, String)], xref_stream: bool) -> Vec<u8> {
        let reader = PdfReader::open(pdf).unwrap();
        let root = reader
            .trailer()
            .get(b"Root")
            .unwrap()
            .as_reference()
            .unwrap();
        let size = reader
            .size()
            .max(objects.iter().map(|o| o.0 + 1).max().unwrap_or(0));
        let prev = reader.startxref();
        let mut out = pdf.to_vec();
        out.push(b'\n');
        let mut offsets = Vec::new();
        for (number, text) in objects {
            offsets.push((*number, out.len()));
            out.extend_from_slice(format!("{number} 0 obj\n{text}\nendobj\n").as_bytes());
        }
        let at = out.len();
        if xref_stream {
            let xref_number = size;
            offsets.push((xref_number, at));
            offsets.sort();
            let mut data = Vec::new();
            let mut index = String::new();
            for (number, offset) in &offsets {
                index.push_str(&format!("{number} 1 "));
                data.push(1u8);
                data.extend_from_slice(&u32::try_from(*offset).unwrap().to_be_bytes());
                data.extend_from_slice(&[0, 0]);
            }
            out.extend_from_slice(
                format!(
                    "{xref_number} 0 obj\n<< /Type /XRef /Size {} /W [1 4 2] /Index [{index}] \
                     /Root {} 0 R /Prev {prev} /Length {} >>\nstream\n",
                    xref_number + 1,
                    root.0,
                    data.len()
                )
                .as_bytes(),
            );
            out.extend_from_slice(&data);
            out.extend_from_slice(b"\nendstream\nendobj\n");
        } else {
            offsets.sort();
            out.extend_from_slice(b"xref\n");
            for (number, offset) in &offsets {
                out.extend_from_slice(format!("{number} 1\n{offset:010} 00000 n \n").as_bytes());
            }
            out.extend_from_slice(
                format!(
                    "trailer\n<< /Size {size} /Root {} 0 R /Prev {prev} >>\n",
                    root.0
                )
                .as_bytes(),
            );
        }
        out.extend_from_slice(format!("startxref\n{at}\n%%EOF\n").as_bytes());
        out
    }

    fn text(object: &Object) -> String {
        let mut out = Vec::new();
        lopdf::Writer::write_object(&mut out, object).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// The first page's object number and dictionary.
    fn first_page(pdf: &[u8]) -> (u32, lopdf::Dictionary) {
        let reader = PdfReader::open(pdf).unwrap();
        let catalog = reader.catalog().unwrap();
        let pages = reader
            .get(catalog.get(b"Pages").unwrap().as_reference().unwrap())
            .unwrap();
        let kids = pages
            .as_dict()
            .unwrap()
            .get(b"Kids")
            .unwrap()
            .as_array()
            .unwrap()
            .clone();
        let id = kids[0].as_reference().unwrap();
        (id.0, reader.get(id).unwrap().as_dict().unwrap().clone())
    }

    fn assert_not_allowed(f: &Fixture, pdf: &[u8], what: &str) {
        let report = f.verify(pdf);
        assert_eq!(
            report.status,
            Status::Invalid,
            "{what}: {:?}",
            codes(&report)
        );
        let seal = &report.signatures[0];
        assert!(seal.intact, "{what}: the signed revision itself is intact");
        assert_eq!(seal.later_changes, LaterChanges::NotAllowed, "{what}");
        assert!(codes(&report).contains(&"change_not_allowed"), "{what}");
        assert_eq!(report.status.exit_code(), 1);
    }

    #[tokio::test]
    async fn tampering_after_the_seal_is_invalid() {
        let f = fixture();
        for xref_stream in [false, true] {
            let original = if xref_stream {
                keiyaku_pdf::sample::pdf_with_xref_stream(2)
            } else {
                keiyaku_pdf::sample::pdf_with_pages(2)
            };
            let sealed = f.seal(&original, Level::BT, "送信").await;
            assert_eq!(f.verify(&sealed).status, Status::Valid);
            let size = PdfReader::open(&sealed).unwrap().size();
            let (page, dict) = first_page(&sealed);

            // An annotation added to the page.
            let mut annotated = dict.clone();
            let mut annots = annotated
                .get(b"Annots")
                .ok()
                .and_then(|a| a.as_array().ok().cloned())
                .unwrap_or_default();
            annots.push(Object::Reference((size, 0)));
            annotated.set("Annots", Object::Array(annots));
            let file = append(
                &sealed,
                &[
                    (page, text(&Object::Dictionary(annotated))),
                    (
                        size,
                        "<< /Type /Annot /Subtype /Text /Rect [10 10 30 30] /Contents (x) >>"
                            .into(),
                    ),
                ],
                xref_stream,
            );
            assert_not_allowed(&f, &file, "an added annotation");

            // The page's content stream edited.
            let content = dict.get(b"Contents").unwrap().as_reference().unwrap();
            let file = append(
                &sealed,
                &[(
                    content.0,
                    "<< /Length 30 >>\nstream\nBT /F1 24 Tf (VOID) Tj ET    \nendstream".into(),
                )],
                xref_stream,
            );
            assert_not_allowed(&f, &file, "an edited content stream");

            // A page added to the page tree.
            let reader = PdfReader::open(&sealed).unwrap();
            let pages_id = reader
                .catalog()
                .unwrap()
                .get(b"Pages")
                .unwrap()
                .as_reference()
                .unwrap();
            let mut tree = reader.get(pages_id).unwrap().as_dict().unwrap().clone();
            let mut kids = tree.get(b"Kids").unwrap().as_array().unwrap().clone();
            kids.push(Object::Reference((size, 0)));
            tree.set("Count", Object::Integer(kids.len() as i64));
            tree.set("Kids", Object::Array(kids));
            let file = append(
                &sealed,
                &[
                    (pages_id.0, text(&Object::Dictionary(tree))),
                    (
                        size,
                        format!(
                            "<< /Type /Page /Parent {} 0 R /MediaBox [0 0 612 792] >>",
                            pages_id.0
                        ),
                    ),
                ],
                xref_stream,
            );
            assert_not_allowed(&f, &file, "an added page");
        }
    }

    #[tokio::test]
    async fn a_flipped_byte_in_the_signed_range_is_invalid() {
        let f = fixture();
        let sealed = f
            .seal(&keiyaku_pdf::sample::pdf_with_pages(1), Level::BT, "送信")
            .await;
        // A byte of the page's text: the file still reads, the digest no longer matches.
        let at = sealed.windows(2).position(|w| w == b"Tj").unwrap() - 3;
        let mut tampered = sealed.clone();
        tampered[at] ^= 0x01;
        let report = f.verify(&tampered);
        assert_eq!(report.status, Status::Invalid);
        assert!(!report.signatures[0].intact);
        assert!(codes(&report).contains(&"digest_mismatch"));
    }

    #[test]
    fn unreadable_files_and_unsigned_files_are_told_apart() {
        let unsigned = keiyaku_pdf::sample::pdf_with_pages(1);
        let report = verify(&unsigned, &[], time::OffsetDateTime::now_utc()).unwrap();
        assert_eq!(report.status, Status::Indeterminate);
        assert_eq!(report.problems[0].code, "no_signatures");
        assert!(verify(b"not a pdf", &[], time::OffsetDateTime::now_utc()).is_err());
    }
}
