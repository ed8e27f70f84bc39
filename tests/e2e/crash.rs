//! The failpoint crash-and-restart matrix against the real binary: for each failpoint (at
//! the pass that lands on a chosen step of the life cycle), the server is started with it
//! armed, a document is sent to two recipients who agree, the process exits at that point
//! (status 86) and is started again on the same data dir, and the life cycle is driven on
//! until the execution succeeds. The outcome must be the one a run without a crash has:
//! every seal once (and no stray file version), every mail once, every history event once,
//! one execution whose history enters each state as often as the life cycle needs. Mail
//! goes through an SMTP relay on loopback that counts every delivery: each party gets each
//! mail exactly once through the relay too.

use std::collections::BTreeMap;
use std::time::Duration;

use keiyaku_tests::{
    Client, Process, SmtpSink, keiyaku_binary, sign_up_and_log_in_with, start_process,
};
use serde_json::{Value, json};

const RECIPIENTS: [&str; 2] = ["hanako@example.jp", "jiro@example.jp"];

/// What the driver saw on one look.
enum Step {
    Done,
    Again,
}

/// One step forward from wherever the document is: send it, or agree for the recipient
/// whose link has arrived; `Done` once the execution succeeded. Any failed request (the
/// server may be gone) is just `Again`.
async fn advance(server: &Process, relay: &SmtpSink, sender: &Client, id: &str) -> Step {
    let Ok(r) = sender
        .request(reqwest::Method::GET, &format!("/api/v1/documents/{id}"))
        .send()
        .await
    else {
        return Step::Again;
    };
    let Ok(doc) = r.json::<Value>().await else {
        return Step::Again;
    };
    match doc["status"].as_str() {
        Some("draft") => {
            let _ = sender
                .request(
                    reqwest::Method::POST,
                    &format!("/api/v1/documents/{id}/send"),
                )
                .send()
                .await;
        }
        Some("in_progress") => {
            let Some(next) = doc["recipients"]
                .as_array()
                .and_then(|rs| rs.iter().find(|r| r.get("answer").is_none()))
            else {
                return Step::Again;
            };
            let email = next["email"].as_str().unwrap();
            let Some(mail) = relay
                .mails()
                .into_iter()
                .rev()
                .find(|m| m.to == email && m.message_id.starts_with("agreement-"))
            else {
                return Step::Again;
            };
            let Ok((status, _, recipient)) =
                Client::try_open_link(&server.url, &mail.link_token("/r/#"), None).await
            else {
                return Step::Again;
            };
            if status == 200 {
                let _ = recipient
                    .unwrap()
                    .request(reqwest::Method::POST, "/api/v1/r/agree")
                    .send()
                    .await;
            }
        }
        Some("completed") => {
            let Ok(r) = sender
                .request(
                    reqwest::Method::GET,
                    "/api/v1/ops/executions?status=SUCCEEDED",
                )
                .send()
                .await
            else {
                return Step::Again;
            };
            if r.json::<Value>().await.is_ok_and(|l| {
                l["executions"]
                    .as_array()
                    .is_some_and(|e| e.iter().any(|x| x["name"] == format!("doc-{id}-1")))
            }) {
                return Step::Done;
            }
        }
        other => panic!("the document went to {other:?}"),
    }
    Step::Again
}

fn count<'a>(items: impl Iterator<Item = &'a str>) -> BTreeMap<&'a str, usize> {
    let mut out = BTreeMap::new();
    for i in items {
        *out.entry(i).or_insert(0) += 1;
    }
    out
}

async fn survives(failpoint: &str) {
    let relay = SmtpSink::start().await;
    let smtp = ("KEIYAKU_SMTP_URL", relay.url.as_str());
    let mut server = start_process(&[("KEIYAKU_FAILPOINT", failpoint), smtp]);
    let account = sign_up_and_log_in_with(&server.url, "sender@example.jp", || relay.mails()).await;
    let out = std::process::Command::new(keiyaku_binary())
        .args(["operator", "grant", "sender@example.jp", "--data-dir"])
        .arg(&server.data_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sender = Client::with_token(&server.url, &account.token);
    let created: Value = sender
        .upload_direct("契約書.pdf", keiyaku_pdf::sample::pdf_with_pages(1))
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let r = sender
        .patch_json(
            &format!("/api/v1/documents/{id}"),
            json!({ "recipients": [
                { "name": "山田 花子", "email": RECIPIENTS[0] },
                { "name": "佐藤 次郎", "email": RECIPIENTS[1] }
            ]}),
        )
        .await;
    assert_eq!(r.status(), 200);

    let mut crashed = false;
    let mut done = false;
    // A generous hang guard: a life cycle takes a few seconds even on a loaded machine.
    let give_up = std::time::Instant::now() + Duration::from_secs(180);
    while std::time::Instant::now() < give_up {
        if let Some(code) = server.exit_code() {
            assert_eq!(code, 86, "{failpoint}: the server died otherwise");
            assert!(
                !crashed,
                "{failpoint}: a restart without the failpoint crashed"
            );
            crashed = true;
            server.restart(&[smtp]);
        }
        match advance(&server, &relay, &sender, &id).await {
            Step::Done => {
                done = true;
                break;
            }
            Step::Again => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    assert!(done, "{failpoint}: the life cycle did not complete");
    assert!(
        crashed,
        "{failpoint}: never reached, so this case proves nothing"
    );

    // Every seal once, and no stray version of the file.
    let doc: Value = sender
        .get(&format!("/api/v1/documents/{id}"))
        .await
        .json()
        .await
        .unwrap();
    let steps: Vec<&str> = doc["seals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        ["1:send", "1:agreement:r1", "1:agreement:r2", "long_term"],
        "{failpoint}"
    );
    let mut blobs = 0;
    let mut stack = vec![server.data_dir.join("blobs/objects")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                blobs += 1;
            }
        }
    }
    assert_eq!(
        blobs, 5,
        "{failpoint}: the original and four sealed versions"
    );
    // Every history event once.
    let actions = count(
        doc["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["action"].as_str().unwrap()),
    );
    for (action, n) in [
        ("document.sent", 1),
        ("document.agreed", 2),
        ("document.sealed", 3),
        ("document.long_term", 1),
        ("document.completed", 1),
    ] {
        assert_eq!(actions.get(action), Some(&n), "{failpoint}: {actions:?}");
    }
    // Every mail delivered once through the relay: a request per recipient, the summary
    // per party, nothing twice. The outbox is empty first (a retry may still be running).
    let outbox = server.data_dir.join("mail/relay");
    let give_up = std::time::Instant::now() + Duration::from_secs(60);
    while std::fs::read_dir(&outbox).unwrap().count() > 0 {
        assert!(
            std::time::Instant::now() < give_up,
            "{failpoint}: the outbox never emptied"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mails = relay.mails();
    let deliveries = count(mails.iter().map(|m| m.message_id.as_str()));
    assert!(
        deliveries.values().all(|n| *n == 1),
        "{failpoint}: a mail delivered twice: {deliveries:?}"
    );
    let kinds = count(
        mails
            .iter()
            .map(|m| m.message_id.split('-').next().unwrap()),
    );
    assert_eq!(kinds.get("agreement"), Some(&2), "{failpoint}: {kinds:?}");
    assert_eq!(kinds.get("completed"), Some(&3), "{failpoint}: {kinds:?}");
    for party in ["sender@example.jp", RECIPIENTS[0], RECIPIENTS[1]] {
        let completed = mails
            .iter()
            .filter(|m| m.to == party && m.message_id.starts_with("completed-"))
            .count();
        assert_eq!(completed, 1, "{failpoint}: {party}");
    }
    // One execution; its history enters each state as often as the life cycle needs.
    let list: Value = sender
        .get("/api/v1/ops/executions")
        .await
        .json()
        .await
        .unwrap();
    let executions = list["executions"].as_array().unwrap();
    assert_eq!(executions.len(), 1, "{failpoint}: {list}");
    let detail: Value = sender
        .get(&format!(
            "/api/v1/ops/executions/{}",
            executions[0]["id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    let events = detail["events"].as_array().unwrap();
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["id"], i + 1, "{failpoint}: event ids are consecutive");
    }
    let entered = count(events.iter().filter_map(|e| {
        e["type"]
            .as_str()
            .filter(|t| t.ends_with("StateEntered"))
            .and(e["stateEnteredEventDetails"]["name"].as_str())
    }));
    let expected = BTreeMap::from([
        ("AgreementAnswer", 2),
        ("AgreementStep", 3),
        ("ApprovalStep", 1),
        ("Complete", 1),
        ("Completed", 1),
        ("ExtendLta", 1),
        ("NextAgreement", 3),
        ("NextApproval", 1),
        ("PrepareAgreementSeal", 2),
        ("PrepareExtendLta", 1),
        ("PrepareSendSeal", 1),
        ("Seal", 3),
        ("WaitForAgreement", 2),
    ]);
    assert_eq!(entered, expected, "{failpoint}");
    let types = count(events.iter().map(|e| e["type"].as_str().unwrap()));
    assert_eq!(types["ExecutionStarted"], 1);
    assert_eq!(types["ExecutionSucceeded"], 1);
    assert_eq!(types["TaskSucceeded"], 11, "{failpoint}: {types:?}");

    // The file verifies, in long-term form.
    let pdf = sender
        .get(&format!("/api/v1/documents/{id}/file"))
        .await
        .bytes()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("final.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let verified = std::process::Command::new(keiyaku_binary())
        .args(["verify", "--json", "--data-dir"])
        .arg(&server.data_dir)
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(verified.status.code(), Some(0), "{failpoint}");
    let report: Value = serde_json::from_slice(&verified.stdout).unwrap();
    assert_eq!(report["level"], "B-LTA", "{failpoint}");
}

macro_rules! matrix {
    ($($name:ident => $failpoint:literal,)*) => {
        $(
            #[tokio::test]
            async fn $name() {
                survives($failpoint).await;
            }
        )*

        /// Every failpoint of the executor and the domain is in the matrix.
        #[test]
        fn the_matrix_covers_every_failpoint() {
            let cases = [$($failpoint),*];
            for name in keiyaku_workflow::FAILPOINTS.iter().chain(keiyaku_core::failpoint::FAILPOINTS) {
                // Timers only fire when time passes (a deadline, a Wait): the in-process
                // matrix in keiyaku-workflow moves its clock for that one.
                if *name == "workflow.timer_fired_before_persist" {
                    continue;
                }
                assert!(
                    cases.iter().any(|c| c.split('@').next() == Some(*name)),
                    "{name} is not in the crash matrix"
                );
            }
        }
    };
}

matrix! {
    crash_after_start_before_the_first_task => "workflow.started_before_invoke",
    crash_after_next_step_before_its_result => "workflow.invoked_before_persist@1",
    crash_after_the_send_seal_before_its_result => "workflow.invoked_before_persist@2",
    crash_after_a_wait_before_its_acknowledgement => "workflow.invoked_before_persist@4",
    crash_after_the_long_term_form_before_its_result => "workflow.invoked_before_persist@10",
    crash_after_completion_before_its_result => "workflow.invoked_before_persist@11",
    crash_after_a_result_before_the_next_task => "workflow.persisted_before_next_invoke@2",
    crash_after_an_agreement_before_its_seal => "workflow.persisted_before_next_invoke@5",
    crash_during_the_first_agreement_callback => "workflow.callback_before_persist@1",
    crash_during_the_last_agreement_callback => "workflow.callback_before_persist@2",
    crash_after_send_before_the_execution_starts => "send.committed_before_start",
    crash_after_the_first_answer_before_delivery => "answer.recorded_before_deliver@1",
    crash_after_the_last_answer_before_delivery => "answer.recorded_before_deliver@2",
    crash_after_the_send_seal_is_stored_before_it_is_recorded => "evidence.stored_before_record@1",
    crash_after_the_last_seal_is_stored_before_it_is_recorded => "evidence.stored_before_record@3",
    crash_after_long_term_form_is_stored_before_it_is_recorded => "evidence.stored_before_record@4",
    crash_between_completion_mails => "completion.mailed_one@2",
}
