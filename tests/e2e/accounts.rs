use keiyaku_core::store::keys;
use keiyaku_tests::{Client, PASSWORD, TestApp, error_code};
use serde_json::{Value, json};

#[tokio::test]
async fn sign_up_confirm_log_in_and_see_yourself() {
    let app = TestApp::spawn().await;
    let anon = app.anonymous();
    let r = anon
        .post_json(
            "/api/v1/auth/signup",
            json!({ "email": "Hanako@Example.jp", "name": "山田 花子", "password": PASSWORD }),
        )
        .await;
    assert_eq!(r.status(), 202);

    // Not confirmed yet: the right password still does not log in.
    let r = anon
        .post_json(
            "/api/v1/auth/login",
            json!({ "email": "hanako@example.jp", "password": PASSWORD }),
        )
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(error_code(r).await, "email_not_verified");

    let mail = app.last_mail_to("hanako@example.jp");
    assert!(
        mail.subject.contains("メールアドレスの確認"),
        "{}",
        mail.subject
    );
    assert!(mail.text.contains("山田 花子 様"));
    let token = mail.link_token("/verify-email#");
    assert!(token.len() >= 43);
    let r = anon
        .post_json("/api/v1/auth/verify-email", json!({ "token": token }))
        .await;
    assert_eq!(r.status(), 200);
    let r = anon
        .post_json("/api/v1/auth/verify-email", json!({ "token": token }))
        .await;
    assert_eq!(
        error_code(r).await,
        "invalid_token",
        "the token is single-use"
    );

    let browser = Client::browser_login(&app.url, "hanako@example.jp", PASSWORD).await;
    let me: Value = browser.get("/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["email"], "hanako@example.jp");
    assert_eq!(me["name"], "山田 花子");
    assert_eq!(me["role"], "admin");
    assert_eq!(me["language"], "ja");
    assert!(me["csrf_token"].as_str().unwrap().len() >= 43);
    let r = browser
        .patch_json(
            "/api/v1/me",
            json!({ "language": "en", "name": "Hanako Yamada" }),
        )
        .await;
    assert_eq!(r.status(), 200);
    let me: Value = browser.get("/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["language"], "en");
    let r = browser
        .patch_json("/api/v1/me", json!({ "language": "fr" }))
        .await;
    assert_eq!(error_code(r).await, "invalid_json");
    app.stop().await;
}

#[tokio::test]
async fn login_cookie_is_httponly_and_token_mode_returns_a_bearer_token() {
    let app = TestApp::spawn().await;
    let api = app.user("taro@example.jp", "鈴木 太郎").await;
    assert_eq!(api.get("/api/v1/me").await.status(), 200);
    let r = app
        .anonymous()
        .post_json(
            "/api/v1/auth/login",
            json!({ "email": "taro@example.jp", "password": PASSWORD }),
        )
        .await;
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("keiyaku_session="));
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/")
    );
    let body: Value = r.json().await.unwrap();
    assert!(
        body.get("token").is_none(),
        "a browser login does not hand out the token in JSON"
    );
    app.stop().await;
}

/// Status, body and whether a cookie was set: what a caller can tell one answer from
/// another by.
async fn answer(r: reqwest::Response) -> (u16, Value, bool) {
    let status = r.status().as_u16();
    let cookie = r.headers().contains_key("set-cookie");
    (status, r.json().await.unwrap_or(Value::Null), cookie)
}

#[tokio::test]
async fn wrong_passwords_and_unknown_accounts_look_the_same() {
    let app = TestApp::spawn().await;
    app.user("taro@example.jp", "鈴木 太郎").await;
    let anon = app.anonymous();
    let mut answers = Vec::new();
    for (email, password) in [
        ("taro@example.jp", "Wrong password 123!"),
        ("nobody@example.jp", PASSWORD),
    ] {
        let r = anon
            .post_json(
                "/api/v1/auth/login",
                json!({ "email": email, "password": password }),
            )
            .await;
        answers.push(answer(r).await);
    }
    assert_eq!(answers[0].0, 401);
    assert_eq!(answers[0].1["error"]["code"], "invalid_credentials");
    assert_eq!(answers[0], answers[1], "the whole answer is the same");
    app.stop().await;
}

#[tokio::test]
async fn signing_up_twice_answers_the_same_and_mails_the_owner() {
    let app = TestApp::spawn().await;
    app.user("taro@example.jp", "鈴木 太郎").await;
    let again = answer(
        app.anonymous()
            .post_json(
                "/api/v1/auth/signup",
                json!({ "email": "taro@example.jp", "name": "Someone Else", "password": "Another strong one 42!" }),
            )
            .await,
    )
    .await;
    let new = answer(
        app.anonymous()
            .post_json(
                "/api/v1/auth/signup",
                json!({ "email": "jiro@example.jp", "name": "Someone Else", "password": "Another strong one 42!" }),
            )
            .await,
    )
    .await;
    assert_eq!(again.0, 202);
    assert_eq!(
        again, new,
        "a registered address gets the answer a new one gets"
    );
    let mail = app.last_mail_to("taro@example.jp");
    assert!(mail.subject.contains("すでに登録"), "{}", mail.subject);
    // The original password still works: nothing was overwritten.
    Client::browser_login(&app.url, "taro@example.jp", PASSWORD).await;
    app.stop().await;
}

#[tokio::test]
async fn weak_passwords_are_refused_with_a_reason() {
    let app = TestApp::spawn().await;
    let anon = app.anonymous();
    let cases = [
        ("short", "password_too_short"),
        ("aaaaaaaaaaaaaa", "password_repetitive"),
        ("congratulations", "password_dictionary_word"),
        ("hanako-2024-contract", "password_personal_info"),
        ("password123", "password_too_guessable"),
    ];
    for (password, code) in cases {
        let r = anon
            .post_json(
                "/api/v1/auth/signup",
                json!({ "email": "hanako@example.jp", "name": "Hanako", "password": password }),
            )
            .await;
        assert_eq!(r.status(), 400, "{password}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], code, "{password}");
        assert_eq!(body["error"]["field"], "password");
        let r = anon
            .post_json(
                "/api/v1/auth/password-check",
                json!({ "password": password, "email": "hanako@example.jp", "name": "Hanako" }),
            )
            .await;
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["acceptable"], false);
        assert_eq!(body["code"], code);
    }
    let r = anon
        .post_json(
            "/api/v1/auth/password-check",
            json!({ "password": PASSWORD }),
        )
        .await;
    assert_eq!(r.json::<Value>().await.unwrap()["acceptable"], true);
    assert_eq!(app.count_items(keys::USER), 0, "no account was made");
    app.stop().await;
}

#[tokio::test]
async fn sessions_end_when_idle_logged_out_or_the_password_changes() {
    let app = TestApp::spawn().await;
    let api = app.user("taro@example.jp", "鈴木 太郎").await;
    let browser = Client::browser_login(&app.url, "taro@example.jp", PASSWORD).await;
    let other_browser = Client::browser_login(&app.url, "taro@example.jp", PASSWORD).await;

    // Idle for just under 8 hours: still in (and the use starts the idle time again); for
    // just over: the browser sessions end; the API token (90 days) does not.
    app.clock
        .advance(time::Duration::hours(8) - time::Duration::minutes(1));
    assert_eq!(browser.get("/api/v1/me").await.status(), 200);
    app.clock
        .advance(time::Duration::hours(8) + time::Duration::minutes(1));
    assert_eq!(browser.get("/api/v1/me").await.status(), 401);
    assert_eq!(other_browser.get("/api/v1/me").await.status(), 401);
    assert_eq!(api.get("/api/v1/me").await.status(), 200);
    let other_browser = Client::browser_login(&app.url, "taro@example.jp", PASSWORD).await;

    let browser = Client::browser_login(&app.url, "taro@example.jp", PASSWORD).await;
    let r = browser
        .post_json(
            "/api/v1/auth/password",
            json!({ "current": "not it at all 99", "new": "Brand new secret 2026!" }),
        )
        .await;
    assert_eq!(error_code(r).await, "wrong_password");
    let r = browser
        .post_json(
            "/api/v1/auth/password",
            json!({ "current": PASSWORD, "new": "Brand new secret 2026!" }),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        browser.get("/api/v1/me").await.status(),
        200,
        "the session that changed it goes on"
    );
    assert_eq!(
        api.get("/api/v1/me").await.status(),
        401,
        "every other session is revoked"
    );
    assert_eq!(other_browser.get("/api/v1/me").await.status(), 401);

    let r = browser.post_json("/api/v1/auth/logout", json!({})).await;
    assert_eq!(r.status(), 204);
    assert_eq!(browser.get("/api/v1/me").await.status(), 401);

    // Absolute limit: used every 6 hours, in until just before 7 days, out just after.
    let browser =
        Client::browser_login(&app.url, "taro@example.jp", "Brand new secret 2026!").await;
    for step in 1..=27 {
        app.clock.advance(time::Duration::hours(6));
        assert_eq!(browser.get("/api/v1/me").await.status(), 200, "{step}");
    }
    app.clock
        .advance(time::Duration::hours(6) - time::Duration::minutes(2));
    assert_eq!(
        browser.get("/api/v1/me").await.status(),
        200,
        "7 days less 2 minutes"
    );
    app.clock.advance(time::Duration::minutes(3));
    assert_eq!(
        browser.get("/api/v1/me").await.status(),
        401,
        "7 days and a minute"
    );
    app.stop().await;
}

#[tokio::test]
async fn cookie_requests_need_the_csrf_token_and_our_origin() {
    let app = TestApp::spawn().await;
    app.user("taro@example.jp", "鈴木 太郎").await;
    let browser = Client::browser_login(&app.url, "taro@example.jp", PASSWORD).await;
    let (cookie, csrf) = browser.cookie.clone().unwrap();
    let http = reqwest::Client::new();
    let patch = |csrf: Option<&str>, origin: Option<&str>| {
        let mut rb = http
            .patch(format!("{}/api/v1/me", app.url))
            .header("cookie", &cookie)
            .json(&json!({ "name": "Changed" }));
        if let Some(c) = csrf {
            rb = rb.header("x-csrf-token", c);
        }
        if let Some(o) = origin {
            rb = rb.header("origin", o);
        }
        rb.send()
    };
    let r = patch(None, None).await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(error_code(r).await, "csrf_token_invalid");
    let r = patch(Some("forged"), None).await.unwrap();
    assert_eq!(r.status(), 403);
    let r = patch(Some(&csrf), Some("https://evil.example"))
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(error_code(r).await, "foreign_origin");
    let r = patch(Some(&csrf), Some(&app.url)).await.unwrap();
    assert_eq!(r.status(), 200);
    // A login from another site is refused too (the only check before there is a session).
    let r = http
        .post(format!("{}/api/v1/auth/login", app.url))
        .header("origin", "https://evil.example")
        .json(&json!({ "email": "taro@example.jp", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    app.stop().await;
}

#[tokio::test]
async fn password_reset_by_mail() {
    let app = TestApp::spawn().await;
    let api = app.user("taro@example.jp", "鈴木 太郎").await;
    let anon = app.anonymous();
    let before = app.mails().len();
    let unknown = answer(
        anon.post_json(
            "/api/v1/auth/reset",
            json!({ "email": "nobody@example.jp" }),
        )
        .await,
    )
    .await;
    assert_eq!(app.mails().len(), before, "no mail for an unknown address");
    let known = answer(
        anon.post_json("/api/v1/auth/reset", json!({ "email": "taro@example.jp" }))
            .await,
    )
    .await;
    assert_eq!(known.0, 202);
    assert_eq!(unknown, known, "unknown addresses get the same answer");
    let first = app.last_mail_to("taro@example.jp").link_token("/reset#");
    // A second request: two links out, and the one used ends the other.
    anon.post_json("/api/v1/auth/reset", json!({ "email": "taro@example.jp" }))
        .await;
    let token = app.last_mail_to("taro@example.jp").link_token("/reset#");
    assert_ne!(first, token);
    let r = anon
        .post_json(
            "/api/v1/auth/reset/confirm",
            json!({ "token": token, "new": "short" }),
        )
        .await;
    assert_eq!(error_code(r).await, "password_too_short");
    let r = anon
        .post_json(
            "/api/v1/auth/reset/confirm",
            json!({ "token": token, "new": "Reset and renewed 2026!" }),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        api.get("/api/v1/me").await.status(),
        401,
        "sessions end on reset"
    );
    let r = anon
        .post_json(
            "/api/v1/auth/reset/confirm",
            json!({ "token": token, "new": "Another attempt 2026!" }),
        )
        .await;
    assert_eq!(error_code(r).await, "invalid_token");
    let r = anon
        .post_json(
            "/api/v1/auth/reset/confirm",
            json!({ "token": first, "new": "The older link 2026!" }),
        )
        .await;
    assert_eq!(
        error_code(r).await,
        "invalid_token",
        "the other link stopped working"
    );
    let browser =
        Client::browser_login(&app.url, "taro@example.jp", "Reset and renewed 2026!").await;

    // A link asked for before a password change stops working with the change.
    anon.post_json("/api/v1/auth/reset", json!({ "email": "taro@example.jp" }))
        .await;
    let before_change = app.last_mail_to("taro@example.jp").link_token("/reset#");
    let r = browser
        .post_json(
            "/api/v1/auth/password",
            json!({ "current": "Reset and renewed 2026!", "new": "Changed by the owner 2026!" }),
        )
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    let r = anon
        .post_json(
            "/api/v1/auth/reset/confirm",
            json!({ "token": before_change, "new": "An attacker's choice 2026!" }),
        )
        .await;
    assert_eq!(error_code(r).await, "invalid_token");

    // A reset link expires after an hour (asked for in the next hour: three an hour).
    app.clock.advance(time::Duration::minutes(61));
    let r = anon
        .post_json("/api/v1/auth/reset", json!({ "email": "taro@example.jp" }))
        .await;
    assert_eq!(r.status(), 202);
    let token = app.last_mail_to("taro@example.jp").link_token("/reset#");
    app.clock.advance(time::Duration::minutes(61));
    let r = anon
        .post_json(
            "/api/v1/auth/reset/confirm",
            json!({ "token": token, "new": "Too late for this 2026!" }),
        )
        .await;
    assert_eq!(error_code(r).await, "invalid_token");
    app.stop().await;
}

#[tokio::test]
async fn login_is_slowed_down_per_account_then_recovers() {
    let app = TestApp::spawn().await;
    app.user("taro@example.jp", "鈴木 太郎").await;
    let anon = app.anonymous();
    let mut limited = None;
    for i in 0..15 {
        let r = anon
            .post_json(
                "/api/v1/auth/login",
                json!({ "email": "taro@example.jp", "password": "wrong wrong wrong 1" }),
            )
            .await;
        if r.status() == 429 {
            limited = Some((
                i,
                r.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse::<u64>()
                    .unwrap(),
            ));
            break;
        }
        assert_eq!(r.status(), 401);
    }
    let (attempts, retry_after) = limited.expect("login is rate-limited");
    // Ten attempts an account in the window from a device it has not logged in from
    // (counted before the password is checked): the test user's own login was the first.
    assert_eq!(
        attempts as u64 + 1,
        keiyaku_core::ratelimit::LOGIN_PER_ACCOUNT.max,
        "nine wrong passwords after that login are answered, the next is slowed down"
    );
    assert!(retry_after > 0 && retry_after <= 15 * 60);
    // Even the right password waits: the account is slowed, not locked.
    let r = anon
        .post_json(
            "/api/v1/auth/login",
            json!({ "email": "taro@example.jp", "password": PASSWORD }),
        )
        .await;
    assert_eq!(r.status(), 429);
    app.clock
        .advance(time::Duration::seconds(retry_after as i64));
    Client::browser_login(&app.url, "taro@example.jp", PASSWORD).await;
    app.stop().await;
}

#[tokio::test]
async fn malformed_requests_get_json_errors() {
    let app = TestApp::spawn().await;
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/api/v1/auth/signup", app.url))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(r).await, "invalid_json");
    let r = http
        .post(format!("{}/api/v1/auth/signup", app.url))
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let r = http
        .post(format!("{}/api/v1/auth/signup", app.url))
        .json(&json!({ "email": "x@example.jp", "name": "X", "password": PASSWORD, "extra": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, "invalid_json");
    let r = http
        .post(format!("{}/api/v1/auth/signup", app.url))
        .header("content-type", "application/json")
        .body(vec![b' '; 70 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let r = http
        .get(format!("{}/api/v1/nothing-here", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(error_code(r).await, "not_found");
    let r = http
        .delete(format!("{}/api/v1/me", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    let r = http
        .get(format!("{}/api/v1/me", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert!(r.headers().contains_key("x-request-id"));
    let spec: Value = http
        .get(format!("{}/api/v1/openapi.json", app.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
    app.stop().await;
}

#[tokio::test]
async fn reset_mails_sign_ups_and_password_checks_are_rate_limited() {
    let app = TestApp::spawn().await;
    app.user("taro@example.jp", "鈴木 太郎").await;
    let anon = app.anonymous();
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let r = anon
            .post_json("/api/v1/auth/reset", json!({ "email": "taro@example.jp" }))
            .await;
        statuses.push(r.status().as_u16());
    }
    assert_eq!(
        statuses,
        vec![202, 202, 202, 429],
        "three reset mails per account and hour"
    );
    let resets = app
        .mails()
        .iter()
        .filter(|m| m.to == "taro@example.jp" && m.text.contains("/reset#"))
        .count();
    assert_eq!(resets, 3);

    // Ten sign-ups per address and hour (the first was taro's).
    let mut last = 0;
    for i in 0..10 {
        let r = anon
            .post_json(
                "/api/v1/auth/signup",
                json!({ "email": format!("user{i}@example.jp"), "name": format!("User {i}"), "password": PASSWORD }),
            )
            .await;
        last = r.status().as_u16();
        if last == 429 {
            assert!(r.headers().contains_key("retry-after"));
            break;
        }
    }
    assert_eq!(last, 429);
    app.clock.advance(time::Duration::hours(1));
    let r = anon
        .post_json(
            "/api/v1/auth/signup",
            json!({ "email": "later@example.jp", "name": "Later", "password": PASSWORD }),
        )
        .await;
    assert_eq!(r.status(), 202, "slowed down, not locked out");

    let mut checks = 0;
    loop {
        let r = anon
            .post_json(
                "/api/v1/auth/password-check",
                json!({ "password": "whatever it is" }),
            )
            .await;
        if r.status() == 429 {
            break;
        }
        checks += 1;
        assert!(checks <= 60, "password checks are limited");
    }
    assert_eq!(checks, 60);
    app.stop().await;
}

#[tokio::test]
async fn behind_tls_the_cookie_is_secure_and_prefixed_and_hsts_is_sent() {
    let app = TestApp::spawn_at("https://keiyaku.example.jp").await;
    app.user("taro@example.jp", "鈴木 太郎").await;
    let mail = app.last_mail_to("taro@example.jp");
    assert!(
        mail.text
            .contains("https://keiyaku.example.jp/verify-email#"),
        "links use the public URL"
    );
    let r = app
        .anonymous()
        .post_json(
            "/api/v1/auth/login",
            json!({ "email": "taro@example.jp", "password": PASSWORD }),
        )
        .await;
    let set_cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(set_cookie.contains("; Secure"), "{set_cookie}");
    // `__Host-`: the browser keeps it Secure, host-only and site-wide; no subdomain can
    // plant or shadow it.
    assert!(
        set_cookie.starts_with("__Host-keiyaku_session="),
        "{set_cookie}"
    );
    assert!(set_cookie.contains("Path=/;") && !set_cookie.contains("Domain"));
    let pair = set_cookie.split(';').next().unwrap().to_owned();
    let me = app
        .anonymous()
        .request(reqwest::Method::GET, "/api/v1/me")
        .header("cookie", &pair)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200, "the prefixed cookie is the session");
    let unprefixed = pair.trim_start_matches("__Host-");
    let me = app
        .anonymous()
        .request(reqwest::Method::GET, "/api/v1/me")
        .header("cookie", unprefixed)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401, "over https only the prefixed name counts");
    let spec: Value = app
        .anonymous()
        .get("/api/v1/openapi.json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        spec["components"]["securitySchemes"]["cookie"]["name"],
        "__Host-keiyaku_session"
    );
    assert_eq!(
        spec["components"]["securitySchemes"]["recipient"]["name"],
        "__Secure-keiyaku_recipient"
    );
    assert!(
        r.headers()["strict-transport-security"]
            .to_str()
            .unwrap()
            .starts_with("max-age=")
    );
    let plain = TestApp::spawn().await;
    let r = plain.anonymous().get("/api/v1/openapi.json").await;
    assert!(
        !r.headers().contains_key("strict-transport-security"),
        "no HSTS over plain HTTP"
    );
    plain.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn guesses_from_elsewhere_do_not_lock_the_owner_out_of_a_device_it_logged_in_from() {
    // Behind a trusted proxy (this test at 127.0.0.1), each X-Forwarded-For is a client.
    let app = TestApp::spawn_behind(&["127.0.0.1/32".parse().unwrap()]).await;
    app.user("taro@example.jp", "鈴木 太郎").await;
    let login = |from: &'static str, password: &'static str, device: Option<String>| {
        let client = app.anonymous();
        async move {
            let mut request = client
                .request(reqwest::Method::POST, "/api/v1/auth/login")
                .header("x-forwarded-for", from)
                .json(&json!({ "email": "taro@example.jp", "password": password }));
            if let Some(device) = device {
                request = request.header("cookie", device);
            }
            request.send().await.unwrap()
        }
    };
    // The owner logs in from their browser once: it gets a device cookie.
    let r = login("198.51.100.10", PASSWORD, None).await;
    assert_eq!(r.status(), 200);
    let device = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("keiyaku_device="))
        .expect("a device cookie");
    assert!(device.contains("HttpOnly") && device.contains("SameSite=Strict"));
    let device = device.split(';').next().unwrap().to_owned();

    // Eleven wrong guesses, each from another address: the account is slowed down.
    let mut statuses = Vec::new();
    for n in 1..=11 {
        let from: &'static str = Box::leak(format!("203.0.113.{n}").into_boxed_str());
        statuses.push(
            login(from, "wrong guess 2026!", None)
                .await
                .status()
                .as_u16(),
        );
    }
    // (Every attempt counts, the owner's two successful logins too.)
    let first_refused = statuses
        .iter()
        .position(|s| *s == 429)
        .expect("slowed down");
    assert!(
        statuses[..first_refused].iter().all(|s| *s == 401),
        "{statuses:?}"
    );
    assert!(
        statuses[first_refused..].iter().all(|s| *s == 429),
        "{statuses:?}"
    );
    // A new device is slowed down too, but the owner's known one logs in at once.
    assert_eq!(login("198.51.100.20", PASSWORD, None).await.status(), 429);
    let r = login("198.51.100.10", PASSWORD, Some(device.clone())).await;
    assert_eq!(
        r.status(),
        200,
        "the owner's device passes the account's limit"
    );
    // The failures are in the account's history.
    assert!(app.count_items(keys::AUDIT) >= 10);
    app.stop().await;
}

#[tokio::test]
async fn api_tokens_are_listed_revoked_and_end_ninety_days_after_issue() {
    let app = TestApp::spawn().await;
    let first = app.user("api@example.jp", "API 花子").await;
    let login = app
        .anonymous()
        .post_json(
            "/api/v1/auth/login",
            json!({ "email": "api@example.jp", "password": PASSWORD, "mode": "token" }),
        )
        .await;
    let second: Value = login.json().await.unwrap();
    let second = Client::with_token(&app.url, second["token"].as_str().unwrap());

    let tokens: Value = second.get("/api/v1/me/tokens").await.json().await.unwrap();
    let tokens = tokens.as_array().unwrap().clone();
    assert_eq!(tokens.len(), 2, "{tokens:?}");
    assert_eq!(tokens.iter().filter(|t| t["current"] == true).count(), 1);
    assert!(
        !tokens[0].to_string().contains(second.token().unwrap()),
        "never shown again"
    );
    // The other one is revoked from here: it stops working at once.
    let other = tokens.iter().find(|t| t["current"] == false).unwrap();
    let r = second
        .delete(&format!(
            "/api/v1/me/tokens/{}",
            other["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(r.status(), 204);
    assert_eq!(first.get("/api/v1/me").await.status(), 401);
    let left: Value = second.get("/api/v1/me/tokens").await.json().await.unwrap();
    assert_eq!(left.as_array().unwrap().len(), 1);
    assert_eq!(second.delete("/api/v1/me/tokens/nope").await.status(), 404);

    // Used every few weeks, it still ends 90 days after it was issued.
    for _ in 0..2 {
        app.clock.advance(time::Duration::days(44));
        assert_eq!(second.get("/api/v1/me").await.status(), 200);
    }
    app.clock.advance(time::Duration::days(3));
    assert_eq!(second.get("/api/v1/me").await.status(), 401);
    app.stop().await;
}

#[tokio::test]
async fn an_address_is_confirmed_within_24_hours_of_sign_up_not_after() {
    let app = TestApp::spawn().await;
    let anon = app.anonymous();
    for email in ["early@example.jp", "late@example.jp"] {
        let r = anon
            .post_json(
                "/api/v1/auth/signup",
                json!({ "email": email, "name": "確認 太郎", "password": PASSWORD }),
            )
            .await;
        assert_eq!(r.status(), 202);
    }
    let token = |email: &str| app.last_mail_to(email).link_token("/verify-email#");
    let (early, late) = (token("early@example.jp"), token("late@example.jp"));
    app.clock
        .advance(time::Duration::hours(24) - time::Duration::minutes(1));
    let r = anon
        .post_json("/api/v1/auth/verify-email", json!({ "token": early }))
        .await;
    assert_eq!(r.status(), 200, "a minute before the day is over");
    app.clock.advance(time::Duration::minutes(2));
    let r = anon
        .post_json("/api/v1/auth/verify-email", json!({ "token": late }))
        .await;
    assert_eq!(r.status(), 400, "a minute after");
    let r = anon
        .post_json(
            "/api/v1/auth/login",
            json!({ "email": "late@example.jp", "password": PASSWORD }),
        )
        .await;
    assert_eq!(error_code(r).await, "email_not_verified");
    app.stop().await;
}
