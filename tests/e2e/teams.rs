//! Teams over HTTP: invitations by mail (bound to the address, single use, withdrawn,
//! expiring), roles, the last admin kept, a removed member's sessions and tokens ended at
//! once, the auditor changing nothing, admins and the member mailed about each change.

use keiyaku_tests::{Client, PASSWORD, TestApp, error_code};

use crate::two_factor::enrol;
use serde_json::{Value, json};

/// Invites `email` with `role` as `admin`; the invitation's token from the mail.
async fn invite(app: &TestApp, admin: &Client, email: &str, role: &str) -> String {
    let r = admin
        .post_json(
            "/api/v1/team/invitations",
            json!({ "email": email, "role": role }),
        )
        .await;
    assert_eq!(r.status(), 201, "invitation of {email}");
    app.last_mail_to(&email.to_lowercase())
        .link_token("/invitation#")
}

async fn accept(app: &TestApp, token: &str, name: &str) -> reqwest::Response {
    app.anonymous()
        .post_json(
            "/api/v1/auth/invitation",
            json!({ "token": token, "name": name, "password": PASSWORD }),
        )
        .await
}

/// Invites `email` as `role`, accepts as `name` and logs the new member in.
async fn join(app: &TestApp, admin: &Client, email: &str, name: &str, role: &str) -> Client {
    let token = invite(app, admin, email, role).await;
    assert_eq!(accept(app, &token, name).await.status(), 201, "{email}");
    app.log_in(email).await
}

/// The members' addresses and roles, as `GET /team/members` lists them.
async fn roster(client: &Client) -> Vec<(String, String)> {
    client
        .get_json("/api/v1/team/members")
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["email"].as_str().unwrap().to_owned(),
                m["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn an_invitation_makes_a_member_of_the_team_once() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin@example.jp", "管理 太郎").await;
    let token = invite(&app, &admin, "Jiro@Example.jp", "member").await;
    let mail = app.last_mail_to("jiro@example.jp");
    assert!(mail.text.contains("管理 太郎"), "{}", mail.text);
    let waiting = admin.get_json("/api/v1/team/invitations").await;
    assert_eq!(waiting[0]["email"], "jiro@example.jp");

    // A wrong token, a weak password: nothing made.
    assert_eq!(
        error_code(accept(&app, "not-a-token", "次郎").await).await,
        "invalid_token"
    );
    let r = app
        .anonymous()
        .post_json(
            "/api/v1/auth/invitation",
            json!({ "token": token, "name": "次郎", "password": "jiro12345" }),
        )
        .await;
    assert_eq!(r.status(), 400);

    let r = accept(&app, &token, "鈴木 次郎").await;
    assert_eq!(r.status(), 201);
    // Single use.
    assert_eq!(
        error_code(accept(&app, &token, "鈴木 次郎").await).await,
        "invalid_token"
    );
    // The address was proved by the link: the new member logs in at once, in the team.
    let jiro = app.log_in("jiro@example.jp").await;
    let me = jiro.get_json("/api/v1/me").await;
    let admin_me = admin.get_json("/api/v1/me").await;
    assert_eq!(me["team_id"], admin_me["team_id"]);
    assert_eq!(me["role"], "member");
    assert_eq!(
        roster(&admin).await,
        vec![
            ("admin@example.jp".to_owned(), "admin".to_owned()),
            ("jiro@example.jp".to_owned(), "member".to_owned()),
        ]
    );
    assert!(
        admin
            .get_json("/api/v1/team/invitations")
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );
    // The admin is told.
    let told = app.last_mail_to("admin@example.jp");
    assert!(told.text.contains("jiro@example.jp"), "{}", told.text);

    // Members cannot invite; an address with an account cannot be invited.
    let r = jiro
        .post_json(
            "/api/v1/team/invitations",
            json!({ "email": "x@example.jp", "role": "member" }),
        )
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(error_code(r).await, "admin_only");
    let r = admin
        .post_json(
            "/api/v1/team/invitations",
            json!({ "email": "jiro@example.jp", "role": "member" }),
        )
        .await;
    assert_eq!(r.status(), 409);
    assert_eq!(error_code(r).await, "address_has_account");
}

#[tokio::test]
async fn invitations_can_be_withdrawn_and_expire() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin@example.jp", "管理 太郎").await;
    let withdrawn = invite(&app, &admin, "a@example.jp", "member").await;
    let id = admin.get_json("/api/v1/team/invitations").await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = admin
        .delete(&format!("/api/v1/team/invitations/{id}"))
        .await;
    assert_eq!(r.status(), 204);
    assert_eq!(
        error_code(accept(&app, &withdrawn, "甲").await).await,
        "invalid_token"
    );
    let late = invite(&app, &admin, "b@example.jp", "member").await;
    app.clock.advance(time::Duration::days(8));
    assert_eq!(
        error_code(accept(&app, &late, "乙").await).await,
        "invalid_token"
    );
}

#[tokio::test]
async fn roles_change_the_last_admin_stays_and_removal_ends_sessions_at_once() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin@example.jp", "管理 太郎").await;
    let me = admin.get_json("/api/v1/me").await;
    let admin_id = me["id"].as_str().unwrap().to_owned();
    // The only admin can neither step down nor be removed.
    let r = admin
        .patch_json(
            &format!("/api/v1/team/members/{admin_id}"),
            json!({ "role": "member" }),
        )
        .await;
    assert_eq!(r.status(), 409);
    assert_eq!(error_code(r).await, "last_admin");
    let r = admin
        .delete(&format!("/api/v1/team/members/{admin_id}"))
        .await;
    assert_eq!(error_code(r).await, "last_admin");

    let hanako = join(&app, &admin, "hanako@example.jp", "山田 花子", "member").await;
    let hanako_id = hanako.get_json("/api/v1/me").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = admin
        .patch_json(
            &format!("/api/v1/team/members/{hanako_id}"),
            json!({ "role": "admin" }),
        )
        .await;
    assert_eq!(r.status(), 200);
    let mail = app.last_mail_to("hanako@example.jp");
    assert!(
        mail.subject.contains("チームのメンバー"),
        "{}",
        mail.subject
    );
    // Now the first admin may step down, and the second may remove them.
    let r = admin
        .patch_json(
            &format!("/api/v1/team/members/{admin_id}"),
            json!({ "role": "member" }),
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = hanako
        .delete(&format!("/api/v1/team/members/{admin_id}"))
        .await;
    assert_eq!(r.status(), 204);
    // The removed member's token ends at once; their address no longer logs in.
    assert_eq!(admin.get("/api/v1/me").await.status(), 401);
    let r = app
        .anonymous()
        .post_json(
            "/api/v1/auth/login",
            json!({ "email": "admin@example.jp", "password": PASSWORD, "mode": "token" }),
        )
        .await;
    assert_eq!(r.status(), 401);
    assert_eq!(
        roster(&hanako).await,
        vec![("hanako@example.jp".to_owned(), "admin".to_owned())]
    );
    // Another team's member is not found.
    let other = app.user("other@example.jp", "他社 一郎").await;
    let r = other
        .delete(&format!("/api/v1/team/members/{hanako_id}"))
        .await;
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn an_auditor_reads_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin@example.jp", "管理 太郎").await;
    let auditor = join(&app, &admin, "audit@example.jp", "監査 三郎", "auditor").await;
    assert_eq!(auditor.get_json("/api/v1/me").await["role"], "auditor");
    assert_eq!(roster(&auditor).await.len(), 2);
    let r = auditor
        .upload_direct("契約書.pdf", keiyaku_pdf::sample::pdf_with_pages(1))
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(error_code(r).await, "read_only_role");
    let r = auditor
        .post_json(
            "/api/v1/documents/uploads",
            json!({ "filename": "a.pdf", "size": 1000 }),
        )
        .await;
    assert_eq!(error_code(r).await, "read_only_role");
    // Their own account is theirs to manage.
    let r = auditor
        .patch_json("/api/v1/me", json!({ "language": "en" }))
        .await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn a_team_that_requires_two_factor_login_leads_members_to_enrol_first() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin@example.jp", "管理 太郎").await;
    join(&app, &admin, "hanako@example.jp", "山田 花子", "member").await;
    // The admin sets it up first, or would be shut out with everyone else.
    let r = admin
        .patch_json("/api/v1/team", json!({ "require_two_factor": true }))
        .await;
    assert_eq!(r.status(), 409);
    assert_eq!(error_code(r).await, "two_factor_yourself_first");
    enrol(&app, &admin).await;
    let r = admin
        .patch_json("/api/v1/team", json!({ "require_two_factor": true }))
        .await;
    assert_eq!(r.status(), 200);
    let team: Value = r.json().await.unwrap();
    assert_eq!(team["require_two_factor"], true);
    let told = app.last_mail_to("admin@example.jp");
    assert!(told.subject.contains("チームの設定"), "{}", told.subject);

    let r = app
        .anonymous()
        .post_json(
            "/api/v1/auth/login",
            json!({ "email": "hanako@example.jp", "password": PASSWORD, "mode": "token" }),
        )
        .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["user"]["must_enrol_two_factor"], true);
    let hanako = Client::with_token(&app.url, body["token"].as_str().unwrap());
    // Nothing but the account, enrolment and logout until enrolled.
    let r = hanako.get("/api/v1/documents").await;
    assert_eq!(r.status(), 403);
    assert_eq!(error_code(r).await, "two_factor_enrolment_required");
    assert_eq!(
        hanako.get_json("/api/v1/me").await["must_enrol_two_factor"],
        true
    );
    enrol(&app, &hanako).await;
    assert_eq!(hanako.get("/api/v1/documents").await.status(), 200);
}

#[tokio::test]
async fn an_allow_list_admits_only_its_networks_and_warns_before_locking_out() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin@example.jp", "管理 太郎").await;
    let r = admin
        .patch_json(
            "/api/v1/team",
            json!({ "allowed_networks": ["203.0.113.0/24", "not a network"] }),
        )
        .await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_network");
    assert_eq!(body["error"]["field"], "allowed_networks[1]");

    // This request comes from 127.0.0.1: a list without it is refused unless confirmed.
    let r = admin
        .patch_json(
            "/api/v1/team",
            json!({ "allowed_networks": ["203.0.113.0/24", "2001:db8::/32"] }),
        )
        .await;
    assert_eq!(r.status(), 409);
    assert_eq!(error_code(r).await, "would_lock_you_out");
    let r = admin
        .patch_json(
            "/api/v1/team",
            json!({ "allowed_networks": ["203.0.113.0/24", "127.0.0.1"] }),
        )
        .await;
    assert_eq!(r.status(), 200);
    let team: Value = r.json().await.unwrap();
    assert_eq!(
        team["allowed_networks"],
        json!(["203.0.113.0/24", "127.0.0.1/32"])
    );
    assert_eq!(team["client_address"], "127.0.0.1");
    assert_eq!(admin.get("/api/v1/documents").await.status(), 200);

    let r = admin
        .patch_json(
            "/api/v1/team",
            json!({ "allowed_networks": ["203.0.113.0/24"], "confirm_lockout": true }),
        )
        .await;
    assert_eq!(r.status(), 200);
    // Shut out from here: the session, and a new login.
    let r = admin.get("/api/v1/documents").await;
    assert_eq!(r.status(), 403);
    assert_eq!(error_code(r).await, "address_not_allowed");
    let r = app
        .anonymous()
        .post_json(
            "/api/v1/auth/login",
            json!({ "email": "admin@example.jp", "password": PASSWORD, "mode": "token" }),
        )
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(error_code(r).await, "address_not_allowed");
    // A wrong password from here still says only that.
    let r = app
        .anonymous()
        .post_json(
            "/api/v1/auth/login",
            json!({ "email": "admin@example.jp", "password": "wrong password 1", "mode": "token" }),
        )
        .await;
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn admins_and_the_member_are_told_of_password_and_two_factor_changes() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin@example.jp", "管理 太郎").await;
    let hanako = join(&app, &admin, "hanako@example.jp", "山田 花子", "member").await;

    let r = hanako
        .post_json(
            "/api/v1/auth/password",
            json!({ "current": PASSWORD, "new": "sora-no-mukou 8 kitsune?" }),
        )
        .await;
    assert_eq!(r.status(), 200);
    for to in ["admin@example.jp", "hanako@example.jp"] {
        let mail = app.last_mail_to(to);
        assert!(
            mail.subject.contains("パスワードが変更されました"),
            "{to}: {}",
            mail.subject
        );
        assert!(
            mail.text.contains("hanako@example.jp"),
            "{to}: {}",
            mail.text
        );
    }
    enrol(&app, &hanako).await;
    let told = app.last_mail_to("admin@example.jp");
    assert!(
        told.subject.contains("2 段階認証を有効"),
        "{}",
        told.subject
    );
    assert!(told.text.contains("山田 花子"), "{}", told.text);
}

#[tokio::test]
async fn admins_and_auditors_read_the_team_s_documents_but_not_confidential_ones() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin@example.jp", "管理 太郎").await;
    let hanako = join(&app, &admin, "hanako@example.jp", "山田 花子", "member").await;
    let auditor = join(&app, &admin, "audit@example.jp", "監査 三郎", "auditor").await;
    let mut ids = Vec::new();
    for (title, confidential) in [("業務委託契約書", false), ("役員報酬の合意書", true)]
    {
        let created: Value = hanako
            .upload_direct("契約書.pdf", keiyaku_pdf::sample::pdf_with_pages(1))
            .await
            .json()
            .await
            .unwrap();
        let id = created["id"].as_str().unwrap().to_owned();
        let r = hanako
            .patch_json(
                &format!("/api/v1/documents/{id}"),
                json!({ "title": title, "confidential": confidential,
                        "recipients": [{ "name": "取引 先子", "email": "partner@example.com" }] }),
            )
            .await;
        assert_eq!(r.status(), 200);
        ids.push(id);
    }
    let (open, secret) = (&ids[0], &ids[1]);
    for reader in [&admin, &auditor] {
        let list = reader.get_json("/api/v1/documents?role=team").await;
        let rows = list["documents"].as_array().unwrap();
        assert_eq!(rows.len(), 2, "{list}");
        let row = |id: &str| rows.iter().find(|d| d["id"] == id).unwrap().clone();
        assert_eq!(row(open)["title"], "業務委託契約書");
        // 親展: it exists, nothing of what it is.
        assert_eq!(row(secret)["confidential"], true);
        assert_eq!(row(secret)["title"], "");
        assert_eq!(row(secret)["parties"], json!([]));
        let detail = reader.get_json(&format!("/api/v1/documents/{open}")).await;
        assert_eq!(detail["viewer"]["role"], "team");
        assert_eq!(
            reader
                .get(&format!("/api/v1/documents/{open}/file"))
                .await
                .status(),
            200
        );
        assert_eq!(
            reader
                .get(&format!("/api/v1/documents/{secret}"))
                .await
                .status(),
            404
        );
        // Searching the team's titles finds nothing of a 親展 one.
        let found = reader
            .get_json("/api/v1/documents?role=team&q=%E5%BD%B9%E5%93%A1")
            .await;
        assert!(found["documents"].as_array().unwrap().is_empty(), "{found}");
    }
    // Reading is all: an admin does not edit a member's draft.
    let r = admin
        .patch_json(
            &format!("/api/v1/documents/{open}"),
            json!({ "title": "変更" }),
        )
        .await;
    assert_eq!(r.status(), 404);
    // Members list their own (the 親展 one with its title), not the team's.
    let own = hanako.get_json("/api/v1/documents").await;
    assert!(
        own["documents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["title"] == "役員報酬の合意書")
    );
    let r = hanako.get("/api/v1/documents?role=team").await;
    assert_eq!(r.status(), 403);
    assert_eq!(error_code(r).await, "team_readers_only");
}
