//! The authorization matrix: every route of the route table × every kind of caller —
//! anonymous, the document's owner, another member, an admin, an auditor, a member of
//! another team, an approver, a recipient with and without the link's cookie, a removed
//! member, a caller outside the team's allow-list, a member who has not enrolled in the
//! two-factor login the team requires — with the answer each must get. A route without a
//! row in [`ACCESS`] fails the test.
//!
//! Refusals are exact (status and code) and change nothing (the world is compared before
//! and after them). Callers who are let in must get past every guard: no 401, no guard's
//! 403, and no 404 on a document they may reach.

use keiyaku_core::routes::{BEFORE_ENROLMENT, ROUTES};
use keiyaku_tests::{Client, TestApp};
use serde_json::{Value, json};

use crate::teams::{join, roster_ids};

/// Who a route lets in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    /// Anyone.
    Public,
    /// Anyone; a caller who sends a session is held to it (verification counts a signed-in
    /// caller's files against their own budget).
    PublicOrSession,
    /// Any signed-in member, whatever the role (their own account, their own team).
    Account,
    /// A signed-in member who may change things (not an auditor).
    Writer,
    /// The team's admins.
    Admin,
    /// The team's admins and auditors (the audit log).
    Reader,
    /// The document's (or upload's) owner, who may change things.
    Owner,
    /// Whoever may read the document: its owner, its approver, the team's admins and
    /// auditors.
    ReadDocument,
    /// The document's approver.
    Approver,
    /// The holder of the recipient cookie.
    Recipient,
    /// Operators (no caller here is one).
    Operator,
}

const ACCESS: &[(&str, Access)] = &[
    ("signup", Access::Public),
    ("verify_email", Access::Public),
    ("login", Access::Public),
    ("login_second_factor", Access::Public),
    ("password_check", Access::Public),
    ("change_password", Access::Account),
    ("request_reset", Access::Public),
    ("confirm_reset", Access::Public),
    ("logout", Access::Account),
    ("get_me", Access::Account),
    ("update_me", Access::Account),
    ("list_tokens", Access::Account),
    ("create_token", Access::Account),
    ("revoke_token", Access::Account),
    ("start_two_factor", Access::Account),
    ("confirm_two_factor", Access::Account),
    ("disable_two_factor", Access::Account),
    ("accept_invitation", Access::Public),
    ("get_team", Access::Account),
    ("update_team", Access::Admin),
    ("list_members", Access::Account),
    ("change_member_role", Access::Admin),
    ("remove_member", Access::Admin),
    ("hand_over_documents", Access::Admin),
    ("change_email", Access::Account),
    ("confirm_email_change", Access::Public),
    ("claim_domain", Access::Admin),
    ("release_domain", Access::Admin),
    ("confirm_domain", Access::Public),
    ("search_audit", Access::Reader),
    ("export_audit", Access::Reader),
    ("verify_audit", Access::Reader),
    ("list_invitations", Access::Admin),
    ("invite_member", Access::Admin),
    ("withdraw_invitation", Access::Admin),
    ("create_upload", Access::Writer),
    ("receive_upload", Access::Owner),
    ("create_document", Access::Writer),
    ("list_documents", Access::Account),
    ("get_document", Access::ReadDocument),
    ("update_document", Access::Owner),
    ("delete_document", Access::Owner),
    ("get_document_file", Access::ReadDocument),
    ("get_document_page", Access::ReadDocument),
    ("send_document", Access::Owner),
    ("approve_document", Access::Approver),
    ("reject_document", Access::Approver),
    ("cancel_document", Access::Owner),
    ("remind_document", Access::Owner),
    ("reissue_link", Access::Owner),
    ("revoke_link", Access::Owner),
    ("recipient_session", Access::Public),
    ("recipient_document", Access::Recipient),
    ("recipient_file", Access::Recipient),
    ("recipient_page", Access::Recipient),
    ("recipient_viewed", Access::Recipient),
    ("recipient_agree", Access::Recipient),
    ("recipient_decline", Access::Recipient),
    ("list_executions", Access::Operator),
    ("get_execution", Access::Operator),
    ("retry_execution", Access::Operator),
    ("verify", Access::PublicOrSession),
    ("openapi", Access::Public),
    ("ca_root_pem", Access::Public),
    ("ca_root_cert", Access::Public),
    ("ca_issuing_cert", Access::Public),
    ("ca_root_crl", Access::Public),
    ("ca_crl", Access::Public),
    ("tsa", Access::Public),
];

pub(crate) fn access(name: &str) -> Access {
    ACCESS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, a)| *a)
        .unwrap_or_else(|| panic!("route {name} has no row in ACCESS: say who may reach it"))
}

/// The callers of the matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Actor {
    Anonymous,
    Owner,
    OtherMember,
    Admin,
    Auditor,
    OtherTeam,
    Approver,
    RecipientWithCookie,
    RecipientWithoutCookie,
    Removed,
    OutsideAllowList,
    NotEnrolled,
}

const ACTORS: &[Actor] = &[
    Actor::Anonymous,
    Actor::Owner,
    Actor::OtherMember,
    Actor::Admin,
    Actor::Auditor,
    Actor::OtherTeam,
    Actor::Approver,
    Actor::RecipientWithCookie,
    Actor::RecipientWithoutCookie,
    Actor::Removed,
    Actor::OutsideAllowList,
    Actor::NotEnrolled,
];

/// What a caller must get.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// Refused with this status and code (no code: any body).
    Refused(u16, Option<&'static str>),
    /// Let past every guard.
    Through,
}

use Expect::{Refused, Through};

const NO_SESSION: Expect = Refused(401, None);

/// The answer `actor` must get from a route of `access` named `name`.
fn expect(name: &str, access: Access, actor: Actor) -> Expect {
    use Access as A;
    use Actor::*;
    if access == A::Public {
        return Through;
    }
    if access == A::Recipient {
        return if actor == RecipientWithCookie {
            Through
        } else {
            NO_SESSION
        };
    }
    if access == A::PublicOrSession
        && matches!(
            actor,
            Anonymous | RecipientWithCookie | RecipientWithoutCookie
        )
    {
        return Through;
    }
    match actor {
        Anonymous | RecipientWithCookie | RecipientWithoutCookie | Removed => {
            return NO_SESSION;
        }
        OutsideAllowList => return Refused(403, Some("address_not_allowed")),
        NotEnrolled if !BEFORE_ENROLMENT.contains(&name) => {
            return Refused(403, Some("two_factor_enrolment_required"));
        }
        _ => {}
    }
    let read_only = Refused(403, Some("read_only_role"));
    let not_found = Refused(404, None);
    match (access, actor) {
        (A::Operator, _) => not_found,
        (A::Account | A::PublicOrSession, _) => Through,
        (A::Writer | A::Owner | A::Approver, Auditor) => read_only,
        (A::Writer, _) => Through,
        // Every other caller here is an admin of their own team, or not an admin.
        (A::Admin, Admin | OtherTeam) => Through,
        (A::Admin, _) => Refused(403, Some("admin_only")),
        (A::Reader, Admin | Auditor | OtherTeam) => Through,
        (A::Reader, _) => Refused(403, Some("audit_readers_only")),
        (A::Owner, Owner) => Through,
        (A::ReadDocument, Owner | Admin | Auditor | Approver) => Through,
        (A::Approver, Approver) => Through,
        (A::Owner | A::ReadDocument | A::Approver, _) => not_found,
        (A::Public | A::Recipient, _) => unreachable!("answered above"),
    }
}

/// Guards' refusals: a caller let in never gets one of these.
const GUARD_CODES: &[&str] = &[
    "csrf_token_invalid",
    "read_only_role",
    "admin_only",
    "audit_readers_only",
    "team_readers_only",
    "address_not_allowed",
    "two_factor_enrolment_required",
];

/// Everything the matrix acts on.
struct World {
    app: TestApp,
    callers: Vec<(Actor, Client)>,
    owner: Client,
    draft: String,
    awaiting: String,
    upload: String,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let admin = app.user("admin@example.jp", "管理 太郎").await;
    let owner = join(&app, &admin, "owner@example.jp", "持主 花子", "member").await;
    let other = join(&app, &admin, "other@example.jp", "同僚 次郎", "member").await;
    let auditor = join(&app, &admin, "audit@example.jp", "監査 三郎", "auditor").await;
    let approver = join(&app, &admin, "approver@example.jp", "承認 四郎", "member").await;
    let removed = join(&app, &admin, "removed@example.jp", "退職 五郎", "member").await;
    let ids = roster_ids(&admin).await;
    let r = admin
        .delete(&format!(
            "/api/v1/team/members/{}",
            ids["removed@example.jp"]
        ))
        .await;
    assert_eq!(r.status(), 204);

    let draft = document(&owner, &[]).await;
    let awaiting = document(&owner, &["approver@example.jp"]).await;
    let sent = document(&owner, &[]).await;
    for id in [&awaiting, &sent] {
        let r = owner
            .post_json(&format!("/api/v1/documents/{id}/send"), json!({}))
            .await;
        assert_eq!(r.status(), 200);
    }
    app.settle().await;
    let link = app.last_mail_to("partner@example.com").link_token("/r/#");
    let (status, _, recipient) = Client::open_link(&app.url, &link, None).await;
    assert_eq!(status, 200);
    let slot: Value = owner
        .post_json(
            "/api/v1/documents/uploads",
            json!({ "filename": "a.pdf", "size": 1000 }),
        )
        .await
        .json()
        .await
        .unwrap();

    let other_team = app.user("other-team@example.com", "他社 太郎").await;
    // A team whose allow-list leaves this machine out (its admin confirmed it).
    let outside = app.user("outside@example.net", "外部 六郎").await;
    let r = outside
        .patch_json(
            "/api/v1/team",
            json!({ "allowed_networks": ["203.0.113.0/24"], "confirm_lockout": true }),
        )
        .await;
    assert_eq!(r.status(), 200);
    // A team that requires two-factor login, and a member who has not enrolled.
    let strict = app.user("strict@example.org", "厳格 七郎").await;
    crate::two_factor::enrol(&app, &strict).await;
    let not_enrolled = join(&app, &strict, "new@example.org", "新人 八郎", "member").await;
    let r = strict
        .patch_json("/api/v1/team", json!({ "require_two_factor": true }))
        .await;
    assert_eq!(r.status(), 200);

    World {
        callers: vec![
            (Actor::Anonymous, app.anonymous()),
            (Actor::Owner, owner.clone()),
            (Actor::OtherMember, other),
            (Actor::Admin, admin),
            (Actor::Auditor, auditor),
            (Actor::OtherTeam, other_team),
            (Actor::Approver, approver),
            (Actor::RecipientWithCookie, recipient.unwrap()),
            (Actor::RecipientWithoutCookie, app.anonymous()),
            (Actor::Removed, removed),
            (Actor::OutsideAllowList, outside),
            (Actor::NotEnrolled, not_enrolled),
        ],
        owner,
        draft,
        awaiting,
        upload: slot["upload_id"].as_str().unwrap().to_owned(),
        app,
    }
}

/// A draft of `owner` for a partner, with these approvers.
async fn document(owner: &Client, approvers: &[&str]) -> String {
    let id = owner.sample_draft("契約書.pdf").await;
    let r = owner
        .patch_json(
            &format!("/api/v1/documents/{id}"),
            json!({ "recipients": [{ "name": "取引 先子", "email": "partner@example.com" }],
                    "approvers": approvers }),
        )
        .await;
    assert_eq!(r.status(), 200);
    id
}

impl World {
    /// The route's path: a draft for what a draft takes, the document waiting for its
    /// approver for everything else; ids nobody has where a route names a member, an
    /// invitation or a token (an admin let in gets 404 there, never a guard's answer).
    fn path(&self, name: &str, template: &str) -> String {
        let document = match name {
            "update_document" | "delete_document" | "send_document" => &self.draft,
            _ => &self.awaiting,
        };
        template
            .replace("{id}", document)
            .replace("{party_id}", "r1")
            .replace("{n}", "1")
            .replace("{upload_id}", &self.upload)
            .replace("{user_id}", "0000000000000000000000000000")
            .replace("{invitation_id}", "0000000000000000000000000000")
            .replace("{token_id}", "0000000000000000000000000000")
            .replace("{domain}", "unclaimed.example.org")
    }

    /// What the owner sees, to compare before and after the refusals.
    async fn state(&self) -> Value {
        let mut state = json!({});
        for path in [
            format!("/api/v1/documents/{}", self.draft),
            format!("/api/v1/documents/{}", self.awaiting),
            "/api/v1/documents".to_owned(),
        ] {
            let r = self.owner.get(&path).await;
            assert_eq!(r.status(), 200, "{path}");
            let mut body: Value = r.json().await.unwrap();
            // The owner's own reads are audit events, not changes.
            if let Some(history) = body.get_mut("history") {
                history
                    .as_array_mut()
                    .unwrap()
                    .retain(|e| e["action"] != "document.viewed");
            }
            state[path] = body;
        }
        state
    }
}

/// Sends `route` as `caller`; its status and error code.
async fn call(w: &World, caller: &Client, route: &keiyaku_core::routes::Route) -> (u16, String) {
    let (content_type, body) = match route.name {
        // A file to verify is anyone's; an upload slot to verify is its owner's.
        "receive_upload" | "verify" => ("application/pdf", keiyaku_pdf::sample::pdf_with_pages(1)),
        _ => ("application/json", b"{}".to_vec()),
    };
    let mut request = caller.request(
        route.method.parse().unwrap(),
        &w.path(route.name, route.path),
    );
    if route.method != "GET" {
        request = request.header("content-type", content_type).body(body);
    }
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    let code = r
        .json::<Value>()
        .await
        .ok()
        .and_then(|b| b["error"]["code"].as_str().map(str::to_owned))
        .unwrap_or_default();
    (status, code)
}

#[test]
fn every_route_has_its_row_and_every_row_its_route() {
    for route in ROUTES {
        access(route.name);
    }
    for (name, _) in ACCESS {
        assert!(ROUTES.iter().any(|r| r.name == *name), "{name} is no route");
    }
}

#[tokio::test]
async fn every_route_answers_every_caller_as_the_matrix_says() {
    let w = world().await;
    // Refusals first, for every route and caller: they must change nothing.
    let before = w.state().await;
    let mut refused = 0;
    let mut through = Vec::new();
    for route in ROUTES {
        let access = access(route.name);
        for (actor, caller) in &w.callers {
            match expect(route.name, access, *actor) {
                Refused(status, code) => {
                    let (got, got_code) = call(&w, caller, route).await;
                    assert_eq!(
                        (got, code.is_none_or(|c| c == got_code)),
                        (status, true),
                        "{actor:?} {} {}: got {got} {got_code}, expected {status} {code:?}",
                        route.method,
                        route.path
                    );
                    refused += 1;
                }
                Through => through.push((route, *actor, caller)),
            }
        }
    }
    w.app.settle().await;
    assert_eq!(
        w.state().await,
        before,
        "a refused request changed something"
    );
    assert!(
        refused > 300,
        "{refused} refusals: the matrix lost routes or callers"
    );

    // Then those let in (which may change things: deleting, answering, logging out, so
    // those go last, logging out the very last).
    let order = |name: &str| match name {
        "logout" => 2,
        "delete_document" | "cancel_document" | "recipient_agree" | "recipient_decline" => 1,
        _ => 0,
    };
    through.sort_by_key(|(route, _, _)| order(route.name));
    for (route, actor, caller) in through {
        let (got, code) = call(&w, caller, route).await;
        let document = matches!(
            access(route.name),
            Access::Owner | Access::ReadDocument | Access::Approver | Access::Recipient
        );
        assert!(
            got != 401
                && !(got == 403 && GUARD_CODES.contains(&code.as_str()))
                && !(document && got == 404),
            "{actor:?} {} {}: got {got} {code}, expected to be let in",
            route.method,
            route.path
        );
    }
    for actor in ACTORS {
        assert!(w.callers.iter().any(|(a, _)| a == actor));
    }
}
