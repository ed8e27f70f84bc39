//! API Gateway REST proxy events (fixtures in the shape API Gateway sends, with the stage,
//! CloudFront's headers and a spoofed `X-Forwarded-For`) parsed by `lambda_http` and
//! answered by one route's service, and task invocations as Step Functions and EventBridge
//! Scheduler make them, on the local adapters.

use std::sync::Arc;

use axum::body::to_bytes;
use keiyaku_core::Services;
use keiyaku_lambda::http::{EventError, api_request, route_service};
use serde_json::Value;
use tower::ServiceExt;

fn event(name: &str) -> lambda_http::Request {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    lambda_http::request::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// The services of a fresh data dir, reached at https://keiyaku.example.jp.
fn services(dir: &tempfile::TempDir) -> Arc<Services> {
    let options = keiyaku_server::ServeOptions {
        addr: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().join("data"),
        public_url: None,
        smtp_url: None,
        max_document_bytes: 20 << 20,
        statemachines: None,
        public_tsa: None,
        trusted_proxies: Vec::new(),
        tls: None,
    };
    let clock = Arc::new(keiyaku_core::clock::SystemClock);
    keiyaku_server::open_services(
        &options,
        "https://keiyaku.example.jp",
        clock,
        &keiyaku_server::Seams::default(),
    )
    .unwrap()
    .0
}

async fn answer(services: Arc<Services>, route: &str, fixture: &str) -> (u16, Value) {
    let table = keiyaku_core::routes::ROUTES
        .iter()
        .find(|r| r.name == route);
    let handler = keiyaku_api::method_router(table.unwrap()).unwrap();
    let response = route_service(services, route, handler)
        .unwrap()
        .oneshot(event(fixture))
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = to_bytes(response.into_body(), 1 << 22).await.unwrap();
    (status, serde_json::from_slice(&body).unwrap())
}

#[tokio::test]
async fn a_route_answers_its_event_with_the_stage_left_out_of_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let (status, body) = answer(services(&dir), "openapi", "get-openapi.json").await;
    assert_eq!(status, 200);
    assert!(body["openapi"].as_str().unwrap().starts_with("3.1"));
}

#[tokio::test]
async fn a_post_with_a_json_body_reaches_its_handler() {
    let dir = tempfile::tempdir().unwrap();
    let (status, body) = answer(services(&dir), "password_check", "post-password-check.json").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["acceptable"], false, "{body}");
}

/// A function serves its own route only: another route's event is answered 404 as the API
/// answers any unknown path; an anonymous list is 401 with the API's error body.
#[tokio::test]
async fn other_routes_are_not_served_and_errors_keep_the_api_s_shape() {
    let dir = tempfile::tempdir().unwrap();
    let services = services(&dir);
    let (status, body) = answer(services.clone(), "get_me", "get-openapi.json").await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found");
    let (status, body) = answer(
        services.clone(),
        "list_documents",
        "get-documents-anonymous.json",
    )
    .await;
    assert_eq!(status, 401, "{body}");
    assert!(body["error"]["code"].is_string());
    let (status, body) = answer(services, "openapi", "no-source-ip.json").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "bad_event");
}

/// The client address is API Gateway's `sourceIp`, not `X-Forwarded-For` or CloudFront's
/// viewer header (both set by the fixture to another address); the query survives.
#[tokio::test]
async fn the_client_address_is_the_request_context_s() {
    let request = api_request(event("get-documents-anonymous.json"), None).unwrap();
    assert_eq!(request.uri().path(), "/api/v1/documents");
    let query = request.uri().query().unwrap();
    assert!(query.contains("status=completed"), "{query}");
    let addr = request
        .extensions()
        .get::<keiyaku_api::extract::ClientAddr>()
        .unwrap();
    assert_eq!(addr.0.to_string(), "203.0.113.7");
    assert_eq!(
        api_request(event("no-source-ip.json"), None).unwrap_err(),
        EventError::NoClientAddress
    );
}

fn invocation(payload: Value) -> lambda_http::lambda_runtime::LambdaEvent<Value> {
    lambda_http::lambda_runtime::LambdaEvent::new(payload, Default::default())
}

/// A task's failure reaches Step Functions as a function error whose `errorType` is what the
/// machine matches, and whose message says what was wrong; a job runs.
#[tokio::test]
async fn tasks_fail_with_the_error_names_the_machine_matches() {
    use keiyaku_lambda::task::{run_job, run_task};
    use serde_json::json;
    let dir = tempfile::tempdir().unwrap();
    let services = services(&dir);
    let ids = json!({ "team_id": "t1", "document_id": "d1", "send": 1 });
    let e = run_task(
        &services,
        keiyaku_lambda::task_handler!(next_step),
        invocation(ids.clone()),
    )
    .await
    .unwrap_err();
    assert_eq!(e.error_type, "Keiyaku.NonRetryable");
    assert!(e.error_message.contains("phase"), "{}", e.error_message);
    let e = run_task(
        &services,
        keiyaku_lambda::task_handler!(seal),
        invocation(json!("not an object")),
    )
    .await
    .unwrap_err();
    assert_eq!(e.error_type, "Keiyaku.NonRetryable");
    let mut payload = ids;
    payload["phase"] = "approval".into();
    let e = run_task(
        &services,
        keiyaku_lambda::task_handler!(next_step),
        invocation(payload),
    )
    .await
    .unwrap_err();
    assert_eq!(
        e.error_type, "Keiyaku.NonRetryable",
        "a document that does not exist will not appear by retrying"
    );
    let e = run_job(&services, invocation(json!({ "job": "no_such_job" })))
        .await
        .unwrap_err();
    assert_eq!(e.error_type, "Keiyaku.NonRetryable", "{}", e.error_message);
    assert_eq!(
        run_job(&services, invocation(json!({ "job": "housekeeping" })))
            .await
            .unwrap(),
        Value::Null
    );
}

const SECRET: &str = "front-door-secret-0123456789abcdef";

/// Behind CloudFront, a request must carry the origin secret CloudFront adds (else 403 with
/// the API's error body), and its client is CloudFront's viewer address — not API
/// Gateway's `sourceIp` (CloudFront's edge), not `X-Forwarded-For`.
#[tokio::test]
async fn behind_cloudfront_the_secret_is_required_and_the_viewer_is_the_client() {
    let request =
        api_request(event("get-documents-through-cloudfront.json"), Some(SECRET)).unwrap();
    let addr = request
        .extensions()
        .get::<keiyaku_api::extract::ClientAddr>()
        .unwrap();
    assert_eq!(addr.0.to_string(), "198.51.100.99");
    for (fixture, secret) in [
        (
            "get-documents-through-cloudfront.json",
            "another-secret-0123456789abcdefgh",
        ),
        ("get-openapi.json", SECRET),
    ] {
        assert_eq!(
            api_request(event(fixture), Some(secret)).unwrap_err(),
            EventError::NotThroughFrontDoor,
            "{fixture}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let mut guarded = (*services(&dir)).clone();
    guarded.config.origin_secret = Some(SECRET.into());
    let (status, body) = answer(Arc::new(guarded.clone()), "openapi", "get-openapi.json").await;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["code"], "not_through_front_door");
    let (status, _) = answer(
        Arc::new(guarded),
        "list_documents",
        "get-documents-through-cloudfront.json",
    )
    .await;
    assert_eq!(
        status, 401,
        "through the front door, the route itself answers"
    );
}
