//! `POST /api/v1/verify`: the report of `keiyaku verify --json`, for a PDF sent in the
//! request (no account needed) or an upload slot opened for verification.

use std::sync::Arc;

use keiyaku_core::sealing::Sealing;
use keiyaku_local::pki::{LocalPki, LocalTsa};
use keiyaku_local::revocation::LocalRevocation;
use keiyaku_net::crl::CrlFetcher;
use keiyaku_pdf::seal::Level;
use keiyaku_tests::{TestApp, error_code};
use serde_json::{Value, json};

/// A file sealed (B-T) by the app's own PKI and TSA, the same file in long-term form
/// (B-LTA), and the trust anchor.
async fn sealed_and_extended(app: &TestApp) -> (Vec<u8>, Vec<u8>, x509_cert::Certificate) {
    let pki = LocalPki::open_or_create(&LocalPki::dir(&app.data_dir()), &app.url).unwrap();
    let clock: Arc<dyn keiyaku_core::clock::Clock> = Arc::new(keiyaku_core::clock::SystemClock);
    let tsa = LocalTsa::new(pki.clone(), clock.clone());
    let revocation = LocalRevocation::new(
        pki.clone(),
        clock.clone(),
        Arc::new(CrlFetcher::new().unwrap()),
    );
    let anchors = [pki.root.cert.clone()];
    let sealing = Sealing {
        key: &pki,
        tsa: &tsa,
        revocation: &revocation,
        anchors: &anchors,
        clock,
    };
    let pdf = keiyaku_pdf::sample::pdf_with_pages(1);
    let (sealed, hash) = sealing.seal(&pdf, Level::BT, "送信").await.unwrap();
    let long_term = sealing.extend_lta(&sealed, Some(&hash)).await.unwrap();
    (sealed, long_term.pdf, pki.root.cert.clone())
}

async fn sealed_by(app: &TestApp) -> Vec<u8> {
    sealed_and_extended(app).await.0
}

#[tokio::test]
async fn an_expired_seal_is_valid_only_with_revocation_data_from_before_it_expired() {
    use keiyaku_pdf::verify::{Status, verify};
    let app = TestApp::spawn().await;
    let (sealed, long_term, root) = sealed_and_extended(&app).await;
    // Four years on, the sealing certificate (three years) has expired; the TSA's (ten)
    // has not. The timestamp proves the seal was made while the certificate was valid.
    let later = time::OffsetDateTime::now_utc() + time::Duration::days(4 * 365);
    let anchors = [root];
    let b_t = verify(&sealed, &anchors, later).unwrap();
    assert_eq!(b_t.status, Status::Indeterminate, "{b_t:?}");
    let codes: Vec<_> = b_t.signatures[0].problems.iter().map(|p| p.code).collect();
    assert!(codes.contains(&"expired_without_revocation"), "{codes:?}");
    // The long-term form carries a CRL issued after the seal's timestamp: still valid.
    let b_lta = verify(&long_term, &anchors, later).unwrap();
    assert_eq!(b_lta.status, Status::Valid, "{b_lta:?}");
    // Today both are valid.
    let now = time::OffsetDateTime::now_utc();
    assert_eq!(
        verify(&sealed, &anchors, now).unwrap().status,
        Status::Valid
    );
    app.stop().await;
}

#[tokio::test]
async fn a_sent_pdf_is_verified_against_the_local_root_without_an_account() {
    let app = TestApp::spawn().await;
    let sealed = sealed_by(&app).await;
    let anonymous = app.anonymous();
    let response = anonymous
        .post_body("/api/v1/verify", "application/pdf", sealed.clone())
        .await;
    assert_eq!(response.status(), 200);
    let report: Value = response.json().await.unwrap();
    assert_eq!(report["status"], "valid", "{report}");
    assert_eq!(report["level"], "B-T");
    assert_eq!(report["signatures"][0]["reason"], "送信");
    assert_eq!(report["signatures"][0]["trusted"], true);

    // Altered bytes are invalid; an unreadable file is a 422 naming why; other media 415.
    let mut tampered = sealed.clone();
    let at = tampered.windows(2).position(|w| w == b"Tj").unwrap() - 3;
    tampered[at] ^= 1;
    let report: Value = anonymous
        .post_body("/api/v1/verify", "application/pdf", tampered)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["status"], "invalid");
    assert_eq!(report["signatures"][0]["intact"], false);
    let garbage = anonymous
        .post_body("/api/v1/verify", "application/pdf", "not a pdf at all")
        .await;
    assert_eq!(garbage.status(), 422);
    assert_eq!(error_code(garbage).await, "not_a_pdf");
    let text = anonymous
        .post_body("/api/v1/verify", "text/plain", "x")
        .await;
    assert_eq!(text.status(), 415);
    // An upload slot needs an account.
    let slot = anonymous
        .post_json("/api/v1/verify", json!({ "upload_id": "x" }))
        .await;
    assert_eq!(slot.status(), 401);
    app.stop().await;
}

#[tokio::test]
async fn an_upload_slot_for_verification_keeps_the_report_not_the_file() {
    let app = TestApp::spawn().await;
    let sealed = sealed_by(&app).await;
    let user = app.user("verifier@example.com", "検証 太郎").await;
    let blobs_before = app.blob_files().len();
    let slot: Value = user
        .post_json(
            "/api/v1/documents/uploads",
            json!({ "filename": "sealed.pdf", "size": sealed.len(), "purpose": "verify" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let upload_id = slot["upload_id"].as_str().unwrap().to_owned();
    // Not sent yet.
    let early = user
        .post_json("/api/v1/verify", json!({ "upload_id": upload_id }))
        .await;
    assert_eq!(early.status(), 400);
    assert_eq!(error_code(early).await, "upload_not_received");
    let put = user
        .request(
            reqwest::Method::PUT,
            &format!("/api/v1/uploads/{upload_id}"),
        )
        .body(sealed)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let report: Value = user
        .post_json("/api/v1/verify", json!({ "upload_id": upload_id }))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["status"], "valid", "{report}");
    assert_eq!(report["signatures"].as_array().unwrap().len(), 1);
    // The file was not kept, and the slot cannot become a document.
    assert_eq!(app.blob_files().len(), blobs_before);
    let create = user
        .post_json("/api/v1/documents", json!({ "upload_id": upload_id }))
        .await;
    assert_eq!(create.status(), 400);
    assert_eq!(error_code(create).await, "wrong_upload_purpose");
    // Nor is it anyone else's.
    let other = app.user("other@example.com", "他人").await;
    let theirs = other
        .post_json("/api/v1/verify", json!({ "upload_id": upload_id }))
        .await;
    assert_eq!(theirs.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn verification_is_counted_per_address_or_per_signed_in_account() {
    let app = TestApp::spawn().await;
    let pdf = keiyaku_pdf::sample::pdf_with_pages(1);
    let anonymous = app.anonymous();
    for _ in 0..60 {
        let r = anonymous
            .post_body("/api/v1/verify", "application/pdf", pdf.clone())
            .await;
        assert_eq!(r.status(), 200);
    }
    let over = anonymous
        .post_body("/api/v1/verify", "application/pdf", pdf.clone())
        .await;
    assert_eq!(over.status(), 429);
    assert!(over.headers().contains_key("retry-after"));

    // Signed in from the same address: the account's own budget, not the address's.
    let user = app.user("bulk-verifier@example.com", "検証 花子").await;
    for _ in 0..600 {
        let r = user
            .post_body("/api/v1/verify", "application/pdf", pdf.clone())
            .await;
        assert_eq!(r.status(), 200);
    }
    let over = user
        .post_body("/api/v1/verify", "application/pdf", pdf.clone())
        .await;
    assert_eq!(over.status(), 429);
    // Verification upload slots (20 MB) draw on the same budget.
    let slot = user
        .post_json(
            "/api/v1/documents/uploads",
            json!({ "filename": "x.pdf", "size": pdf.len(), "purpose": "verify" }),
        )
        .await;
    assert_eq!(slot.status(), 429);
    // A token that does not authenticate is refused, not counted as anonymous.
    let stranger = keiyaku_tests::Client::with_token(&app.url, "not-a-session");
    let r = stranger
        .post_body("/api/v1/verify", "application/pdf", pdf)
        .await;
    assert_eq!(r.status(), 401);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn costly_verifications_in_parallel_do_not_stall_other_clients() {
    use std::time::{Duration, Instant};
    let app = TestApp::spawn().await;
    // 2 MB with 15 whole-file signatures.
    let costly = keiyaku_tests::costly_to_verify(&app.data_dir(), &app.url, 2 << 20, 15);
    assert!(costly.len() < 4 << 20, "within the route's 4 MB");
    let user = app.user("reader@example.com", "読者 一郎").await;

    let attack: Vec<_> = (0..8)
        .map(|_| {
            let client = app.anonymous();
            let body = costly.clone();
            tokio::spawn(async move {
                let r = client
                    .post_body("/api/v1/verify", "application/pdf", body)
                    .await;
                let status = r.status().as_u16();
                let report: Value = r.json().await.unwrap_or(Value::Null);
                (status, report)
            })
        })
        .collect();
    // Measure another client for as long as the attack lasts (however fast this machine
    // verifies), at least a few times while it runs.
    let mut worst = Duration::ZERO;
    let mut measured = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    while attack.iter().any(|t| !t.is_finished()) && Instant::now() < deadline {
        let started = Instant::now();
        let me = user.get("/api/v1/me").await;
        assert_eq!(me.status(), 200);
        worst = worst.max(started.elapsed());
        measured += 1;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Generous: a stalled runtime would hold GET /me for the whole verification.
    assert!(
        worst < Duration::from_secs(2),
        "GET /me took {worst:?} under attack"
    );
    assert!(
        measured >= 3,
        "the attack ended after {measured} measurements: not costly enough to judge"
    );
    for task in attack {
        let (status, report) = task.await.unwrap();
        // Verified (and found wanting), or told to come back: never a 5xx but 503.
        match status {
            200 => assert_ne!(report["status"], "valid", "{report}"),
            503 => {}
            other => panic!("the costly file was answered {other}: {report}"),
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_has_its_own_budget_and_strangers_cannot_spoof() {
    let pdf = keiyaku_pdf::sample::pdf_with_pages(1);
    let send = |app: &TestApp, forwarded: &'static str| {
        let client = app.anonymous();
        let pdf = pdf.clone();
        async move {
            client
                .request(reqwest::Method::POST, "/api/v1/verify")
                .header("content-type", "application/pdf")
                .header("x-forwarded-for", forwarded)
                .body(pdf)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // The proxy (this test, at 127.0.0.1) is trusted: the address it forwards is the client.
    let app = TestApp::spawn_behind(&["127.0.0.1/32".parse().unwrap()]).await;
    for _ in 0..60 {
        assert_eq!(send(&app, "203.0.113.5").await, 200);
    }
    assert_eq!(send(&app, "203.0.113.5").await, 429);
    assert_eq!(
        send(&app, "198.51.100.1, 203.0.113.6").await,
        200,
        "another client"
    );
    app.stop().await;

    // Not trusted: the header is ignored, and every request counts against the peer.
    let app = TestApp::spawn().await;
    for n in 0..60 {
        let spoofed: &'static str = if n % 2 == 0 {
            "203.0.113.7"
        } else {
            "203.0.113.8"
        };
        assert_eq!(send(&app, spoofed).await, 200);
    }
    assert_eq!(
        send(&app, "203.0.113.9").await,
        429,
        "a spoofed header buys nothing"
    );
    app.stop().await;
}
