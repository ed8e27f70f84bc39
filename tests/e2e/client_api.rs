//! What the browser client needs of the API: lists cut into the tabs it shows (with each
//! document's parties), the viewer's role on a document (sender, or which approver), and
//! the recipient's "reached the last page", recorded once per send in the history.

use keiyaku_tests::{Client, TestApp, error_code};
use serde_json::{Value, json};

async fn draft(sender: &Client, title: &str) -> String {
    let created: Value = sender
        .upload("契約書.pdf", keiyaku_pdf::sample::pdf_with_pages(2), title)
        .await
        .json()
        .await
        .unwrap();
    created["id"].as_str().unwrap().to_owned()
}

async fn tab(sender: &Client, group: &str) -> Vec<Value> {
    let list = sender
        .get_json(&format!("/api/v1/documents?group={group}"))
        .await;
    list["documents"].as_array().unwrap().clone()
}

#[tokio::test]
async fn lists_by_tab_name_parties_and_the_viewer() {
    let app = TestApp::spawn().await;
    let sender = app.user("taro@example.jp", "山田 太郎").await;
    let boss = app.user("boss@example.jp", "承認 部長").await;
    let kept = draft(&sender, "下書きのまま").await;
    let sent = draft(&sender, "送る契約書").await;
    let cancelled = draft(&sender, "取り消す契約書").await;
    for id in [&sent, &cancelled] {
        let r = sender
            .post_json(
                &format!("/api/v1/documents/{id}/send"),
                json!({
                    "recipients": [
                        { "name": "山田 花子", "email": "hanako@example.jp", "company": "株式会社サンプル" },
                        { "name": "佐藤 一郎", "email": "ichiro@example.jp" }
                    ],
                    "approvers": ["boss@example.jp"]
                }),
            )
            .await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    }
    app.settle().await;
    let r = sender
        .post_json(&format!("/api/v1/documents/{cancelled}/cancel"), json!({}))
        .await;
    assert_eq!(r.status(), 200);
    app.settle().await;

    let ids = |docs: &[Value]| -> Vec<String> {
        docs.iter()
            .map(|d| d["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(&tab(&sender, "draft").await), [kept.as_str()]);
    let open = tab(&sender, "open").await;
    assert_eq!(ids(&open), [sent.as_str()]);
    assert_eq!(
        open[0]["parties"],
        json!([{ "name": "山田 花子", "company": "株式会社サンプル" }, { "name": "佐藤 一郎" }])
    );
    assert!(tab(&sender, "completed").await.is_empty());
    assert_eq!(ids(&tab(&sender, "closed").await), [cancelled.as_str()]);
    let r = sender.get("/api/v1/documents?group=finished").await;
    assert_eq!(r.status(), 400);

    let mine = sender.get_json(&format!("/api/v1/documents/{sent}")).await;
    assert_eq!(mine["viewer"], json!({ "role": "sender" }));
    let theirs = boss.get_json(&format!("/api/v1/documents/{sent}")).await;
    assert_eq!(
        theirs["viewer"],
        json!({ "role": "approver", "approver_id": "a1" })
    );
}

#[tokio::test]
async fn reaching_the_last_page_is_recorded_once_per_send() {
    let app = TestApp::spawn().await;
    let sender = app.user("taro@example.jp", "山田 太郎").await;
    let id = draft(&sender, "業務委託契約書").await;
    let r = sender
        .post_json(
            &format!("/api/v1/documents/{id}/send"),
            json!({ "recipients": [{ "name": "山田 花子", "email": "hanako@example.jp" }] }),
        )
        .await;
    assert_eq!(r.status(), 200);
    app.settle().await;
    let token = app.last_mail_to("hanako@example.jp").link_token("/r/#");
    let (status, view, recipient) = Client::open_link(&app.url, &token, None).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["viewed"], false);
    let recipient = recipient.unwrap();
    for _ in 0..2 {
        let r = recipient.post_json("/api/v1/r/viewed", json!({})).await;
        assert_eq!(r.status(), 200);
        let view: Value = r.json().await.unwrap();
        assert_eq!(view["viewed"], true);
    }
    let again = recipient.get_json("/api/v1/r/document").await;
    assert_eq!(again["viewed"], true);
    let doc = sender.get_json(&format!("/api/v1/documents/{id}")).await;
    let viewed: Vec<&Value> = doc["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "recipient.viewed")
        .collect();
    assert_eq!(viewed.len(), 1, "{doc}");
    assert_eq!(viewed[0]["actor"], "r1");
    assert_eq!(viewed[0]["ip"], "127.0.0.1");
    // Without the recipient's cookie, nothing is recorded.
    let r = app
        .anonymous()
        .post_json("/api/v1/r/viewed", json!({}))
        .await;
    assert_eq!(r.status(), 401);
    assert_eq!(error_code(r).await, "unauthorized");
}
