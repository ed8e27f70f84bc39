//! Seal benchmark: seals a ~20 MB PDF (pages of incompressible images) and a 1-page PDF to
//! B-T and to B-LTA, with the local TSA over HTTP and CRLs fetched over HTTP (as pyHanko
//! does), and prints p50/p95 of: keiyaku in-process against SHA-256 of the same bytes
//! in-process, and the `keiyaku seal` process against `openssl dgst -sha256` + `cp`;
//! pyHanko signing the same file with a P-256 key and the same TSA over HTTP, through its
//! Python API in one process (start-up excluded) and through its CLI; peak RSS of each.
//! Not a timed test: it prints figures.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use keiyaku_core::clock::{Clock, SystemClock};
use keiyaku_local::pki::LocalPki;
use keiyaku_net::tsa::RemoteTsa;
use keiyaku_pdf::seal::Level;

const RUNS: usize = 7;

fn percentiles(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p95 = ((v.len() as f64 * 0.95).ceil() as usize).clamp(1, v.len()) - 1;
    (ms(v[v.len() / 2]), ms(v[p95]))
}

/// Runs a command to completion: wall time, peak RSS (KiB), success. The peak is read from
/// `/proc/<pid>/status` (VmHWM) while the child runs: `wait4`'s ru_maxrss would report at
/// least this (large) process's RSS, which Linux carries into the child at exec.
fn measured(cmd: &mut Command) -> (Duration, u64, bool) {
    // Each run starts with nothing waiting to be written back: otherwise the TSA server's
    // database commit in this run flushes the previous run's 20 MB output (ext4 ordered
    // mode), and one run pays for another.
    let synced = Command::new("sync").status().expect("sync");
    assert!(synced.success());
    let started = Instant::now();
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if let Ok(text) = std::fs::read_to_string(&status_file) {
            let hwm = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                .unwrap_or(0);
            peak = peak.max(hwm);
        }
        std::thread::sleep(Duration::from_micros(500));
    };
    (started.elapsed(), peak, status.success())
}

/// p50 and p95 of a command run [`RUNS`] times.
fn timed(cmd: impl Fn() -> Command) -> (f64, f64) {
    percentiles(
        (0..RUNS)
            .map(|_| {
                let (t, _, ok) = measured(&mut cmd());
                assert!(ok);
                t
            })
            .collect(),
    )
}

/// The floor: hashing the file (`openssl dgst -sha256`).
fn floor(file: &Path) -> (f64, f64) {
    timed(|| {
        let mut c = Command::new("openssl");
        c.arg("dgst").arg("-sha256").arg(file);
        c
    })
}

/// What writing a sealed copy must cost at least: copying the file (`cp`).
fn copy_floor(file: &Path, to: &Path) -> (f64, f64) {
    timed(|| {
        let mut c = Command::new("cp");
        c.arg(file).arg(to);
        c
    })
}

#[tokio::main]
async fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let binary = keiyaku_tests::keiyaku_binary();
    let python = root.join("tests/.cache/venv-pyhanko/bin/python");
    let pyhanko = root.join("tests/.cache/venv-pyhanko/bin/pyhanko");
    let dir = tempfile::tempdir().unwrap();
    // pyHanko and keiyaku ask the same TSA over HTTP.
    // Every run of every signer asks this TSA: more than one address's default share.
    let server = keiyaku_tests::start_process(&[
        ("KEIYAKU_PUBLIC_TSA", "true"),
        ("KEIYAKU_PUBLIC_TSA_LIMIT", "100000"),
    ]);
    let data = server.data_dir.clone();
    let tsa_url = format!("{}/api/v1/tsa", server.url);
    let pki_dir = data.join("pki");
    let pki = LocalPki::open_or_create(&pki_dir, &server.url).unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    // Revocation data fetched over HTTP from the CRL distribution points, as pyHanko does:
    // both do the same revocation work for long-term form.
    let revocation = Arc::new(keiyaku_net::crl::CrlFetcher::new().unwrap());
    let trust = keiyaku_net::tsa::TsaTrust {
        anchors: vec![pki.root.cert.clone()],
        revocation: revocation.clone(),
        tls_roots: Vec::new(),
    };
    let tsa = RemoteTsa::new(&tsa_url, None, trust, clock.clone()).unwrap();
    let anchors = [pki.root.cert.clone()];
    let sealing = keiyaku_core::sealing::Sealing {
        key: &pki,
        tsa: &tsa,
        revocation: &*revocation,
        anchors: &anchors,
        clock: clock.clone(),
    };
    let chain = dir.path().join("chain.pem");
    std::fs::write(
        &chain,
        std::fs::read_to_string(pki_dir.join("issuing.pem")).unwrap()
            + &std::fs::read_to_string(pki_dir.join("root.pem")).unwrap(),
    )
    .unwrap();

    let big = keiyaku_pdf::sample::pdf_of_size(20 * 1024 * 1024, 42);
    let small = keiyaku_pdf::sample::pdf_with_pages(1);
    println!("runs: {RUNS} each; TSA: keiyaku's local TSA over HTTP for everyone");
    for (label, pdf) in [("20 MB", &big), ("1 page", &small)] {
        let input = dir.path().join(format!("in-{}.pdf", pdf.len()));
        std::fs::write(&input, pdf).unwrap();
        let (floor_p50, floor_p95) = floor(&input);
        let (copy_p50, copy_p95) = copy_floor(&input, &dir.path().join("copy.pdf"));
        // In-process work against an in-process floor: SHA-256 of the same bytes.
        let (hash_p50, _) = percentiles(
            (0..RUNS)
                .map(|_| {
                    let t = Instant::now();
                    std::hint::black_box(<sha2::Sha256 as sha2::Digest>::digest(pdf));
                    t.elapsed()
                })
                .collect(),
        );
        println!(
            "\n== {label} ({} bytes); floor openssl dgst -sha256: p50 {floor_p50:.1} ms, p95 {floor_p95:.1} ms; cp: p50 {copy_p50:.1} ms, p95 {copy_p95:.1} ms; SHA-256 in-process: p50 {hash_p50:.2} ms",
            pdf.len()
        );
        for (level, name) in [("b-t", "B-T"), ("b-lta", "B-LTA")] {
            let mut inproc = Vec::new();
            let mut last = Vec::new();
            for _ in 0..RUNS {
                // As the workflow and `keiyaku seal` do: each revision is appended to the
                // buffer the file is in (the file was read before, untimed).
                let mut sealed = pdf.clone();
                let started = Instant::now();
                let (revision, hash) = sealing
                    .seal_revision(&sealed, Level::BT, "benchmark")
                    .await
                    .unwrap();
                sealed.extend_from_slice(&revision);
                if level == "b-lta" {
                    let (revision, _, _) = sealing
                        .extend_lta_revision(&sealed, Some(&hash))
                        .await
                        .unwrap();
                    sealed.extend_from_slice(&revision);
                }
                inproc.push(started.elapsed());
                last = sealed;
            }
            let (in_p50, in_p95) = percentiles(inproc);
            // Verifying what was just sealed, against the local root, in-process.
            let mut verifying = Vec::new();
            for _ in 0..RUNS {
                let started = Instant::now();
                let report =
                    keiyaku_pdf::verify::verify(&last, &anchors, time::OffsetDateTime::now_utc())
                        .unwrap();
                verifying.push(started.elapsed());
                assert_eq!(report.status, keiyaku_pdf::verify::Status::Valid);
            }
            let (ver_p50, ver_p95) = percentiles(verifying);
            let output = dir.path().join("out.pdf");
            let mut process = Vec::new();
            let mut process_rss = 0;
            for _ in 0..RUNS {
                let (t, rss, ok) = measured(
                    Command::new(&binary)
                        .arg("seal")
                        .arg(&input)
                        .arg(&output)
                        .args(["--level", level, "--tsa-url", &tsa_url, "--tsa-trust"])
                        .arg(pki_dir.join("root.pem"))
                        .arg("--data-dir")
                        .arg(&data),
                );
                assert!(ok, "keiyaku seal");
                process.push(t);
                process_rss = process_rss.max(rss);
            }
            let (pr_p50, pr_p95) = percentiles(process);
            // pyHanko in one process, start-up excluded.
            let out = Command::new(&python)
                .arg(root.join("tests/benchmarks/pyhanko_sign.py"))
                .arg(&input)
                .arg(pki_dir.join("service.key"))
                .arg(pki_dir.join("service.pem"))
                .arg(&chain)
                .arg(&tsa_url)
                .arg(level)
                .arg(RUNS.to_string())
                .arg(pki_dir.join("root.pem"))
                .output()
                .expect("pyHanko (tests/bench installs it)");
            let py: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
                panic!("pyHanko: {e}: {}", String::from_utf8_lossy(&out.stderr))
            });
            let py_p50 = py["p50_ms"].as_f64().unwrap();
            // pyHanko's CLI, a process per signature.
            let mut cli = Vec::new();
            let mut cli_rss = 0;
            for _ in 0..RUNS {
                let mut cmd = Command::new(&pyhanko);
                cmd.args([
                    "sign",
                    "addsig",
                    "--field",
                    "Sig1",
                    "--use-pades",
                    "--timestamp-url",
                    &tsa_url,
                ]);
                if level == "b-lta" {
                    cmd.args(["--with-validation-info", "--use-pades-lta", "--trust"])
                        .arg(pki_dir.join("root.pem"));
                }
                cmd.arg("pemder")
                    .arg("--key")
                    .arg(pki_dir.join("service.key"))
                    .arg("--cert")
                    .arg(pki_dir.join("service.pem"))
                    .arg("--chain")
                    .arg(&chain)
                    .arg("--no-pass")
                    .arg(&input)
                    .arg(dir.path().join("py-out.pdf"));
                let (t, rss, ok) = measured(&mut cmd);
                assert!(ok, "pyhanko sign addsig");
                cli.push(t);
                cli_rss = cli_rss.max(rss);
            }
            let (cli_p50, cli_p95) = percentiles(cli);
            let target = if level == "b-t" { 2.0 } else { 3.0 };
            println!("{name}:");
            // A ratio to hashing a few hundred bytes says nothing: small files get times.
            let ratio = |t: f64| {
                if hash_p50 >= 1.0 {
                    format!("= {:.2} × in-process SHA-256", t / hash_p50)
                } else {
                    "(floor under 1 ms: no ratio)".to_owned()
                }
            };
            println!(
                "  keiyaku in-process   p50 {in_p50:7.1} ms  p95 {in_p95:7.1} ms  {} (target ≤ {target:.0} for 20 MB)",
                ratio(in_p50)
            );
            println!(
                "  keiyaku seal process p50 {pr_p50:7.1} ms  p95 {pr_p95:7.1} ms  = {:.2} × (dgst + cp) (target ≤ 2 for 20 MB)  peak RSS {:.1} MiB (target ≤ file + 50 MiB = {:.1} MiB)",
                pr_p50 / (floor_p50 + copy_p50),
                process_rss as f64 / 1024.0,
                (pdf.len() as f64 / 1048576.0) + 50.0
            );
            println!(
                "  pyHanko in-process   p50 {py_p50:7.1} ms  p95 {:7.1} ms  peak RSS {:.1} MiB  → keiyaku is {:.1} × faster (target ≥ 4)",
                py["p95_ms"].as_f64().unwrap(),
                py["peak_rss_kib"].as_f64().unwrap() / 1024.0,
                py_p50 / in_p50
            );
            println!(
                "  pyHanko CLI          p50 {cli_p50:7.1} ms  p95 {cli_p95:7.1} ms  peak RSS {:.1} MiB",
                cli_rss as f64 / 1024.0
            );
            println!(
                "  keiyaku verify       p50 {ver_p50:7.1} ms  p95 {ver_p95:7.1} ms  {} (every signature and timestamp)",
                ratio(ver_p50)
            );
        }
    }
    // Where a B-LTA extension of the 20 MB file spends its time.
    let (sealed, hash) = sealing.seal(&big, Level::BT, "profile").await.unwrap();
    let t = Instant::now();
    let token = keiyaku_core::ports::Tsa::timestamp(&tsa, &[0u8; 32])
        .await
        .unwrap();
    let tsa_call = t.elapsed();
    let t = Instant::now();
    let crl = LocalPki::crl(&pki.issuing, clock.now()).unwrap();
    let crl_time = t.elapsed();
    let t = Instant::now();
    let prepared = keiyaku_pdf::seal::prepare_long_term(
        &sealed,
        &keiyaku_pdf::seal::ValidationData {
            certs: vec![],
            crls: vec![crl],
            ocsps: vec![],
        },
        token.len() + 1024,
        Some(&hash),
    )
    .unwrap();
    let prepare_time = t.elapsed();
    let t = Instant::now();
    std::hint::black_box(prepared.finish_revision(&token).unwrap());
    let finish_time = t.elapsed();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "\nprofile of one B-LTA extension (20 MB): TSA call {:.1} ms, CRL {:.1} ms, DSS + document-timestamp revision (the file is not copied; only the new revision is hashed) {:.1} ms, finish (the revision alone) {:.1} ms",
        ms(tsa_call),
        ms(crl_time),
        ms(prepare_time),
        ms(finish_time)
    );
}
