//! Changing an account's address: the password asked, the link mailed to the new address
//! and a notice to the old; the change made once, the old address free and the new one
//! the login; admins told; an address at another team's claimed domain refused.

use keiyaku_tests::{PASSWORD, TestApp, error_code};
use serde_json::{Value, json};

use crate::teams::join;

#[tokio::test]
async fn an_address_changes_only_through_a_link_to_the_new_one() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin@example.jp", "管理 太郎").await;
    let member = join(&app, &admin, "hanako@example.jp", "山田 花子", "member").await;
    let change = |email: &str, password: &str| {
        let member = member.clone();
        let body = json!({ "email": email, "password": password });
        async move { member.post_json("/api/v1/me/email", body).await }
    };
    let r = change("new@example.org", "wrong password 1").await;
    assert_eq!(error_code(r).await, "wrong_password");
    let r = change("HANAKO@example.jp", PASSWORD).await;
    assert_eq!(error_code(r).await, "same_address");
    // Another team's claimed domain is closed to it, as to a sign-up.
    let rival = app.user("boss@rival.co.jp", "他社 次郎").await;
    let r = rival
        .post_json(
            "/api/v1/team/domains",
            json!({ "domain": "rival.co.jp", "email": "boss@rival.co.jp" }),
        )
        .await;
    assert_eq!(r.status(), 201);
    let r = change("hanako@rival.co.jp", PASSWORD).await;
    assert_eq!(error_code(r).await, "registration_restricted");

    let r = change("Hanako.Yamada@example.org", PASSWORD).await;
    assert_eq!(r.status(), 202);
    let notice = app.last_mail_to("hanako@example.jp");
    assert!(
        notice.text.contains("hanako.yamada@example.org"),
        "{}",
        notice.text
    );
    let token = app
        .last_mail_to("hanako.yamada@example.org")
        .link_token("/address#");
    // Nothing changed until the link is opened.
    assert_eq!(
        member.get_json("/api/v1/me").await["email"],
        "hanako@example.jp"
    );
    let r = app
        .anonymous()
        .post_json("/api/v1/auth/address", json!({ "token": token }))
        .await;
    assert_eq!(r.status(), 200);
    let done: Value = r.json().await.unwrap();
    assert_eq!(done["email"], "hanako.yamada@example.org");
    let r = app
        .anonymous()
        .post_json("/api/v1/auth/address", json!({ "token": token }))
        .await;
    assert_eq!(error_code(r).await, "invalid_token");
    assert_eq!(
        member.get_json("/api/v1/me").await["email"],
        "hanako.yamada@example.org"
    );
    // The new address logs in; the old one is free for someone else.
    app.log_in("hanako.yamada@example.org").await;
    let r = app
        .anonymous()
        .post_json(
            "/api/v1/auth/login",
            json!({ "email": "hanako@example.jp", "password": PASSWORD }),
        )
        .await;
    assert_eq!(r.status(), 401);
    app.user("hanako@example.jp", "別人 花子").await;
    // Admins are told (No.47).
    let told = app.last_mail_to("admin@example.jp");
    assert!(
        told.text.contains("hanako.yamada@example.org"),
        "{}",
        told.text
    );

    // An address that has an account already: that address is told, nothing changes.
    let r = change("admin@example.jp", PASSWORD).await;
    assert_eq!(r.status(), 202);
    assert!(
        app.last_mail_to("admin@example.jp")
            .text
            .contains("すでにアカウントがあります")
    );
}
