//! Two-factor login over HTTP: enrolment with its QR code and a first code, logins that
//! ask for a code in both modes, each code accepted once, recovery codes once each, wrong
//! codes ending a pending login, and turning it off with password and code.

use base64::Engine;
use keiyaku_core::clock::Clock;
use keiyaku_core::domain::two_factor::TotpSecret;
use keiyaku_tests::{Client, PASSWORD, TestApp, error_code};
use serde_json::{Value, json};

/// Enrols `client`'s account; returns the secret and the recovery codes.
pub(crate) async fn enrol(app: &TestApp, client: &Client) -> (TotpSecret, Vec<String>) {
    let r = client.post_json("/api/v1/me/two-factor", json!({})).await;
    assert_eq!(r.status(), 200);
    let started: Value = r.json().await.unwrap();
    let secret = TotpSecret::from_base32(started["secret"].as_str().unwrap()).unwrap();
    let code = secret.code_at(app.clock.now());
    let r = client
        .post_json("/api/v1/me/two-factor/confirm", json!({ "code": code }))
        .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let codes = body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (secret, codes)
}

/// The first step of a login: the pending login's token.
async fn password_step(app: &TestApp, email: &str, mode: &str) -> String {
    let r = app
        .anonymous()
        .post_json(
            "/api/v1/auth/login",
            json!({ "email": email, "password": PASSWORD, "mode": mode }),
        )
        .await;
    assert_eq!(r.status(), 202);
    assert!(r.headers().get("set-cookie").is_none());
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["second_factor_required"], true);
    body["login_token"].as_str().unwrap().to_owned()
}

/// Moves the clock to the start of a quarter-hour, so the per-account limits of what follows
/// count in one window.
fn at_a_fresh_window(app: &TestApp) {
    let now = app.clock.now().unix_timestamp();
    app.clock
        .advance(time::Duration::seconds(900 - now.rem_euclid(900)));
}

async fn second_step(app: &TestApp, login_token: &str, code: &str) -> reqwest::Response {
    app.anonymous()
        .post_json(
            "/api/v1/auth/login/second-factor",
            json!({ "login_token": login_token, "code": code }),
        )
        .await
}

#[tokio::test]
async fn enrolment_shows_a_qr_code_once_and_is_confirmed_by_a_first_code() {
    let app = TestApp::spawn().await;
    let hanako = app.user("hanako@example.jp", "山田 花子").await;
    assert_eq!(hanako.get_json("/api/v1/me").await["two_factor"], false);

    let r = hanako.post_json("/api/v1/me/two-factor", json!({})).await;
    assert_eq!(r.status(), 200);
    let started: Value = r.json().await.unwrap();
    let base32 = started["secret"].as_str().unwrap().to_owned();
    assert!(
        started["otpauth_url"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/keiyaku:hanako%40example.jp?"),
        "{started}"
    );
    let qr = started["qr_code"].as_str().unwrap();
    let svg = base64::engine::general_purpose::STANDARD
        .decode(qr.strip_prefix("data:image/svg+xml;base64,").unwrap())
        .unwrap();
    assert!(String::from_utf8(svg).unwrap().contains("<svg"));
    // Stored encrypted: the secret appears nowhere in the database.
    assert_eq!(app.count_rows("body LIKE ?1", format!("%{base32}%")), 0);

    // Not on until confirmed: a login still needs only the password.
    app.log_in("hanako@example.jp").await;

    let secret = TotpSecret::from_base32(&base32).unwrap();
    let wrong = if secret.code_at(app.clock.now()) == "000000" {
        "111111"
    } else {
        "000000"
    };
    let r = hanako
        .post_json("/api/v1/me/two-factor/confirm", json!({ "code": wrong }))
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(r).await, "code_wrong");
    // Full-width digits, as a Japanese keyboard may type them, are the same code.
    let typed: String = secret
        .code_at(app.clock.now())
        .chars()
        .map(|c| char::from_u32(c as u32 - '0' as u32 + '０' as u32).unwrap())
        .collect();
    let r = hanako
        .post_json("/api/v1/me/two-factor/confirm", json!({ "code": typed }))
        .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let codes = body["recovery_codes"].as_array().unwrap();
    assert_eq!(codes.len(), 10);
    assert_eq!(hanako.get_json("/api/v1/me").await["two_factor"], true);
    let mail = app.last_mail_to("hanako@example.jp");
    assert!(
        mail.subject.contains("2 段階認証を有効"),
        "{}",
        mail.subject
    );
    // Recovery codes are kept hashed only.
    let first = codes[0].as_str().unwrap();
    assert_eq!(app.count_rows("body LIKE ?1", format!("%{first}%")), 0);

    // On: a new enrolment needs turning it off first.
    let r = hanako.post_json("/api/v1/me/two-factor", json!({})).await;
    assert_eq!(r.status(), 409);
    assert_eq!(error_code(r).await, "two_factor_on");
}

#[tokio::test]
async fn logins_ask_for_a_code_and_accept_each_code_once() {
    let app = TestApp::spawn().await;
    let hanako = app.user("hanako@example.jp", "山田 花子").await;
    let (secret, _) = enrol(&app, &hanako).await;

    // The code that confirmed enrolment was used: refused at login within its window.
    let pending = password_step(&app, "hanako@example.jp", "token").await;
    let r = second_step(&app, &pending, &secret.code_at(app.clock.now())).await;
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(r).await, "code_used");

    app.clock.advance(time::Duration::seconds(30));
    let code = secret.code_at(app.clock.now());
    let r = second_step(&app, &pending, &code).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let token = body["token"].as_str().unwrap();
    assert_eq!(body["user"]["two_factor"], true);
    let me = Client::with_token(&app.url, token)
        .get_json("/api/v1/me")
        .await;
    assert_eq!(me["email"], "hanako@example.jp");

    // The pending login opened its session: its token is spent.
    let r = second_step(&app, &pending, &code).await;
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(r).await, "login_expired");
    // The same code on a new login: used.
    let again = password_step(&app, "hanako@example.jp", "token").await;
    let r = second_step(&app, &again, &code).await;
    assert_eq!(error_code(r).await, "code_used");

    // Cookie mode too: the cookie only comes with the second step.
    app.clock.advance(time::Duration::seconds(30));
    let pending = password_step(&app, "hanako@example.jp", "cookie").await;
    let r = second_step(&app, &pending, &secret.code_at(app.clock.now())).await;
    assert_eq!(r.status(), 200);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    let body: Value = r.json().await.unwrap();
    assert!(body["user"]["csrf_token"].as_str().is_some());
    assert!(body.get("token").is_none());

    // A pending login waits five minutes.
    let late = password_step(&app, "hanako@example.jp", "token").await;
    app.clock.advance(time::Duration::minutes(6));
    let r = second_step(&app, &late, &secret.code_at(app.clock.now())).await;
    assert_eq!(error_code(r).await, "login_expired");
}

#[tokio::test]
async fn recovery_codes_work_once_each_and_wrong_codes_end_a_pending_login() {
    let app = TestApp::spawn().await;
    at_a_fresh_window(&app);
    let hanako = app.user("hanako@example.jp", "山田 花子").await;
    let (secret, codes) = enrol(&app, &hanako).await;

    // As typed from paper: lower case, spaces instead of the hyphen.
    let typed = codes[3].to_lowercase().replace('-', " ");
    let pending = password_step(&app, "hanako@example.jp", "token").await;
    let r = second_step(&app, &pending, &typed).await;
    assert_eq!(r.status(), 200);
    let pending = password_step(&app, "hanako@example.jp", "token").await;
    let r = second_step(&app, &pending, &codes[3]).await;
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(r).await, "code_wrong");

    // Five wrong codes end the pending login (this one already had one): the right code
    // then opens nothing.
    for bad in ["12345", "abcde-fghjk", "2345-6789", "999999"] {
        let r = second_step(&app, &pending, bad).await;
        assert_eq!(r.status(), 400, "{bad}");
    }
    app.clock.advance(time::Duration::seconds(30));
    let r = second_step(&app, &pending, &secret.code_at(app.clock.now())).await;
    assert_eq!(error_code(r).await, "login_expired");
    assert!(app.count_rows("body LIKE ?1", "%account.second_factor_failed%") >= 5);

    // Guessing is slowed down per account, across pending logins.
    let pending = password_step(&app, "hanako@example.jp", "token").await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(
            second_step(&app, &pending, "000001")
                .await
                .status()
                .as_u16(),
        );
        if statuses.last() == Some(&429) {
            break;
        }
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
}

#[tokio::test]
async fn turning_it_off_needs_the_password_and_a_code() {
    let app = TestApp::spawn().await;
    let hanako = app.user("hanako@example.jp", "山田 花子").await;
    let (secret, codes) = enrol(&app, &hanako).await;
    app.clock.advance(time::Duration::seconds(30));
    let code = secret.code_at(app.clock.now());

    let r = hanako
        .post_json(
            "/api/v1/me/two-factor/disable",
            json!({ "password": "not the password", "code": code }),
        )
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(r).await, "wrong_password");
    let r = hanako
        .post_json(
            "/api/v1/me/two-factor/disable",
            json!({ "password": PASSWORD, "code": "12" }),
        )
        .await;
    assert_eq!(error_code(r).await, "code_malformed");
    let r = hanako
        .post_json(
            "/api/v1/me/two-factor/disable",
            json!({ "password": PASSWORD, "code": codes[0] }),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(hanako.get_json("/api/v1/me").await["two_factor"], false);
    let mail = app.last_mail_to("hanako@example.jp");
    assert!(
        mail.subject.contains("2 段階認証を無効"),
        "{}",
        mail.subject
    );
    assert_eq!(app.count_items("TOTP#"), 0);
    // Off: the password alone logs in, and turning it off again is refused.
    app.log_in("hanako@example.jp").await;
    let r = hanako
        .post_json(
            "/api/v1/me/two-factor/disable",
            json!({ "password": PASSWORD, "code": code }),
        )
        .await;
    assert_eq!(r.status(), 409);
    assert_eq!(error_code(r).await, "two_factor_off");
}

#[tokio::test]
async fn scripts_get_named_tokens_made_by_a_user_with_two_factor_login() {
    let app = TestApp::spawn().await;
    let hanako = app.user("hanako@example.jp", "山田 花子").await;
    let r = hanako
        .post_json("/api/v1/me/tokens", json!({ "name": "請求バッチ" }))
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(error_code(r).await, "two_factor_required");

    enrol(&app, &hanako).await;
    let r = hanako
        .post_json("/api/v1/me/tokens", json!({ "name": " " }))
        .await;
    assert_eq!(r.status(), 400);
    let r = hanako
        .post_json("/api/v1/me/tokens", json!({ "name": "請求バッチ" }))
        .await;
    assert_eq!(r.status(), 201);
    let made: Value = r.json().await.unwrap();
    assert_eq!(made["name"], "請求バッチ");
    // The script's token works without a code, and is listed by name (never the token).
    let script = Client::with_token(&app.url, made["token"].as_str().unwrap());
    assert_eq!(
        script.get_json("/api/v1/me").await["email"],
        "hanako@example.jp"
    );
    let listed = hanako.get_json("/api/v1/me/tokens").await;
    let row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == made["id"])
        .unwrap()
        .clone();
    assert_eq!(row["name"], "請求バッチ");
    assert!(row.get("token").is_none());
    let r = hanako
        .delete(&format!(
            "/api/v1/me/tokens/{}",
            made["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(r.status(), 204);
    assert_eq!(script.get("/api/v1/me").await.status(), 401);
}
