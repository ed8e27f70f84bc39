//! The function binaries as Lambda runs them: started with only their environment, behind
//! a Runtime API (`keiyaku_tests::lambda`), answering API Gateway events with streamed
//! responses and workflow invocations with payloads or the errors the machine matches; a
//! misconfigured one stops at start naming the variable.

use keiyaku_tests::lambda::{Answer, ApiGateway, LambdaFunction, LambdaService, function_binary};
use keiyaku_workflow::TaskHandlers;
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
    // Through the Lambda Invoke API, as the Step Functions stand-in calls it: the function
    // error arrives as the failure the machine's Retry/Catch match.
    let lambda = LambdaService::start().await;
    lambda.add("next_step", task);
    let invoke = keiyaku_server::step_functions::LambdaInvoke::new(&lambda.url).unwrap();
    let failure = invoke
        .invoke(
            "next_step",
            json!({ "team_id": "t1", "document_id": "d1", "send": 1 }),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(failure.error, "Keiyaku.NonRetryable");
    // The cause is the function's error payload, as Step Functions records it; a handler
    // run in process (the local shape) reports the same text.
    let reported: serde_json::Value = serde_json::from_str(&failure.cause).unwrap();
    let message = reported["errorMessage"].as_str().unwrap();
    assert!(message.contains("phase"), "{message}");
    assert_eq!(
        failure,
        keiyaku_workflow::TaskFailure::function_error("Keiyaku.NonRetryable", message)
    );
    let missing = invoke.invoke("no_such_task", json!({}), None).await;
    assert_eq!(
        missing.unwrap_err().error,
        "Lambda.ResourceNotFoundException"
    );
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

/// Requests over HTTP through an API Gateway stand-in to the function processes of their
/// routes, with their storage on moto: what a client of the AWS shape sees, answered by the
/// same handlers as locally; a path no route has is answered as API Gateway does.
#[tokio::test]
async fn requests_reach_their_route_s_function_through_api_gateway() {
    let moto = keiyaku_tests::moto::Moto::new().await;
    let env = vec![
        public_url(),
        ("KEIYAKU_TABLE", moto.table.clone()),
        ("AWS_ENDPOINT_URL", moto.url.clone()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
    ];
    let mut functions = std::collections::HashMap::new();
    for (route, binary) in [
        ("openapi", "openapi"),
        ("password_check", "password-check"),
        ("get_me", "get-me"),
    ] {
        functions.insert(route, LambdaFunction::start(binary, &env).await);
    }
    let gateway = ApiGateway::start(functions).await;
    let http = reqwest::Client::new();

    let r = http
        .get(format!("{}/api/v1/openapi.json", gateway.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: Value = r.json().await.unwrap();
    assert!(body["paths"]["/api/v1/auth/password-check"].is_object());

    let r = http
        .post(format!("{}/api/v1/auth/password-check", gateway.url))
        .header("origin", "https://keiyaku.example.jp")
        .json(&json!({ "password": "password", "email": "hanako@example.jp" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["acceptable"], false, "{body}");

    // A bearer token no session has: the function reads DynamoDB (moto) and refuses it.
    let r = http
        .get(format!("{}/api/v1/me", gateway.url))
        .bearer_auth("no-such-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert!(body["error"]["code"].is_string(), "{body}");

    let r = http
        .get(format!("{}/api/v1/no-such-route", gateway.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["message"], "Missing Authentication Token");
}
