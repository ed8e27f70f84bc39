//! The contract workflow's tasks on a stored document: sending, who is asked next (and for
//! how long), answers recorded once, the send seal handing the document to its recipients,
//! and the deadline closing it.

use keiyaku_core::Error;
use keiyaku_core::app::contract;
use keiyaku_core::domain::answer::Decision;
use keiyaku_core::domain::document::{Ids, Phase, Status};
use keiyaku_core::store::{keys, waits};
use keiyaku_tests::TestApp;
use serde_json::{Value, json};

async fn status(s: &keiyaku_core::Services, ids: &Ids) -> Status {
    let item = s
        .items
        .get(&keys::document(&ids.team_id, &ids.document_id))
        .await
        .unwrap()
        .unwrap();
    serde_json::from_value::<keiyaku_core::domain::document::Document>(item.body)
        .unwrap()
        .status
}

#[tokio::test]
async fn approvals_then_agreements_each_recorded_once_until_the_deadline() {
    let app = TestApp::spawn().await;
    let sender = app.user("sender@example.com", "送信 花子").await;
    let _boss = app.user("boss@example.com", "承認 一郎").await;
    let created: Value = sender
        .upload_direct("契約書.pdf", keiyaku_pdf::sample::pdf_with_pages(1))
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let s = app.services();
    // The sender's caller, as the API builds it from the session.
    let caller = keiyaku_core::app::accounts::authenticate(
        &s,
        sender.token().unwrap(),
        keiyaku_core::domain::user::SessionKind::Api,
        "127.0.0.1".parse().unwrap(),
    )
    .await
    .unwrap();

    // Nothing to send to yet.
    assert!(matches!(
        contract::send(&s, &caller, &id).await,
        Err(Error::Invalid {
            code: "no_recipients",
            ..
        })
    ));
    let r = sender
        .patch_json(
            &format!("/api/v1/documents/{id}"),
            json!({
                "recipients": [
                    { "name": "山田 花子", "email": "hanako@example.jp" },
                    { "name": "佐藤 一郎", "email": "ichiro@example.jp" }
                ],
                "approvers": ["boss@example.com"]
            }),
        )
        .await;
    assert_eq!(r.status(), 200);
    let ids = contract::send(&s, &caller, &id).await.unwrap();
    assert_eq!(ids.send, 1);
    assert_eq!(status(&s, &ids).await, Status::AwaitingApproval);
    // A second send of the same document is refused; so is an edit now.
    assert!(contract::send(&s, &caller, &id).await.is_err());
    let edit = sender
        .patch_json(&format!("/api/v1/documents/{id}"), json!({ "title": "x" }))
        .await;
    assert_eq!(edit.status(), 409);

    // The approver first, with the default 30 days to answer.
    let next = contract::next_step(&s, &ids, Phase::Approval)
        .await
        .unwrap();
    assert_eq!(next.kind, "approval");
    assert_eq!(next.party_id.as_deref(), Some("a1"));
    let left = next.timeout_seconds.unwrap();
    assert!((30 * 86_400 - 5..=30 * 86_400).contains(&left), "{left}");
    // The wait keeps its token server-side and asks the approver once, however often it runs.
    contract::record_wait(&s, &ids, Phase::Approval, "a1", "token-1")
        .await
        .unwrap();
    contract::record_wait(&s, &ids, Phase::Approval, "a1", "token-2")
        .await
        .unwrap();
    let asked: Vec<_> = app
        .mails()
        .into_iter()
        .filter(|m| m.to == "boss@example.com")
        .collect();
    assert_eq!(asked.len(), 2, "the sign-up mail and one approval request");
    let request = asked
        .iter()
        .find(|m| m.subject.contains("承認のお願い"))
        .unwrap();
    assert!(request.text.contains(&format!("/documents/{id}")));
    assert!(
        !request.text.contains("token-"),
        "the task token is never mailed"
    );
    assert_eq!(
        waits::waiting_token(&s, &ids, "a1")
            .await
            .unwrap()
            .as_deref(),
        Some("token-2")
    );
    // Recipients cannot answer before the document goes out; a stranger is no party.
    assert!(matches!(
        contract::record_answer(&s, &ids, "r1", Decision::Agreed, None, "127.0.0.1").await,
        Err(Error::Gone { .. })
    ));
    assert!(matches!(
        contract::record_answer(&s, &ids, "a9", Decision::Approved, None, "127.0.0.1").await,
        Err(Error::NotFound)
    ));
    // Approved once; the same answer again is a replay; another answer a conflict.
    let first = contract::record_answer(&s, &ids, "a1", Decision::Approved, None, "127.0.0.1");
    let twice = contract::record_answer(&s, &ids, "a1", Decision::Approved, None, "127.0.0.1");
    let (first, twice) = tokio::join!(first, twice);
    assert_eq!(
        [first.unwrap(), twice.unwrap()]
            .iter()
            .filter(|&&fresh| fresh)
            .count(),
        1,
        "exactly one of two concurrent answers is the one recorded"
    );
    assert!(matches!(
        contract::record_answer(&s, &ids, "a1", Decision::Rejected, None, "127.0.0.1").await,
        Err(Error::Conflict {
            code: "already_answered",
            ..
        })
    ));
    assert_eq!(
        contract::next_step(&s, &ids, Phase::Approval)
            .await
            .unwrap()
            .kind,
        "done"
    );

    // The send seal hands it to its recipients, in order.
    contract::seal(&s, &ids, None).await.unwrap();
    assert_eq!(status(&s, &ids).await, Status::InProgress);
    let next = contract::next_step(&s, &ids, Phase::Agreement)
        .await
        .unwrap();
    assert_eq!(next.party_id.as_deref(), Some("r1"));
    // The recipient's mail carries a link token of ours in the URL fragment; a retried wait
    // mails nothing new and the link it mailed still opens this recipient's document.
    contract::record_wait(&s, &ids, Phase::Agreement, "r1", "token-3")
        .await
        .unwrap();
    contract::record_wait(&s, &ids, Phase::Agreement, "r1", "token-4")
        .await
        .unwrap();
    let mails: Vec<_> = app
        .mails()
        .into_iter()
        .filter(|m| m.to == "hanako@example.jp")
        .collect();
    assert_eq!(mails.len(), 1);
    let link = mails[0].link_token("/r/#");
    assert_eq!(link.len(), 64, "256 bits");
    assert!(!mails[0].text.contains("token-"));
    let opened = s
        .items
        .get(&keys::recipient_link(&keiyaku_core::ids::hash_token(&link)))
        .await
        .unwrap()
        .expect("the link opens something");
    assert_eq!(opened.body["party_id"], "r1");
    assert_eq!(
        waits::waiting_token(&s, &ids, "r1")
            .await
            .unwrap()
            .as_deref(),
        Some("token-4")
    );
    assert!(
        contract::record_answer(&s, &ids, "r1", Decision::Agreed, None, "127.0.0.1")
            .await
            .unwrap()
    );
    contract::seal(&s, &ids, Some("r1")).await.unwrap();
    let next = contract::next_step(&s, &ids, Phase::Agreement)
        .await
        .unwrap();
    assert_eq!(next.party_id.as_deref(), Some("r2"));
    let file = sender
        .get(&format!("/api/v1/documents/{id}/file"))
        .await
        .bytes()
        .await
        .unwrap();
    let anchors = keiyaku_pdf::verify::load_anchors(
        &std::fs::read(app.data_dir().join("pki/root.pem")).unwrap(),
    )
    .unwrap();
    let report =
        keiyaku_pdf::verify::verify(&file, &anchors, time::OffsetDateTime::now_utc()).unwrap();
    let reasons: Vec<_> = report
        .signatures
        .iter()
        .map(|s| s.reason.clone().unwrap_or_default())
        .collect();
    assert_eq!(reasons, ["送信", "山田 花子 様が同意"]);

    // Past the deadline: nobody is asked, and a late answer finds the document closed.
    app.clock.advance(time::Duration::days(31));
    assert_eq!(
        contract::next_step(&s, &ids, Phase::Agreement)
            .await
            .unwrap()
            .kind,
        "expired"
    );
    assert!(matches!(
        contract::record_answer(&s, &ids, "r2", Decision::Agreed, None, "127.0.0.1").await,
        Err(Error::Gone { .. })
    ));
    // A wait that runs after the deadline asks nobody: its own timeout ends it.
    contract::record_wait(&s, &ids, Phase::Agreement, "r2", "token-5")
        .await
        .unwrap();
    assert!(app.mails().iter().all(|m| m.to != "ichiro@example.jp"));
    app.stop().await;
}
