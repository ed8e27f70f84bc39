//! The guards of every route, generated from the route table (a route missing from the
//! authorization matrix's table fails these tests): each state-changing route reached with a session cookie
//! refuses a missing or wrong CSRF token and changes nothing; a session cookie is not a
//! bearer token; every document route answers 404 to another user's team and changes
//! nothing; the ops routes are 404 to every user but an operator; the recipient cookie is
//! scoped, and its answers refuse a foreign `Origin`.

use keiyaku_core::routes::ROUTES;
use keiyaku_tests::{Client, PASSWORD, TestApp, error_code};
use serde_json::{Value, json};

/// Who may reach a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Guard {
    /// Anyone (rate-limited, or harmless).
    Public,
    /// A signed-in user (bearer token, or session cookie with its CSRF token).
    Session,
    /// The holder of a recipient cookie.
    Recipient,
    /// An operator.
    Operator,
}

/// The coarse guard of a route, from its row in the authorization matrix.
fn guard(name: &str) -> Guard {
    use crate::matrix::Access;
    match crate::matrix::access(name) {
        Access::Public | Access::PublicOrSession => Guard::Public,
        Access::Recipient => Guard::Recipient,
        Access::Operator => Guard::Operator,
        Access::Account
        | Access::Writer
        | Access::Admin
        | Access::Reader
        | Access::Owner
        | Access::ReadDocument
        | Access::Approver => Guard::Session,
    }
}

/// What the tests act on: a draft, a sent document, an upload slot, an API token.
struct World {
    app: TestApp,
    owner: Client,
    draft: String,
    sent: String,
    upload: String,
    token_id: String,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let owner = app.user("owner@example.jp", "持主 花子").await;
    let mut ids = Vec::new();
    for title in ["下書き", "送信済み"] {
        let d: Value = owner
            .upload_direct("契約書.pdf", keiyaku_pdf::sample::pdf_with_pages(1))
            .await
            .json()
            .await
            .unwrap();
        let id = d["id"].as_str().unwrap().to_owned();
        let r = owner
            .patch_json(
                &format!("/api/v1/documents/{id}"),
                json!({ "title": title, "recipients": [{ "name": "山田 花子", "email": "hanako@example.jp" }] }),
            )
            .await;
        assert_eq!(r.status(), 200);
        ids.push(id);
    }
    let r = owner
        .post_json(&format!("/api/v1/documents/{}/send", ids[1]), json!({}))
        .await;
    assert_eq!(r.status(), 200);
    app.settle().await;
    let slot: Value = owner
        .post_json(
            "/api/v1/documents/uploads",
            json!({ "filename": "a.pdf", "size": 1000 }),
        )
        .await
        .json()
        .await
        .unwrap();
    let tokens: Value = owner.get("/api/v1/me/tokens").await.json().await.unwrap();
    let sent = ids.pop().unwrap();
    let draft = ids.pop().unwrap();
    World {
        owner,
        draft,
        sent,
        upload: slot["upload_id"].as_str().unwrap().to_owned(),
        token_id: tokens[0]["id"].as_str().unwrap().to_owned(),
        app,
    }
}

impl World {
    /// The route's path with this world's ids (`document` for `{id}`).
    fn path(&self, template: &str, document: &str) -> String {
        template
            .replace("{id}", document)
            .replace("{party_id}", "r1")
            .replace("{n}", "1")
            .replace("{upload_id}", &self.upload)
            .replace("{token_id}", &self.token_id)
    }

    /// Everything the owner can see, to compare before and after.
    async fn state(&self) -> Value {
        let mut state = json!({});
        for (key, path) in [
            ("draft", format!("/api/v1/documents/{}", self.draft)),
            ("sent", format!("/api/v1/documents/{}", self.sent)),
            ("me", "/api/v1/me".to_owned()),
            ("tokens", "/api/v1/me/tokens".to_owned()),
            ("list", "/api/v1/documents".to_owned()),
        ] {
            let r = self.owner.get(&path).await;
            assert_eq!(r.status(), 200, "{path}");
            state[key] = r.json().await.unwrap();
        }
        // A token's last use (and so its idle end) moves with every request made with it.
        for t in state["tokens"].as_array_mut().into_iter().flatten() {
            let t = t.as_object_mut().unwrap();
            t.remove("last_used");
            t.remove("expires_at");
        }
        state
    }
}

/// A request to `route` at `path` with a body that would do something if it were let in.
fn body_for(route: &str) -> (&'static str, Vec<u8>) {
    match route {
        "receive_upload" => ("application/pdf", keiyaku_pdf::sample::pdf_with_pages(1)),
        "update_document" => ("application/json", br#"{"title":"changed"}"#.to_vec()),
        "update_me" => ("application/json", br#"{"name":"changed"}"#.to_vec()),
        _ => ("application/json", b"{}".to_vec()),
    }
}

#[tokio::test]
async fn without_its_csrf_token_a_cookie_session_changes_nothing_on_any_route() {
    let w = world().await;
    let browser = Client::browser_login(&w.app.url, "owner@example.jp", PASSWORD).await;
    let (cookie, csrf) = browser.cookie.clone().unwrap();
    let before = w.state().await;
    let http = reqwest::Client::new();
    let mut checked = 0;
    for route in ROUTES {
        if guard(route.name) != Guard::Session || route.method == "GET" {
            continue;
        }
        for document in [&w.draft, &w.sent] {
            let path = w.path(route.path, document);
            let (content_type, body) = body_for(route.name);
            for sent_csrf in [None, Some("forged"), Some(&csrf[..csrf.len() - 1])] {
                let mut request = http
                    .request(
                        route.method.parse().unwrap(),
                        format!("{}{path}", w.app.url),
                    )
                    .header("cookie", &cookie)
                    .header("content-type", content_type)
                    .body(body.clone());
                if let Some(token) = sent_csrf {
                    request = request.header("x-csrf-token", token);
                }
                let r = request.send().await.unwrap();
                assert_eq!(
                    r.status(),
                    403,
                    "{} {path} with {sent_csrf:?}",
                    route.method
                );
                assert_eq!(error_code(r).await, "csrf_token_invalid", "{path}");
                checked += 1;
            }
        }
    }
    assert!(
        checked >= 3 * 2 * 15,
        "{checked} requests: the table lost routes"
    );
    assert_eq!(
        w.state().await,
        before,
        "a refused request changed something"
    );
    // The session itself is still good, and its cookie is no bearer token.
    assert_eq!(browser.get("/api/v1/me").await.status(), 200);
    let session = cookie.split_once('=').unwrap().1;
    let r = http
        .get(format!("{}/api/v1/me", w.app.url))
        .bearer_auth(session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    w.app.stop().await;
}

#[tokio::test]
async fn every_document_route_is_404_to_another_team_and_changes_nothing() {
    let w = world().await;
    let other = w.app.user("other@example.com", "他社 太郎").await;
    let before = w.state().await;
    let mut checked = 0;
    for route in ROUTES {
        let touches_a_document =
            route.path.contains("{id}") && route.path.starts_with("/api/v1/documents/");
        if guard(route.name) != Guard::Session
            || !(touches_a_document || route.path.contains("{upload_id}"))
        {
            continue;
        }
        for document in [&w.draft, &w.sent] {
            let path = w.path(route.path, document);
            let (content_type, body) = body_for(route.name);
            let r = other
                .request(route.method.parse().unwrap(), &path)
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 404, "{} {path}", route.method);
            checked += 1;
        }
    }
    // A document from someone else's upload slot.
    let r = other
        .post_json("/api/v1/documents", json!({ "upload_id": w.upload }))
        .await;
    assert_eq!(r.status(), 404);
    assert!(
        checked >= 2 * 12,
        "{checked} requests: the table lost routes"
    );
    w.app.settle().await;
    assert_eq!(w.state().await, before, "another team changed something");
    w.app.stop().await;
}

#[tokio::test]
async fn the_ops_routes_are_404_to_every_user_but_an_operator() {
    let w = world().await;
    let execution = format!("doc-{}-1", w.sent);
    let mut checked = 0;
    for route in ROUTES.iter().filter(|r| guard(r.name) == Guard::Operator) {
        let path = route.path.replace("{id}", &execution);
        // Signed in but no operator: as if the route did not exist; not signed in: 401.
        for (caller, status) in [(&w.owner, 404), (&w.app.anonymous(), 401)] {
            let r = caller
                .request(route.method.parse().unwrap(), &path)
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), status, "{} {path}", route.method);
            checked += 1;
        }
    }
    assert_eq!(checked, 2 * 3);
    w.app.stop().await;
}

#[tokio::test]
async fn the_recipient_cookie_is_scoped_and_its_answers_refuse_a_foreign_origin() {
    let w = world().await;
    let token = w.app.last_mail_to("hanako@example.jp").link_token("/r/#");
    let r = w
        .app
        .anonymous()
        .post_json("/api/v1/r/session", json!({ "token": token }))
        .await;
    assert_eq!(r.status(), 200);
    let set = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/api/v1/r"] {
        assert!(set.contains(attribute), "{attribute} missing: {set}");
    }
    let cookie = set.split(';').next().unwrap().to_owned();
    let http = reqwest::Client::new();
    for route in ROUTES
        .iter()
        .filter(|r| guard(r.name) == Guard::Recipient && r.method == "POST")
    {
        let r = http
            .post(format!("{}{}", w.app.url, route.path))
            .header("cookie", &cookie)
            .header("origin", "https://evil.example")
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{}", route.path);
        assert_eq!(error_code(r).await, "foreign_origin");
    }
    // Nothing was answered.
    let doc: Value = w
        .owner
        .get(&format!("/api/v1/documents/{}", w.sent))
        .await
        .json()
        .await
        .unwrap();
    assert!(doc["recipients"][0].get("answer").is_none(), "{doc}");
    w.app.stop().await;
}
