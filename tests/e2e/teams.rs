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
pub(crate) async fn join(
    app: &TestApp,
    admin: &Client,
    email: &str,
    name: &str,
    role: &str,
) -> Client {
    let token = invite(app, admin, email, role).await;
    assert_eq!(accept(app, &token, name).await.status(), 201, "{email}");
    app.log_in(email).await
}

/// The members as `GET /team/members` lists them: `field` of each by address.
async fn members_by_address(client: &Client, field: &str) -> Vec<(String, String)> {
    client
        .get_json("/api/v1/team/members")
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["email"].as_str().unwrap().to_owned(),
                m[field].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The members' addresses and roles, in the order they joined.
async fn roster(client: &Client) -> Vec<(String, String)> {
    members_by_address(client, "role").await
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
        let id = hanako.sample_draft("契約書.pdf").await;
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

#[tokio::test]
async fn an_admin_hands_a_leaving_member_s_documents_to_another_member() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin@example.jp", "管理 太郎").await;
    let hanako = join(&app, &admin, "hanako@example.jp", "山田 花子", "member").await;
    let jiro = join(&app, &admin, "jiro@example.jp", "鈴木 次郎", "member").await;
    join(&app, &admin, "audit@example.jp", "監査 三郎", "auditor").await;
    let ids = roster_ids(&admin).await;
    let (hanako_id, jiro_id, auditor_id) = (
        &ids["hanako@example.jp"],
        &ids["jiro@example.jp"],
        &ids["audit@example.jp"],
    );
    let draft = hanako.sample_draft("契約書.pdf").await;
    let sent = hanako.sample_draft("発注書.pdf").await;
    let r = hanako
        .post_json(
            &format!("/api/v1/documents/{sent}/send"),
            json!({ "recipients": [{ "name": "取引 先子", "email": "partner@example.com" }] }),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    app.settle().await;
    // More than one batch of writes (50 documents each).
    let team: keiyaku_core::ids::TeamId =
        serde_json::from_value(admin.get_json("/api/v1/me").await["team_id"].clone()).unwrap();
    let titles: Vec<String> = (0..120).map(|n| format!("写し {n}")).collect();
    keiyaku_core::app::listing::copies_for_benchmark(
        &*app.services().items,
        &team,
        &keiyaku_core::ids::DocumentId(draft.clone()),
        &titles,
    )
    .await
    .unwrap();

    let hand = |from: &str, to: &str| {
        let (admin, from, to) = (&admin, from.to_owned(), to.to_owned());
        async move {
            admin
                .post_json(
                    &format!("/api/v1/team/members/{from}/hand-over"),
                    json!({ "to": to }),
                )
                .await
        }
    };
    // Only to an admin or a member of the team other than the owner; only by an admin.
    for (to, code) in [
        (auditor_id.as_str(), "invalid_receiver"),
        (hanako_id.as_str(), "invalid_receiver"),
        ("0000000000000000000000000000", "invalid_receiver"),
    ] {
        let r = hand(hanako_id, to).await;
        assert_eq!(r.status(), 400, "{to}");
        assert_eq!(error_code(r).await, code);
    }
    assert_eq!(
        hand("0000000000000000000000000000", jiro_id).await.status(),
        404
    );
    let r = jiro
        .post_json(
            &format!("/api/v1/team/members/{hanako_id}/hand-over"),
            json!({ "to": jiro_id }),
        )
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(error_code(r).await, "admin_only");

    // Removed first, handed over afterwards: the documents wait for it.
    assert_eq!(
        admin
            .delete(&format!("/api/v1/team/members/{hanako_id}"))
            .await
            .status(),
        204
    );
    let r = hand(hanako_id, jiro_id).await;
    assert_eq!(r.status(), 200);
    let done: Value = r.json().await.unwrap();
    assert_eq!(done, json!({ "moved": 122, "remaining": false }));
    let again: Value = hand(hanako_id, jiro_id).await.json().await.unwrap();
    assert_eq!(again, json!({ "moved": 0, "remaining": false }));
    let mail = app.last_mail_to("jiro@example.jp");
    assert!(mail.text.contains("122"), "{}", mail.text);
    assert!(mail.text.contains("山田 花子"), "{}", mail.text);

    // The receiver is their sender now: lists them, edits the draft, follows the one sent.
    let mut listed = 0;
    let mut cursor = String::new();
    loop {
        let page = jiro
            .get_json(&format!("/api/v1/documents?limit=100{cursor}"))
            .await;
        listed += page["documents"].as_array().unwrap().len();
        match page["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(listed, 122);
    let r = jiro
        .patch_json(
            &format!("/api/v1/documents/{draft}"),
            json!({ "title": "引き継いだ契約書" }),
        )
        .await;
    assert_eq!(r.status(), 200);
    let detail = jiro.get_json(&format!("/api/v1/documents/{sent}")).await;
    assert_eq!(detail["viewer"]["role"], "sender");
    assert_eq!(detail["status"], "in_progress");
    assert!(
        detail["history"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "document.handed_over"),
        "{detail}"
    );
    let r = jiro
        .post_json(&format!("/api/v1/documents/{sent}/remind"), json!({}))
        .await;
    assert_eq!(r.status(), 204, "{}", r.text().await.unwrap());
}

/// The members' ids by address.
pub(crate) async fn roster_ids(client: &Client) -> std::collections::HashMap<String, String> {
    members_by_address(client, "id").await.into_iter().collect()
}

#[tokio::test]
async fn an_approval_rule_holds_back_documents_without_its_approvers() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin@example.jp", "管理 太郎").await;
    let kacho = join(&app, &admin, "kacho@example.jp", "課長 一郎", "member").await;
    join(&app, &admin, "bucho@example.jp", "部長 二郎", "member").await;
    let tanto = join(&app, &admin, "tanto@example.jp", "担当 三郎", "member").await;
    join(&app, &admin, "audit@example.jp", "監査 四郎", "auditor").await;
    let ids = roster_ids(&admin).await;
    let id = |email: &str| ids[email].clone();
    let rule = |kind: &str, approvers: Vec<String>| {
        let admin = &admin;
        let body = json!({ "approval": { "kind": kind, "approvers": approvers } });
        async move { admin.patch_json("/api/v1/team", body).await }
    };

    // Only admins and members of the team, each once, one to ten.
    for (approvers, code) in [
        (vec![id("audit@example.jp")], "invalid_rule_approver"),
        (
            vec!["0000000000000000000000000000".into()],
            "invalid_rule_approver",
        ),
        (
            vec![id("kacho@example.jp"), id("kacho@example.jp")],
            "invalid_rule_approver",
        ),
        (vec![], "invalid_approval_rule"),
    ] {
        let r = rule("any_of", approvers).await;
        assert_eq!(r.status(), 400);
        assert_eq!(error_code(r).await, code);
    }
    let r = kacho
        .patch_json("/api/v1/team", json!({ "approval": { "kind": "none" } }))
        .await;
    assert_eq!(r.status(), 403);

    let r = rule(
        "any_of",
        vec![id("kacho@example.jp"), id("bucho@example.jp")],
    )
    .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    assert!(
        app.last_mail_to("admin@example.jp")
            .text
            .contains("課長 一郎、部長 二郎 のいずれか 1 人")
    );
    // Every member sees the rule (the draft editor offers its approvers).
    let team = tanto.get_json("/api/v1/team").await;
    assert_eq!(team["approval"]["kind"], "any_of");
    assert_eq!(team["approval"]["approvers"][1]["name"], "部長 二郎");

    let send = |client: &Client, approvers: Vec<&str>| {
        let client = client.clone();
        let approvers: Vec<String> = approvers.into_iter().map(str::to_owned).collect();
        async move {
            let doc = client.sample_draft("契約書.pdf").await;
            client
                .post_json(
                    &format!("/api/v1/documents/{doc}/send"),
                    json!({ "recipients": [{ "name": "取引 先子", "email": "partner@example.com" }],
                            "approvers": approvers }),
                )
                .await
        }
    };
    for approvers in [vec![], vec!["outsider@example.com"]] {
        let r = send(&tanto, approvers).await;
        assert_eq!(r.status(), 400);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "approval_required");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("kacho@example.jp")
        );
    }
    let r = send(&tanto, vec!["bucho@example.jp"]).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let sent: Value = r.json().await.unwrap();
    assert_eq!(sent["status"], "awaiting_approval");

    // While the rule names them, they stay approvers.
    let r = admin
        .delete(&format!("/api/v1/team/members/{}", id("kacho@example.jp")))
        .await;
    assert_eq!(r.status(), 409);
    assert_eq!(error_code(r).await, "in_approval_rule");
    let r = admin
        .patch_json(
            &format!("/api/v1/team/members/{}", id("kacho@example.jp")),
            json!({ "role": "auditor" }),
        )
        .await;
    assert_eq!(error_code(r).await, "in_approval_rule");

    // In order: each, in the rule's order; others may approve too. The sender in the rule
    // needs only the others.
    let r = rule(
        "in_order",
        vec![id("kacho@example.jp"), id("bucho@example.jp")],
    )
    .await;
    assert_eq!(r.status(), 200);
    let r = send(&tanto, vec!["bucho@example.jp", "kacho@example.jp"]).await;
    assert_eq!(error_code(r).await, "approval_required");
    let r = send(
        &tanto,
        vec!["kacho@example.jp", "legal@example.com", "bucho@example.jp"],
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(send(&kacho, vec!["bucho@example.jp"]).await.status(), 200);

    // No rule: documents go out without approval.
    assert_eq!(rule("none", vec![]).await.status(), 200);
    assert_eq!(
        tanto.get_json("/api/v1/team").await["approval"],
        Value::Null
    );
    let r = send(&tanto, vec![]).await;
    assert_eq!(r.status(), 200);
    let sent: Value = r.json().await.unwrap();
    assert_eq!(sent["status"], "in_progress");
}
