//! The local CA over HTTP, judged by openssl.

use keiyaku_tests::TestApp;

fn openssl(args: &[&str]) -> String {
    let out = std::process::Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl on PATH");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "openssl {args:?}: {text}");
    text
}

#[tokio::test]
async fn the_trust_anchor_ca_certificates_and_fresh_crls_are_served() {
    let app = TestApp::spawn().await;
    let anon = app.anonymous();
    let dir = tempfile::tempdir().unwrap();
    let mut fetched = Vec::new();
    for (path, content_type, file) in [
        ("/api/v1/ca/root.pem", "application/x-pem-file", "root.pem"),
        ("/api/v1/ca/root.crt", "application/pkix-cert", "root.der"),
        (
            "/api/v1/ca/issuing.crt",
            "application/pkix-cert",
            "issuing.der",
        ),
        ("/api/v1/ca/root.crl", "application/pkix-crl", "root.crl"),
        ("/api/v1/ca/crl", "application/pkix-crl", "issuing.crl"),
    ] {
        let r = anon.get(path).await;
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["content-type"], content_type, "{path}");
        let target = dir.path().join(file);
        std::fs::write(&target, r.bytes().await.unwrap()).unwrap();
        fetched.push(target.display().to_string());
    }
    let [root_pem, root_der, issuing_der, root_crl, issuing_crl] = &fetched[..] else {
        unreachable!()
    };
    let text = openssl(&["x509", "-in", root_pem, "-noout", "-subject"]);
    assert!(text.contains("keiyaku Local Root CA"), "{text}");
    let issuing_pem = dir.path().join("issuing.pem").display().to_string();
    openssl(&[
        "x509",
        "-inform",
        "DER",
        "-in",
        issuing_der,
        "-out",
        &issuing_pem,
    ]);
    let same_root = openssl(&[
        "x509",
        "-inform",
        "DER",
        "-in",
        root_der,
        "-noout",
        "-fingerprint",
        "-sha256",
    ]);
    assert_eq!(
        same_root,
        openssl(&["x509", "-in", root_pem, "-noout", "-fingerprint", "-sha256"])
    );
    assert!(openssl(&["verify", "-CAfile", root_pem, &issuing_pem]).contains(": OK"));
    assert!(
        openssl(&[
            "crl", "-inform", "DER", "-in", root_crl, "-CAfile", root_pem, "-noout"
        ])
        .contains("verify OK")
    );
    assert!(
        openssl(&[
            "crl",
            "-inform",
            "DER",
            "-in",
            issuing_crl,
            "-CAfile",
            &issuing_pem,
            "-noout"
        ])
        .contains("verify OK")
    );
    // Each request issues a fresh CRL, dated now.
    app.clock.advance(time::Duration::seconds(5));
    let again = anon.get("/api/v1/ca/crl").await.bytes().await.unwrap();
    assert_ne!(again.to_vec(), std::fs::read(issuing_crl).unwrap());
    app.stop().await;
}

async fn tsa_reply(app: &TestApp, query: Vec<u8>) -> Vec<u8> {
    let r = app
        .anonymous()
        .request(reqwest::Method::POST, "/api/v1/tsa")
        .header("content-type", "application/timestamp-query")
        .body(query)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        200,
        "RFC 3161 answers over HTTP 200, granted or not"
    );
    assert_eq!(r.headers()["content-type"], "application/timestamp-reply");
    r.bytes().await.unwrap().to_vec()
}

#[tokio::test]
async fn the_local_tsa_over_http_satisfies_openssl_ts_verify() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    std::fs::write(path("contract.pdf"), keiyaku_pdf::sample::pdf_with_pages(1)).unwrap();
    let root = app
        .anonymous()
        .get("/api/v1/ca/root.pem")
        .await
        .bytes()
        .await
        .unwrap();
    std::fs::write(path("root.pem"), root).unwrap();
    let pki = app.data_dir().join("pki");
    let untrusted = format!(
        "{}{}",
        std::fs::read_to_string(pki.join("tsa.pem")).unwrap(),
        std::fs::read_to_string(pki.join("issuing.pem")).unwrap()
    );
    std::fs::write(path("untrusted.pem"), untrusted).unwrap();

    // With certReq: the token carries its chain, the root alone verifies it.
    openssl(&[
        "ts",
        "-query",
        "-data",
        &path("contract.pdf"),
        "-sha256",
        "-cert",
        "-out",
        &path("q1.der"),
    ]);
    let reply = tsa_reply(&app, std::fs::read(path("q1.der")).unwrap()).await;
    std::fs::write(path("r1.der"), reply).unwrap();
    let text = openssl(&["ts", "-reply", "-in", &path("r1.der"), "-text"]);
    assert!(text.contains("Status: Granted"), "{text}");
    assert!(
        text.contains("Policy OID: 1.3.6.1.4.1.32473.3161.1"),
        "{text}"
    );
    assert!(
        text.contains("Nonce: 0x"),
        "openssl asks with a nonce and it is echoed: {text}"
    );
    let verified = openssl(&[
        "ts",
        "-verify",
        "-data",
        &path("contract.pdf"),
        "-in",
        &path("r1.der"),
        "-CAfile",
        &path("root.pem"),
    ]);
    assert!(verified.contains("Verification: OK"), "{verified}");
    let verified = openssl(&[
        "ts",
        "-verify",
        "-queryfile",
        &path("q1.der"),
        "-in",
        &path("r1.der"),
        "-CAfile",
        &path("root.pem"),
    ]);
    assert!(verified.contains("Verification: OK"), "{verified}");

    // Without certReq: no certificates in the token; the verifier brings them.
    openssl(&[
        "ts",
        "-query",
        "-data",
        &path("contract.pdf"),
        "-sha256",
        "-out",
        &path("q2.der"),
    ]);
    let reply = tsa_reply(&app, std::fs::read(path("q2.der")).unwrap()).await;
    std::fs::write(path("r2.der"), reply).unwrap();
    let verified = openssl(&[
        "ts",
        "-verify",
        "-queryfile",
        &path("q2.der"),
        "-in",
        &path("r2.der"),
        "-CAfile",
        &path("root.pem"),
        "-untrusted",
        &path("untrusted.pem"),
    ]);
    assert!(verified.contains("Verification: OK"), "{verified}");

    // Refusals in RFC 3161's own terms.
    openssl(&[
        "ts",
        "-query",
        "-data",
        &path("contract.pdf"),
        "-sha1",
        "-cert",
        "-out",
        &path("q3.der"),
    ]);
    let reply = tsa_reply(&app, std::fs::read(path("q3.der")).unwrap()).await;
    std::fs::write(path("r3.der"), reply).unwrap();
    let text = openssl(&["ts", "-reply", "-in", &path("r3.der"), "-text"]);
    assert!(text.contains("Rejected"), "{text}");
    assert!(
        text.contains("unrecognized or unsupported algorithm"),
        "{text}"
    );
    let reply = tsa_reply(&app, b"this is not a query".to_vec()).await;
    std::fs::write(path("r4.der"), reply).unwrap();
    let text = openssl(&["ts", "-reply", "-in", &path("r4.der"), "-text"]);
    assert!(text.contains("wrong format"), "{text}");

    let r = app
        .anonymous()
        .request(reqwest::Method::POST, "/api/v1/tsa")
        .body(vec![0u8; 64 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let r = app
        .anonymous()
        .request(reqwest::Method::POST, "/api/v1/tsa")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "no query at all is an HTTP error");
    let r = app
        .anonymous()
        .request(reqwest::Method::POST, "/api/v1/tsa")
        .header("content-type", "application/octet-stream")
        .body(std::fs::read(path("q1.der")).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415, "RFC 3161 names the media type");
    app.stop().await;
}

#[tokio::test]
async fn the_remote_tsa_client_checks_what_it_gets_and_seals_with_it() {
    use keiyaku_core::clock::ManualClock;
    use keiyaku_core::ports::{Tsa, TsaError};
    use keiyaku_local::remote_tsa::RemoteTsa;
    use std::sync::Arc;

    let app = TestApp::spawn().await;
    let pki = keiyaku_local::pki::LocalPki::open_or_create(&app.data_dir().join("pki"), &app.url)
        .unwrap();
    let url = format!("{}/api/v1/tsa", app.url);
    let tsa = RemoteTsa::new(&url, None, trust(&pki, &app), app.clock.clone()).unwrap();
    let digest = [3u8; 32];
    let token = tsa.timestamp(&digest).await.expect("a checked token");
    keiyaku_pdf::timestamp::check_token(&token, &digest, std::slice::from_ref(&pki.tsa.cert))
        .unwrap();

    // Sealing through it: a B-T seal whose timestamp came over HTTP.
    let pdf = keiyaku_pdf::sample::pdf_with_pages(1);
    let revocation = keiyaku_local::revocation::CrlSource::new(None, app.clock.clone()).unwrap();
    let anchors = [pki.root.cert.clone()];
    let sealing = keiyaku_local::sealing::Sealing {
        key: &pki,
        tsa: &tsa,
        revocation: &revocation,
        anchors: &anchors,
        clock: app.clock.clone(),
    };
    let (sealed, hash) = sealing
        .seal(&pdf, keiyaku_pdf::seal::Level::BT, "送信")
        .await
        .unwrap();
    // Long-term form with the remote TSA, and the CRLs fetched from the CRL distribution
    // points the certificates name (this server's /ca routes): no local shortcut.
    let long_term = sealing.extend_lta(&sealed, Some(&hash)).await.unwrap();
    let report =
        keiyaku_pdf::verify::verify(&long_term.pdf, &anchors, time::OffsetDateTime::now_utc())
            .unwrap();
    assert_eq!(
        report.status,
        keiyaku_pdf::verify::Status::Valid,
        "{report:?}"
    );
    assert_eq!(report.level, Some(keiyaku_pdf::verify::Level::BLTA));
    assert!(sealed.starts_with(&pdf));
    keiyaku_pdf::inspect(&sealed).unwrap();

    // A clock an hour off: the token's genTime is not believed.
    let skewed = Arc::new(ManualClock::new(
        time::OffsetDateTime::now_utc() + time::Duration::hours(1),
    ));
    let far = RemoteTsa::new(&url, None, trust(&pki, &app), skewed).unwrap();
    assert!(matches!(
        far.timestamp(&digest).await,
        Err(TsaError::Refused(_))
    ));
    // Not a TSA at all, and nobody there.
    let wrong = RemoteTsa::new(
        &format!("{}/api/v1/openapi.json", app.url),
        None,
        trust(&pki, &app),
        app.clock.clone(),
    )
    .unwrap();
    assert!(wrong.timestamp(&digest).await.is_err());
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let nobody = RemoteTsa::new(
        &format!("http://127.0.0.1:{closed}/tsa"),
        None,
        trust(&pki, &app),
        app.clock.clone(),
    )
    .unwrap();
    assert!(matches!(
        nobody.timestamp(&digest).await,
        Err(TsaError::Unavailable(_))
    ));
    assert!(
        RemoteTsa::new(
            "https://tsa.example",
            None,
            trust(&pki, &app),
            app.clock.clone()
        )
        .is_err(),
        "no TLS in this build"
    );
    // A TSA that chains to no configured anchor is refused; so is a client with no anchors.
    let other = tempfile::tempdir().unwrap();
    let other_pki = keiyaku_local::pki::LocalPki::open_or_create(other.path(), &app.url).unwrap();
    let untrusted = RemoteTsa::new(&url, None, trust(&other_pki, &app), app.clock.clone()).unwrap();
    match untrusted.timestamp(&digest).await {
        Err(TsaError::Refused(why)) => assert!(why.contains("not trusted"), "{why}"),
        other => panic!("{other:?}"),
    }
    let no_anchors = keiyaku_local::remote_tsa::TsaTrust {
        anchors: Vec::new(),
        revocation: trust(&pki, &app).revocation,
    };
    assert!(RemoteTsa::new(&url, None, no_anchors, app.clock.clone()).is_err());
    app.stop().await;
}

/// Trust in `pki`'s root, revocation data fetched from the CRL distribution points (this
/// app's `/ca` routes).
fn trust(pki: &keiyaku_local::pki::LocalPki, app: &TestApp) -> keiyaku_local::remote_tsa::TsaTrust {
    keiyaku_local::remote_tsa::TsaTrust {
        anchors: vec![pki.root.cert.clone()],
        revocation: std::sync::Arc::new(
            keiyaku_local::revocation::CrlSource::new(None, app.clock.clone()).unwrap(),
        ),
    }
}
