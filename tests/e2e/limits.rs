//! Every per-address limit of the public routes, exactly: a client address gets the
//! limit's number of requests (not one fewer), the next is 429 with `Retry-After`, and
//! another address is not slowed down by it. Addresses come through `X-Forwarded-For` from
//! the loopback proxy the server trusts here.

use keiyaku_core::app::recipients::OPEN_PER_ADDRESS;
use keiyaku_core::ratelimit::{
    LOGIN_PER_ADDRESS, Limit, PASSWORD_CHECK_PER_ADDRESS, RESET_PER_ADDRESS, SIGNUP_PER_ADDRESS,
    TOKEN_PER_ADDRESS, VERIFY_PER_ADDRESS,
};
use keiyaku_tests::{PASSWORD, TestApp};
use serde_json::json;

/// A request of one kind; `n` makes each one different (another address to log in as…).
struct Case {
    limit: Limit,
    path: &'static str,
    content_type: &'static str,
    body: fn(u64) -> Vec<u8>,
    /// What a request within the limit gets.
    status: u16,
}

fn json_body(v: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&v).unwrap()
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            limit: LOGIN_PER_ADDRESS,
            path: "/api/v1/auth/login",
            content_type: "application/json",
            body: |n| {
                json_body(
                    json!({ "email": format!("nobody{n}@example.jp"), "password": "wrong wrong 1" }),
                )
            },
            status: 401,
        },
        Case {
            limit: SIGNUP_PER_ADDRESS,
            path: "/api/v1/auth/signup",
            content_type: "application/json",
            body: |n| {
                json_body(
                    json!({ "email": format!("new{n}@example.jp"), "name": "新規 太郎", "password": PASSWORD }),
                )
            },
            status: 202,
        },
        Case {
            limit: RESET_PER_ADDRESS,
            path: "/api/v1/auth/reset",
            content_type: "application/json",
            body: |n| json_body(json!({ "email": format!("who{n}@example.jp") })),
            status: 202,
        },
        Case {
            limit: TOKEN_PER_ADDRESS,
            path: "/api/v1/auth/verify-email",
            content_type: "application/json",
            body: |n| json_body(json!({ "token": format!("guess-{n:040}") })),
            status: 400,
        },
        Case {
            limit: TOKEN_PER_ADDRESS,
            path: "/api/v1/auth/reset/confirm",
            content_type: "application/json",
            body: |n| json_body(json!({ "token": format!("guess-{n:040}"), "new": PASSWORD })),
            status: 400,
        },
        Case {
            limit: OPEN_PER_ADDRESS,
            path: "/api/v1/r/session",
            content_type: "application/json",
            body: |n| json_body(json!({ "token": format!("guess-{n:040}") })),
            status: 400,
        },
        Case {
            limit: PASSWORD_CHECK_PER_ADDRESS,
            path: "/api/v1/auth/password-check",
            content_type: "application/json",
            body: |n| json_body(json!({ "password": format!("candidate {n}") })),
            status: 200,
        },
        Case {
            limit: VERIFY_PER_ADDRESS,
            path: "/api/v1/verify",
            content_type: "application/pdf",
            body: |_| b"not a pdf".to_vec(),
            status: 422,
        },
    ]
}

#[tokio::test]
async fn each_public_limit_holds_exactly_per_client_address() {
    let app = TestApp::spawn_behind(&["127.0.0.1/32".parse().unwrap()]).await;
    let http = reqwest::Client::new();
    for (k, case) in cases().into_iter().enumerate() {
        let send = |from: String, n: u64| {
            http.post(format!("{}{}", app.url, case.path))
                .header("content-type", case.content_type)
                .header("x-forwarded-for", from)
                .body((case.body)(n))
                .send()
        };
        let here = format!("198.51.100.{}", k + 1);
        for n in 0..case.limit.max {
            let r = send(here.clone(), n).await.unwrap();
            assert_eq!(
                r.status().as_u16(),
                case.status,
                "{} request {} of {}",
                case.path,
                n + 1,
                case.limit.max
            );
        }
        let r = send(here.clone(), case.limit.max).await.unwrap();
        assert_eq!(r.status(), 429, "{}: one over the limit", case.path);
        let retry: i64 = r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            (1..=case.limit.window_secs).contains(&retry),
            "{}: Retry-After {retry}",
            case.path
        );
        // Another address is not slowed down by this one.
        let r = send(format!("203.0.113.{}", k + 1), case.limit.max + 1)
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), case.status, "{} elsewhere", case.path);
    }
    app.stop().await;
}
