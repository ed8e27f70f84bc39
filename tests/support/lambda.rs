//! A stand-in for the Lambda Runtime API, so the function binaries of `functions/` run here
//! as they run on Lambda: a process started with `AWS_LAMBDA_RUNTIME_API` pointing at this
//! server polls it for events, and answers each — buffered, streamed
//! (`Lambda-Runtime-Function-Response-Mode: streaming`: a JSON prelude, eight NUL bytes,
//! then the body) or as a function error (`errorType`, `errorMessage`). Only what the
//! runtime of `lambda_runtime` uses is served.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

/// What a function answered one invocation with.
#[derive(Debug)]
pub enum Answer {
    /// A buffered answer: the payload as JSON.
    Payload(Value),
    /// A streamed HTTP answer: the prelude (status, headers) and the whole body.
    Stream {
        /// `{"statusCode": …, "headers": …, "cookies": …}`.
        prelude: Value,
        /// What followed the prelude.
        body: Vec<u8>,
    },
    /// A function error.
    Error {
        /// `errorType`.
        error_type: String,
        /// `errorMessage`.
        message: String,
    },
}

/// An event and where its answer goes.
type Invocation = (Value, oneshot::Sender<Answer>);

#[derive(Default)]
struct Inner {
    waiting: HashMap<String, oneshot::Sender<Answer>>,
    next_id: u64,
}

#[derive(Clone)]
struct Runtime {
    events: Arc<tokio::sync::Mutex<mpsc::Receiver<Invocation>>>,
    inner: Arc<Mutex<Inner>>,
    /// When the function first asked for work: the end of its start-up.
    first_poll: Arc<std::sync::OnceLock<std::time::Instant>>,
    polled: Arc<tokio::sync::Notify>,
}

/// One function process behind its own Runtime API.
pub struct LambdaFunction {
    events: mpsc::Sender<Invocation>,
    child: std::process::Child,
    server: tokio::task::JoinHandle<()>,
    spawned: std::time::Instant,
    first_poll: Arc<std::sync::OnceLock<std::time::Instant>>,
    polled: Arc<tokio::sync::Notify>,
    invocations: Mutex<Vec<std::time::Duration>>,
}

/// The function binary `name` (built beside the test binaries by `cargo build --workspace`).
pub fn function_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap();
    // Test binaries live in target/debug/deps, other binaries in target/debug.
    let dir = if dir.ends_with("deps") {
        dir.parent().unwrap()
    } else {
        dir
    };
    let bin = dir.join(name);
    assert!(
        bin.exists(),
        "{bin:?} missing: build the workspace first (tests/run does)"
    );
    bin
}

async fn next(State(rt): State<Runtime>) -> Response {
    if rt.first_poll.set(std::time::Instant::now()).is_ok() {
        rt.polled.notify_waiters();
    }
    let Some((event, answer)) = rt.events.lock().await.recv().await else {
        // The test is over: no more events; the function waits here until it is killed.
        return std::future::pending().await;
    };
    let id = {
        let mut inner = rt.inner.lock().unwrap();
        inner.next_id += 1;
        let id = format!("req-{}", inner.next_id);
        inner.waiting.insert(id.clone(), answer);
        id
    };
    let deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        + 60_000;
    (
        [
            ("lambda-runtime-aws-request-id", id),
            ("lambda-runtime-deadline-ms", deadline.to_string()),
            (
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:ap-northeast-1:123456789012:function:keiyaku-test".into(),
            ),
            (
                "lambda-runtime-trace-id",
                "Root=1-00000000-000000000000000000000000".into(),
            ),
            ("content-type", "application/json".into()),
        ],
        event.to_string(),
    )
        .into_response()
}

fn take(rt: &Runtime, id: &str) -> Option<oneshot::Sender<Answer>> {
    rt.inner.lock().unwrap().waiting.remove(id)
}

async fn response(
    State(rt): State<Runtime>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let Some(sender) = take(&rt, &id) else {
        return StatusCode::BAD_REQUEST;
    };
    let streaming = headers
        .get("lambda-runtime-function-response-mode")
        .is_some_and(|v| v == "streaming");
    let answer = if streaming {
        let split = body.windows(8).position(|w| w == [0u8; 8]);
        match split {
            Some(at) => Answer::Stream {
                prelude: serde_json::from_slice(&body[..at]).unwrap_or(Value::Null),
                body: body[at + 8..].to_vec(),
            },
            None => Answer::Error {
                error_type: "Runtime.MalformedStream".into(),
                message: "no prelude separator".into(),
            },
        }
    } else {
        Answer::Payload(serde_json::from_slice(&body).unwrap_or(Value::Null))
    };
    let _ = sender.send(answer);
    StatusCode::ACCEPTED
}

async fn error(State(rt): State<Runtime>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    let Some(answer) = take(&rt, &id) else {
        return StatusCode::BAD_REQUEST;
    };
    let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let _ = answer.send(Answer::Error {
        error_type: value["errorType"].as_str().unwrap_or_default().to_owned(),
        message: value["errorMessage"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    });
    StatusCode::ACCEPTED
}

impl LambdaFunction {
    /// Starts function binary `name` with `env` (its configuration), behind a Runtime API
    /// of its own on loopback.
    pub async fn start(name: &str, env: &[(&str, String)]) -> LambdaFunction {
        Self::start_binary(&function_binary(name), name, env).await
    }

    /// Starts the function binary at `path` as function `name`.
    pub async fn start_binary(
        path: &std::path::Path,
        name: &str,
        env: &[(&str, String)],
    ) -> LambdaFunction {
        let (events, receiver) = mpsc::channel(1);
        let rt = Runtime {
            events: Arc::new(tokio::sync::Mutex::new(receiver)),
            inner: Arc::default(),
            first_poll: Arc::default(),
            polled: Arc::default(),
        };
        let (first_poll, polled) = (rt.first_poll.clone(), rt.polled.clone());
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .with_state(rt);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let spawned = std::time::Instant::now();
        let child = std::process::Command::new(path)
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_REGION", "ap-northeast-1")
            .envs(env.iter().map(|(k, v)| (k.to_string(), v.clone())))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .unwrap();
        LambdaFunction {
            events,
            child,
            server,
            spawned,
            first_poll,
            polled,
            invocations: Mutex::default(),
        }
    }

    /// Its start-up: from the process's start to its first request for work (waits for it,
    /// at most a minute).
    pub async fn start_up(&self) -> std::time::Duration {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let polled = self.polled.notified();
            tokio::pin!(polled);
            polled.as_mut().enable();
            if let Some(at) = self.first_poll.get() {
                return *at - self.spawned;
            }
            tokio::time::timeout_at(deadline, polled)
                .await
                .expect("the function asks for work within a minute");
        }
    }

    /// Invokes the function with `event` and waits (at most a minute) for its answer.
    pub async fn invoke(&self, event: Value) -> Answer {
        let (tx, rx) = oneshot::channel();
        let sent = std::time::Instant::now();
        self.events.send((event, tx)).await.unwrap();
        let answer = tokio::time::timeout(std::time::Duration::from_secs(60), rx)
            .await
            .expect("the function answers within a minute")
            .expect("the function answers");
        self.invocations.lock().unwrap().push(sent.elapsed());
        answer
    }

    /// How long each invocation so far took, from the event's handing over to the answer.
    pub fn invocations(&self) -> Vec<std::time::Duration> {
        self.invocations.lock().unwrap().clone()
    }
}

impl Drop for LambdaFunction {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.server.abort();
    }
}

/// The Lambda service's `Invoke` API (`POST /2015-03-31/functions/{name}/invocations`) in
/// front of function processes, as Step Functions calls it: a payload answers 200 with the
/// payload; a function error answers 200 with `X-Amz-Function-Error: Unhandled` and
/// `{errorType, errorMessage}`; a function nobody added, 404 `ResourceNotFoundException`.
pub struct LambdaService {
    /// Where it listens (`http://127.0.0.1:<port>`).
    pub url: String,
    functions: Arc<Mutex<HashMap<String, Arc<LambdaFunction>>>>,
    server: tokio::task::JoinHandle<()>,
}

type Registry = Arc<Mutex<HashMap<String, Arc<LambdaFunction>>>>;

async fn invoke_api(
    State(functions): State<Registry>,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let function = functions.lock().unwrap().get(&name).cloned();
    let Some(function) = function else {
        return (
            StatusCode::NOT_FOUND,
            [("x-amzn-errortype", "ResourceNotFoundException")],
            axum::Json(serde_json::json!({ "Type": "User", "Message": format!("Function not found: {name}") })),
        )
            .into_response();
    };
    let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    match function.invoke(event).await {
        Answer::Payload(payload) => (StatusCode::OK, axum::Json(payload)).into_response(),
        Answer::Error {
            error_type,
            message,
        } => (
            StatusCode::OK,
            [("x-amz-function-error", "Unhandled")],
            axum::Json(serde_json::json!({ "errorType": error_type, "errorMessage": message })),
        )
            .into_response(),
        Answer::Stream { .. } => (
            StatusCode::BAD_GATEWAY,
            [("x-amzn-errortype", "ServiceException")],
            "a streamed answer to a buffered invocation",
        )
            .into_response(),
    }
}

impl LambdaService {
    /// Serves no function yet (see [`LambdaService::add`]) on a loopback port.
    pub async fn start() -> LambdaService {
        let functions: Registry = Arc::default();
        let app = Router::new()
            .route("/2015-03-31/functions/{name}/invocations", post(invoke_api))
            .with_state(functions.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        LambdaService {
            url,
            functions,
            server,
        }
    }

    /// Every function served.
    pub fn functions(&self) -> impl Iterator<Item = Arc<LambdaFunction>> {
        let all: Vec<_> = self.functions.lock().unwrap().values().cloned().collect();
        all.into_iter()
    }

    /// The function served under `name`.
    pub fn function(&self, name: &str) -> Option<Arc<LambdaFunction>> {
        self.functions.lock().unwrap().get(name).cloned()
    }

    /// Serves `function` under `name`.
    pub fn add(&self, name: &str, function: LambdaFunction) {
        self.functions
            .lock()
            .unwrap()
            .insert(name.to_owned(), Arc::new(function));
    }
}

impl Drop for LambdaService {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// API Gateway (a REST API) in front of function processes: each HTTP request becomes the
/// REST proxy event of its route — matched by the route table, which `template.yaml`'s paths
/// equal — for that route's function, and the function's streamed answer becomes the HTTP
/// response. An unknown route is answered as API Gateway does (403, "Missing
/// Authentication Token"); a function error as a 502.
pub struct ApiGateway {
    /// Where it listens (`http://127.0.0.1:<port>`).
    pub url: String,
    functions: Functions,
    server: tokio::task::JoinHandle<()>,
}

type Functions = Arc<HashMap<&'static str, LambdaFunction>>;

/// The route of `method` `path`, and the values of its path parameters.
fn route_of(
    method: &str,
    path: &str,
) -> Option<(
    &'static keiyaku_core::routes::Route,
    HashMap<String, String>,
)> {
    use keiyaku_core::routes::{ROUTES, Shape};
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    ROUTES
        .iter()
        .filter(|r| r.shape == Shape::Both && r.method == method)
        .find_map(|route| {
            let template: Vec<&str> = route.path.trim_start_matches('/').split('/').collect();
            if template.len() != segments.len() {
                return None;
            }
            let mut parameters = HashMap::new();
            for (t, s) in template.iter().zip(&segments) {
                match t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                    Some(name) if !s.is_empty() => {
                        parameters.insert(name.to_owned(), (*s).to_owned());
                    }
                    Some(_) => return None,
                    None if t == s => {}
                    None => return None,
                }
            }
            Some((route, parameters))
        })
}

async fn gateway(
    State(functions): State<Functions>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    request: axum::extract::Request,
) -> Response {
    use base64::Engine;
    let (parts, body) = request.into_parts();
    let method = parts.method.as_str().to_owned();
    let path = parts.uri.path().to_owned();
    let Some((route, parameters)) = route_of(&method, &path) else {
        return (
            StatusCode::FORBIDDEN,
            axum::Json(serde_json::json!({ "message": "Missing Authentication Token" })),
        )
            .into_response();
    };
    let Some(function) = functions.get(route.name) else {
        return (
            StatusCode::BAD_GATEWAY,
            format!("no function for {}", route.name),
        )
            .into_response();
    };
    let body = axum::body::to_bytes(body, 10 << 20)
        .await
        .unwrap_or_default();
    let mut headers = serde_json::Map::new();
    let mut multi = serde_json::Map::new();
    for (name, value) in &parts.headers {
        let value = value.to_str().unwrap_or_default().to_owned();
        headers.insert(name.to_string(), Value::String(value.clone()));
        multi
            .entry(name.to_string())
            .or_insert_with(|| Value::Array(Vec::new()))
            .as_array_mut()
            .unwrap()
            .push(Value::String(value));
    }
    let query: HashMap<String, String> = parts
        .uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let text = std::str::from_utf8(&body).ok().filter(|_| {
        parts
            .headers
            .get("content-type")
            .is_none_or(|v| v != "application/pdf")
    });
    let event = serde_json::json!({
        "resource": route.path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": multi,
        "queryStringParameters": if query.is_empty() { Value::Null } else { serde_json::json!(query) },
        "multiValueQueryStringParameters": if query.is_empty() { Value::Null } else {
            Value::Object(query.iter().map(|(k, v)| (k.clone(), serde_json::json!([v]))).collect())
        },
        "pathParameters": if parameters.is_empty() { Value::Null } else { serde_json::json!(parameters) },
        "stageVariables": Value::Null,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "keiyakulocal",
            "httpMethod": method,
            "identity": { "sourceIp": peer.ip().to_string() },
            "path": format!("/api{path}"),
            "protocol": "HTTP/1.1",
            "requestId": format!("gw-{}", REQUESTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)),
            "resourcePath": route.path,
            "stage": "api",
        },
        "body": match (&text, body.is_empty()) {
            (_, true) => Value::Null,
            (Some(text), false) => Value::String((*text).to_owned()),
            (None, false) => Value::String(base64::engine::general_purpose::STANDARD.encode(&body)),
        },
        "isBase64Encoded": text.is_none() && !body.is_empty(),
    });
    match function.invoke(event).await {
        Answer::Stream { prelude, body } => {
            let status = prelude["statusCode"]
                .as_u64()
                .and_then(|s| StatusCode::from_u16(s as u16).ok());
            let mut response = Response::new(axum::body::Body::from(body));
            *response.status_mut() = status.unwrap_or(StatusCode::BAD_GATEWAY);
            for (name, value) in prelude["headers"].as_object().into_iter().flatten() {
                if let (Ok(name), Some(Ok(value))) = (
                    axum::http::HeaderName::try_from(name.as_str()),
                    value.as_str().map(axum::http::HeaderValue::from_str),
                ) {
                    response.headers_mut().append(name, value);
                }
            }
            for cookie in prelude["cookies"].as_array().into_iter().flatten() {
                if let Some(Ok(value)) = cookie.as_str().map(axum::http::HeaderValue::from_str) {
                    response.headers_mut().append("set-cookie", value);
                }
            }
            response
        }
        other => (StatusCode::BAD_GATEWAY, format!("{other:?}")).into_response(),
    }
}

/// The gateway's request ids, one per request.
static REQUESTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl ApiGateway {
    /// Serves `functions` (by route name) on a loopback port.
    pub async fn start(functions: HashMap<&'static str, LambdaFunction>) -> ApiGateway {
        let functions: Functions = Arc::new(functions);
        let app = Router::new()
            .fallback(gateway)
            .with_state(functions.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let _ = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await;
        });
        ApiGateway {
            url,
            functions,
            server,
        }
    }

    /// Every route's function.
    pub fn functions(&self) -> impl Iterator<Item = &LambdaFunction> {
        self.functions.values()
    }

    /// The function of route `route`.
    pub fn function(&self, route: &str) -> Option<&LambdaFunction> {
        self.functions.get(route)
    }
}

impl Drop for ApiGateway {
    fn drop(&mut self) {
        self.server.abort();
    }
}
