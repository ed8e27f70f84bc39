//! The network edge of the local shape: a slow client cannot hold a connection (request head
//! within 10 s, whole request within the request timeout), connections beyond the cap are
//! closed, and https is served by rustls with TLS 1.2 and 1.3 only, judged by
//! `openssl s_client`.

use std::process::Command;
use std::time::{Duration, Instant};

use keiyaku_tests::TestApp;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn a_request_head_sent_slowly_is_cut_off() {
    let app = TestApp::spawn().await;
    let addr = app.url.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    stream
        .write_all(b"GET /api/v1/openapi.json HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // The head never ends: the server closes the connection after its 10 s.
    let started = Instant::now();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the connection was still open after 30 s");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(9), "closed after {waited:?}");
    app.stop().await;
}

#[tokio::test]
async fn a_request_not_answered_in_time_gets_408() {
    let app = TestApp::spawn_with_seams(keiyaku_server::Seams {
        request_timeout: Some(Duration::from_secs(1)),
        ..Default::default()
    })
    .await;
    let user = app.user("slow@example.jp", "遅い 太郎").await;
    // A body that trickles in: the whole request must be in within the timeout.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    let body = reqwest::Body::wrap_stream(tokio_stream_from(rx));
    let sending = tokio::spawn(async move {
        for _ in 0..30 {
            if tx.send(Ok(vec![b'%'; 10])).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let r = user
        .request(reqwest::Method::POST, "/api/v1/documents?filename=slow.pdf")
        .header("content-type", "application/pdf")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 408);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "request_timeout");
    sending.abort();
    app.stop().await;
}

fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

#[tokio::test]
async fn https_is_served_with_tls_1_2_and_1_3_only() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = Command::new("openssl")
        .args(["req", "-x509", "-nodes", "-newkey", "ec", "-pkeyopt"])
        .args([
            "ec_paramgen_curve:P-256",
            "-subj",
            "/CN=localhost",
            "-days",
            "1",
        ])
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let server = keiyaku_tests::start_process(&[
        ("KEIYAKU_TLS_CERT", cert.to_str().unwrap()),
        ("KEIYAKU_TLS_KEY", key.to_str().unwrap()),
    ]);
    let https = server.url.replacen("http://", "https://", 1);
    let client = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(&cert).unwrap()).unwrap(),
        )
        .build()
        .unwrap();
    let r = client
        .get(format!("{https}/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["strict-transport-security"]
            .to_str()
            .unwrap()
            .starts_with("max-age="),
        "served over https, the public URL is https: HSTS is on"
    );
    let host = https.trim_start_matches("https://").to_owned();
    let handshake = |version: &str| {
        let out = Command::new("openssl")
            .args([
                "s_client",
                "-connect",
                &host,
                version,
                "-servername",
                "localhost",
            ])
            .stdin(std::process::Stdio::null())
            .output()
            .expect("openssl");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    for version in ["-tls1_2", "-tls1_3"] {
        let (ok, text) = handshake(version);
        assert!(ok && text.contains("Cipher is"), "{version}: {text}");
    }
    for version in ["-tls1", "-tls1_1"] {
        let (ok, text) = handshake(version);
        assert!(
            !ok || text.contains("Cipher is (NONE)"),
            "{version} was accepted: {text}"
        );
    }
}

#[tokio::test]
async fn connections_beyond_the_cap_are_closed_and_the_server_recovers() {
    let app = TestApp::spawn_with_seams(keiyaku_server::Seams {
        max_connections: Some(3),
        ..Default::default()
    })
    .await;
    let addr = app.url.trim_start_matches("http://").to_owned();
    // Three clients hold connections open without sending anything.
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // A fourth is closed as it arrives: its request gets no answer.
    let mut fourth = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let _ = fourth
        .write_all(b"GET /api/v1/openapi.json HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), fourth.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the fourth connection was left open");
    assert!(buf.is_empty(), "the fourth connection was served");
    // One held connection goes away: a new client is served again.
    held.pop();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let r = reqwest::get(format!("{}/api/v1/openapi.json", app.url))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    drop(held);
    app.stop().await;
}
