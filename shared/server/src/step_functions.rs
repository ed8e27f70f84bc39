//! A stand-in for AWS Step Functions on one machine: keiyaku's own durable executor (the
//! one the local shape runs) served with the part of Step Functions' API that the AWS
//! shape's Workflow adapter speaks — awsJson 1.0 `StartExecution`, `SendTaskSuccess`,
//! `SendTaskFailure`, `SendTaskHeartbeat`, `StopExecution`, `DescribeExecution`,
//! `GetExecutionHistory`, `ListExecutions` — invoking each task's Lambda function through
//! the Lambda `Invoke` API of an endpoint the operator names (a local Lambda runtime).
//! The AWS shape's functions run whole contracts with it where there is no AWS (the
//! life-cycle test does), and operators get a Step Functions to point `aws stepfunctions`
//! at (`keiyaku step-functions`). Executions are kept in a SQLite file; the machine is the
//! contract machine, each task naming the Lambda function of its handler (`seal`,
//! `next_step`, …, as `statemachines/tasks.json` lists them). Requests are not
//! authenticated: it listens on loopback only.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use keiyaku_core::clock::{Clock, SystemClock};
use keiyaku_local::SqliteItemStore;
use keiyaku_states::Status;
use keiyaku_workflow::{ExecutionId, Runner, TaskFailure, TaskHandlers, WorkflowError};
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::sync::oneshot;

use crate::StartError;

/// The longest a Lambda function runs (its 15-minute limit): an invocation waits that long.
const LAMBDA_TIMEOUT: Duration = Duration::from_secs(900);

/// Task handlers that are Lambda functions behind the `Invoke` API at `endpoint`: each
/// handler's function is named by the handler. A function error becomes the task failure
/// its `errorType` names; a call the Lambda service refuses, the error Step Functions
/// reports for it (`Lambda.ResourceNotFoundException`, `Lambda.ServiceException`, …).
pub struct LambdaInvoke {
    endpoint: String,
    http: reqwest::Client,
}

impl LambdaInvoke {
    /// Functions at `endpoint` (`http://127.0.0.1:<port>`).
    pub fn new(endpoint: &str) -> Result<LambdaInvoke, StartError> {
        let url = url::Url::parse(endpoint)
            .map_err(|e| StartError::Config(format!("the Lambda endpoint {endpoint:?}: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(StartError::Config(format!(
                "the Lambda endpoint {endpoint:?} is not an http(s) URL"
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(LAMBDA_TIMEOUT)
            .build()
            .map_err(|e| StartError::Config(format!("the Lambda client: {e}")))?;
        Ok(LambdaInvoke {
            endpoint: url.as_str().trim_end_matches('/').to_owned(),
            http,
        })
    }
}

#[async_trait]
impl TaskHandlers for LambdaInvoke {
    async fn invoke(
        &self,
        handler: &str,
        payload: Value,
        _token: Option<String>,
    ) -> Result<Value, TaskFailure> {
        let url = format!(
            "{}/2015-03-31/functions/{}/invocations",
            self.endpoint,
            url::form_urlencoded::byte_serialize(handler.as_bytes()).collect::<String>()
        );
        let service = |e: &dyn std::fmt::Display| {
            TaskFailure::new("Lambda.ServiceException", format!("{handler}: {e}"))
        };
        let response = self
            .http
            .post(url)
            .json(&payload)
            .send()
            .await
            .map_err(|e| service(&e))?;
        let status = response.status();
        let function_error = response.headers().contains_key("x-amz-function-error");
        let kind = response
            .headers()
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(':').next().unwrap_or(v).to_owned());
        let body = response.bytes().await.map_err(|e| service(&e))?;
        let text = String::from_utf8_lossy(&body);
        if !status.is_success() {
            let kind = kind.unwrap_or_else(|| match status.as_u16() {
                404 => "ResourceNotFoundException".into(),
                429 => "TooManyRequestsException".into(),
                _ => "ServiceException".into(),
            });
            return Err(TaskFailure::new(format!("Lambda.{kind}"), text));
        }
        let value: Value = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&body).unwrap_or_else(|_| Value::String(text.to_string()))
        };
        if function_error {
            // As Step Functions does: the error is the payload's `errorType`, the cause the
            // payload itself, as the function returned it; a payload without an
            // `errorType` (a function that timed out, on older runtimes) is
            // `Lambda.Unknown` with AWS's words around it.
            return Err(match value["errorType"].as_str() {
                Some(error) => TaskFailure::new(error, text),
                None => TaskFailure::new(
                    "Lambda.Unknown",
                    format!(
                        "The cause could not be determined because Lambda did not return an error type. Returned payload: {text}"
                    ),
                ),
            });
        }
        Ok(value)
    }
}

/// An error answered in Step Functions' awsJson shape (`__type`, `message`).
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn validation(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "ValidationException",
            message: message.into(),
        }
    }

    fn invalid_arn(arn: &str) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "InvalidArn",
            message: format!("Invalid Arn: '{arn}'"),
        }
    }
}

impl From<WorkflowError> for ApiError {
    fn from(e: WorkflowError) -> ApiError {
        let code = e.code();
        ApiError {
            status: if code == "InternalError" {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::BAD_REQUEST
            },
            code,
            message: e.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(code = self.code, message = %self.message, "step functions call failed");
        }
        (
            self.status,
            [
                ("content-type", "application/x-amz-json-1.0"),
                ("x-amzn-errortype", self.code),
            ],
            json!({ "__type": self.code, "message": self.message }).to_string(),
        )
            .into_response()
    }
}

type Answer = Result<Value, ApiError>;

/// A required string field.
fn text<'a>(input: &'a Value, field: &str) -> Result<&'a str, ApiError> {
    input[field]
        .as_str()
        .ok_or_else(|| ApiError::validation(format!("{field} is required (a string)")))
}

/// An optional string field.
fn optional<'a>(input: &'a Value, field: &str) -> Result<Option<&'a str>, ApiError> {
    match &input[field] {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        _ => Err(ApiError::validation(format!("{field} must be a string"))),
    }
}

/// `maxResults`: 1 to 1000; absent or 0 is Step Functions' default of 100.
fn max_results(input: &Value) -> Result<usize, ApiError> {
    match &input["maxResults"] {
        Value::Null => Ok(100),
        v => match v.as_u64() {
            Some(0) => Ok(100),
            Some(n @ 1..=1000) => Ok(n as usize),
            _ => Err(ApiError::validation(
                "maxResults is a number from 0 to 1000",
            )),
        },
    }
}

/// The machine an `arn:aws:states:<region>:<account>:stateMachine:<name>` names.
fn machine_of(arn: &str) -> Result<&str, ApiError> {
    match arn.split(':').collect::<Vec<_>>()[..] {
        ["arn", _, "states", _, _, "stateMachine", name] if !name.is_empty() => Ok(name),
        _ => Err(ApiError::invalid_arn(arn)),
    }
}

/// The machine and execution name an `…:execution:<machine>:<name>` ARN names.
fn execution_of(arn: &str) -> Result<(&str, &str), ApiError> {
    match arn.split(':').collect::<Vec<_>>()[..] {
        ["arn", _, "states", _, _, "execution", machine, name]
            if !machine.is_empty() && !name.is_empty() =>
        {
            Ok((machine, name))
        }
        _ => Err(ApiError::invalid_arn(arn)),
    }
}

/// The ARN of execution `name` of the machine `machine_arn` names.
fn execution_arn(machine_arn: &str, name: &str) -> String {
    format!(
        "{}:{name}",
        machine_arn.replacen(":stateMachine:", ":execution:", 1)
    )
}

/// The machine ARN of an execution ARN.
fn machine_arn_of(execution_arn: &str) -> String {
    let machine = execution_arn
        .rsplit_once(':')
        .map_or(execution_arn, |(m, _)| m);
    machine.replacen(":execution:", ":stateMachine:", 1)
}

/// A timestamp as awsJson writes it: seconds since the epoch, with a fraction.
fn epoch(t: OffsetDateTime) -> Value {
    json!(t.unix_timestamp_nanos() as f64 / 1e9)
}

fn status_name(status: Status) -> Value {
    serde_json::to_value(status).unwrap_or(Value::Null)
}

async fn id_of(runner: &Runner, arn: &str) -> Result<ExecutionId, ApiError> {
    let (machine, name) = execution_of(arn)?;
    Ok(runner.execution_named(machine, name).await?)
}

async fn start_execution(runner: &Runner, input: &Value) -> Answer {
    let machine_arn = text(input, "stateMachineArn")?;
    let machine = machine_of(machine_arn)?;
    // Step Functions makes up a name when none is given; the AWS shape always names its
    // executions (`doc-<id>-<n>`), and so must callers of this stand-in.
    let name = text(input, "name")?;
    let execution_input = match optional(input, "input")? {
        None => json!({}),
        Some(text) => serde_json::from_str(text).map_err(|e| ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "InvalidExecutionInput",
            message: format!("the input is not JSON: {e}"),
        })?,
    };
    let id = runner
        .start_execution(machine, name, execution_input)
        .await
        .map_err(|e| match e {
            WorkflowError::StateMachineDoesNotExist(_) => ApiError {
                status: StatusCode::BAD_REQUEST,
                code: "StateMachineDoesNotExist",
                message: format!("State Machine Does Not Exist: '{machine_arn}'"),
            },
            other => other.into(),
        })?;
    let described = runner.describe_execution(&id).await?;
    Ok(json!({
        "executionArn": execution_arn(machine_arn, name),
        "startDate": epoch(described.summary.start_date),
    }))
}

async fn describe_execution(runner: &Runner, input: &Value) -> Answer {
    let arn = text(input, "executionArn")?;
    let d = runner
        .describe_execution(&id_of(runner, arn).await?)
        .await?;
    let mut out = json!({
        "executionArn": arn,
        "stateMachineArn": machine_arn_of(arn),
        "name": d.summary.name,
        "status": status_name(d.summary.status),
        "startDate": epoch(d.summary.start_date),
        "input": d.input.to_string(),
        "inputDetails": { "included": true },
    });
    if let Some(stop) = d.summary.stop_date {
        out["stopDate"] = epoch(stop);
    }
    if let Some(output) = d.output {
        out["output"] = Value::String(output.to_string());
        out["outputDetails"] = json!({ "included": true });
    }
    if let Some(error) = d.error {
        out["error"] = Value::String(error);
    }
    if let Some(cause) = d.cause {
        out["cause"] = Value::String(cause);
    }
    Ok(out)
}

async fn get_execution_history(runner: &Runner, input: &Value) -> Answer {
    if input["reverseOrder"].as_bool() == Some(true) {
        return Err(ApiError::validation(
            "reverseOrder is not offered by this stand-in: page forward",
        ));
    }
    let id = id_of(runner, text(input, "executionArn")?).await?;
    let page = runner
        .history(&id, optional(input, "nextToken")?, max_results(input)?)
        .await?;
    let events = page
        .events
        .iter()
        .map(|e| {
            let mut v = serde_json::to_value(e).unwrap_or(Value::Null);
            v["timestamp"] = epoch(e.timestamp);
            v
        })
        .collect::<Vec<_>>();
    let mut out = json!({ "events": events });
    if let Some(next) = page.next {
        out["nextToken"] = Value::String(next);
    }
    Ok(out)
}

async fn list_executions(runner: &Runner, input: &Value) -> Answer {
    let machine_arn = text(input, "stateMachineArn")?;
    let machine = machine_of(machine_arn)?;
    let status = match optional(input, "statusFilter")? {
        None => None,
        Some(s) => Some(
            serde_json::from_value::<Status>(Value::String(s.to_owned())).map_err(|_| {
                ApiError::validation(format!("statusFilter {s:?} is not an execution status"))
            })?,
        ),
    };
    let page = runner
        .list_executions(status, optional(input, "nextToken")?, max_results(input)?)
        .await?;
    let executions = page
        .executions
        .iter()
        .filter(|s| s.machine == machine)
        .map(|s| {
            let mut v = json!({
                "executionArn": execution_arn(machine_arn, &s.name),
                "stateMachineArn": machine_arn,
                "name": s.name,
                "status": status_name(s.status),
                "startDate": epoch(s.start_date),
            });
            if let Some(stop) = s.stop_date {
                v["stopDate"] = epoch(stop);
            }
            v
        })
        .collect::<Vec<_>>();
    let mut out = json!({ "executions": executions });
    if let Some(next) = page.next {
        out["nextToken"] = Value::String(next);
    }
    Ok(out)
}

async fn call(runner: &Runner, operation: &str, input: &Value) -> Answer {
    match operation {
        "StartExecution" => start_execution(runner, input).await,
        "DescribeExecution" => describe_execution(runner, input).await,
        "GetExecutionHistory" => get_execution_history(runner, input).await,
        "ListExecutions" => list_executions(runner, input).await,
        "SendTaskSuccess" => {
            let output: Value =
                serde_json::from_str(text(input, "output")?).map_err(|e| ApiError {
                    status: StatusCode::BAD_REQUEST,
                    code: "InvalidOutput",
                    message: format!("the output is not JSON: {e}"),
                })?;
            runner
                .send_task_success(text(input, "taskToken")?, output)
                .await?;
            Ok(json!({}))
        }
        "SendTaskFailure" => {
            runner
                .send_task_failure(
                    text(input, "taskToken")?,
                    optional(input, "error")?.unwrap_or_default(),
                    optional(input, "cause")?.unwrap_or_default(),
                )
                .await?;
            Ok(json!({}))
        }
        "SendTaskHeartbeat" => {
            runner
                .send_task_heartbeat(text(input, "taskToken")?)
                .await?;
            Ok(json!({}))
        }
        "StopExecution" => {
            let id = id_of(runner, text(input, "executionArn")?).await?;
            runner
                .stop_execution(
                    &id,
                    optional(input, "error")?.map(str::to_owned),
                    optional(input, "cause")?.map(str::to_owned),
                )
                .await?;
            let stopped = runner.describe_execution(&id).await?;
            Ok(json!({
                "stopDate": epoch(stopped.summary.stop_date.unwrap_or_else(OffsetDateTime::now_utc)),
            }))
        }
        other => Err(ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "UnknownOperationException",
            message: format!("{other} is not an operation this stand-in offers"),
        }),
    }
}

async fn serve_call(State(runner): State<Runner>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(operation) = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.strip_prefix("AWSStepFunctions."))
    else {
        return ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "UnknownOperationException",
            message: "X-Amz-Target names no AWSStepFunctions operation".into(),
        }
        .into_response();
    };
    let input: Value = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) => v,
        _ => return ApiError::validation("the body is not a JSON object").into_response(),
    };
    match call(&runner, operation, &input).await {
        Ok(out) => (
            StatusCode::OK,
            [("content-type", "application/x-amz-json-1.0")],
            out.to_string(),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

/// The API on `runner`: `POST /` with `X-Amz-Target: AWSStepFunctions.<operation>`.
pub fn router(runner: Runner) -> Router {
    Router::new()
        .route("/", axum::routing::post(serve_call))
        .with_state(runner)
}

/// A running stand-in.
pub struct RunningStepFunctions {
    /// Where it listens (`http://127.0.0.1:<port>`): what `AWS_ENDPOINT_URL_SFN` names.
    pub url: String,
    /// The executor behind it.
    pub runner: Runner,
    stop: Vec<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningStepFunctions {
    /// Stops serving and the timer loop.
    pub async fn stop(mut self) {
        for tx in self.stop.drain(..) {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }

    /// Waits until it stops.
    pub async fn wait(self) -> std::io::Result<()> {
        self.task.await.map_err(std::io::Error::other)?
    }
}

/// Starts the stand-in on `addr` (loopback only), keeping executions in `data_dir`, running
/// the contract machine (from `statemachines` when given) whose tasks invoke the Lambda
/// functions at `lambda_endpoint`; executions that were running are picked up again.
pub async fn start(
    addr: SocketAddr,
    data_dir: &Path,
    lambda_endpoint: &str,
    statemachines: Option<PathBuf>,
) -> Result<RunningStepFunctions, StartError> {
    if !addr.ip().is_loopback() {
        return Err(StartError::Config(format!(
            "{addr}: the Step Functions stand-in authenticates nobody, so it listens on loopback only"
        )));
    }
    crate::make_dir(data_dir)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let items = SqliteItemStore::open(&data_dir.join("step-functions.db"), clock.clone())
        .map_err(|e| StartError::DataDir(data_dir.display().to_string(), e.to_string()))?;
    let machine = keiyaku_workflow::contract_machine(statemachines.as_deref()).map_err(|e| {
        StartError::Config(format!(
            "the contract state machine is refused at {}: {}",
            e.path, e.message
        ))
    })?;
    let runner = Runner::new(
        Arc::new(items),
        clock,
        Arc::new(LambdaInvoke::new(lambda_endpoint)?),
        vec![machine],
    );
    runner
        .recover()
        .await
        .map_err(|e| StartError::Config(format!("recovering running executions: {e}")))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| StartError::Bind(addr, e))?;
    let local = listener
        .local_addr()
        .map_err(|e| StartError::Bind(addr, e))?;
    let (stop_timers, timers_stopped) = oneshot::channel::<()>();
    tokio::spawn(runner.clone().run(async {
        let _ = timers_stopped.await;
    }));
    let (stop_serving, serving_stopped) = oneshot::channel::<()>();
    let app = router(runner.clone());
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = serving_stopped.await;
            })
            .await
    });
    tracing::info!(%local, "the Step Functions stand-in listens");
    Ok(RunningStepFunctions {
        url: format!("http://{local}"),
        runner,
        stop: vec![stop_timers, stop_serving],
        task,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_name_their_machine_and_execution() {
        let machine = "arn:aws:states:ap-northeast-1:123456789012:stateMachine:contract";
        assert_eq!(machine_of(machine).unwrap(), "contract");
        let execution = execution_arn(machine, "doc-1-1");
        assert_eq!(
            execution,
            "arn:aws:states:ap-northeast-1:123456789012:execution:contract:doc-1-1"
        );
        assert_eq!(execution_of(&execution).unwrap(), ("contract", "doc-1-1"));
        assert_eq!(machine_arn_of(&execution), machine);
        for bad in [
            "contract",
            "arn:aws:states:ap-northeast-1:123456789012:stateMachine:",
            "arn:aws:lambda:ap-northeast-1:123456789012:function:seal",
        ] {
            assert_eq!(machine_of(bad).unwrap_err().code, "InvalidArn", "{bad}");
        }
        assert_eq!(execution_of(machine).unwrap_err().code, "InvalidArn");
    }

    #[tokio::test]
    async fn it_listens_on_loopback_only_and_invokes_http_endpoints_only() {
        let dir = std::env::temp_dir().join(format!("keiyaku-sfn-{}", std::process::id()));
        let refused = start(
            "0.0.0.0:0".parse().unwrap(),
            &dir,
            "http://127.0.0.1:9",
            None,
        )
        .await
        .err()
        .unwrap();
        assert!(refused.to_string().contains("loopback only"), "{refused}");
        let refused = LambdaInvoke::new("file:///tmp").err().unwrap();
        assert!(
            refused.to_string().contains("not an http(s) URL"),
            "{refused}"
        );
        assert!(
            !dir.exists(),
            "nothing is made before the address is accepted"
        );
    }

    /// A function error fails the task as Step Functions records it: the payload's
    /// `errorType` is the error and the payload, as the function returned it, the cause; a
    /// call the Lambda service refuses is `Lambda.<its error>`.
    #[tokio::test]
    async fn function_errors_fail_the_task_as_step_functions_records_them() {
        const PAYLOAD: &str =
            r#"{"errorMessage": "boom", "errorType": "ValueError", "stackTrace": []}"#;
        const TIMED_OUT: &str =
            r#"{"errorMessage":"2024-11-26T00:36:39.604Z 5b1c Task timed out after 3.00 seconds"}"#;
        let app = Router::new()
            .route(
                "/2015-03-31/functions/fails/invocations",
                axum::routing::post(|| async {
                    let mut headers = HeaderMap::new();
                    headers.insert("x-amz-function-error", "Unhandled".parse().unwrap());
                    (headers, PAYLOAD)
                }),
            )
            .route(
                "/2015-03-31/functions/times-out/invocations",
                axum::routing::post(|| async {
                    let mut headers = HeaderMap::new();
                    headers.insert("x-amz-function-error", "Unhandled".parse().unwrap());
                    (headers, TIMED_OUT)
                }),
            )
            .route(
                "/2015-03-31/functions/works/invocations",
                axum::routing::post(|| async { r#"{"ok": true}"# }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let lambda = LambdaInvoke::new(&endpoint).unwrap();
        let failed = lambda.invoke("fails", json!({}), None).await.unwrap_err();
        assert_eq!(failed, TaskFailure::new("ValueError", PAYLOAD));
        // As reported of AWS (no errorType in the payload).
        let unknown = lambda
            .invoke("times-out", json!({}), None)
            .await
            .unwrap_err();
        assert_eq!(
            unknown,
            TaskFailure::new(
                "Lambda.Unknown",
                format!(
                    "The cause could not be determined because Lambda did not return an error type. Returned payload: {TIMED_OUT}"
                )
            )
        );
        let ok = lambda.invoke("works", json!({}), None).await.unwrap();
        assert_eq!(ok, json!({ "ok": true }));
        let missing = lambda.invoke("absent", json!({}), None).await.unwrap_err();
        assert_eq!(missing.error, "Lambda.ResourceNotFoundException");
    }

    #[test]
    fn page_sizes_follow_step_functions() {
        assert_eq!(max_results(&json!({})).unwrap(), 100);
        assert_eq!(max_results(&json!({ "maxResults": 0 })).unwrap(), 100);
        assert_eq!(max_results(&json!({ "maxResults": 1000 })).unwrap(), 1000);
        for bad in [json!(1001), json!(-1), json!("10")] {
            assert_eq!(
                max_results(&json!({ "maxResults": bad })).unwrap_err().code,
                "ValidationException"
            );
        }
    }
}
