//! Cross-cutting layers: a request id and a log span naming the route template (never the
//! path, which may carry ids), the client's address (through trusted proxies only), the
//! `Origin` check on state-changing requests, and the security headers on every response.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use keiyaku_core::Error;
use rand::RngCore;
use tracing::Instrument;

use crate::AppState;
use crate::error::ApiError;

/// Sets the request's [`ClientAddr`](crate::extract::ClientAddr): the socket peer, or —
/// only when the peer is a trusted proxy — the nearest `X-Forwarded-For` address that is
/// not one. Without trusted proxies the header is never read.
pub async fn client_address(State(s): State<AppState>, mut req: Request, next: Next) -> Response {
    if !s.config.trusted_proxies.is_empty()
        && let Some(axum::extract::ConnectInfo(peer)) = req
            .extensions()
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .copied()
    {
        let forwarded: Vec<&str> = req
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let client = forwarded_client(peer.ip(), &forwarded, &s.config.trusted_proxies);
        req.extensions_mut()
            .insert(crate::extract::ClientAddr(client));
    }
    next.run(req).await
}

/// The client behind `peer`: read right to left, each `X-Forwarded-For` entry was appended by
/// the hop before it, so entries are believed only while the hop that wrote them is trusted.
/// The first untrusted address is the client; an entry that is not an address ends the walk
/// (the hop that appended it is then the client as far as anyone can tell).
pub fn forwarded_client(
    peer: std::net::IpAddr,
    forwarded_for: &[&str],
    trusted: &[ipnet::IpNet],
) -> std::net::IpAddr {
    let is_trusted = |ip: &std::net::IpAddr| trusted.iter().any(|net| net.contains(ip));
    let mut client = peer;
    if !is_trusted(&peer) {
        return peer;
    }
    let entries = forwarded_for.iter().flat_map(|v| v.split(',')).rev();
    for entry in entries {
        let Ok(ip) = entry.trim().parse::<std::net::IpAddr>() else {
            return client;
        };
        client = ip;
        if !is_trusted(&ip) {
            return ip;
        }
    }
    client
}

/// Answers 408 when a request is not answered within the configured time (longer for an
/// upload to its slot): a client sending its body slowly, or work that runs long, cannot
/// hold a connection and a task forever.
pub async fn request_timeout(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let upload = req.method() == Method::PUT
        && req
            .extensions()
            .get::<MatchedPath>()
            .is_some_and(|p| p.as_str() == "/api/v1/uploads/{upload_id}");
    let limit = if upload {
        s.config.upload_timeout
    } else {
        s.config.request_timeout
    };
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError(Error::Timeout { limit }).into_response(),
    }
}

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
/// else may be framed at all. An answer that brings its own policy (the browser client's
/// pages) keeps it.
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
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(csp),
        );
    }
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

#[cfg(test)]
mod forwarded_tests {
    use super::forwarded_client;
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn only_trusted_peers_are_believed_and_only_right_to_left() {
        let proxies: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        // A stranger's header says nothing.
        assert_eq!(
            forwarded_client(ip("198.51.100.7"), &["203.0.113.9"], &proxies),
            ip("198.51.100.7")
        );
        // Through the proxy: the address it appended, not what the client wrote before it.
        assert_eq!(
            forwarded_client(ip("10.0.0.2"), &["1.2.3.4, 203.0.113.9"], &proxies),
            ip("203.0.113.9")
        );
        // Two trusted hops, over two header lines.
        assert_eq!(
            forwarded_client(
                ip("10.0.0.2"),
                &["203.0.113.9, 10.1.1.1", "10.2.2.2"],
                &proxies
            ),
            ip("203.0.113.9")
        );
        // Garbage ends the walk at the last hop that could be believed.
        assert_eq!(
            forwarded_client(ip("10.0.0.2"), &["203.0.113.9, not-an-ip"], &proxies),
            ip("10.0.0.2")
        );
        // No header from the proxy: the proxy itself.
        assert_eq!(
            forwarded_client(ip("10.0.0.2"), &[], &proxies),
            ip("10.0.0.2")
        );
        // No proxies at all: never read.
        assert_eq!(
            forwarded_client(ip("10.0.0.2"), &["203.0.113.9"], &[]),
            ip("10.0.0.2")
        );
    }
}
