//! Hostile and broken inputs, from the checked-in table `tests/fixtures/pdf/expected.tsv`
//! (file → expected outcome): each answered well inside a hang guard, nothing kept on a
//! refusal, the server still serving, and a separately measured server process under a
//! memory cap.

use keiyaku_core::store::keys;
use std::path::PathBuf;
use std::time::Duration;

use keiyaku_tests::{TestApp, error_code, peak_rss_kib, sign_up_and_log_in, start_process};
use serde_json::{Value, json};

const HANG_GUARD: Duration = Duration::from_secs(60);
const MEMORY_CAP_KIB: u64 = 256 * 1024;

fn fixtures() -> Vec<(String, Vec<u8>, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/pdf");
    let table = std::fs::read_to_string(dir.join("expected.tsv")).expect("fixture table");
    let rows: Vec<_> = table
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (file, expect) = l.split_once('\t').expect("file<TAB>expect");
            let bytes = std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
            (file.to_owned(), bytes, expect.trim().to_owned())
        })
        .collect();
    assert!(rows.len() >= 30, "the table lists the hostile inputs");
    rows
}

fn expected_status(expect: &str) -> u16 {
    match expect {
        "ok" => 201,
        "empty_file" => 400,
        _ => 422,
    }
}

#[tokio::test]
async fn every_fixture_gets_its_answer_and_refusals_keep_nothing() {
    let app = TestApp::spawn().await;
    let user = app.user("hanako@example.jp", "山田 花子").await;
    let mut wrong = Vec::new();
    let mut accepted = 0;
    for (file, bytes, expect) in fixtures() {
        let docs_before = app.count_items(keys::DOC);
        let blobs_before = app.blob_files().len();
        let r = tokio::time::timeout(HANG_GUARD, user.upload_direct(&file, bytes))
            .await
            .unwrap_or_else(|_| panic!("{file}: no answer within {HANG_GUARD:?}"));
        let status = r.status().as_u16();
        let code = if status >= 400 {
            error_code(r).await
        } else {
            "ok".into()
        };
        if status != expected_status(&expect) || code != expect {
            wrong.push(format!(
                "{file}: expected {expect} ({}), got {code} ({status})",
                expected_status(&expect)
            ));
        }
        if status >= 400 {
            assert_eq!(
                app.count_items(keys::DOC),
                docs_before,
                "{file}: a refusal keeps no item"
            );
            assert_eq!(
                app.blob_files().len(),
                blobs_before,
                "{file}: a refusal keeps no blob"
            );
        } else {
            accepted += 1;
        }
        let alive = app.anonymous().get("/api/v1/openapi.json").await;
        assert_eq!(alive.status(), 200, "{file}: the server keeps serving");
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(app.count_items(keys::DOC), accepted);
    app.stop().await;
}

#[tokio::test]
async fn a_separate_server_process_stays_under_its_memory_cap() {
    let server = start_process(&[]);
    let http = reqwest::Client::new();
    let account = sign_up_and_log_in(&server.url, &server.data_dir, "m@example.jp").await;
    let bearer = format!("Bearer {}", account.token);

    for (file, bytes, expect) in fixtures() {
        let r = tokio::time::timeout(
            HANG_GUARD,
            http.post(format!("{}/api/v1/documents", server.url))
                .header("authorization", &bearer)
                .header("content-type", "application/pdf")
                .query(&[("filename", &file)])
                .body(bytes)
                .send(),
        )
        .await
        .unwrap_or_else(|_| panic!("{file}: no answer within {HANG_GUARD:?}"))
        .unwrap();
        assert_eq!(r.status().as_u16(), expected_status(&expect), "{file}");
    }

    // A 21 MB body sent to a slot that declared 20 MB: refused as it streams in.
    let slot: Value = http
        .post(format!("{}/api/v1/documents/uploads", server.url))
        .header("authorization", &bearer)
        .json(&json!({ "filename": "big.pdf", "size": 20 * 1024 * 1024 }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = tokio::time::timeout(
        HANG_GUARD,
        http.put(slot["url"].as_str().unwrap())
            .header("authorization", &bearer)
            .body(vec![b'x'; 21 * 1024 * 1024])
            .send(),
    )
    .await
    .expect("answered within the hang guard");
    // The server may answer 413 before reading the whole body and close the connection.
    if let Ok(r) = r {
        assert_eq!(r.status(), 413);
    }
    // A new connection: the one the 413 went out on may have been closed under the client.
    let alive = reqwest::Client::new()
        .get(format!("{}/api/v1/openapi.json", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(alive.status(), 200);

    let peak = peak_rss_kib(server.pid());
    assert!(
        peak < MEMORY_CAP_KIB,
        "peak RSS {peak} KiB is over the {MEMORY_CAP_KIB} KiB cap"
    );
}
