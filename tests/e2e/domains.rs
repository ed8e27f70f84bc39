//! Registration restriction (アカウント登録制限): a team claims a mail domain, proved by a
//! mail to an address there or by the admin's own confirmed address; sign-ups from the
//! domain are then refused (invitations still work); a domain is one team's; public mail
//! services cannot be claimed; a released domain is open again.

use keiyaku_tests::{PASSWORD, TestApp, error_code};
use serde_json::{Value, json};

use crate::teams::join;

async fn sign_up(app: &TestApp, email: &str) -> reqwest::Response {
    app.anonymous()
        .post_json(
            "/api/v1/auth/signup",
            json!({ "email": email, "name": "新規 太郎", "password": PASSWORD }),
        )
        .await
}

#[tokio::test]
async fn a_claimed_domain_signs_up_only_by_invitation() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin@sample.co.jp", "管理 太郎").await;
    let claim = |domain: &str, email: &str| {
        let admin = admin.clone();
        let body = json!({ "domain": domain, "email": email });
        async move { admin.post_json("/api/v1/team/domains", body).await }
    };
    for (domain, email, code) in [
        ("gmail.com", "someone@gmail.com", "public_mail_domain"),
        ("not a domain", "x@sample.co.jp", "invalid_domain"),
        (
            "sample.co.jp",
            "someone@other.co.jp",
            "address_not_at_domain",
        ),
    ] {
        let r = claim(domain, email).await;
        assert_eq!(r.status(), 400, "{domain}");
        assert_eq!(error_code(r).await, code);
    }
    // The admin's own confirmed address proves it at once (written as people write it).
    let r = claim("@Sample.CO.jp", "admin@sample.co.jp").await;
    assert_eq!(r.status(), 201);
    let team = admin.get_json("/api/v1/team").await;
    assert_eq!(team["domains"][0]["domain"], "sample.co.jp");
    assert!(
        app.last_mail_to("admin@sample.co.jp")
            .text
            .contains("sample.co.jp")
    );

    // Nobody signs up from it any more; an invitation still brings them in.
    let r = sign_up(&app, "Newcomer@sample.co.jp").await;
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "registration_restricted");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("invitation")
    );
    join(&app, &admin, "newcomer@sample.co.jp", "新人 花子", "member").await;

    // Another domain, proved by a mail to someone there.
    let r = claim("branch.sample.jp", "it@branch.sample.jp").await;
    assert_eq!(r.status(), 202);
    let token = app
        .last_mail_to("it@branch.sample.jp")
        .link_token("/domain#");
    assert_eq!(sign_up(&app, "early@branch.sample.jp").await.status(), 202);
    let r = app
        .anonymous()
        .post_json("/api/v1/auth/domain", json!({ "token": token }))
        .await;
    assert_eq!(r.status(), 200);
    let confirmed: Value = r.json().await.unwrap();
    assert_eq!(confirmed["domain"], "branch.sample.jp");
    // Once only.
    let r = app
        .anonymous()
        .post_json("/api/v1/auth/domain", json!({ "token": token }))
        .await;
    assert_eq!(error_code(r).await, "invalid_token");
    assert_eq!(
        error_code(sign_up(&app, "late@branch.sample.jp").await).await,
        "registration_restricted"
    );

    // One team's: another cannot claim it.
    let other = app.user("boss@rival.co.jp", "他社 次郎").await;
    let r = other
        .post_json(
            "/api/v1/team/domains",
            json!({ "domain": "sample.co.jp", "email": "x@sample.co.jp" }),
        )
        .await;
    assert_eq!(r.status(), 409);
    assert_eq!(error_code(r).await, "domain_claimed_elsewhere");

    // Released: open again.
    let r = admin.delete("/api/v1/team/domains/branch.sample.jp").await;
    assert_eq!(r.status(), 204);
    assert_eq!(sign_up(&app, "late@branch.sample.jp").await.status(), 202);
    assert_eq!(
        admin
            .delete("/api/v1/team/domains/branch.sample.jp")
            .await
            .status(),
        404
    );
}
