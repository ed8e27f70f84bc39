//! The AWS shape's runtime, under the function binaries of `functions/`: each function's
//! configuration read from its environment at cold start ([`env`]), and API Gateway REST
//! events served by the API's own router for the function's one route, responses streamed
//! ([`http`]), and the workflow's tasks and scheduled jobs ([`task`]), on the AWS adapters
//! composed from that environment ([`compose`]). The handlers, the use cases, the error
//! mapping and the middleware are the local server's.

pub mod compose;
pub mod env;
pub mod http;
pub mod task;

use std::sync::Arc;

/// What stopped a function.
pub type Error = lambda_http::Error;

/// The adapters of function `name` (its ports as `infra/ports.json` lists them), from its
/// environment and its role (logging set up first, so a configuration error reaches
/// CloudWatch).
async fn services(name: &str) -> Result<Arc<keiyaku_core::Services>, Error> {
    init_logging();
    let sdk = keiyaku_aws::sdk_config(&keiyaku_aws::Connection::default()).await;
    let composed = match compose::ports_of(name) {
        Ok(ports) => compose::services(&env::from_process(), &sdk, &ports).await,
        Err(e) => Err(e),
    };
    let services =
        composed.inspect_err(|e| tracing::error!(error = %e, "the function is misconfigured"))?;
    Ok(Arc::new(services))
}

/// The `main` of the function of API route `name`.
pub async fn route_main(name: &str) -> Result<(), Error> {
    http::serve_route(services(name).await?, name).await
}

/// The `main` of the function of workflow handler `handler`.
pub async fn task_main(handler: &'static str) -> Result<(), Error> {
    task::serve_task(services(&format!("task:{handler}")).await?, handler).await
}

/// The `main` of the function that runs scheduled jobs.
pub async fn jobs_main() -> Result<(), Error> {
    task::serve_jobs(services("jobs").await?).await
}

/// Logs as CloudWatch wants them: JSON when the function's logging config says so
/// (`LoggingConfig.LogFormat: JSON` in the template), at its configured level.
pub fn init_logging() {
    lambda_http::tracing::init_default_subscriber();
}
