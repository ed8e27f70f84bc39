//! The function binaries as Lambda runs them: started with only their environment, behind
//! a Runtime API (`keiyaku_tests::lambda`), answering API Gateway events with streamed
//! responses and workflow invocations with payloads or the errors the machine matches; a
//! misconfigured one stops at start naming the variable.

use keiyaku_tests::lambda::{Answer, LambdaFunction, function_binary};
use serde_json::{Value, json};

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/../shared/lambda/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn public_url() -> (&'static str, String) {
    ("KEIYAKU_PUBLIC_URL", "https://keiyaku.example.jp".into())
}

/// The streamed answer's status and JSON body.
fn streamed(answer: Answer) -> (u64, Value) {
    match answer {
        Answer::Stream { prelude, body } => (
            prelude["statusCode"].as_u64().unwrap(),
            serde_json::from_slice(&body).unwrap(),
        ),
        other => panic!("not a streamed answer: {other:?}"),
    }
}

#[tokio::test]
async fn a_route_function_streams_its_answer_and_guards_its_front_door() {
    let open = LambdaFunction::start("openapi", &[public_url()]).await;
    let (status, body) = streamed(open.invoke(fixture("get-openapi.json")).await);
    assert_eq!(status, 200);
    assert!(body["openapi"].as_str().unwrap().starts_with("3.1"));
    // A second event on the same (warm) process.
    let (status, _) = streamed(open.invoke(fixture("get-openapi.json")).await);
    assert_eq!(status, 200);

    let guarded = LambdaFunction::start(
        "openapi",
        &[
            public_url(),
            (
                "KEIYAKU_ORIGIN_SECRET",
                "front-door-secret-0123456789abcdef".into(),
            ),
        ],
    )
    .await;
    let (status, body) = streamed(guarded.invoke(fixture("get-openapi.json")).await);
    assert_eq!(status, 403);
    assert_eq!(body["error"]["code"], "not_through_front_door");
}

#[tokio::test]
async fn a_task_function_fails_with_the_error_the_machine_matches() {
    let url = std::env::var("KEIYAKU_MOTO_URL")
        .expect("KEIYAKU_MOTO_URL names a running moto_server (tests/run starts one on loopback)");
    let task = LambdaFunction::start(
        "task-next-step",
        &[
            public_url(),
            ("KEIYAKU_TABLE", "keiyaku-functions-test".into()),
            ("AWS_ENDPOINT_URL", url),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ],
    )
    .await;
    match task
        .invoke(json!({ "team_id": "t1", "document_id": "d1", "send": 1 }))
        .await
    {
        Answer::Error {
            error_type,
            message,
        } => {
            assert_eq!(error_type, "Keiyaku.NonRetryable");
            assert!(message.contains("phase"), "{message}");
        }
        other => panic!("not an error: {other:?}"),
    }
}

#[tokio::test]
async fn a_misconfigured_function_stops_at_start_naming_the_variable() {
    let out = tokio::task::spawn_blocking(|| {
        std::process::Command::new(function_binary("task-next-step"))
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")
            .env("AWS_LAMBDA_FUNCTION_NAME", "task-next-step")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_REGION", "ap-northeast-1")
            .env("KEIYAKU_PUBLIC_URL", "https://keiyaku.example.jp")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(!out.status.success());
    let said =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("KEIYAKU_TABLE is not set"), "{said}");
    assert!(!said.contains("panicked"), "{said}");
}
