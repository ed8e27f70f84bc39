//! Workflow benchmark, in-process on a release build with the embedded executor: (1) the
//! time from the last recipient's agreement to the completed document — sealed, extended to
//! long-term form, stored and mailed to every party — for a 1 MB PDF over 20 runs, against
//! a floor measured in the same run (the seal and the long-term extension of the same file
//! alone, in-process); (2) complete life cycles per second (upload, send, the recipient's
//! link, agreement, completion) with 16 concurrent senders. Not a timed test: it prints
//! figures.

use std::sync::Arc;
use std::time::{Duration, Instant};

use keiyaku_core::sealing::Sealing;
use keiyaku_pdf::seal::Level;
use keiyaku_tests::{Client, TestApp, read_mails};
use serde_json::{Value, json};

const RUNS: usize = 20;
const SENDERS: usize = 16;
/// 48 link openings: under the 60 per address and quarter hour that one client may make.
const LIFE_CYCLES_EACH: usize = 3;

fn percentiles(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p95 = ((v.len() as f64 * 0.95).ceil() as usize).clamp(1, v.len()) - 1;
    (ms(v[v.len() / 2]), ms(v[p95]))
}

/// The recipient link in the agreement mail of document `id`, once it has arrived.
async fn link_of(app: &TestApp, id: &str) -> String {
    let dir = app.data_dir().join("mail/new");
    let prefix = format!("agreement{id}");
    for _ in 0..2000 {
        let found = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .find(|e| e.file_name().to_string_lossy().starts_with(&prefix));
        if let Some(entry) = found {
            let one = tempfile::tempdir().unwrap();
            std::fs::copy(entry.path(), one.path().join("m.eml")).unwrap();
            return read_mails(one.path())[0].link_token("/r/#");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("no agreement mail for {id}");
}

async fn document_status(sender: &Client, id: &str) -> String {
    let doc: Value = sender
        .get(&format!("/api/v1/documents/{id}"))
        .await
        .json()
        .await
        .unwrap();
    doc["status"].as_str().unwrap_or_default().to_owned()
}

/// Uploads `pdf` and sends it to one recipient; the document id.
async fn send(sender: &Client, pdf: Vec<u8>, recipient: &str) -> String {
    let created: Value = sender
        .upload("bench.pdf", pdf, "ベンチマーク")
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let r = sender
        .post_json(
            &format!("/api/v1/documents/{id}/send"),
            json!({ "recipients": [{ "name": "受信 太郎", "email": recipient }] }),
        )
        .await;
    assert_eq!(r.status(), 200);
    id
}

#[tokio::main]
async fn main() {
    let app = TestApp::spawn().await;
    let pdf = keiyaku_pdf::sample::pdf_of_size(1024 * 1024, 7);
    println!(
        "== workflow: last agreement to completed, 1 MB PDF ({} bytes), {RUNS} runs",
        pdf.len()
    );

    // The floor: the same evidence work alone (B-T seal, then B-LTA), in-process.
    let services = app.services();
    let anchors = keiyaku_pdf::verify::load_anchors(
        &std::fs::read(app.data_dir().join("pki/root.pem")).unwrap(),
    )
    .unwrap();
    let sealing = Sealing {
        key: &*services.sealing_key,
        tsa: &*services.tsa,
        revocation: &*services.revocation,
        anchors: &anchors,
        clock: services.clock.clone(),
    };
    let mut floors = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let (sealed, hash) = sealing.seal(&pdf, Level::BT, "floor").await.unwrap();
        sealing.extend_lta(&sealed, Some(&hash)).await.unwrap();
        floors.push(started.elapsed());
    }
    let (floor_p50, floor_p95) = percentiles(floors);

    let sender = app.user("bench@example.com", "ベンチ 花子").await;
    let mut times = Vec::new();
    for run in 0..RUNS {
        let id = send(&sender, pdf.clone(), &format!("r{run}@example.jp")).await;
        let token = link_of(&app, &id).await;
        let (status, _, recipient) = Client::open_link(&app.url, &token, None).await;
        assert_eq!(status, 200);
        let recipient = recipient.unwrap();
        app.settle().await;
        let started = Instant::now();
        let r = recipient.post_json("/api/v1/r/agree", json!({})).await;
        assert_eq!(r.status(), 200);
        app.settle().await;
        times.push(started.elapsed());
        assert_eq!(document_status(&sender, &id).await, "completed");
    }
    let (p50, p95) = percentiles(times);
    println!(
        "  floor (seal B-T + extend to B-LTA, in-process) p50 {floor_p50:6.1} ms  p95 {floor_p95:6.1} ms"
    );
    println!(
        "  agreement -> completed and mailed             p50 {p50:6.1} ms  p95 {p95:6.1} ms  = {:.2} x floor (target p50 <= 100 ms)",
        p50 / floor_p50
    );

    // Throughput: 16 senders, each through several whole life cycles of a 1-page PDF.
    let small = keiyaku_pdf::sample::pdf_with_pages(1);
    let mut senders = Vec::new();
    for i in 0..SENDERS {
        // Sign-ups are limited per address and hour: the test clock moves past the window.
        if i % 8 == 7 {
            app.clock.advance(time::Duration::minutes(61));
        }
        senders.push(app.user(&format!("s{i}@example.com"), "並行 送信").await);
    }
    // A fresh quarter hour for the link openings of one client address.
    app.clock.advance(time::Duration::minutes(16));
    let app = Arc::new(app);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (i, sender) in senders.into_iter().enumerate() {
        let app = app.clone();
        let small = small.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0..LIFE_CYCLES_EACH {
                let id = send(&sender, small.clone(), &format!("p{i}-{n}@example.jp")).await;
                let token = link_of(&app, &id).await;
                let (status, _, recipient) = Client::open_link(&app.url, &token, None).await;
                assert_eq!(status, 200);
                let r = recipient
                    .unwrap()
                    .post_json("/api/v1/r/agree", json!({}))
                    .await;
                assert_eq!(r.status(), 200);
                let mut done = false;
                for _ in 0..5000 {
                    if document_status(&sender, &id).await == "completed" {
                        done = true;
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                assert!(done, "life cycle {i}/{n} did not complete");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let total = SENDERS * LIFE_CYCLES_EACH;
    println!(
        "== workflow: {total} complete life cycles (1-page PDF) with {SENDERS} concurrent senders in {elapsed:.2} s = {:.1} life cycles/s",
        total as f64 / elapsed
    );
}
