//! Verification under attack: while clients send the costliest files to verify
//! (`keiyaku_pdf::tamper::many_signature_revisions`) in parallel to a running release
//! server, another client reads `GET /api/v1/me`. Prints that client's p50 and p99 latency
//! without and with the attack (the floor is the same server unloaded, in the same run),
//! their ratio, and how the attack's requests were answered. Not a timed test: it prints
//! figures and exits 0 unless something fails outright.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use keiyaku_tests::sign_up_and_log_in;

const SAMPLES: usize = 400;
const ATTACKERS: usize = 6;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let at = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[at]
}

async fn me_latencies(http: &reqwest::Client, url: &str, bearer: &str) -> Vec<Duration> {
    let mut out = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let t = Instant::now();
        let r = http
            .get(format!("{url}/api/v1/me"))
            .header("authorization", bearer)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.bytes().await.unwrap();
        out.push(t.elapsed());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    out.sort();
    out
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() {
    let server = keiyaku_tests::start_process(&[]);
    let http = reqwest::Client::new();
    let reader = sign_up_and_log_in(&server.url, &server.data_dir, "reader@example.jp").await;
    let attacker = sign_up_and_log_in(&server.url, &server.data_dir, "costly@example.jp").await;
    let reader_bearer = format!("Bearer {}", reader.token);
    let attacker_bearer = format!("Bearer {}", attacker.token);

    let costly = keiyaku_tests::costly_to_verify(&server.data_dir, &server.url, 3 << 20, 60);
    println!(
        "costly file: {:.1} MB, 60 revisions each signed over the whole file",
        costly.len() as f64 / 1e6
    );

    let t = Instant::now();
    let r = http
        .post(format!("{}/api/v1/verify", server.url))
        .header("authorization", &attacker_bearer)
        .header("content-type", "application/pdf")
        .body(costly.clone())
        .send()
        .await
        .unwrap();
    let status = r.status();
    let report: serde_json::Value = r.json().await.unwrap();
    println!(
        "one costly verification alone: {} (HTTP {status}, {})",
        ms(t.elapsed()),
        report["status"]
    );

    let quiet = me_latencies(&http, &server.url, &reader_bearer).await;

    let stop = Arc::new(AtomicBool::new(false));
    let answered: Arc<[AtomicUsize; 4]> = Arc::new(Default::default());
    let attack: Vec<_> = (0..ATTACKERS)
        .map(|_| {
            let (http, url, bearer, body) = (
                http.clone(),
                server.url.clone(),
                attacker_bearer.clone(),
                costly.clone(),
            );
            let (stop, answered) = (stop.clone(), answered.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let r = http
                        .post(format!("{url}/api/v1/verify"))
                        .header("authorization", &bearer)
                        .header("content-type", "application/pdf")
                        .body(body.clone())
                        .send()
                        .await
                        .unwrap();
                    let slot = match r.status().as_u16() {
                        200 => 0,
                        503 => 1,
                        429 => 2,
                        _ => 3,
                    };
                    answered[slot].fetch_add(1, Ordering::Relaxed);
                    r.bytes().await.unwrap();
                    if slot == 1 {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let loud = me_latencies(&http, &server.url, &reader_bearer).await;
    stop.store(true, Ordering::Relaxed);
    for task in attack {
        task.await.unwrap();
    }

    let (q50, q99) = (percentile(&quiet, 0.50), percentile(&quiet, 0.99));
    let (l50, l99) = (percentile(&loud, 0.50), percentile(&loud, 0.99));
    println!("GET /api/v1/me, {SAMPLES} requests each:");
    println!("  without attack (floor): p50 {} p99 {}", ms(q50), ms(q99));
    println!(
        "  with {ATTACKERS} clients sending the costly file: p50 {} p99 {} (p99 {:.1} x the floor)",
        ms(l50),
        ms(l99),
        l99.as_secs_f64() / q99.as_secs_f64()
    );
    let [ok, busy, limited, other] = answered
        .as_ref()
        .each_ref()
        .map(|a| a.load(Ordering::Relaxed));
    println!(
        "  the attack's verifications: {ok} answered, {busy} told 503 busy, {limited} 429, {other} other"
    );
    assert_eq!(other, 0, "no other answers");
}
