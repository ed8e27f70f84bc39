//! Extractors: the client address, a JSON body and a query string parsed with our error
//! format, and the authenticated caller (with the CSRF check for cookie sessions).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{Method, header};
use http_body_util::BodyExt;
use keiyaku_core::Error;
use keiyaku_core::app::accounts;
use keiyaku_core::domain::user::{Caller, Client, SessionKind};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;

use crate::AppState;
use crate::error::ApiError;

/// The session cookie's name (over https, with the `__Host-` prefix: see [`cookie_name`]).
pub const SESSION_COOKIE: &str = "keiyaku_session";
/// The header that carries the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Largest JSON body accepted.
pub const MAX_JSON_BYTES: usize = 64 * 1024;

/// The client address as the shape knows it (the socket peer locally; API Gateway's
/// `sourceIp` on AWS), never a raw `X-Forwarded-For`.
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        if let Some(addr) = parts.extensions.get::<ClientAddr>() {
            return Ok(*addr);
        }
        if let Some(ConnectInfo(addr)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() {
            return Ok(ClientAddr(addr.ip()));
        }
        Err(ApiError(Error::internal(
            "no client address on the request",
        )))
    }
}

/// Where the request comes from (address and User-Agent), for the audit log.
pub struct ClientInfo(pub Client);

impl<S: Send + Sync> FromRequestParts<S> for ClientInfo {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let ip = ClientAddr::from_request_parts(parts, state).await?.0;
        Ok(ClientInfo(Client {
            ip,
            user_agent: user_agent(parts),
        }))
    }
}

/// The User-Agent the client sent, if it is text.
fn user_agent(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// A JSON body (`application/json`, at most 64 KiB) parsed into `T`.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers().get(header::CONTENT_TYPE)) {
            return Err(ApiError(Error::UnsupportedMediaType {
                message: "send the body as application/json".into(),
            }));
        }
        let bytes = read_limited(req.into_body(), MAX_JSON_BYTES).await?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// Whether a Content-Type is JSON.
pub fn is_json(ct: Option<&header::HeaderValue>) -> bool {
    ct.and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}

/// Parses a JSON object with an error that names the problem. (serde would also take an
/// array for a struct; the API's bodies are objects.)
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let invalid = |why: String| {
        ApiError(Error::bad_request(
            "invalid_json",
            format!("the JSON body is not valid: {why}"),
        ))
    };
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))?;
    if !value.is_object() {
        return Err(invalid("expected an object".into()));
    }
    serde_json::from_value(value).map_err(|e| invalid(e.to_string()))
}

/// Reads a whole body, refusing more than `limit` bytes.
pub async fn read_limited(body: axum::body::Body, limit: usize) -> Result<bytes::Bytes, ApiError> {
    match http_body_util::Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(ApiError(Error::TooLarge {
            message: format!("the body is larger than {limit} bytes"),
        })),
        Err(e) => Err(ApiError(Error::bad_request(
            "unreadable_body",
            format!("the body could not be read: {e}"),
        ))),
    }
}

/// A query string parsed into `T`.
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| QueryParams(q.0))
            .map_err(|e| ApiError(Error::bad_request("invalid_query", e.body_text())))
    }
}

/// An authenticated caller: a bearer token (API session) or the session cookie (browser
/// session, which must send the CSRF token on every state-changing request).
pub struct Authed(pub Caller);

/// The session token a request carries, and how.
pub fn session_token(parts: &Parts, s: &AppState) -> Option<(String, SessionKind)> {
    if let Some(auth) = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let token = auth
            .strip_prefix("Bearer ")
            .or_else(|| auth.strip_prefix("bearer "))?;
        return Some((token.trim().to_owned(), SessionKind::Api));
    }
    cookie(parts, &cookie_name(s, SESSION_COOKIE, true)).map(|value| (value, SessionKind::Browser))
}

/// The name cookie `base` goes by. Over https the browser enforces what a prefix promises:
/// `__Host-` (Secure, no Domain, Path=/) for a cookie of the whole site, so no subdomain can
/// plant or shadow it; `__Secure-` for one scoped to a path.
pub fn cookie_name(s: &AppState, base: &str, whole_site: bool) -> String {
    match (s.config.public_url.starts_with("https://"), whole_site) {
        (false, _) => base.to_owned(),
        (true, true) => format!("__Host-{base}"),
        (true, false) => format!("__Secure-{base}"),
    }
}

/// The value of the request's cookie `name` (as [`cookie_name`] gives it), if it sent one.
pub fn cookie(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// A `Set-Cookie` value for `path` with `same_site`: HttpOnly, `Secure` when the service is
/// reached over https, ending after `max_age` seconds. `name` is the one [`cookie_name`]
/// gives.
pub fn set_cookie(
    s: &AppState,
    name: &str,
    value: &str,
    path: &str,
    same_site: cookie::SameSite,
    max_age: i64,
) -> Result<axum::http::HeaderValue, ApiError> {
    let cookie = cookie::Cookie::build((name, value))
        .path(path)
        .same_site(same_site)
        .http_only(true)
        .max_age(cookie::time::Duration::seconds(max_age))
        .secure(s.config.public_url.starts_with("https://"))
        .build();
    axum::http::HeaderValue::from_str(&cookie.to_string()).map_err(|e| ApiError(Error::internal(e)))
}

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ip = ClientAddr::from_request_parts(parts, state).await?.0;
        let (token, kind) = session_token(parts, state)
            .ok_or_else(|| ApiError(Error::unauthorized("log in first")))?;
        let mut caller = accounts::authenticate(state, &token, kind, ip).await?;
        caller.user_agent = user_agent(parts);
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if kind == SessionKind::Browser && !safe {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .map(|v| v.as_bytes())
                .unwrap_or_default();
            if sent.is_empty() || !bool::from(sent.ct_eq(caller.csrf.as_bytes())) {
                return Err(ApiError(Error::Forbidden {
                    code: "csrf_token_invalid",
                    message: "send the CSRF token from GET /api/v1/me in the X-CSRF-Token header"
                        .into(),
                }));
            }
        }
        if caller.must_enrol_two_factor() && !reachable_before_enrolment(parts) {
            return Err(ApiError(Error::Forbidden {
                code: "two_factor_enrolment_required",
                message: "your team requires two-factor login: turn it on first (POST /api/v1/me/two-factor)"
                    .into(),
            }));
        }
        Ok(Authed(caller))
    }
}

/// Whether the request's route is one a member may reach before enrolling in two-factor
/// login when their team requires it.
fn reachable_before_enrolment(parts: &Parts) -> bool {
    let Some(path) = parts.extensions.get::<axum::extract::MatchedPath>() else {
        return false;
    };
    keiyaku_core::routes::ROUTES.iter().any(|r| {
        r.path == path.as_str()
            && r.method == parts.method.as_str()
            && keiyaku_core::routes::BEFORE_ENROLMENT.contains(&r.name)
    })
}

/// An authenticated caller who may change things: every role but the read-only auditor
/// (403 `read_only_role`).
pub struct Writer(pub Caller);

impl FromRequestParts<AppState> for Writer {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Authed(caller) = Authed::from_request_parts(parts, state).await?;
        caller.writer()?;
        Ok(Writer(caller))
    }
}

/// An authenticated admin of their team (403 `admin_only` for anyone else), checked before
/// the request's body is read: a caller who may not act learns nothing about its input.
pub struct AdminCaller(pub Caller);

impl FromRequestParts<AppState> for AdminCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Authed(caller) = Authed::from_request_parts(parts, state).await?;
        keiyaku_core::domain::user::TeamAdmin::of(&caller)?;
        Ok(AdminCaller(caller))
    }
}

/// An authenticated reader of the team's audit log: an admin or an auditor (403
/// `audit_readers_only` for anyone else).
pub struct AuditCaller(pub Caller);

impl FromRequestParts<AppState> for AuditCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Authed(caller) = Authed::from_request_parts(parts, state).await?;
        keiyaku_core::app::audit::AuditReader::of(&caller)?;
        Ok(AuditCaller(caller))
    }
}

/// A non-negative whole number, also when written as `12.0` (JSON Schema counts that as an
/// integer, so clients may send it).
pub fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    if let Some(u) = n.as_u64() {
        return Ok(u);
    }
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && (0.0..=u64::MAX as f64).contains(&f) => Ok(f as u64),
        _ => Err(serde::de::Error::custom(format!(
            "{n} is not a whole number of bytes"
        ))),
    }
}
