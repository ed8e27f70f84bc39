//! Editing a draft: recipients in order (with 会社名, 部署 and an access code), approvers
//! named by address (registered or not: the answer never tells), a message and a deadline —
//! each refused with a code naming the field when wrong.

use keiyaku_tests::{TestApp, error_code};
use serde_json::{Value, json};

async fn field_error(r: reqwest::Response) -> (u16, String, String) {
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    (
        status,
        body["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        body["error"]["field"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

#[tokio::test]
async fn a_draft_names_its_parties_and_deadline() {
    let app = TestApp::spawn().await;
    let sender = app.user("sender@example.com", "送信 花子").await;
    let _approver = app.user("boss@example.com", "承認 一郎").await;
    let created: Value = sender
        .upload_direct("契約書.pdf", keiyaku_pdf::sample::pdf_with_pages(1))
        .await
        .json()
        .await
        .unwrap();
    let path = format!("/api/v1/documents/{}", created["id"].as_str().unwrap());
    let expires = (time::OffsetDateTime::now_utc() + time::Duration::days(14))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let edited = sender
        .patch_json(
            &path,
            json!({
                "title": "業務委託契約書",
                "recipients": [
                    { "name": "山田 花子", "email": "Hanako@Example.jp", "company": "山田商事株式会社",
                      "department": "法務部", "access_code": "１２３４" },
                    { "name": "Taro Sato", "email": "taro@example.com" }
                ],
                "approvers": ["boss@example.com", { "email": "kacho@example.com", "name": "課長" }],
                "message": "ご確認をお願いします。\r\nよろしくお願いいたします。",
                "expires_at": expires
            }),
        )
        .await;
    assert_eq!(edited.status(), 200);
    let d: Value = edited.json().await.unwrap();
    assert_eq!(d["title"], "業務委託契約書");
    assert_eq!(d["recipients"][0]["id"], "r1");
    assert_eq!(d["recipients"][0]["email"], "hanako@example.jp");
    assert_eq!(d["recipients"][0]["company"], "山田商事株式会社");
    assert_eq!(d["recipients"][0]["has_access_code"], true);
    assert!(
        d["recipients"][0].get("access_code").is_none(),
        "the code is never shown"
    );
    assert_eq!(d["recipients"][1]["id"], "r2");
    assert_eq!(d["recipients"][1]["has_access_code"], false);
    // Naming an approver looks nobody up: the registered name is not echoed.
    assert_eq!(
        d["approvers"][0],
        json!({ "id": "a1", "email": "boss@example.com" })
    );
    assert_eq!(
        d["approvers"][1],
        json!({ "id": "a2", "email": "kacho@example.com", "name": "課長" })
    );
    assert_eq!(
        d["message"],
        "ご確認をお願いします。\nよろしくお願いいたします。"
    );
    assert!(d["expires_at"].is_string());
    assert!(
        d["history"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "document.edited")
    );
    // A field left out stays as it was.
    let d: Value = sender
        .patch_json(&path, json!({ "title": "改題" }))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(d["recipients"].as_array().unwrap().len(), 2);

    let before: Value = sender.get(&path).await.json().await.unwrap();
    for (body, code, field) in [
        (
            json!({ "recipients": [{ "name": "A", "email": "a@example.com" }, { "name": "B", "email": "A@example.com" }] }),
            "duplicate_recipient",
            "recipients[1].email",
        ),
        (
            json!({ "recipients": [{ "name": "A", "email": "a@example.com", "access_code": "12" }] }),
            "invalid_access_code",
            "recipients[0].access_code",
        ),
        (
            json!({ "recipients": [{ "name": "", "email": "a@example.com" }] }),
            "required",
            "recipients[0].name",
        ),
        (
            json!({ "recipients": [{ "name": "A", "email": "not-an-address" }] }),
            "invalid_email",
            "recipients[0].email",
        ),
        // Control characters are refused anywhere, also where trimming would drop them.
        (
            json!({ "recipients": [{ "name": "A\t", "email": "a@example.com" }] }),
            "control_characters",
            "recipients[0].name",
        ),
        (
            json!({ "recipients": [{ "name": "A", "email": "a@example.com", "company": "\t" }] }),
            "control_characters",
            "recipients[0].company",
        ),
        (
            json!({ "message": "よろしく\t" }),
            "control_characters",
            "message",
        ),
        (
            json!({ "approvers": ["a@example.com", "A@example.com"] }),
            "duplicate_approver",
            "approvers[1]",
        ),
        (
            json!({ "approvers": [{ "email": "a@example.com", "name": "\u{7}" }] }),
            "control_characters",
            "approvers[0].name",
        ),
        (
            json!({ "approvers": ["sender@example.com"] }),
            "approver_is_sender",
            "approvers[0]",
        ),
        (
            json!({ "expires_at": "2020-01-01T00:00:00Z" }),
            "invalid_expiry",
            "expires_at",
        ),
        (
            json!({ "expires_at": "next week" }),
            "invalid_expiry",
            "expires_at",
        ),
    ] {
        let (status, got_code, got_field) =
            field_error(sender.patch_json(&path, body.clone()).await).await;
        assert_eq!(
            (status, got_code.as_str(), got_field.as_str()),
            (400, code, field),
            "{body}"
        );
    }
    let after: Value = sender.get(&path).await.json().await.unwrap();
    assert_eq!(after, before, "a refused edit changes nothing");
    let far = (time::OffsetDateTime::now_utc() + time::Duration::days(301))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let (status, code, _) =
        field_error(sender.patch_json(&path, json!({ "expires_at": far })).await).await;
    assert_eq!((status, code.as_str()), (400, "invalid_expiry"));
    // Unknown fields are refused; the document is nobody else's to edit.
    let unknown = sender
        .patch_json(&path, json!({ "status": "completed" }))
        .await;
    assert_eq!(unknown.status(), 400);
    let other = app.user("other@example.com", "他人").await;
    let theirs = other.patch_json(&path, json!({ "title": "x" })).await;
    assert_eq!(theirs.status(), 404);
    assert_eq!(error_code(theirs).await, "not_found");
    // A `null` body to send is no edits (an optional body); another JSON value is refused.
    let r = sender
        .post_body(&format!("{path}/send"), "application/json", "[]")
        .await;
    assert_eq!(r.status(), 400);
    let r = sender
        .post_body(&format!("{path}/send"), "application/json", "null")
        .await;
    assert_eq!(r.status(), 200);
    app.stop().await;
}
