//! Runs the upload check on files: `cargo run -p keiyaku-pdf --example inspect -- a.pdf b.pdf`.

use std::time::Instant;

fn main() {
    for path in std::env::args().skip(1) {
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) => {
                println!("{path}\tunreadable: {error}");
                continue;
            }
        };
        let started = Instant::now();
        let result = keiyaku_pdf::inspect(&bytes);
        let took = started.elapsed();
        match result {
            Ok(info) => println!("{path}\tok\t{took:?}\t{info:?}"),
            Err(error) => println!("{path}\t{}\t{took:?}\t{}", error.code(), error.detail()),
        }
    }
}
