//! Task functions: the workflow's tasks, which Step Functions invokes with the Payload of
//! `arn:aws:states:::lambda:invoke`, and the jobs EventBridge Scheduler invokes at their
//! time. A failure leaves as a Lambda function error whose `errorType` is the name the
//! machine's `Retry`/`Catch` match (`Keiyaku.Retryable`, `Keiyaku.NonRetryable`,
//! `Keiyaku.Cancelled`); its message is the cause, which names no party.

use std::sync::Arc;

use keiyaku_core::Services;
use lambda_http::lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;

/// What a workflow task's failure reports to Step Functions.
fn diagnostic(e: keiyaku_core::app::tasks::TaskError) -> Diagnostic {
    tracing::warn!(error = e.error, cause = %e.cause, "task failed");
    Diagnostic {
        error_type: e.error.to_owned(),
        error_message: e.cause,
    }
}

/// What a [`Handler`] returns: the handler's work on one payload.
pub type HandlerFuture<'a> = std::pin::Pin<
    Box<
        dyn std::future::Future<Output = Result<Value, keiyaku_core::app::tasks::TaskError>>
            + Send
            + 'a,
    >,
>;

/// A workflow handler as a task function runs it: one of `keiyaku_core::app::tasks`'
/// handlers, named at compile time ([`crate::task_handler!`]) so that only it is linked.
pub type Handler = for<'a> fn(&'a Services, Value) -> HandlerFuture<'a>;

/// The [`Handler`] of workflow handler `$handler` (`next_step`, `seal`, … as
/// `statemachines/tasks.json` names them).
#[macro_export]
macro_rules! task_handler {
    ($handler:ident) => {{
        fn handler<'a>(
            services: &'a $crate::__core::Services,
            payload: $crate::__json::Value,
        ) -> $crate::task::HandlerFuture<'a> {
            Box::pin($crate::__core::app::tasks::$handler(services, payload))
        }
        handler as $crate::task::Handler
    }};
}

/// Runs a workflow handler on one invocation's payload.
pub async fn run_task(
    services: &Arc<Services>,
    handler: Handler,
    event: LambdaEvent<Value>,
) -> Result<Value, Diagnostic> {
    handler(services, event.payload).await.map_err(diagnostic)
}

/// Runs one scheduled job (the input EventBridge Scheduler was given). A failed job is
/// `Keiyaku.Retryable` when worth retrying (the scheduler's retry policy runs it again).
pub async fn run_job(
    services: &Arc<Services>,
    event: LambdaEvent<Value>,
) -> Result<Value, Diagnostic> {
    keiyaku_core::app::scheduled::run(services, event.payload)
        .await
        .map(|()| Value::Null)
        .map_err(|e| diagnostic(e.into()))
}

/// Serves workflow handler `handler` until the Lambda runtime stops.
pub async fn serve_task(
    services: Arc<Services>,
    handler: Handler,
) -> Result<(), lambda_http::Error> {
    lambda_http::lambda_runtime::run(service_fn(move |event| {
        let services = services.clone();
        async move { run_task(&services, handler, event).await }
    }))
    .await
}

/// Serves scheduled jobs until the Lambda runtime stops.
pub async fn serve_jobs(services: Arc<Services>) -> Result<(), lambda_http::Error> {
    lambda_http::lambda_runtime::run(service_fn(move |event| {
        let services = services.clone();
        async move { run_job(&services, event).await }
    }))
    .await
}
