//! The contract's whole life over HTTP, driven by the workflow running in the server: an
//! approver, then recipients in order (one with an access code), each agreement sealed, the
//! file extended to long-term form and mailed to every party; and the other endings —
//! rejection, decline, cancel, expiry — with reminders, access-code suspension and reissue,
//! concurrency and the ops view.

use keiyaku_core::clock::Clock;
use keiyaku_local::scheduler::JOB;
use keiyaku_tests::{Client, FlakyTsa, Mail, PASSWORD, TestApp, error_code, keiyaku_binary};
use serde_json::{Value, json};

/// A draft with `recipients` (name, address, access code) and `approvers`, sent.
async fn sent(
    app: &TestApp,
    sender: &Client,
    recipients: &[(&str, &str, Option<&str>)],
    approvers: &[&str],
) -> String {
    let created: Value = sender
        .upload_direct("業務委託契約書.pdf", keiyaku_pdf::sample::pdf_with_pages(2))
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let recipients: Vec<Value> = recipients
        .iter()
        .map(|(name, email, code)| {
            let mut r = json!({ "name": name, "email": email, "company": "株式会社サンプル" });
            if let Some(code) = code {
                r["access_code"] = (*code).into();
            }
            r
        })
        .collect();
    let r = sender
        .post_json(
            &format!("/api/v1/documents/{id}/send"),
            json!({ "recipients": recipients, "approvers": approvers, "message": "ご確認ください" }),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    app.settle().await;
    id
}

/// A document sent to 山田 花子 alone, no approver.
async fn sent_to_hanako(app: &TestApp, sender: &Client) -> String {
    sent(
        app,
        sender,
        &[("山田 花子", "hanako@example.jp", None)],
        &[],
    )
    .await
}

/// A 1-page document sent to 山田 花子 with its deadline `left` ahead.
async fn sent_to_hanako_until(app: &TestApp, sender: &Client, left: time::Duration) -> String {
    let created: Value = sender
        .upload_direct("契約書.pdf", keiyaku_pdf::sample::pdf_with_pages(1))
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let deadline = (app.clock.now() + left)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let r = sender
        .post_json(
            &format!("/api/v1/documents/{id}/send"),
            json!({
                "recipients": [{ "name": "山田 花子", "email": "hanako@example.jp" }],
                "expires_at": deadline
            }),
        )
        .await;
    assert_eq!(r.status(), 200);
    app.settle().await;
    id
}

async fn document(sender: &Client, id: &str) -> Value {
    sender
        .get(&format!("/api/v1/documents/{id}"))
        .await
        .json()
        .await
        .unwrap()
}

fn mails_to(app: &TestApp, to: &str) -> Vec<Mail> {
    app.mails().into_iter().filter(|m| m.to == to).collect()
}

/// Opens the recipient link `token` (with `code`), agrees, and waits for the workflow.
async fn agree_and_settle(app: &TestApp, token: &str, code: Option<&str>) {
    let (status, view, recipient) = Client::open_link(&app.url, token, code).await;
    assert_eq!(status, 200, "{view}");
    let r = recipient
        .unwrap()
        .post_json("/api/v1/r/agree", json!({}))
        .await;
    assert_eq!(r.status(), 200);
    app.settle().await;
}

/// The recipient link in the newest mail to `to`.
fn link(app: &TestApp, to: &str) -> String {
    app.last_mail_to(to).link_token("/r/#")
}

#[tokio::test]
async fn approval_then_two_agreements_end_sealed_in_long_term_form_and_mailed_to_everyone() {
    let app = TestApp::spawn().await;
    let sender = app.user("sender@example.com", "送信 花子").await;
    let boss = app.user("boss@example.com", "承認 一郎").await;
    let id = sent(
        &app,
        &sender,
        &[
            ("山田 花子", "hanako@example.jp", None),
            ("佐藤 次郎", "jiro@example.jp", Some("１２３４")),
        ],
        &["boss@example.com"],
    )
    .await;
    assert_eq!(document(&sender, &id).await["status"], "awaiting_approval");
    // Nothing went to the recipients before the approval; the approver was asked by mail and
    // sees the document.
    assert!(mails_to(&app, "hanako@example.jp").is_empty());
    assert!(
        app.last_mail_to("boss@example.com")
            .text
            .contains(&format!("/documents/{id}"))
    );
    assert_eq!(
        boss.get(&format!("/api/v1/documents/{id}")).await.status(),
        200
    );
    let waiting: Value = boss
        .get("/api/v1/documents?role=approver&status=awaiting_approval")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(waiting["documents"][0]["id"], id.as_str(), "{waiting}");
    let own: Value = boss.get("/api/v1/documents").await.json().await.unwrap();
    assert!(
        own["documents"].as_array().unwrap().is_empty(),
        "not the approver's own"
    );
    // The sender cannot approve, nor can the approver edit (nor cancel, remind, send).
    assert_eq!(
        sender
            .post_json(&format!("/api/v1/documents/{id}/approve"), json!({}))
            .await
            .status(),
        404
    );
    let before = document(&sender, &id).await;
    let mails_before = app.mails().len();
    let r = boss
        .patch_json(
            &format!("/api/v1/documents/{id}"),
            json!({ "title": "承認者の改題" }),
        )
        .await;
    assert_eq!(r.status(), 404);
    for action in ["cancel", "remind", "send"] {
        let r = boss
            .post_json(&format!("/api/v1/documents/{id}/{action}"), json!({}))
            .await;
        assert_eq!(r.status(), 404, "{action}");
    }
    assert_eq!(
        document(&sender, &id).await,
        before,
        "the approver changed nothing"
    );
    assert_eq!(app.mails().len(), mails_before);
    let r = boss
        .post_body(
            &format!("/api/v1/documents/{id}/approve"),
            "application/json",
            "",
        )
        .await;
    assert_eq!(r.status(), 200);
    app.settle().await;
    let doc = document(&sender, &id).await;
    assert_eq!(doc["status"], "in_progress");
    assert_eq!(
        doc["seals"].as_array().unwrap().len(),
        1,
        "sealed when sent"
    );
    // The recorded hash is the sealed file's (hashed as it was sealed, not read again).
    let sealed = sender
        .get(&format!("/api/v1/documents/{id}/file"))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(
        doc["file_sha256"].as_str().unwrap(),
        format!("{:x}", <sha2::Sha256 as sha2::Digest>::digest(&sealed))
    );

    // The first recipient: the link opens their document, with nobody's address in it.
    let (status, view, hanako) =
        Client::open_link(&app.url, &link(&app, "hanako@example.jp"), None).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["can_answer"], true);
    assert_eq!(view["you"]["name"], "山田 花子");
    assert!(!view.to_string().contains("@example"));
    let hanako = hanako.unwrap();
    let file = hanako.get("/api/v1/r/file").await;
    assert_eq!(file.status(), 200);
    assert!(file.bytes().await.unwrap().starts_with(b"%PDF-"));
    let r = hanako.post_json("/api/v1/r/agree", json!({})).await;
    assert_eq!(r.status(), 200);
    // A double click: one outcome.
    let again = hanako.post_json("/api/v1/r/agree", json!({})).await;
    assert_eq!(again.status(), 409);
    assert_eq!(error_code(again).await, "already_answered");
    app.settle().await;

    // The second recipient needs the access code (full-width digits accepted).
    let token = link(&app, "jiro@example.jp");
    let (status, body, _) = Client::open_link(&app.url, &token, None).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "access_code_required");
    let (status, body, _) = Client::open_link(&app.url, &token, Some("9999")).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "access_code_invalid");
    let (status, _, jiro) = Client::open_link(&app.url, &token, Some("１２３４")).await;
    assert_eq!(status, 200);
    let r = jiro.unwrap().post_json("/api/v1/r/agree", json!({})).await;
    assert_eq!(r.status(), 200);
    app.settle().await;

    let doc = document(&sender, &id).await;
    assert_eq!(doc["status"], "completed");
    let steps: Vec<&str> = doc["seals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        ["1:send", "1:agreement:r1", "1:agreement:r2", "long_term"]
    );
    let history: Vec<&str> = doc["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    for action in [
        "document.sent",
        "document.approved",
        "document.agreed",
        "document.completed",
    ] {
        assert!(history.contains(&action), "{action} missing: {history:?}");
    }

    // The file: three service seals and the document timestamp, B-LTA, verified by the
    // shipped binary.
    let pdf = sender
        .get(&format!("/api/v1/documents/{id}/file"))
        .await
        .bytes()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("completed.pdf");
    std::fs::write(&path, &pdf).unwrap();
    if let Ok(judges) = std::env::var("KEIYAKU_JUDGE_DIR") {
        std::fs::create_dir_all(&judges).unwrap();
        // tests/run hands this file and its root to pyHanko and qpdf.
        let judges = std::path::Path::new(&judges);
        std::fs::write(judges.join("lifecycle.pdf"), &pdf).unwrap();
        std::fs::copy(
            app.data_dir().join("pki/root.pem"),
            judges.join("lifecycle-root.pem"),
        )
        .unwrap();
    }
    let out = std::process::Command::new(keiyaku_binary())
        .args(["verify", "--json", "--data-dir"])
        .arg(app.data_dir())
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["level"], "B-LTA", "{report}");
    let kinds: Vec<(&str, &str)> = report["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["kind"].as_str().unwrap(),
                s["reason"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("signature", "送信"),
            ("signature", "山田 花子 様が同意"),
            ("signature", "佐藤 次郎 様が同意"),
            ("document_timestamp", ""),
        ]
    );

    // Every party got the summary with the sealed file attached, once.
    for to in [
        "sender@example.com",
        "boss@example.com",
        "hanako@example.jp",
        "jiro@example.jp",
    ] {
        let done: Vec<Mail> = mails_to(&app, to)
            .into_iter()
            .filter(|m| m.message_id.starts_with("completed-"))
            .collect();
        assert_eq!(done.len(), 1, "{to}");
        let mail = &done[0];
        assert!(mail.subject.contains("締結されました"), "{}", mail.subject);
        assert!(mail.text.contains("佐藤 次郎"), "{}", mail.text);
        assert!(mail.text.contains("文書タイムスタンプ"), "{}", mail.text);
        assert_eq!(mail.attachments.len(), 1, "{to}");
        assert_eq!(mail.attachments[0].1, pdf.to_vec(), "{to}");
    }
    // After completion the same link still shows the sealed file.
    let (status, view, hanako) =
        Client::open_link(&app.url, &link(&app, "hanako@example.jp"), None).await;
    assert_eq!(status, 200);
    assert_eq!(view["status"], "completed");
    assert_eq!(view["can_answer"], false);
    let again = hanako
        .unwrap()
        .get("/api/v1/r/file")
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(again, pdf);

    // The execution, as the ops view shows it to an operator (and to nobody else).
    assert_eq!(sender.get("/api/v1/ops/executions").await.status(), 404);
    keiyaku_core::app::accounts::grant_operator(&app.services(), "boss@example.com")
        .await
        .unwrap();
    let list: Value = boss
        .get("/api/v1/ops/executions?status=SUCCEEDED")
        .await
        .json()
        .await
        .unwrap();
    let execution = &list["executions"][0];
    assert_eq!(execution["name"], format!("doc-{id}-1"));
    let detail: Value = boss
        .get(&format!(
            "/api/v1/ops/executions/{}",
            execution["id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    let events: Vec<&str> = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(events.first(), Some(&"ExecutionStarted"));
    assert_eq!(events.last(), Some(&"ExecutionSucceeded"));
    assert!(events.contains(&"TaskSubmitted"));
    assert!(!detail.to_string().contains("@example"), "ids only");
    // The parties' task tokens never show (they would complete a wait).
    let ids = keiyaku_core::domain::document::Ids {
        team_id: keiyaku_core::ids::TeamId(doc["team_id"].as_str().unwrap().to_owned()),
        document_id: keiyaku_core::ids::DocumentId(id.clone()),
        send: 1,
    };
    let token = keiyaku_core::store::waits::waiting_token(&app.services(), &ids, "r2")
        .await
        .unwrap()
        .expect("r2's wait left its token");
    assert!(!detail.to_string().contains(&token));
    assert!(detail.to_string().contains("(hidden)"));
    app.stop().await;
}

#[tokio::test]
async fn a_rejected_document_carries_no_seal_and_the_sender_hears_why() {
    let app = TestApp::spawn().await;
    let sender = app.user("sender@example.com", "送信 花子").await;
    let boss = app.user("boss@example.com", "承認 一郎").await;
    let id = sent(
        &app,
        &sender,
        &[("山田 花子", "hanako@example.jp", None)],
        &["boss@example.com"],
    )
    .await;
    let r = boss
        .post_json(
            &format!("/api/v1/documents/{id}/reject"),
            json!({ "reason": "金額を確認してください" }),
        )
        .await;
    assert_eq!(r.status(), 200);
    app.settle().await;
    let doc = document(&sender, &id).await;
    assert_eq!(doc["status"], "rejected");
    assert!(doc["seals"].as_array().unwrap().is_empty());
    let told = app.last_mail_to("sender@example.com");
    assert!(
        told.subject.contains("差し戻されました"),
        "{}",
        told.subject
    );
    assert!(told.text.contains("金額を確認してください"));
    assert!(mails_to(&app, "hanako@example.jp").is_empty());
    // Too late for another answer.
    let r = boss
        .post_json(&format!("/api/v1/documents/{id}/approve"), json!({}))
        .await;
    assert_eq!(r.status(), 409);
    app.stop().await;
}

#[tokio::test]
async fn an_unregistered_approver_is_invited_and_sees_names_but_no_addresses() {
    let app = TestApp::spawn().await;
    let sender = app.user("sender@example.com", "送信 花子").await;
    let id = sent(
        &app,
        &sender,
        &[("山田 花子", "hanako@example.jp", None)],
        &["newboss@example.com"],
    )
    .await;
    assert_eq!(document(&sender, &id).await["status"], "awaiting_approval");
    // The request invites them to register with the address it went to.
    let asked = app.last_mail_to("newboss@example.com");
    assert!(asked.text.contains("/signup"), "{}", asked.text);
    assert!(asked.text.contains(&format!("/documents/{id}")));

    // Someone who signs up with that address cannot log in until they confirm it.
    let anon = app.anonymous();
    let r = anon
        .post_json(
            "/api/v1/auth/signup",
            json!({ "email": "newboss@example.com", "name": "新任 部長", "password": PASSWORD }),
        )
        .await;
    assert_eq!(r.status(), 202);
    let r = anon
        .post_json(
            "/api/v1/auth/login",
            json!({ "email": "newboss@example.com", "password": PASSWORD, "mode": "token" }),
        )
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(error_code(r).await, "email_not_verified");
    let token = app
        .last_mail_to("newboss@example.com")
        .link_token("/verify-email#");
    let r = anon
        .post_json("/api/v1/auth/verify-email", json!({ "token": token }))
        .await;
    assert_eq!(r.status(), 200);
    let r = anon
        .post_json(
            "/api/v1/auth/login",
            json!({ "email": "newboss@example.com", "password": PASSWORD, "mode": "token" }),
        )
        .await;
    let body: Value = r.json().await.unwrap();
    let boss = Client::with_token(&app.url, body["token"].as_str().unwrap());

    // Confirmed, they find it and see what approving needs: names and companies, no
    // address of anyone, no client address in the history.
    let listed: Value = boss
        .get("/api/v1/documents?role=approver&status=awaiting_approval")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["documents"][0]["id"], id.as_str(), "{listed}");
    let seen: Value = boss
        .get(&format!("/api/v1/documents/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(seen["recipients"][0]["name"], "山田 花子");
    assert_eq!(seen["recipients"][0]["company"], "株式会社サンプル");
    assert!(!seen.to_string().contains('@'), "{seen}");
    assert!(
        seen["history"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e.get("ip").is_none()),
        "{seen}"
    );
    // The sender still sees every address and where each change came from.
    let full = document(&sender, &id).await;
    assert_eq!(full["approvers"][0]["email"], "newboss@example.com");
    assert!(full["history"][0]["ip"].is_string(), "{full}");

    let r = boss
        .post_json(&format!("/api/v1/documents/{id}/approve"), json!({}))
        .await;
    assert_eq!(r.status(), 200);
    let answered: Value = r.json().await.unwrap();
    assert!(!answered.to_string().contains('@'), "{answered}");
    app.settle().await;
    assert_eq!(document(&sender, &id).await["status"], "in_progress");
    assert_eq!(mails_to(&app, "hanako@example.jp").len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_decline_ends_the_document_and_everyone_concerned_is_told() {
    let app = TestApp::spawn().await;
    let sender = app.user("sender@example.com", "送信 花子").await;
    let id = sent(
        &app,
        &sender,
        &[
            ("山田 花子", "hanako@example.jp", None),
            ("佐藤 次郎", "jiro@example.jp", None),
            ("鈴木 三郎", "saburo@example.jp", None),
        ],
        &[],
    )
    .await;
    let (_, _, hanako) = Client::open_link(&app.url, &link(&app, "hanako@example.jp"), None).await;
    let hanako = hanako.unwrap();
    assert_eq!(
        hanako
            .post_json("/api/v1/r/agree", json!({}))
            .await
            .status(),
        200
    );
    app.settle().await;
    let (_, _, jiro) = Client::open_link(&app.url, &link(&app, "jiro@example.jp"), None).await;
    let jiro = jiro.unwrap();
    let r = jiro
        .post_json("/api/v1/r/decline", json!({ "reason": "条件が合いません" }))
        .await;
    assert_eq!(r.status(), 200);
    // The other answer, after the decline: a conflict, not a second outcome.
    let r = jiro.post_json("/api/v1/r/agree", json!({})).await;
    assert_eq!(r.status(), 409);
    // Nor can the sender turn the decline into a cancel: it is ending (409) or has ended
    // (410), depending on how far the machine got.
    let r = sender
        .post_json(&format!("/api/v1/documents/{id}/cancel"), json!({}))
        .await;
    let status = r.status().as_u16();
    let code = error_code(r).await;
    assert!(
        (status, code.as_str()) == (409, "already_ending")
            || (status, code.as_str()) == (410, "document_closed"),
        "{status} {code}"
    );
    app.settle().await;
    let doc = document(&sender, &id).await;
    assert_eq!(doc["status"], "declined");
    assert_eq!(doc["seals"].as_array().unwrap().len(), 2, "send and r1");
    let told = app.last_mail_to("sender@example.com");
    assert!(told.subject.contains("辞退されました"), "{}", told.subject);
    assert!(told.text.contains("条件が合いません"));
    assert!(
        app.last_mail_to("hanako@example.jp")
            .subject
            .contains("辞退")
    );
    assert!(
        mails_to(&app, "saburo@example.jp").is_empty(),
        "never asked"
    );
    assert_eq!(
        app.count_items(&format!("{JOB}remind-")),
        0,
        "its reminders are cancelled"
    );
    // The first recipient's earlier answer stands; a late one finds the document closed.
    let r = hanako.post_json("/api/v1/r/agree", json!({})).await;
    assert_eq!(r.status(), 409);
    app.stop().await;
}

#[tokio::test]
async fn a_cancel_completes_the_waiting_task_and_answers_after_it_are_gone() {
    let app = TestApp::spawn().await;
    let sender = app.user("sender@example.com", "送信 花子").await;
    let id = sent_to_hanako(&app, &sender).await;
    let (_, _, hanako) = Client::open_link(&app.url, &link(&app, "hanako@example.jp"), None).await;
    let r = sender
        .post_json(&format!("/api/v1/documents/{id}/cancel"), json!({}))
        .await;
    assert_eq!(r.status(), 200);
    // Cancelling twice: the document has ended.
    let r = sender
        .post_json(&format!("/api/v1/documents/{id}/cancel"), json!({}))
        .await;
    assert_eq!(r.status(), 410);
    app.settle().await;
    let r = hanako
        .unwrap()
        .post_json("/api/v1/r/agree", json!({}))
        .await;
    assert_eq!(r.status(), 410);
    assert_eq!(error_code(r).await, "document_closed");
    let doc = document(&sender, &id).await;
    assert_eq!(doc["status"], "cancelled");
    assert!(
        app.last_mail_to("hanako@example.jp")
            .subject
            .contains("取り消されました")
    );
    // The execution ended through NotifyCancelled.
    let runner = app.runner();
    let page = runner
        .list_executions(Some(keiyaku_states::Status::Succeeded), None, 10)
        .await
        .unwrap();
    assert_eq!(page.executions.len(), 1);
    let history = runner
        .history(&page.executions[0].id, None, 1000)
        .await
        .unwrap();
    assert!(
        history
            .events
            .iter()
            .any(|e| { e.detail_str("name") == Some("NotifyCancelled") })
    );
    app.stop().await;
}

#[tokio::test]
async fn past_the_deadline_the_document_expires_and_reminders_are_rate_limited() {
    let app = TestApp::spawn().await;
    let sender = app.user("sender@example.com", "送信 花子").await;
    let id = sent_to_hanako_until(&app, &sender, time::Duration::hours(3)).await;
    // A reminder re-sends the same link; a second within the hour is slowed down.
    let first = link(&app, "hanako@example.jp");
    let r = sender
        .post_json(&format!("/api/v1/documents/{id}/remind"), json!({}))
        .await;
    assert_eq!(r.status(), 204);
    let reminder = app.last_mail_to("hanako@example.jp");
    assert!(
        reminder.subject.contains("リマインド"),
        "{}",
        reminder.subject
    );
    assert_eq!(reminder.link_token("/r/#"), first);
    let mails_before = app.mails().len();
    let r = sender
        .post_json(&format!("/api/v1/documents/{id}/remind"), json!({}))
        .await;
    assert_eq!(r.status(), 429);
    assert_eq!(
        app.mails().len(),
        mails_before,
        "a refused reminder mails nobody"
    );
    assert!(r.headers().contains_key("retry-after"));

    // Three hours later the wait times out: the document expires and both are told.
    app.clock
        .advance(time::Duration::hours(3) + time::Duration::minutes(1));
    assert!(app.runner().fire_due_timers().await.unwrap() >= 1);
    app.settle().await;
    let doc = document(&sender, &id).await;
    assert_eq!(doc["status"], "expired");
    assert!(
        app.last_mail_to("sender@example.com")
            .subject
            .contains("期限切れ")
    );
    assert!(
        app.last_mail_to("hanako@example.jp")
            .subject
            .contains("期限切れ")
    );
    let (status, view, hanako) = Client::open_link(&app.url, &first, None).await;
    assert_eq!(status, 200);
    assert_eq!(view["can_answer"], false);
    let r = hanako
        .unwrap()
        .post_json("/api/v1/r/agree", json!({}))
        .await;
    assert_eq!(r.status(), 410);
    let r = sender
        .post_json(&format!("/api/v1/documents/{id}/remind"), json!({}))
        .await;
    assert_eq!(r.status(), 410);
    app.stop().await;
}

#[tokio::test]
async fn ten_wrong_access_codes_in_total_suspend_the_link_until_the_sender_reissues_it() {
    let app = TestApp::spawn().await;
    let sender = app.user("sender@example.com", "送信 花子").await;
    let id = sent(
        &app,
        &sender,
        &[("山田 花子", "hanako@example.jp", Some("2468"))],
        &[],
    )
    .await;
    let token = link(&app, "hanako@example.jp");
    for i in 1..=9 {
        let (status, body, _) = Client::open_link(&app.url, &token, Some("0000")).await;
        assert_eq!(status, 401, "attempt {i}");
        assert_eq!(body["error"]["code"], "access_code_invalid");
        // The owner opening the link in between does not start the count again: ten wrong
        // in total, not in a row.
        if i % 3 == 0 {
            let (status, _, _) = Client::open_link(&app.url, &token, Some("2468")).await;
            assert_eq!(status, 200, "the right code after {i} wrong ones");
        }
    }
    let (status, body, _) = Client::open_link(&app.url, &token, Some("0000")).await;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["code"], "link_suspended");
    // Suspended: even the right code does not open it; the sender was told, once.
    let (status, _, _) = Client::open_link(&app.url, &token, Some("2468")).await;
    assert_eq!(status, 403);
    let told: Vec<Mail> = mails_to(&app, "sender@example.com")
        .into_iter()
        .filter(|m| m.subject.contains("リンクを停止しました"))
        .collect();
    assert_eq!(told.len(), 1);

    // Reissued: the old link is dead, the new one opens with the code.
    let r = sender
        .post_json(
            &format!("/api/v1/documents/{id}/recipients/r1/reissue"),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), 204);
    // Each reissue mails the recipient: five an hour for one party, then 429.
    for n in 2..=6 {
        let r = sender
            .post_json(
                &format!("/api/v1/documents/{id}/recipients/r1/reissue"),
                json!({}),
            )
            .await;
        assert_eq!(r.status(), if n <= 5 { 204 } else { 429 }, "reissue {n}");
    }
    let fresh = link(&app, "hanako@example.jp");
    assert_ne!(fresh, token);
    let (status, body, _) = Client::open_link(&app.url, &token, Some("2468")).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "invalid_link");
    agree_and_settle(&app, &fresh, Some("2468")).await;
    assert_eq!(document(&sender, &id).await["status"], "completed");
    app.stop().await;
}

#[tokio::test]
async fn the_party_is_reminded_three_days_and_one_day_before_the_deadline() {
    let app = TestApp::spawn().await;
    let sender = app.user("sender@example.com", "送信 花子").await;
    let id = sent_to_hanako_until(&app, &sender, time::Duration::days(5)).await;
    assert_eq!(app.count_items(&format!("{JOB}remind-")), 2);
    let first = link(&app, "hanako@example.jp");
    app.fire_scheduled().await;
    assert_eq!(
        mails_to(&app, "hanako@example.jp").len(),
        1,
        "nothing due yet"
    );

    // Three days before: the same link again, marked as a reminder; once.
    app.clock
        .advance(time::Duration::days(2) + time::Duration::minutes(1));
    app.fire_scheduled().await;
    assert_eq!(mails_to(&app, "hanako@example.jp").len(), 2);
    let reminder = app.last_mail_to("hanako@example.jp");
    assert!(
        reminder.subject.contains("リマインド"),
        "{}",
        reminder.subject
    );
    assert!(reminder.message_id.starts_with("expiry-reminder-"));
    assert_eq!(reminder.link_token("/r/#"), first);
    app.fire_scheduled().await;
    assert_eq!(mails_to(&app, "hanako@example.jp").len(), 2, "once");
    assert_eq!(app.count_items(&format!("{JOB}remind-")), 1);

    // One day before: the party again, and the sender hears it is about to expire.
    app.clock.advance(time::Duration::days(2));
    app.fire_scheduled().await;
    assert_eq!(mails_to(&app, "hanako@example.jp").len(), 3);
    let notice = app.last_mail_to("sender@example.com");
    assert!(
        notice.subject.contains("期限が近づいています"),
        "{}",
        notice.subject
    );
    assert_eq!(app.count_items(&format!("{JOB}remind-")), 0);

    // An answer now still counts; the document completes and nothing more is scheduled.
    agree_and_settle(&app, &first, None).await;
    assert_eq!(document(&sender, &id).await["status"], "completed");
    app.stop().await;
}

#[tokio::test]
async fn a_seal_that_keeps_failing_parks_until_an_operator_retries_it() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let broken = Arc::new(AtomicBool::new(true));
    let app = TestApp::spawn_with_seams(FlakyTsa::seams(broken.clone())).await;
    let sender = app.user("sender@example.com", "送信 花子").await;
    let ops = app.user("ops@example.com", "運用 太郎").await;
    keiyaku_core::app::accounts::grant_operator(&app.services(), "ops@example.com")
        .await
        .unwrap();
    let id = sent_to_hanako(&app, &sender).await;
    // The send seal is retried with backoff (the machine's Retry), then parked.
    for _ in 0..10 {
        app.clock.advance(time::Duration::seconds(61));
        app.runner().fire_due_timers().await.unwrap();
        app.settle().await;
    }
    let doc = document(&sender, &id).await;
    assert_eq!(doc["status"], "seal_failed");
    assert!(doc["seals"].as_array().unwrap().is_empty());
    assert!(
        mails_to(&app, "hanako@example.jp").is_empty(),
        "nothing went out unsealed"
    );
    let running: Value = ops
        .get("/api/v1/ops/executions?status=RUNNING")
        .await
        .json()
        .await
        .unwrap();
    let execution = running["executions"][0]["id"].as_str().unwrap().to_owned();
    let detail: Value = ops
        .get(&format!("/api/v1/ops/executions/{execution}"))
        .await
        .json()
        .await
        .unwrap();
    let failures = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "TaskFailed")
        .count();
    assert_eq!(failures, 6, "the first attempt and five retries");
    // Only operators may retry; the sender is told nothing exists.
    assert_eq!(
        sender
            .post_json(
                &format!("/api/v1/ops/executions/{execution}/retry"),
                json!({})
            )
            .await
            .status(),
        404
    );

    // The TSA is back: the operator's retry seals and the document goes out.
    broken.store(false, Ordering::SeqCst);
    let r = ops
        .post_json(
            &format!("/api/v1/ops/executions/{execution}/retry"),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    app.settle().await;
    let doc = document(&sender, &id).await;
    assert_eq!(doc["status"], "in_progress");
    assert_eq!(doc["seals"].as_array().unwrap().len(), 1);
    let r = ops
        .post_json(
            &format!("/api/v1/ops/executions/{execution}/retry"),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), 409, "nothing parked any more");
    agree_and_settle(&app, &link(&app, "hanako@example.jp"), None).await;
    assert_eq!(document(&sender, &id).await["status"], "completed");
    app.stop().await;
}

#[tokio::test]
async fn racing_answers_and_a_racing_cancel_have_exactly_one_outcome() {
    let app = TestApp::spawn().await;
    let sender = app.user("sender@example.com", "送信 花子").await;
    let id = sent_to_hanako(&app, &sender).await;
    // The same recipient in two tabs: agree, agree, decline, decline, agree at once.
    let token = link(&app, "hanako@example.jp");
    let (_, _, tab1) = Client::open_link(&app.url, &token, None).await;
    let (_, _, tab2) = Client::open_link(&app.url, &token, None).await;
    let (tab1, tab2) = (tab1.unwrap(), tab2.unwrap());
    let decline = json!({ "reason": "やめます" });
    let (a, b, c, d, e) = tokio::join!(
        tab1.post_json("/api/v1/r/agree", json!({})),
        tab2.post_json("/api/v1/r/agree", json!({})),
        tab1.post_json("/api/v1/r/decline", decline.clone()),
        tab2.post_json("/api/v1/r/decline", decline.clone()),
        tab1.post_json("/api/v1/r/agree", json!({})),
    );
    let statuses: Vec<u16> = [a, b, c, d, e]
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 409),
        "{statuses:?}"
    );
    app.settle().await;
    let doc = document(&sender, &id).await;
    let status = doc["status"].as_str().unwrap().to_owned();
    assert!(status == "completed" || status == "declined", "{status}");
    let runner = app.runner();
    let running = runner
        .list_executions(Some(keiyaku_states::Status::Running), None, 10)
        .await
        .unwrap();
    assert!(running.executions.is_empty(), "the execution ended too");

    // An agreement racing the sender's cancel: one of them wins, and the execution agrees.
    let id = sent(
        &app,
        &sender,
        &[("佐藤 次郎", "jiro@example.jp", None)],
        &[],
    )
    .await;
    let (_, _, jiro) = Client::open_link(&app.url, &link(&app, "jiro@example.jp"), None).await;
    let jiro = jiro.unwrap();
    let cancel_path = format!("/api/v1/documents/{id}/cancel");
    let (agree, cancel) = tokio::join!(
        jiro.post_json("/api/v1/r/agree", json!({})),
        sender.post_json(&cancel_path, json!({})),
    );
    app.settle().await;
    let doc = document(&sender, &id).await;
    match (agree.status().as_u16(), cancel.status().as_u16()) {
        (200, 409) => assert_eq!(doc["status"], "completed"),
        (410, 200) => assert_eq!(doc["status"], "cancelled"),
        other => panic!("both or neither won: {other:?}"),
    }
    let running = runner
        .list_executions(Some(keiyaku_states::Status::Running), None, 10)
        .await
        .unwrap();
    assert!(running.executions.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn the_completion_mail_attaches_the_file_only_while_it_stays_under_7_mb() {
    let app = TestApp::spawn().await;
    let services = app.services();
    let lines = vec!["山田 花子 — 2026-11-26 09:00 JST".to_owned()];
    let summary = keiyaku_core::app::mail::Completion {
        name: "山田 花子",
        title: "業務委託契約書",
        parties: &lines,
        agreements: &lines,
        timestamps: &lines,
        link: "http://127.0.0.1/r/#abc",
    };
    // Base64 and its line breaks make a file of about 5.1 MB the largest that fits.
    for (size, attached) in [
        (1_000_000, true),
        (5_000_000, true),
        (5_150_000, false),
        (20_000_000, false),
    ] {
        // Binary, as a PDF's streams are (so it travels as base64).
        let pdf: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        let mail = keiyaku_core::app::mail::completed(
            &services,
            "hanako@example.jp",
            &summary,
            Some(("契約書.pdf", &pdf)),
            "completed-test@keiyaku",
        )
        .unwrap();
        assert!(
            mail.raw.len() < keiyaku_core::app::mail::MAX_MAIL_BYTES,
            "{size}"
        );
        let parsed = mail_parser::MessageParser::default()
            .parse(&mail.raw[..])
            .unwrap();
        assert_eq!(parsed.attachment_count() == 1, attached, "{size}");
        let text = parsed.body_text(0).unwrap();
        assert!(
            text.contains("http://127.0.0.1/r/#abc"),
            "the link is always there"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn parallel_wrong_codes_are_each_counted_so_ten_is_the_limit() {
    let app = TestApp::spawn().await;
    let sender = app.user("sender@example.com", "送信 花子").await;
    sent(
        &app,
        &sender,
        &[("山田 花子", "hanako@example.jp", Some("2468"))],
        &[],
    )
    .await;
    let token = link(&app, "hanako@example.jp");
    let attempts = (0..20).map(|_| Client::open_link(&app.url, &token, Some("0000")));
    let statuses: Vec<u16> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(|(status, _, _)| status.as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        9,
        "nine wrong codes are answered as such, the tenth suspends: {statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 403).count(),
        11,
        "{statuses:?}"
    );
    let (status, _, _) = Client::open_link(&app.url, &token, Some("2468")).await;
    assert_eq!(status, 403, "suspended, even for the right code");
    let told = mails_to(&app, "sender@example.com")
        .into_iter()
        .filter(|m| m.subject.contains("リンクを停止しました"))
        .count();
    assert_eq!(told, 1);
    app.stop().await;
}

#[tokio::test]
async fn links_can_be_revoked_and_end_ninety_days_after_the_document_did() {
    let app = TestApp::spawn().await;
    let sender = app.user("sender@example.com", "送信 花子").await;
    let id = sent_to_hanako(&app, &sender).await;
    let first = link(&app, "hanako@example.jp");
    // Revoked: it stops working at once, and nothing new is mailed.
    let mails = app.mails().len();
    let r = sender
        .post_json(
            &format!("/api/v1/documents/{id}/recipients/r1/revoke"),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), 204);
    assert_eq!(app.mails().len(), mails);
    let (status, body, _) = Client::open_link(&app.url, &first, None).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "invalid_link");
    // Reissued: a new link, which completes the contract.
    let r = sender
        .post_json(
            &format!("/api/v1/documents/{id}/recipients/r1/reissue"),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), 204);
    let second = link(&app, "hanako@example.jp");
    agree_and_settle(&app, &second, None).await;
    assert_eq!(document(&sender, &id).await["status"], "completed");

    // The completion mail's link shows the sealed file for 90 days, then no more.
    app.clock.advance(time::Duration::days(89));
    let (status, _, _) = Client::open_link(&app.url, &second, None).await;
    assert_eq!(status, 200);
    app.clock.advance(time::Duration::days(2));
    let (status, body, _) = Client::open_link(&app.url, &second, None).await;
    assert_eq!(status, 410);
    assert_eq!(body["error"]["code"], "link_expired");
    // The sender can reissue it after the end: the new link counts from its issue.
    let sender = Client::browser_login(&app.url, "sender@example.com", PASSWORD).await;
    let r = sender
        .post_json(
            &format!("/api/v1/documents/{id}/recipients/r1/reissue"),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), 204);
    let third = link(&app, "hanako@example.jp");
    let (status, view, _) = Client::open_link(&app.url, &third, None).await;
    assert_eq!(status, 200);
    assert_eq!(view["can_answer"], false);
    app.stop().await;
}

#[tokio::test]
async fn reissues_are_limited_per_party_and_per_document() {
    let app = TestApp::spawn().await;
    let sender = app.user("sender@example.com", "送信 花子").await;
    let parties: Vec<(String, String)> = (1..=5)
        .map(|n| (format!("受信 {n}"), format!("r{n}@example.jp")))
        .collect();
    let named: Vec<(&str, &str, Option<&str>)> = parties
        .iter()
        .map(|(name, email)| (name.as_str(), email.as_str(), None))
        .collect();
    let id = sent(&app, &sender, &named, &[]).await;
    for (_, email) in &parties {
        agree_and_settle(&app, &link(&app, email), None).await;
    }
    assert_eq!(document(&sender, &id).await["status"], "completed");
    // After the end every party has a link: four each is twenty for the document.
    for n in 1..=5 {
        for _ in 0..4 {
            let r = sender
                .post_json(
                    &format!("/api/v1/documents/{id}/recipients/r{n}/reissue"),
                    json!({}),
                )
                .await;
            assert_eq!(r.status(), 204, "r{n}");
        }
    }
    let r = sender
        .post_json(
            &format!("/api/v1/documents/{id}/recipients/r5/reissue"),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), 429, "the document's twenty-first in the hour");
    assert!(r.headers().contains_key("retry-after"));
    app.stop().await;
}

#[tokio::test]
async fn a_recipient_cookie_opens_one_document_for_eight_hours_until_a_reissue() {
    let app = TestApp::spawn().await;
    let sender = app.user("sender@example.com", "送信 花子").await;
    let first = sent_to_hanako(&app, &sender).await;
    let first_link = link(&app, "hanako@example.jp");
    let second = sent_to_hanako(&app, &sender).await;
    let (status, _, hanako) = Client::open_link(&app.url, &first_link, None).await;
    assert_eq!(status, 200);
    let hanako = hanako.unwrap();
    // Its document, and only that: the same person's other document is not reachable with
    // it, nor is any signed-in route.
    let seen: Value = hanako.get("/api/v1/r/document").await.json().await.unwrap();
    assert_eq!(seen["document_id"], first.as_str(), "{seen}");
    for path in [
        format!("/api/v1/documents/{second}"),
        format!("/api/v1/documents/{second}/file"),
        format!("/api/v1/documents/{first}"),
        "/api/v1/me".to_owned(),
    ] {
        assert_eq!(hanako.get(&path).await.status(), 401, "{path}");
    }
    // Eight hours, not a minute more.
    app.clock
        .advance(time::Duration::hours(8) - time::Duration::minutes(1));
    assert_eq!(hanako.get("/api/v1/r/document").await.status(), 200);
    app.clock.advance(time::Duration::minutes(2));
    assert_eq!(hanako.get("/api/v1/r/document").await.status(), 401);
    // A reissue ends the sessions of the earlier link at once.
    let (status, _, again) = Client::open_link(&app.url, &first_link, None).await;
    assert_eq!(status, 200);
    let again = again.unwrap();
    assert_eq!(again.get("/api/v1/r/document").await.status(), 200);
    let r = sender
        .post_json(
            &format!("/api/v1/documents/{first}/recipients/r1/reissue"),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), 204);
    assert_ne!(again.get("/api/v1/r/document").await.status(), 200);
    let r = again.post_json("/api/v1/r/agree", json!({})).await;
    assert_ne!(r.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn a_large_contract_completes_with_a_link_instead_of_an_attachment() {
    let app = TestApp::spawn().await;
    let sender = app.user("sender@example.com", "送信 花子").await;
    // About 6 MB: past what a 7 MB mail carries once base64 has grown it.
    let pdf = keiyaku_pdf::sample::pdf_of_size(6 * 1024 * 1024, 7);
    let r = sender.upload("大きな契約書.pdf", pdf, "大きな契約書").await;
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = sender
        .post_json(
            &format!("/api/v1/documents/{id}/send"),
            json!({ "recipients": [{ "name": "山田 花子", "email": "hanako@example.jp" }] }),
        )
        .await;
    assert_eq!(r.status(), 200);
    app.settle().await;
    agree_and_settle(&app, &link(&app, "hanako@example.jp"), None).await;
    assert_eq!(document(&sender, &id).await["status"], "completed");
    for party in ["sender@example.com", "hanako@example.jp"] {
        let done: Vec<Mail> = mails_to(&app, party)
            .into_iter()
            .filter(|m| m.message_id.starts_with("completed-"))
            .collect();
        assert_eq!(done.len(), 1, "{party}");
        assert!(
            done[0].attachments.is_empty(),
            "{party}: too large to attach"
        );
        assert!(
            done[0].text.contains(&app.url) || done[0].text.contains("/r/#"),
            "{party}: the link to the sealed file is there"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn a_confidential_document_is_never_attached_to_mails() {
    let app = TestApp::spawn().await;
    let sender = app.user("sender@example.com", "送信 太郎").await;
    let created: Value = sender
        .upload_direct("親展.pdf", keiyaku_pdf::sample::pdf_with_pages(1))
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let r = sender
        .patch_json(
            &format!("/api/v1/documents/{id}"),
            json!({ "confidential": true, "recipients": [{ "name": "山田 花子", "email": "hanako@example.jp" }] }),
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = sender
        .post_json(&format!("/api/v1/documents/{id}/send"), json!({}))
        .await;
    assert_eq!(r.status(), 200);
    app.settle().await;
    agree_and_settle(&app, &link(&app, "hanako@example.jp"), None).await;
    let doc = document(&sender, &id).await;
    assert_eq!(doc["status"], "completed");
    assert_eq!(doc["confidential"], true);
    for party in ["sender@example.com", "hanako@example.jp"] {
        let done: Vec<Mail> = mails_to(&app, party)
            .into_iter()
            .filter(|m| m.message_id.starts_with("completed-"))
            .collect();
        assert_eq!(done.len(), 1, "{party}");
        assert!(done[0].attachments.is_empty(), "{party}: 親展, link only");
        assert!(
            done[0].text.contains(&app.url),
            "{party}: the link is there"
        );
    }
}
