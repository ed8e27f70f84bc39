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
