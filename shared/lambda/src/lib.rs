//! The AWS shape's runtime, under the function binaries of `functions/`: each function's
//! configuration read from its environment at cold start ([`env`]), and API Gateway REST
//! events served by the API's own router for the function's one route, responses streamed
//! ([`http`]), on the AWS adapters composed from that environment ([`compose`]). The
//! handlers, the error mapping and the middleware are the local server's.

pub mod compose;
pub mod env;
pub mod http;

/// Logs as CloudWatch wants them: JSON when the function's logging config says so
/// (`LoggingConfig.LogFormat: JSON` in the template), at its configured level.
pub fn init_logging() {
    lambda_http::tracing::init_default_subscriber();
}
