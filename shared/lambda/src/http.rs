//! API Gateway REST events for the API's router: each function serves its one route of the
//! same router the local server serves (handlers, error mapping, middleware), and streams
//! its responses (a document's file leaves as S3 hands it over, verified segment by
//! segment, never held whole).

use std::net::IpAddr;
use std::sync::Arc;

use axum::body::Body;
use keiyaku_api::extract::ClientAddr;
use keiyaku_core::Services;
use lambda_http::RequestExt;
use lambda_http::request::RequestContext;
use tower::ServiceExt;

/// Why an event could not be made a request of the API.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EventError {
    /// The request context has no client address (`identity.sourceIp`): every request
    /// API Gateway sends has one, so this event did not come from it.
    #[error("the event has no client address (requestContext.identity.sourceIp)")]
    NoClientAddress,
    /// The path and query do not make a URI.
    #[error("the event's path is not a URI path: {0}")]
    BadPath(String),
}

/// The API's request for an API Gateway REST event: the path API Gateway matched (not the
/// one `lambda_http` prefixes with the stage), the body, and as the client address the
/// request context's `sourceIp` — what API Gateway saw, never a header a client can set.
pub fn api_request(event: lambda_http::Request) -> Result<axum::extract::Request, EventError> {
    let client = match event.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(context)) => context
            .identity
            .source_ip
            .as_deref()
            .and_then(|ip| ip.parse::<IpAddr>().ok()),
        _ => None,
    }
    .ok_or(EventError::NoClientAddress)?;
    let path = event.raw_http_path().to_owned();
    let path = if path.is_empty() {
        event.uri().path().to_owned()
    } else {
        path
    };
    let target = match event.uri().query() {
        Some(query) => format!("{path}?{query}"),
        None => path,
    };
    let (mut parts, body) = event.into_parts();
    parts.uri = target
        .parse()
        .map_err(|_| EventError::BadPath(target.clone()))?;
    parts.extensions.insert(ClientAddr(client));
    let body = match body {
        lambda_http::Body::Empty => Body::empty(),
        lambda_http::Body::Text(text) => Body::from(text),
        lambda_http::Body::Binary(bytes) => Body::from(bytes),
        _ => Body::empty(),
    };
    Ok(axum::extract::Request::from_parts(parts, body))
}

/// What the function answers an event that is not a request of its route's kind.
fn refused(e: EventError) -> axum::response::Response {
    use axum::response::IntoResponse;
    keiyaku_api::error::ApiError(keiyaku_core::Error::invalid(
        "bad_event",
        "event",
        e.to_string(),
    ))
    .into_response()
}

/// The router of route `name` for events: each event becomes the API's request and gets
/// the router's answer.
pub fn route_service(
    services: Arc<Services>,
    name: &str,
) -> Option<
    impl tower::Service<
        lambda_http::Request,
        Response = axum::response::Response,
        Error = std::convert::Infallible,
        Future = impl Send,
    > + Clone,
> {
    let router = keiyaku_api::single_route(services, name)?;
    Some(tower::service_fn(move |event: lambda_http::Request| {
        let router = router.clone();
        async move {
            match api_request(event) {
                Ok(request) => router.oneshot(request).await,
                Err(e) => Ok(refused(e)),
            }
        }
    }))
}

/// Serves route `name` of the API to API Gateway until the Lambda runtime stops, streaming
/// each response.
pub async fn serve_route(services: Arc<Services>, name: &str) -> Result<(), lambda_http::Error> {
    let service = route_service(services, name)
        .ok_or_else(|| format!("the route table has no route named {name}"))?;
    lambda_http::run_with_streaming_response(service).await
}
