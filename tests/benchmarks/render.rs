//! Page-image benchmark: the time to draw a page as a PNG, 1,000 pixels wide, for the
//! Japanese fixture (a non-embedded Japanese font, drawn with the machine's) and for an
//! image-heavy page (one megabyte of image samples), against poppler's `pdftoppm` drawing
//! the same page at the same width to PNG, run as a process (its start-up, a few
//! milliseconds, is counted with it; ours runs in-process). Prints medians; not a test.

use std::process::Command;
use std::time::{Duration, Instant};

use keiyaku_pdf::render::{Fonts, page_png};

const RUNS: usize = 9;
const WIDTH: u32 = 1000;

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1000.0
}

fn main() {
    let fonts = Fonts::from_system();
    assert!(
        fonts.has_japanese(),
        "a Japanese font is installed (apt-get install fonts-ipafont-gothic)"
    );
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("Japanese fixture", keiyaku_pdf::sample::japanese_pdf()),
        (
            "image-heavy page",
            keiyaku_pdf::sample::pdf_of_size(1 << 20, 7),
        ),
    ];
    println!("page drawn {WIDTH} px wide as PNG, median of {RUNS}:");
    for (what, pdf) in cases {
        let path = dir.path().join("page.pdf");
        std::fs::write(&path, &pdf).unwrap();
        let mut ours = Vec::new();
        let mut poppler = Vec::new();
        let mut bytes = 0;
        for _ in 0..RUNS {
            let started = Instant::now();
            bytes = page_png(&pdf, 1, WIDTH, &fonts).unwrap().len();
            ours.push(started.elapsed());
            let started = Instant::now();
            let status = Command::new("pdftoppm")
                .args([
                    "-png",
                    "-f",
                    "1",
                    "-l",
                    "1",
                    "-scale-to-x",
                    &WIDTH.to_string(),
                ])
                .args(["-scale-to-y", "-1"])
                .arg(&path)
                .arg(dir.path().join("poppler"))
                .status()
                .expect("pdftoppm (poppler-utils) runs");
            assert!(status.success());
            poppler.push(started.elapsed());
        }
        let (ours, poppler) = (median(ours), median(poppler));
        println!(
            "  {what:<18} keiyaku {ours:>7.1} ms   pdftoppm {poppler:>7.1} ms   {:.2}× ({} KB PNG)",
            ours / poppler,
            bytes / 1000
        );
    }
}
