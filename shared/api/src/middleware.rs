//! Cross-cutting layers: a request id and a log span naming the route template (never the
//! path, which may carry ids), the `Origin` check on state-changing requests, and the
//! security headers on every response.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use keiyaku_core::Error;
use rand::RngCore;
use tracing::Instrument;

use crate::AppState;
use crate::error::ApiError;

/// Header carrying the request id back to the client.
pub const REQUEST_ID: &str = "x-request-id";

/// Gives each request an id and a span; logs one line when it is answered.
pub async fn trace(req: Request, next: Next) -> Response {
    let mut id = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut id);
    let id = hex::encode(id);
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let span =
        tracing::info_span!("request", request_id = %id, method = %req.method(), route = %route);
    let started = std::time::Instant::now();
    let mut response = next.run(req).instrument(span.clone()).await;
    span.in_scope(|| {
        tracing::info!(
            status = response.status().as_u16(),
            millis = started.elapsed().as_millis() as u64,
            "answered"
        )
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID), v);
    }
    response
}

/// Refuses a state-changing request whose `Origin` is not ours (browsers always send it on
/// such requests; clients that send none are API clients, which CSRF cannot reach).
pub async fn check_origin(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe
        && let Some(origin) = req.headers().get(header::ORIGIN)
        && origin.as_bytes() != state.config.origin().as_bytes()
    {
        return ApiError(Error::Forbidden {
            code: "foreign_origin",
            message: "requests from other sites are refused".into(),
        })
        .into_response();
    }
    next.run(req).await
}

/// Security headers. File routes may be framed by our own pages (to show the PDF); nothing
/// else may be framed at all.
pub async fn security_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let framable = req
        .extensions()
        .get::<MatchedPath>()
        .is_some_and(|p| p.as_str().ends_with("/file"));
    let mut response = next.run(req).await;
    let h = response.headers_mut();
    let csp = if framable {
        "default-src 'none'; frame-ancestors 'self'; sandbox"
    } else {
        "default-src 'none'; frame-ancestors 'none'"
    };
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static(if framable { "SAMEORIGIN" } else { "DENY" }),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if state.config.public_url.starts_with("https://") {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }
    response
}
