//! The shipped binary: configuration errors at start, and what its log lines say.

use keiyaku_tests::{keiyaku_binary, sign_up_and_log_in, start_process};
use serde_json::Value;

#[test]
fn bad_configuration_is_a_clear_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"not a directory").unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--public-url".into(), "ftp://example.jp".into()],
            "KEIYAKU_PUBLIC_URL",
        ),
        (vec!["--addr".into(), "not-an-address".into()], "--addr"),
        (
            vec!["--max-document-mb".into(), "0".into()],
            "--max-document-mb",
        ),
        (
            vec![
                "--data-dir".into(),
                file.join("below").display().to_string(),
            ],
            "data dir",
        ),
        (
            vec!["--smtp-url".into(), "http://mail".into()],
            "KEIYAKU_SMTP_URL",
        ),
    ];
    for (args, mention) in cases {
        let mut full = vec!["serve".to_owned(), "--addr".into(), "127.0.0.1:0".into()];
        if !args.iter().any(|a| a == "--data-dir") {
            full.extend([
                "--data-dir".into(),
                dir.path().join("data").display().to_string(),
            ]);
        }
        full.extend(args.clone());
        let out = std::process::Command::new(keiyaku_binary())
            .args(&full)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(mention),
            "{args:?} should mention {mention}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[tokio::test]
async fn every_request_log_line_has_a_request_id_and_never_a_token_or_an_id_bearing_path() {
    let server = start_process(&[("KEIYAKU_LOG", "info")]);
    let http = reqwest::Client::new();
    let account = sign_up_and_log_in(&server.url, &server.data_dir, "log@example.jp").await;
    let (token, verify) = (account.token, account.verify_token);
    let doc: Value = http
        .post(format!("{}/api/v1/documents", server.url))
        .bearer_auth(&token)
        .header("content-type", "application/pdf")
        .body(keiyaku_pdf::sample::pdf_with_pages(1))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = doc["id"].as_str().unwrap().to_owned();
    for path in [
        format!("/api/v1/documents/{id}"),
        format!("/api/v1/documents/{id}/file"),
        "/api/v1/nope".into(),
    ] {
        http.get(format!("{}{path}", server.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
    }
    let log = std::fs::read_to_string(&server.log).unwrap();
    let mut answered = 0;
    for line in log.lines() {
        let entry: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        assert!(
            !line.contains(&token) && !line.contains(&verify),
            "a secret in the log: {line}"
        );
        assert!(!line.contains(&id), "an id-bearing path in the log: {line}");
        if entry["fields"]["message"] == "answered" {
            answered += 1;
            assert!(
                entry["span"]["request_id"]
                    .as_str()
                    .is_some_and(|r| r.len() == 16),
                "{line}"
            );
            assert!(entry["span"]["route"].is_string(), "{line}");
        }
    }
    assert!(answered >= 7, "one line per request: {answered}\n{log}");
    assert!(
        log.contains("/api/v1/documents/{id}/file"),
        "routes are logged as templates"
    );
}

#[test]
fn a_state_machine_the_interpreter_cannot_run_is_refused_at_start_naming_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let machines = dir.path().join("statemachines");
    std::fs::create_dir(&machines).unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../statemachines");
    std::fs::copy(root.join("tasks.json"), machines.join("tasks.json")).unwrap();
    let mut contract: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("contract.asl.json")).unwrap())
            .unwrap();
    // Credentials (cross-account task roles) are not implemented here.
    contract["States"]["Seal"]["Credentials"] =
        serde_json::json!({ "RoleArn": "arn:aws:iam::1:role/x" });
    std::fs::write(
        machines.join("contract.asl.json"),
        serde_json::to_string(&contract).unwrap(),
    )
    .unwrap();
    let out = std::process::Command::new(keiyaku_binary())
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--statemachines")
        .arg(&machines)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("$.States.Seal.Credentials"), "{stderr}");

    // The files as they are in statemachines/ start it.
    std::fs::copy(
        root.join("contract.asl.json"),
        machines.join("contract.asl.json"),
    )
    .unwrap();
    let server =
        keiyaku_tests::start_process(&[("KEIYAKU_STATEMACHINES", machines.to_str().unwrap())]);
    drop(server);
}
