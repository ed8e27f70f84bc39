//! The evidence steps (the workflow's Seal and ExtendLta tasks) on a stored document: each
//! makes a new encrypted version of the file, once per step, and the file served is the
//! newest; long-term form records by when it must be renewed.

use keiyaku_core::app::evidence;
use keiyaku_core::ids::{DocumentId, TeamId};
use keiyaku_pdf::verify::{Level, Status};
use keiyaku_tests::TestApp;
use serde_json::Value;

#[tokio::test]
async fn each_step_seals_once_and_long_term_form_records_its_renewal() {
    let app = TestApp::spawn().await;
    let sender = app.user("sender@example.com", "送信 花子").await;
    let pdf = keiyaku_pdf::sample::pdf_with_pages(2);
    let created: Value = sender
        .upload_direct("契約書.pdf", pdf.clone())
        .await
        .json()
        .await
        .unwrap();
    let id = DocumentId::parse(created["id"].as_str().unwrap()).unwrap();
    let team = TeamId::parse(created["team_id"].as_str().unwrap()).unwrap();
    let services = app.services();
    let anchors = keiyaku_pdf::verify::load_anchors(
        &std::fs::read(app.data_dir().join("pki/root.pem")).unwrap(),
    )
    .unwrap();
    let file = || async {
        sender
            .get(&format!("/api/v1/documents/{id}/file"))
            .await
            .bytes()
            .await
            .unwrap()
            .to_vec()
    };
    let details = || async {
        sender
            .get(&format!("/api/v1/documents/{id}"))
            .await
            .json::<Value>()
            .await
            .unwrap()
    };

    // Long-term form needs a seal to extend.
    assert!(
        evidence::extend_long_term(&services, &team, &id)
            .await
            .is_err()
    );

    evidence::seal(&services, &team, &id, "send", "送信")
        .await
        .unwrap();
    // Run again (a retried task): nothing new.
    evidence::seal(&services, &team, &id, "send", "送信")
        .await
        .unwrap();
    let sent = file().await;
    assert!(
        sent.starts_with(&pdf),
        "the original is a prefix of the sealed file"
    );
    let report =
        keiyaku_pdf::verify::verify(&sent, &anchors, time::OffsetDateTime::now_utc()).unwrap();
    assert_eq!(report.status, Status::Valid, "{report:?}");
    assert_eq!(report.signatures.len(), 1);
    assert_eq!(report.signatures[0].reason.as_deref(), Some("送信"));

    // The same agreement sealed twice at once: one seal.
    let (a, b) = tokio::join!(
        evidence::seal(&services, &team, &id, "agreement:p1", "山田 花子 様が同意"),
        evidence::seal(&services, &team, &id, "agreement:p1", "山田 花子 様が同意"),
    );
    a.unwrap();
    b.unwrap();
    let agreed = file().await;
    assert!(agreed.starts_with(&sent));
    let report =
        keiyaku_pdf::verify::verify(&agreed, &anchors, time::OffsetDateTime::now_utc()).unwrap();
    assert_eq!(report.signatures.len(), 2, "{report:?}");

    evidence::extend_long_term(&services, &team, &id)
        .await
        .unwrap();
    evidence::extend_long_term(&services, &team, &id)
        .await
        .unwrap();
    let final_file = file().await;
    let report =
        keiyaku_pdf::verify::verify(&final_file, &anchors, time::OffsetDateTime::now_utc())
            .unwrap();
    assert_eq!(report.status, Status::Valid, "{report:?}");
    assert_eq!(report.level, Some(Level::BLTA));
    assert_eq!(report.signatures.len(), 3);

    let d = details().await;
    let steps: Vec<&str> = d["seals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["send", "agreement:p1", "long_term"]);
    let versions: Vec<u64> = d["seals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["version"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, [1, 2, 3]);
    assert_eq!(d["renew_by"].as_str(), report.renew_by.as_deref());
    assert!(d["renew_by"].is_string());
    use sha2::Digest;
    assert_eq!(
        d["file_sha256"].as_str().unwrap(),
        hex_lower(&sha2::Sha256::digest(&final_file))
    );
    let sealed_events = d["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "document.sealed")
        .count();
    assert_eq!(sealed_events, 2, "one history event per seal");
    // Every version is encrypted at rest: no blob holds the PDF in the clear.
    for blob in app.blob_files() {
        let bytes = std::fs::read(&blob).unwrap();
        assert!(
            !bytes.windows(5).any(|w| w == b"%PDF-"),
            "{}",
            blob.display()
        );
    }
    app.stop().await;
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
