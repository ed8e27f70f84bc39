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

/// The adapters of function `name`, holding the ports `PORTS` (which must be those
/// `infra/ports.json` lists for it), from its environment and its role (logging set up
/// first, so a configuration error reaches CloudWatch).
async fn services<const PORTS: u16>(name: &str) -> Result<Arc<keiyaku_core::Services>, Error> {
    init_logging();
    let sdk = keiyaku_aws::sdk_config(&keiyaku_aws::Connection::default()).await;
    let composed = match compose::check_held(name, PORTS) {
        Ok(()) => compose::services_of::<PORTS, _>(&env::from_process(), &sdk).await,
        Err(e) => Err(e),
    };
    let services =
        composed.inspect_err(|e| tracing::error!(error = %e, "the function is misconfigured"))?;
    Ok(Arc::new(services))
}

/// The `main` of the function of API route `name`, served by `handler`
/// (`keiyaku_api::route_handler!(name)`); see [`route_function!`].
pub async fn route_main<const PORTS: u16>(
    name: &str,
    handler: axum::routing::MethodRouter<keiyaku_api::AppState>,
) -> Result<(), Error> {
    http::serve_route(services::<PORTS>(name).await?, name, handler).await
}

/// The `main` of the function of workflow handler `name`, run by `handler`
/// (`task_handler!(name)`); see [`task_function!`].
pub async fn task_main<const PORTS: u16>(name: &str, handler: task::Handler) -> Result<(), Error> {
    task::serve_task(services::<PORTS>(&format!("task:{name}")).await?, handler).await
}

/// The `main` of the function that runs scheduled jobs; see [`jobs_function!`].
pub async fn jobs_main<const PORTS: u16>() -> Result<(), Error> {
    task::serve_jobs(services::<PORTS>("jobs").await?).await
}

#[doc(hidden)]
pub use keiyaku_api as __api;
#[doc(hidden)]
pub use keiyaku_core as __core;
#[doc(hidden)]
pub use serde_json as __json;
/// Runs a function's `main` future on a multi-threaded runtime (what the `*_function!`
/// macros expand to).
#[doc(hidden)]
pub fn __run(main: impl std::future::Future<Output = Result<(), Error>>) -> Result<(), Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(main)
}

/// The `main` of API route `$route`'s function, holding the ports `[$port, …]` (names in
/// [`compose::port`]): `route_function!(get_document, [ITEMS]);`.
#[macro_export]
macro_rules! route_function {
    ($route:ident, [$($port:ident),*]) => {
        fn main() -> Result<(), $crate::Error> {
            $crate::__run($crate::route_main::<{ 0 $(| $crate::compose::port::$port)* }>(
                stringify!($route),
                $crate::__api::route_handler!($route),
            ))
        }
    };
}

/// The `main` of workflow handler `$handler`'s function, holding the ports `[$port, …]`:
/// `task_function!(seal, [ITEMS, BLOBS, …]);`.
#[macro_export]
macro_rules! task_function {
    ($handler:ident, [$($port:ident),*]) => {
        fn main() -> Result<(), $crate::Error> {
            $crate::__run($crate::task_main::<{ 0 $(| $crate::compose::port::$port)* }>(
                stringify!($handler),
                $crate::task_handler!($handler),
            ))
        }
    };
}

/// The `main` of the scheduled jobs' function, holding the ports `[$port, …]`.
#[macro_export]
macro_rules! jobs_function {
    ([$($port:ident),*]) => {
        fn main() -> Result<(), $crate::Error> {
            $crate::__run($crate::jobs_main::<{ 0 $(| $crate::compose::port::$port)* }>())
        }
    };
}

/// Logs as CloudWatch wants them: JSON when the function's logging config says so
/// (`LoggingConfig.LogFormat: JSON` in the template), at its configured level.
pub fn init_logging() {
    lambda_http::tracing::init_default_subscriber();
}
