//! A keiyaku server in-process with a test clock and a TSA that can be broken, for the
//! browser tests that move time or break sealing (expired links, dates around midnight UTC,
//! a parked seal; the shipped binary has no such hooks). Prints
//! `{"url":…,"data_dir":…,"now":…}` as its first line, then takes one command per line on
//! stdin and answers each with one line: `advance SECONDS` moves the clock, runs what fell
//! due (scheduled jobs and the workflow's timers), waits for the workflow and prints the new
//! time; `now` prints the time; `tsa broken` / `tsa working` break or mend the TSA. Ends
//! with stdin. Part of the tests crate, never shipped.

use keiyaku_core::clock::Clock;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use keiyaku_tests::{FlakyTsa, TestApp};
use time::format_description::well_known::Rfc3339;

fn now(app: &TestApp) -> String {
    app.clock.now().format(&Rfc3339).unwrap_or_default()
}

#[tokio::main]
async fn main() {
    let broken = Arc::new(AtomicBool::new(false));
    let app = TestApp::spawn_with_seams(FlakyTsa::seams(broken.clone())).await;
    let hello = serde_json::json!({
        "url": app.url,
        "data_dir": app.data_dir(),
        "now": now(&app),
    });
    println!("{hello}");
    // stdin is read on a thread of its own, so the server keeps answering meanwhile.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    while let Some(line) = rx.recv().await {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["advance", seconds] => match seconds.parse::<i64>() {
                Ok(s) if s >= 0 => {
                    app.clock.advance(time::Duration::seconds(s));
                    app.fire_scheduled().await;
                    if let Err(e) = app.runner().fire_due_timers().await {
                        println!("error: the workflow's timers: {e}");
                        continue;
                    }
                    app.settle().await;
                    println!("{}", now(&app));
                }
                _ => println!("error: advance takes a whole number of seconds, not {seconds:?}"),
            },
            ["now"] => println!("{}", now(&app)),
            ["tsa", state @ ("broken" | "working")] => {
                broken.store(*state == "broken", Ordering::SeqCst);
                println!("{}", now(&app));
            }
            _ => println!(
                "error: unknown command {line:?} (advance SECONDS | now | tsa broken | tsa working)"
            ),
        }
    }
    app.stop().await;
}
