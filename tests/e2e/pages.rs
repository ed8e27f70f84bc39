//! Pages as images for browsers without a PDF viewer: the sender's and the recipient's,
//! drawn at the width asked, never cached; pages, widths and callers outside the document
//! refused with the codes a client chooses its words by.

use keiyaku_tests::{Client, TestApp, error_code};
use serde_json::{Value, json};

/// A PNG's width and height (its IHDR chunk), after checking the signature.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let be = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    (be(16), be(20))
}

async fn page(client: &Client, path: &str) -> reqwest::Response {
    client.get(path).await
}

#[tokio::test]
async fn the_sender_and_the_recipient_see_each_page_as_an_image() {
    let app = TestApp::spawn().await;
    let sender = app.user("taro@example.jp", "山田 太郎").await;
    let created: Value = sender
        .upload_direct("契約書.pdf", keiyaku_pdf::sample::pdf_with_pages(3))
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();

    let r = page(
        &sender,
        &format!("/api/v1/documents/{id}/pages/2?width=400"),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.headers()["cache-control"], "private, no-store");
    // A US Letter page (612 × 792 points) at 400 pixels wide: 517.6 pixels high, cut.
    assert_eq!(png_size(&r.bytes().await.unwrap()), (400, 517));
    let r = page(&sender, &format!("/api/v1/documents/{id}/pages/1")).await;
    assert_eq!(
        png_size(&r.bytes().await.unwrap()).0,
        1000,
        "the default width"
    );

    for (path, status, code) in [
        (format!("/api/v1/documents/{id}/pages/4"), 404, "not_found"),
        (format!("/api/v1/documents/{id}/pages/0"), 404, "not_found"),
        (
            format!("/api/v1/documents/{id}/pages/one"),
            400,
            "page_number_invalid",
        ),
        (
            format!("/api/v1/documents/{id}/pages/1?width=50"),
            400,
            "width_out_of_range",
        ),
        (
            format!("/api/v1/documents/{id}/pages/1?width=9999"),
            400,
            "width_out_of_range",
        ),
    ] {
        let r = page(&sender, &path).await;
        assert_eq!(r.status(), status, "{path}");
        assert_eq!(error_code(r).await, code, "{path}");
    }
    let stranger = app.user("jiro@example.jp", "佐藤 次郎").await;
    let r = page(&stranger, &format!("/api/v1/documents/{id}/pages/1")).await;
    assert_eq!(
        r.status(),
        404,
        "another team's document does not exist for them"
    );
    let r = page(&app.anonymous(), &format!("/api/v1/documents/{id}/pages/1")).await;
    assert_eq!(r.status(), 401);

    let r = sender
        .post_json(
            &format!("/api/v1/documents/{id}/send"),
            json!({ "recipients": [{ "name": "山田 花子", "email": "hanako@example.jp" }] }),
        )
        .await;
    assert_eq!(r.status(), 200);
    app.settle().await;
    let token = app.last_mail_to("hanako@example.jp").link_token("/r/#");
    let (status, _, hanako) = Client::open_link(&app.url, &token, None).await;
    assert_eq!(status, 200);
    let hanako = hanako.unwrap();
    let r = page(&hanako, "/api/v1/r/pages/3?width=612").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "private, no-store");
    assert_eq!(png_size(&r.bytes().await.unwrap()), (612, 792));
    let r = page(&hanako, "/api/v1/r/pages/4").await;
    assert_eq!(r.status(), 404);
    let r = page(&app.anonymous(), "/api/v1/r/pages/1").await;
    assert_eq!(r.status(), 401);
    app.stop().await;
}
