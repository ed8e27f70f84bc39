//! Storage benchmark: uploads (through an upload slot) and downloads a ~20 MB PDF through a
//! running release server, and prints, from the same run, the wall times, each against its
//! own floor (upload: `openssl dgst -sha256` of the file + in-process AES-256-GCM over it +
//! writing and fsyncing it once; download: decrypting its segments and hashing them
//! in-process, nothing written), and the server's peak RSS growth. Not a timed test: it
//! prints figures and exits 0 unless something fails outright.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use keiyaku_tests::sign_up_and_log_in;
use serde_json::{Value, json};

const RUNS: usize = 7;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn p95(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[((v.len() as f64 * 0.95).ceil() as usize)
        .saturating_sub(1)
        .min(v.len() - 1)]
}

fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// What a verified download must do at least: decrypt the 64 KiB segments (AES-256-GCM)
/// and hash the plaintext, in-process; nothing is written.
fn download_floor(bytes: &[u8]) -> Duration {
    let cipher = Aes256Gcm::new_from_slice(&[7u8; 32]).unwrap();
    let sealed: Vec<Vec<u8>> = bytes
        .chunks(64 * 1024)
        .enumerate()
        .map(|(i, chunk)| {
            let mut buf = chunk.to_vec();
            cipher
                .encrypt_in_place(Nonce::from_slice(&nonce(i)), b"", &mut buf)
                .unwrap();
            buf
        })
        .collect();
    let t = Instant::now();
    let mut hash = <sha2::Sha256 as sha2::Digest>::new();
    let mut buf = Vec::with_capacity(64 * 1024 + 16);
    for (i, segment) in sealed.iter().enumerate() {
        buf.clear();
        buf.extend_from_slice(segment);
        cipher
            .decrypt_in_place(Nonce::from_slice(&nonce(i)), b"", &mut buf)
            .unwrap();
        sha2::Digest::update(&mut hash, &buf);
    }
    std::hint::black_box(sha2::Digest::finalize(hash));
    t.elapsed()
}

fn nonce(i: usize) -> [u8; 12] {
    let mut nonce = [0u8; 12];
    nonce[..8].copy_from_slice(&(i as u64).to_be_bytes());
    nonce
}

fn floor(file: &Path, bytes: &[u8], scratch: &Path) -> (Duration, Duration, Duration) {
    let t = Instant::now();
    let out = Command::new("openssl")
        .arg("dgst")
        .arg("-sha256")
        .arg(file)
        .output()
        .expect("openssl");
    assert!(out.status.success());
    let sha = t.elapsed();

    let cipher = Aes256Gcm::new_from_slice(&[7u8; 32]).unwrap();
    let t = Instant::now();
    let mut buf = Vec::with_capacity(64 * 1024 + 16);
    for (i, chunk) in bytes.chunks(64 * 1024).enumerate() {
        buf.clear();
        buf.extend_from_slice(chunk);
        cipher
            .encrypt_in_place(Nonce::from_slice(&nonce(i)), b"", &mut buf)
            .unwrap();
        std::hint::black_box(&buf);
    }
    let aes = t.elapsed();

    let t = Instant::now();
    let mut f = std::fs::File::create(scratch).unwrap();
    f.write_all(bytes).unwrap();
    f.sync_all().unwrap();
    let write = t.elapsed();
    (sha, aes, write)
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let pdf = keiyaku_pdf::sample::pdf_of_size(20 * 1024 * 1024, 42);
    let file = dir.path().join("bench.pdf");
    std::fs::write(&file, &pdf).unwrap();
    println!(
        "file: {} bytes ({:.1} MiB), {RUNS} runs each",
        pdf.len(),
        pdf.len() as f64 / 1048576.0
    );

    let server = keiyaku_tests::start_process(&[]);
    let data = server.data_dir.clone();
    let url = server.url.clone();
    let http = reqwest::Client::new();
    let account = sign_up_and_log_in(&url, &data, "bench@example.jp").await;
    let bearer = format!("Bearer {}", account.token);
    let pid = server.pid();
    let rss_before = status_kib(pid, "VmRSS:");

    let body = bytes::Bytes::from(pdf.clone());
    let (mut uploads, mut downloads, mut floors) = (Vec::new(), Vec::new(), Vec::new());
    let mut download_floors = Vec::new();
    let mut floor_parts = Vec::new();
    for run in 0..RUNS {
        let t = Instant::now();
        let slot: Value = http
            .post(format!("{url}/api/v1/documents/uploads"))
            .header("authorization", &bearer)
            .json(&json!({ "filename": "bench.pdf", "size": pdf.len() }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let put = http
            .put(slot["url"].as_str().unwrap())
            .header("authorization", &bearer)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(put.status(), 200, "upload");
        let doc: Value = http
            .post(format!("{url}/api/v1/documents"))
            .header("authorization", &bearer)
            .json(&json!({ "upload_id": slot["upload_id"], "title": format!("bench {run}") }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        uploads.push(t.elapsed());
        let id = doc["id"].as_str().expect("document created").to_owned();

        let t = Instant::now();
        let got = http
            .get(format!("{url}/api/v1/documents/{id}/file"))
            .header("authorization", &bearer)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        downloads.push(t.elapsed());
        assert_eq!(got.len(), pdf.len());
        assert!(got == body, "download is byte-for-byte");

        let (sha, aes, write) = floor(&file, &pdf, &dir.path().join("floor.out"));
        floors.push(sha + aes + write);
        floor_parts.push((sha, aes, write));
        download_floors.push(download_floor(&pdf));
    }
    let peak = status_kib(pid, "VmHWM:");

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let (up, down, fl) = (
        median(uploads.clone()),
        median(downloads.clone()),
        median(floors.clone()),
    );
    let parts = floor_parts[RUNS / 2];
    println!(
        "floor (openssl dgst -sha256 + AES-256-GCM + write+fsync): p50 {:.1} ms (sha {:.1} + aes {:.1} + write {:.1}), p95 {:.1} ms",
        ms(fl),
        ms(parts.0),
        ms(parts.1),
        ms(parts.2),
        ms(p95(floors))
    );
    println!(
        "upload   (slot + PUT + create):  p50 {:.1} ms, p95 {:.1} ms, ratio to floor {:.2} (target ≤ 2.0)",
        ms(up),
        ms(p95(uploads)),
        ms(up) / ms(fl)
    );
    let down_floor = median(download_floors);
    println!(
        "download (GET file, verified):   p50 {:.1} ms, p95 {:.1} ms, ratio to its floor (decrypt + SHA-256 in-process, no write: p50 {:.1} ms) {:.2} (target ≤ 2.0)",
        ms(down),
        ms(p95(downloads)),
        ms(down_floor),
        ms(down) / ms(down_floor)
    );
    let growth = peak.saturating_sub(rss_before);
    println!(
        "server RSS: {:.1} MiB before, peak {:.1} MiB, growth {:.1} MiB = {:.2} × the file (target ≤ 1.0)",
        rss_before as f64 / 1024.0,
        peak as f64 / 1024.0,
        growth as f64 / 1024.0,
        (growth * 1024) as f64 / pdf.len() as f64
    );
}
