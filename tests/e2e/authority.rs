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
async fn the_local_tsa_answers_only_when_made_public_and_then_within_its_limit() {
    // It signs whatever it is sent with a key the verifier trusts: off by default.
    let app = TestApp::spawn().await;
    let query = keiyaku_pdf::timestamp::request(&[1; 32], None, false);
    let r = app
        .anonymous()
        .request(reqwest::Method::POST, "/api/v1/tsa")
        .header("content-type", "application/timestamp-query")
        .body(query.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    app.stop().await;

    let app = TestApp::spawn_with_public_tsa().await;
    let mut statuses = Vec::new();
    for _ in 0..121 {
        let r = app
            .anonymous()
            .request(reqwest::Method::POST, "/api/v1/tsa")
            .header("content-type", "application/timestamp-query")
            .body(query.clone())
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert!(statuses[..120].iter().all(|s| *s == 200));
    assert_eq!(statuses[120], 429, "120 per client address in 15 minutes");
    app.stop().await;
}

#[tokio::test]
async fn the_local_tsa_over_http_satisfies_openssl_ts_verify() {
    let app = TestApp::spawn_with_public_tsa().await;
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
    use keiyaku_net::tsa::RemoteTsa;
    use std::sync::Arc;

    let app = TestApp::spawn_with_public_tsa().await;
    let pki = keiyaku_local::pki::LocalPki::open_or_create(&app.data_dir().join("pki"), &app.url)
        .unwrap();
    let url = format!("{}/api/v1/tsa", app.url);
    let tsa = RemoteTsa::new(&url, None, trust(&pki), app.clock.clone()).unwrap();
    let digest = [3u8; 32];
    let token = tsa.timestamp(&digest).await.expect("a checked token");
    keiyaku_pdf::timestamp::check_token(&token, &digest, std::slice::from_ref(&pki.tsa.cert))
        .unwrap();

    // Sealing through it: a B-T seal whose timestamp came over HTTP.
    let pdf = keiyaku_pdf::sample::pdf_with_pages(1);
    let revocation = keiyaku_net::crl::CrlFetcher::new().unwrap();
    let anchors = [pki.root.cert.clone()];
    let sealing = keiyaku_core::sealing::Sealing {
        key: &pki,
        tsa: &tsa,
        revocation: &revocation,
        anchors: &anchors,
        clock: app.clock.clone(),
    };
    // Long-term form with the remote TSA, and the CRLs fetched from the CRL distribution
    // points the certificates name (this server's /ca routes): no local shortcut.
    let sealed = keiyaku_tests::seal_to_long_term_form(&sealing, &pdf).await;
    assert!(sealed.starts_with(&pdf));
    keiyaku_pdf::inspect(&sealed).unwrap();

    // A clock an hour off: the token's genTime is not believed.
    let skewed = Arc::new(ManualClock::new(
        time::OffsetDateTime::now_utc() + time::Duration::hours(1),
    ));
    let far = RemoteTsa::new(&url, None, trust(&pki), skewed).unwrap();
    assert!(matches!(
        far.timestamp(&digest).await,
        Err(TsaError::Refused(_))
    ));
    // Not a TSA at all, and nobody there.
    let wrong = RemoteTsa::new(
        &format!("{}/api/v1/openapi.json", app.url),
        None,
        trust(&pki),
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
        trust(&pki),
        app.clock.clone(),
    )
    .unwrap();
    assert!(matches!(
        nobody.timestamp(&digest).await,
        Err(TsaError::Unavailable(_))
    ));
    // A password never travels in clear; only http(s) URLs.
    assert!(
        RemoteTsa::new(
            &url,
            Some(("u".into(), "p".into())),
            trust(&pki),
            app.clock.clone()
        )
        .is_err()
    );
    assert!(RemoteTsa::new("ftp://tsa.example", None, trust(&pki), app.clock.clone()).is_err());
    // A TSA that chains to no configured anchor is refused; so is a client with no anchors.
    let other = tempfile::tempdir().unwrap();
    let other_pki = keiyaku_local::pki::LocalPki::open_or_create(other.path(), &app.url).unwrap();
    let untrusted = RemoteTsa::new(&url, None, trust(&other_pki), app.clock.clone()).unwrap();
    match untrusted.timestamp(&digest).await {
        Err(TsaError::Refused(why)) => assert!(why.contains("not trusted"), "{why}"),
        other => panic!("{other:?}"),
    }
    let no_anchors = keiyaku_net::tsa::TsaTrust {
        anchors: Vec::new(),
        revocation: trust(&pki).revocation,
        tls_roots: Vec::new(),
    };
    assert!(RemoteTsa::new(&url, None, no_anchors, app.clock.clone()).is_err());
    app.stop().await;
}

/// Trust in `pki`'s root, revocation data fetched from the CRL distribution points (this
/// app's `/ca` routes).
fn trust(pki: &keiyaku_local::pki::LocalPki) -> keiyaku_net::tsa::TsaTrust {
    keiyaku_net::tsa::TsaTrust {
        anchors: vec![pki.root.cert.clone()],
        revocation: std::sync::Arc::new(keiyaku_net::crl::CrlFetcher::new().unwrap()),
        tls_roots: Vec::new(),
    }
}

/// A certificate for `127.0.0.1` from a throwaway root: the root (DER), the server's chain
/// and its PKCS #8 key, for a TLS server on loopback.
fn loopback_tls_identity() -> (Vec<u8>, Vec<Vec<u8>>, Vec<u8>) {
    use der::Encode;
    use p256::pkcs8::{EncodePrivateKey, EncodePublicKey};
    use std::str::FromStr;
    use x509_cert::builder::{Builder, CertificateBuilder, Profile};
    use x509_cert::ext::pkix::SubjectAltName;
    use x509_cert::ext::pkix::name::GeneralName;
    use x509_cert::name::Name;
    use x509_cert::serial_number::SerialNumber;
    use x509_cert::spki::SubjectPublicKeyInfoOwned;
    use x509_cert::time::Validity;

    let spki = |key: &p256::ecdsa::SigningKey| {
        let der = key.verifying_key().to_public_key_der().unwrap();
        <SubjectPublicKeyInfoOwned as der::Decode>::from_der(der.as_bytes()).unwrap()
    };
    let validity = Validity::from_now(std::time::Duration::from_secs(3600)).unwrap();
    let root_key = p256::ecdsa::SigningKey::random(&mut rand_core());
    let root_name = Name::from_str("CN=keiyaku test TLS root").unwrap();
    let root = CertificateBuilder::new(
        Profile::Root,
        SerialNumber::from(1u32),
        validity,
        root_name.clone(),
        spki(&root_key),
        &root_key,
    )
    .unwrap()
    .build::<p256::ecdsa::DerSignature>()
    .unwrap();
    let server_key = p256::ecdsa::SigningKey::random(&mut rand_core());
    let mut server = CertificateBuilder::new(
        Profile::Leaf {
            issuer: root_name,
            enable_key_agreement: false,
            enable_key_encipherment: false,
        },
        SerialNumber::from(2u32),
        validity,
        Name::from_str("CN=127.0.0.1").unwrap(),
        spki(&server_key),
        &root_key,
    )
    .unwrap();
    server
        .add_extension(&SubjectAltName(vec![GeneralName::IpAddress(
            der::asn1::OctetString::new([127u8, 0, 0, 1]).unwrap(),
        )]))
        .unwrap();
    let server = server.build::<p256::ecdsa::DerSignature>().unwrap();
    (
        root.to_der().unwrap(),
        vec![server.to_der().unwrap()],
        server_key.to_pkcs8_der().unwrap().as_bytes().to_vec(),
    )
}

fn rand_core() -> p256::elliptic_curve::rand_core::OsRng {
    p256::elliptic_curve::rand_core::OsRng
}

/// An https RFC 3161 endpoint on loopback in front of `pki`'s TSA that wants HTTP Basic
/// `user:password`; its URL and the TLS root to trust.
/// A TSA over https that wants `credentials` (Basic): its URL, its TLS root, and how many
/// requests reached it through a finished handshake (each carrying whatever credentials
/// the client sent).
async fn https_tsa(
    pki: keiyaku_local::pki::LocalPki,
    credentials: &str,
) -> (
    String,
    Vec<u8>,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use base64::Engine;
    use keiyaku_core::ports::LocalAuthority;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls;

    let (root, chain, key) = loopback_tls_identity();
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            chain
                .into_iter()
                .map(rustls::pki_types::CertificateDer::from)
                .collect(),
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.into()),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let expected = format!(
        "authorization: basic {}",
        base64::engine::general_purpose::STANDARD.encode(credentials)
    )
    .to_lowercase();
    let requests = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = requests.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let Ok(mut tls) = acceptor.accept(tcp).await else {
                continue;
            };
            // One request per connection: headers, then Content-Length bytes of body.
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let head_end = loop {
                let n = tls.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break None;
                }
                buf.extend_from_slice(&chunk[..n]);
                if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break Some(at + 4);
                }
            };
            let Some(head_end) = head_end else { continue };
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < head_end + length {
                let n = tls.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let (status, body) = if head.lines().any(|l| l.trim() == expected) {
                let query = &buf[head_end..(head_end + length).min(buf.len())];
                (
                    "200 OK",
                    pki.timestamp_reply(query, time::OffsetDateTime::now_utc()),
                )
            } else {
                ("401 Unauthorized", Vec::new())
            };
            let response = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/timestamp-reply\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = tls.write_all(response.as_bytes()).await;
            let _ = tls.write_all(&body).await;
            let _ = tls.shutdown().await;
        }
    });
    (format!("https://127.0.0.1:{port}/tsa"), root, requests)
}

#[tokio::test]
async fn an_https_tsa_with_a_password_is_used_only_over_tls_it_trusts() {
    use keiyaku_core::ports::{Tsa, TsaError};
    use keiyaku_net::tsa::RemoteTsa;

    let app = TestApp::spawn().await;
    let pki = keiyaku_local::pki::LocalPki::open_or_create(&app.data_dir().join("pki"), &app.url)
        .unwrap();
    let (url, tls_root, requests) = https_tsa(pki.clone(), "keiyaku:s3cret").await;
    let with = |tls_roots: Vec<Vec<u8>>, password: &str| {
        let mut trust = trust(&pki);
        trust.tls_roots = tls_roots;
        RemoteTsa::new(
            &url,
            Some(("keiyaku".into(), password.into())),
            trust,
            app.clock.clone(),
        )
        .unwrap()
    };
    let digest = [9u8; 32];
    let token = with(vec![tls_root.clone()], "s3cret")
        .timestamp(&digest)
        .await
        .expect("a checked token over https");
    keiyaku_pdf::timestamp::check_token(&token, &digest, std::slice::from_ref(&pki.tsa.cert))
        .unwrap();
    // The wrong password is the TSA's refusal; a server certificate nobody vouches for
    // fails before any password is sent.
    assert!(matches!(
        with(vec![tls_root], "wrong").timestamp(&digest).await,
        Err(TsaError::Unavailable(_))
    ));
    let reached = requests.load(std::sync::atomic::Ordering::SeqCst);
    assert!(matches!(
        with(Vec::new(), "s3cret").timestamp(&digest).await,
        Err(TsaError::Unavailable(_))
    ));
    assert_eq!(
        requests.load(std::sync::atomic::Ordering::SeqCst),
        reached,
        "no request (and so no password) crossed the untrusted handshake"
    );
    app.stop().await;
}
