//! `keiyaku seal`: a file sealed with this data dir's keys (imported paper contracts,
//! measuring), through the same [`Sealing`] as the workflow.

use std::path::Path;

use keiyaku_core::sealing::Sealing;
use keiyaku_pdf::seal::{Level, SealError};

/// Seals the file `input` into `output` (written whole or not at all).
pub async fn seal_file(
    sealing: &Sealing<'_>,
    input: &Path,
    output: &Path,
    level: Target,
    reason: &str,
) -> Result<(), String> {
    // The file is held once: each revision is appended to the buffer it was read into (a
    // large buffer grows by remapping, not copying), hashed once, written once.
    let mut pdf = std::fs::read(input).map_err(|e| format!("{}: {e}", input.display()))?;
    let failed = |e: SealError| format!("{}: {e} ({})", input.display(), e.code());
    let (level, lta) = match level {
        Target::Level(level) => (level, false),
        Target::Lta => (Level::BT, true),
    };
    let (revision, hash) = sealing
        .seal_revision(&pdf, level, reason)
        .await
        .map_err(failed)?;
    pdf.extend_from_slice(&revision);
    if lta {
        let (revision, _, _) = sealing
            .extend_lta_revision(&pdf, Some(&hash))
            .await
            .map_err(failed)?;
        pdf.extend_from_slice(&revision);
    }
    let tmp = output.with_extension("keiyaku-tmp");
    std::fs::write(&tmp, &pdf)
        .and_then(|()| std::fs::rename(&tmp, output))
        .map_err(|e| format!("{}: {e}", output.display()))
}

/// How far `seal_file` goes.
#[derive(Clone, Copy, Debug)]
pub enum Target {
    /// A seal of this level.
    Level(Level),
    /// A B-T seal extended to B-LTA.
    Lta,
}

#[cfg(test)]
mod tests {
    //! The verifier against seals of every level made with a real local PKI, and against
    //! the tampering a verifier must catch.
    use super::*;
    use std::sync::Arc;

    use keiyaku_core::clock::{Clock, SystemClock};
    use keiyaku_pdf::PdfReader;
    use keiyaku_pdf::verify::Certificate;
    use keiyaku_pdf::verify::{Coverage, Kind, LaterChanges, Report, Status, verify};
    use lopdf::Object;

    use crate::pki::{LocalPki, LocalTsa};
    use crate::revocation::LocalRevocation;

    struct Fixture {
        _dir: tempfile::TempDir,
        pki: LocalPki,
        tsa: LocalTsa,
        revocation: LocalRevocation,
        anchors: Vec<Certificate>,
        clock: Arc<dyn Clock>,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let pki = LocalPki::open_or_create(dir.path(), "http://127.0.0.1:8080").unwrap();
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let tsa = LocalTsa::new(pki.clone(), clock.clone());
        let revocation = LocalRevocation::new(
            pki.clone(),
            clock.clone(),
            Arc::new(keiyaku_net::crl::CrlFetcher::new().unwrap()),
        );
        Fixture {
            _dir: dir,
            anchors: vec![pki.root.cert.clone()],
            pki,
            tsa,
            revocation,
            clock,
        }
    }

    impl Fixture {
        fn sealing(&self) -> Sealing<'_> {
            Sealing {
                key: &self.pki,
                tsa: &self.tsa,
                revocation: &self.revocation,
                anchors: &self.anchors,
                clock: self.clock.clone(),
            }
        }

        async fn seal(&self, pdf: &[u8], level: Level, reason: &str) -> Vec<u8> {
            self.sealing().seal(pdf, level, reason).await.unwrap().0
        }

        async fn lta(&self, pdf: &[u8]) -> Vec<u8> {
            let long_term = self.sealing().extend_lta(pdf, None).await.unwrap();
            // The TSA's own certificate expires first (10 years): renew before then.
            assert_eq!(
                long_term.renew_by.unix_timestamp(),
                self.pki
                    .tsa
                    .cert
                    .tbs_certificate
                    .validity
                    .not_after
                    .to_unix_duration()
                    .as_secs() as i64
            );
            long_term.pdf
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
        let paths = keiyaku_pdf::verify::certificate_paths(&bt, &f.anchors, f.clock.now()).unwrap();
        let data = f.sealing().validation_data(&paths).await.unwrap();
        let blt = keiyaku_pdf::seal::add_dss(&bt, &data).unwrap();
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
            // An added annotation, an edited content stream, an added page, and edits named
            // as validation data by a new DSS; with an xref stream, each overrides objects
            // through it.
            let variants = keiyaku_pdf::tamper::variants(&sealed, xref_stream).unwrap();
            assert_eq!(variants.len(), 5);
            for (what, file) in variants {
                assert_not_allowed(&f, &file, what);
            }
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

    #[tokio::test]
    async fn hostile_shapes_are_answered_within_a_hang_guard() {
        const HANG_GUARD: std::time::Duration = std::time::Duration::from_secs(60);
        let f = fixture();
        let sealed = f
            .seal(&keiyaku_pdf::sample::pdf_with_pages(1), Level::BT, "送信")
            .await;
        let size = PdfReader::open(&sealed).unwrap().size();
        let catalog_id = PdfReader::open(&sealed)
            .unwrap()
            .trailer()
            .get(b"Root")
            .unwrap()
            .as_reference()
            .unwrap();
        let catalog = PdfReader::open(&sealed).unwrap().catalog().unwrap();

        // Too many signature fields: refused at once, before any hashing.
        let count = keiyaku_pdf::verify::MAX_SIGNATURES as u32 + 50;
        let mut objects = Vec::new();
        let mut fields = Vec::new();
        for i in 0..count {
            let (field, sig) = (size + 2 * i, size + 2 * i + 1);
            fields.push(format!("{field} 0 R"));
            objects.push((field, format!("<< /FT /Sig /T (s{i}) /V {sig} 0 R >>")));
            objects.push((
                sig,
                "<< /Type /Sig /ByteRange [0 10 20 10] /Contents <00> >>".to_owned(),
            ));
        }
        let mut new_catalog = catalog.clone();
        let mut form = lopdf::Dictionary::new();
        form.set(
            "Fields",
            Object::Array(
                (0..count)
                    .map(|i| Object::Reference((size + 2 * i, 0)))
                    .collect(),
            ),
        );
        new_catalog.set("AcroForm", Object::Dictionary(form));
        objects.push((
            catalog_id.0,
            keiyaku_pdf::tamper::object_text(&Object::Dictionary(new_catalog)),
        ));
        let many = keiyaku_pdf::tamper::append_revision(&sealed, &objects, false).unwrap();
        let started = std::time::Instant::now();
        let refused = verify(&many, &f.anchors, time::OffsetDateTime::now_utc());
        assert!(started.elapsed() < HANG_GUARD);
        assert_eq!(refused.unwrap_err().code(), "pdf_limit_exceeded");

        // Thousands of revisions after a seal: each rewrites the catalog unchanged.
        let same = keiyaku_pdf::tamper::object_text(&Object::Dictionary(catalog));
        let mut long = sealed.clone();
        let mut prev = PdfReader::open(&sealed).unwrap().startxref();
        for _ in 0..2_000 {
            let offset = long.len() + 1;
            long.extend_from_slice(
                format!("\n{} 0 obj\n{same}\nendobj\n", catalog_id.0).as_bytes(),
            );
            let at = long.len();
            long.extend_from_slice(
                format!(
                    "xref\n{} 1\n{offset:010} 00000 n \ntrailer\n<< /Size {size} /Root {} 0 R /Prev {prev} >>\nstartxref\n{at}\n%%EOF\n",
                    catalog_id.0, catalog_id.0
                )
                .as_bytes(),
            );
            prev = at;
        }
        let started = std::time::Instant::now();
        let report = verify(&long, &f.anchors, time::OffsetDateTime::now_utc()).unwrap();
        eprintln!("2,000 revisions verified in {:?}", started.elapsed());
        assert!(started.elapsed() < HANG_GUARD, "{:?}", started.elapsed());
        assert_eq!(report.status, Status::Valid, "{:?}", codes(&report));
        assert_eq!(report.revisions, 2_002);
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
