//! Housekeeping through the Scheduler port: an upload slot that was never used loses its
//! encrypted file after it expired (a used one keeps it), and expired items leave the
//! database.

use keiyaku_core::clock::Clock;
use keiyaku_core::store::keys;
use keiyaku_local::scheduler::JOB;
use keiyaku_pdf::sample;
use keiyaku_tests::TestApp;
use serde_json::{Value, json};

/// Rows whose expiry has passed by the app's clock (reads already skip them).
fn expired_rows(app: &TestApp) -> i64 {
    app.count_rows(
        "expires_at IS NOT NULL AND expires_at <= ?1",
        app.clock.now().unix_timestamp(),
    )
}

#[tokio::test]
async fn unused_uploads_lose_their_file_and_expired_items_are_purged() {
    let app = TestApp::spawn().await;
    let user = app.user("hanako@example.jp", "山田 花子").await;
    let pdf = sample::pdf_with_pages(1);
    // One slot used for a document, one filled and abandoned.
    let used = user.upload("used.pdf", pdf.clone(), "使われた").await;
    assert_eq!(used.status(), 201);
    let used: Value = used.json().await.unwrap();
    let slot: Value = user
        .post_json(
            "/api/v1/documents/uploads",
            json!({ "filename": "left.pdf", "size": pdf.len() }),
        )
        .await
        .json()
        .await
        .unwrap();
    let r = user
        .request(
            reqwest::Method::PUT,
            slot["url"].as_str().unwrap().trim_start_matches(&app.url),
        )
        .header("content-type", "application/pdf")
        .body(pdf)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(app.blob_files().len(), 2);
    assert_eq!(app.count_items(keys::UPLOAD), 1);

    // Before the slot expired (and an hour after), nothing goes.
    app.clock.advance(time::Duration::hours(24));
    app.fire_scheduled().await;
    assert_eq!(app.blob_files().len(), 2);
    assert_eq!(app.count_items(&format!("{JOB}upload-")), 2);
    app.clock.advance(time::Duration::minutes(61));
    app.fire_scheduled().await;
    assert_eq!(
        app.count_items(&format!("{JOB}upload-")),
        0,
        "both cleanups ran"
    );
    assert_eq!(app.blob_files().len(), 1, "the abandoned file is gone");
    assert_eq!(app.count_items(keys::UPLOAD), 0);
    let file = user
        .get(&format!(
            "/api/v1/documents/{}/file",
            used["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(file.status(), 200, "the used upload's file stays");

    // Sessions and counters past their expiry leave at the next daily sweep.
    app.clock.advance(time::Duration::days(100));
    assert!(expired_rows(&app) > 0);
    app.fire_scheduled().await;
    assert_eq!(expired_rows(&app), 0);
    app.stop().await;
}

/// A scheduled job that is not one (its JSON names no job) is dropped when it comes due,
/// not retried every minute for ever; one that fails for a passing reason stays.
#[tokio::test]
async fn a_job_that_is_not_one_is_dropped_when_due() {
    let app = TestApp::spawn().await;
    let services = app.services();
    // Due a minute from now, so the server's own timer loop cannot run it before it is
    // counted.
    let due = app.clock.now() + time::Duration::minutes(1);
    services
        .scheduler
        .schedule("not-a-job", due, json!({ "job": "no_such_job" }))
        .await
        .unwrap();
    assert_eq!(app.count_items(&format!("{JOB}not-a-job")), 1);
    app.clock.advance(time::Duration::minutes(1));
    app.fire_scheduled().await;
    assert_eq!(
        app.count_items(&format!("{JOB}not-a-job")),
        0,
        "dropped, not put back for another minute"
    );
}
