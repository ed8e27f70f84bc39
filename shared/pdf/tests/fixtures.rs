//! Table-driven check of `inspect` over the checked-in fixtures (tests/fixtures/pdf, made by
//! make.py there): each file must give its expected result, quickly, and the hostile ones
//! must not overflow a small stack.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use keiyaku_pdf::{PdfError, XrefKind, inspect, sample};

/// Generous: debug builds on a loaded 2-core machine. A hang or a bomb takes far longer.
const TIME_BOUND: Duration = Duration::from_secs(20);

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/pdf")
}

fn expected() -> Vec<(String, String)> {
    let table = std::fs::read_to_string(fixtures_dir().join("expected.tsv")).unwrap();
    let mut lines = table.lines();
    assert_eq!(lines.next(), Some("file\texpect"));
    lines
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let (file, expect) = line.split_once('\t').expect("two columns");
            (file.to_owned(), expect.to_owned())
        })
        .collect()
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(fixtures_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn outcome(result: &Result<keiyaku_pdf::PdfInfo, PdfError>) -> String {
    match result {
        Ok(_) => "ok".to_owned(),
        Err(error) => error.code().to_owned(),
    }
}

#[test]
fn every_fixture_gives_its_expected_result() {
    let mut failures = Vec::new();
    for (file, expect) in expected() {
        let bytes = read(&file);
        let started = Instant::now();
        let result = inspect(&bytes);
        let took = started.elapsed();
        let got = outcome(&result);
        if got != expect {
            let detail = result
                .as_ref()
                .err()
                .map(PdfError::detail)
                .unwrap_or_default();
            failures.push(format!("{file}: expected {expect}, got {got} ({detail})"));
        }
        if took > TIME_BOUND {
            failures.push(format!("{file}: took {took:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_fixture_file_is_in_the_table() {
    let listed: Vec<String> = expected().into_iter().map(|(file, _)| file).collect();
    for entry in std::fs::read_dir(fixtures_dir()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".pdf") {
            assert!(listed.contains(&name), "{name} is not in expected.tsv");
        }
    }
}

#[test]
fn valid_fixtures_are_described_correctly() {
    let cases = [
        ("valid_table.pdf", XrefKind::Table, 1, 2, "1.7"),
        ("valid_xref_stream.pdf", XrefKind::Stream, 1, 1, "1.7"),
        ("valid_hybrid.pdf", XrefKind::Hybrid, 1, 1, "1.5"),
        ("valid_pdf20.pdf", XrefKind::Table, 1, 1, "2.0"),
        ("incremental_update.pdf", XrefKind::Table, 2, 2, "1.7"),
        ("incremental_xref_stream.pdf", XrefKind::Stream, 2, 2, "1.7"),
        ("absurd_count.pdf", XrefKind::Table, 1, 1, "1.7"),
        ("content_bomb.pdf", XrefKind::Table, 1, 1, "1.7"),
    ];
    for (file, kind, revisions, pages, version) in cases {
        let info = inspect(&read(file)).unwrap_or_else(|e| panic!("{file}: {}", e.detail()));
        assert_eq!(info.xref_kind, kind, "{file}");
        assert_eq!(info.revisions, revisions, "{file}");
        assert_eq!(info.page_count, pages, "{file}");
        assert_eq!(info.version, version, "{file}");
        assert!(!info.certified && !info.signed, "{file}");
    }
}

#[test]
fn hostile_files_do_not_overflow_a_small_stack() {
    let files = [
        "deep_nesting_catalog.pdf",
        "deep_nesting_page.pdf",
        "deep_nesting_objstm.pdf",
        "page_tree_self.pdf",
        "objstm_length_self.pdf",
        "prev_loop.pdf",
    ];
    let handle = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            files
                .iter()
                .map(|file| (*file, outcome(&inspect(&read(file)))))
                .collect::<Vec<_>>()
        })
        .unwrap();
    for (file, got) in handle.join().expect("no stack overflow") {
        assert_ne!(got, "ok", "{file}");
    }
}

/// `qpdf --check` is the external judge of our generated files; skipped (loudly) without it.
#[test]
fn qpdf_accepts_the_samples_and_valid_fixtures() {
    if Command::new("qpdf").arg("--version").output().is_err() {
        eprintln!("qpdf is not installed: skipping the external check");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut files: Vec<PathBuf> = Vec::new();
    for (name, bytes) in [
        ("pages.pdf", sample::pdf_with_pages(12)),
        ("xref_stream.pdf", sample::pdf_with_xref_stream(12)),
        ("sized.pdf", sample::pdf_of_size(1_500_000, 42)),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        files.push(path);
    }
    for (file, expect) in expected() {
        // Bombs would make qpdf inflate a gigabyte; a wrong content /Length is repaired by
        // qpdf with a warning (and deliberately not looked at by inspect).
        if expect == "ok" && !file.contains("bomb") && !file.contains("wrong_length") {
            files.push(fixtures_dir().join(file));
        }
    }
    for path in files {
        let output = Command::new("qpdf")
            .arg("--check")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}: {}{}",
            path.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
