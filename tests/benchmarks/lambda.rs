//! The Lambda functions as they ship (`[profile.lambda]`, built by `tests/lambda-bench`
//! into `KEIYAKU_FUNCTIONS_DIR`): every bootstrap's size; for a read route
//! (`get_document`), the upload finalisation (`create_document`) and the seal task, the
//! start-up — process start to its first request for work from the Runtime API — beside a
//! hello-world `lambda_http` function's in the same profile (the floor), and the first and
//! the warm invocation against moto, taken from a contract run through the AWS shape's
//! stand-ins (`keiyaku_tests::aws_shape`).

use std::path::PathBuf;
use std::time::Duration;

use keiyaku_tests::aws_shape::{AwsShape, eventually, status_of};
use keiyaku_tests::lambda::LambdaFunction;
use serde_json::{Value, json};

/// Start-ups measured per function.
const STARTS: usize = 15;

/// The three functions measured: (what, route or handler, binary).
const MEASURED: [(&str, &str, &str); 3] = [
    ("read route", "get_document", "get-document"),
    ("upload finalisation", "create_document", "create-document"),
    ("seal task", "seal", "task-seal"),
];

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let dir = PathBuf::from(
        std::env::var_os("KEIYAKU_FUNCTIONS_DIR")
            .expect("KEIYAKU_FUNCTIONS_DIR names the built functions (tests/lambda-bench)"),
    );
    let target = std::env::var("KEIYAKU_LAMBDA_TARGET").unwrap_or_else(|_| "the host's".into());
    println!("bootstraps ({target} target, [profile.lambda]):");
    let mut sizes: Vec<(String, u64)> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let keep = !name.contains('.') && !name.starts_with("keiyaku");
            keep.then(|| (name, e.metadata().map(|m| m.len()).unwrap_or(0)))
        })
        .collect();
    sizes.sort();
    for (name, size) in &sizes {
        println!("  {name:<22} {:>6.2} MB", *size as f64 / 1e6);
    }
    let hello = dir.join("examples/hello");
    let hello_size = std::fs::metadata(&hello).map(|m| m.len()).unwrap_or(0);
    println!(
        "  {:<22} {:>6.2} MB (hello-world lambda_http, the floor)",
        "hello",
        hello_size as f64 / 1e6
    );

    // The shape: the measured routes behind the gateway, every task function, moto.
    // The measured functions from the benchmark's profile, the others as tests/run built them.
    let shape = AwsShape::start_with(
        &[
            "signup",
            "verify_email",
            "login",
            "create_upload",
            "create_document",
            "send_document",
            "get_document",
            "recipient_session",
            "recipient_file",
            "recipient_agree",
        ],
        |name| {
            if MEASURED.iter().any(|(_, _, binary)| *binary == name) {
                dir.join(name)
            } else {
                keiyaku_tests::lambda::function_binary(name)
            }
        },
    )
    .await;

    // Measured once every process of the shape has started, in turns, so that what else
    // the machine does weighs on each alike.
    shape.ready().await;
    println!("\nstart-up, process start to its first request for work (median of {STARTS}):");
    let mut runs: Vec<Vec<Duration>> = vec![Vec::new(); MEASURED.len() + 1];
    for _ in 0..STARTS {
        let floor = LambdaFunction::start_binary(&hello, "hello", &shape.env).await;
        runs[0].push(floor.start_up().await);
        for (i, (_, _, binary)) in MEASURED.iter().enumerate() {
            let function =
                LambdaFunction::start_binary(&dir.join(binary), binary, &shape.env).await;
            runs[i + 1].push(function.start_up().await);
        }
    }
    let floor = median(runs[0].clone());
    println!("  {:<22} {:>9}", "hello (floor)", ms(floor));
    for (i, (what, _, binary)) in MEASURED.iter().enumerate() {
        let size = sizes.iter().find(|(n, _)| n == binary).map_or(0, |s| s.1);
        let took = median(runs[i + 1].clone());
        println!(
            "  {binary:<22} {:>9}  {:.2}× the floor  {:.2} MB  ({what}; target ≤ 2×, ≤ 10 MB)",
            ms(took),
            took.as_secs_f64() / floor.as_secs_f64(),
            size as f64 / 1e6,
        );
    }

    // A contract through the shape: two uploads, two reads, sent to one recipient who
    // agrees (two seals).
    let sender = shape.account("taro@example.jp", "山田 太郎").await;
    let mut ids = Vec::new();
    for title in ["業務委託契約書", "秘密保持契約書"] {
        let created = sender
            .upload(
                &format!("{title}.pdf"),
                keiyaku_pdf::sample::pdf_with_pages(2),
                title,
            )
            .await;
        assert_eq!(created.status(), 201);
        let created: Value = created.json().await.unwrap();
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    let id = &ids[0];
    for _ in 0..2 {
        assert_eq!(status_of(&sender, id).await, "draft");
    }
    let r = sender
        .post_json(
            &format!("/api/v1/documents/{id}/send"),
            json!({ "recipients": [{ "name": "山田 花子", "email": "hanako@example.jp" }] }),
        )
        .await;
    assert_eq!(r.status(), 200);
    let link = shape.mail_to("hanako@example.jp", "/r/#").await;
    shape.agree(&link, None).await;
    eventually("the document to complete", async || {
        (status_of(&sender, id).await == "completed").then_some(())
    })
    .await;

    println!("\ninvocations against moto (event handed over to answer):");
    for (what, name, binary) in MEASURED {
        let times = match shape.gateway.function(name) {
            Some(f) => f.invocations(),
            None => shape.lambda.function(name).unwrap().invocations(),
        };
        println!(
            "  {binary:<22} first {:>9}  warm {:>9}  ({what}, {} invocations)",
            ms(times[0]),
            ms(times[1]),
            times.len()
        );
    }
    shape.stop().await;
}
