//! The browser client served by the local shape: every screen path a mail links to answers
//! with the client's page and the headers of `web/headers.json` (its CSP exactly), files by
//! their type, revalidated by ETag and gzipped when asked; the API's unknown paths stay JSON
//! errors and a missing file is a plain 404.

use keiyaku_tests::{TestApp, error_code};
use serde_json::Value;

fn table() -> serde_json::Map<String, Value> {
    let raw = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../web/headers.json"))
        .expect("web/headers.json");
    serde_json::from_str(&raw).expect("a JSON object")
}

#[tokio::test]
async fn every_mailed_screen_path_opens_the_client_with_its_headers() {
    let app = TestApp::spawn().await;
    let client = app.anonymous();
    let headers = table();
    assert!(
        headers["Content-Security-Policy"]
            .as_str()
            .is_some_and(
                |csp| csp.starts_with("default-src 'none'; script-src 'self';")
                    && csp.ends_with("require-trusted-types-for 'script'; trusted-types 'none'")
            ),
        "the policy the issue set"
    );
    for path in [
        "/",
        "/login",
        "/signup",
        "/verify-email",
        "/reset",
        "/documents",
        "/documents/0123456789abcdef",
        "/r/",
        "/verify",
        "/ops",
        "/no/such/screen",
    ] {
        let r = client.get(path).await;
        assert_eq!(r.status(), 200, "{path}");
        for (name, value) in &headers {
            assert_eq!(
                r.headers()[name.as_str()].to_str().unwrap(),
                value.as_str().unwrap(),
                "{name} on {path}"
            );
        }
        assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
        let body = r.text().await.unwrap();
        assert!(body.contains(r#"<script type="module" src="/assets/app.js"></script>"#));
        // No inline script or style for the policy to refuse.
        assert!(!body.contains("<style") && !body.contains(" style="));
        assert_eq!(body.matches("<script").count(), 1);
    }
}

#[tokio::test]
async fn files_are_typed_revalidated_and_compressed() {
    let app = TestApp::spawn().await;
    let client = app.anonymous();
    let r = client.get("/assets/app.js").await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(r.headers()["cache-control"], "no-cache");
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    let plain = r.bytes().await.unwrap();
    assert!(plain.starts_with(b"//"));

    let again = client
        .request(reqwest::Method::GET, "/assets/app.js")
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);

    let gz = client
        .request(reqwest::Method::GET, "/assets/app.css")
        .header("accept-encoding", "br, gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    assert_eq!(gz.headers()["vary"], "Accept-Encoding");
    let body = gz.bytes().await.unwrap();
    let mut css = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&body[..]), &mut css).unwrap();
    assert!(css.contains(":focus-visible"));

    // The header table itself is not a file of the client.
    assert_eq!(client.get("/headers.json").await.status(), 404);
    let missing = client.get("/assets/nothing.js").await;
    assert_eq!(missing.status(), 404);
    assert!(missing.headers().contains_key("content-security-policy"));
    // Outside the API, only reading.
    let post = client
        .request(reqwest::Method::POST, "/login")
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 405);
    // The API's own unknown paths are still the API's errors.
    let r = client.get("/api/v1/no-such-route").await;
    assert_eq!(r.status(), 404);
    assert_eq!(error_code(r).await, "not_found");
    let r = client
        .request(reqwest::Method::POST, "/api/v1/no-such-route")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}
