//! The local shape's CA routes: the trust anchor, the CA certificates that AIA pointers
//! fetch, and freshly issued CRLs. Not deployed on AWS (404 where there is no local CA).

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use keiyaku_core::Error;
use keiyaku_core::ports::{CaLevel, LocalAuthority};

use super::Binary;
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::ClientAddr;

fn authority(s: &AppState) -> ApiResult<&dyn LocalAuthority> {
    s.authority.as_deref().ok_or(ApiError(Error::NotFound))
}

fn body(content_type: &'static str, bytes: Vec<u8>) -> Response {
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// The local root certificate (PEM): the trust anchor to install in a PDF reader.
#[utoipa::path(get, path = "/api/v1/ca/root.pem", tag = "authority",
    responses((status = 200, description = "The root certificate", content_type = "application/x-pem-file", body = String)))]
pub async fn ca_root_pem(State(s): State<AppState>) -> ApiResult<Response> {
    let pem = authority(&s)?.root_pem().map_err(Error::internal)?;
    Ok(body("application/x-pem-file", pem.into_bytes()))
}

async fn certificate(s: AppState, level: CaLevel) -> ApiResult<Response> {
    let der = authority(&s)?.certificate(level).map_err(Error::internal)?;
    Ok(body("application/pkix-cert", der))
}

async fn crl(s: AppState, level: CaLevel) -> ApiResult<Response> {
    let der = authority(&s)?
        .crl(level, s.now())
        .map_err(Error::internal)?;
    Ok(body("application/pkix-crl", der))
}

/// The local root certificate (DER), where the issuing CA's AIA points.
#[utoipa::path(get, path = "/api/v1/ca/root.crt", tag = "authority",
    responses((status = 200, description = "The root certificate", content_type = "application/pkix-cert", body = Binary)))]
pub async fn ca_root_cert(State(s): State<AppState>) -> ApiResult<Response> {
    certificate(s, CaLevel::Root).await
}

/// The issuing CA's certificate (DER), where the service's and the TSA's AIA point.
#[utoipa::path(get, path = "/api/v1/ca/issuing.crt", tag = "authority",
    responses((status = 200, description = "The issuing CA certificate", content_type = "application/pkix-cert", body = Binary)))]
pub async fn ca_issuing_cert(State(s): State<AppState>) -> ApiResult<Response> {
    certificate(s, CaLevel::Issuing).await
}

/// The root's CRL, freshly issued (DER).
#[utoipa::path(get, path = "/api/v1/ca/root.crl", tag = "authority",
    responses((status = 200, description = "The root CRL", content_type = "application/pkix-crl", body = Binary)))]
pub async fn ca_root_crl(State(s): State<AppState>) -> ApiResult<Response> {
    crl(s, CaLevel::Root).await
}

/// The issuing CA's CRL, freshly issued (DER).
#[utoipa::path(get, path = "/api/v1/ca/crl", tag = "authority",
    responses((status = 200, description = "The issuing CA's CRL", content_type = "application/pkix-crl", body = Binary)))]
pub async fn ca_crl(State(s): State<AppState>) -> ApiResult<Response> {
    crl(s, CaLevel::Issuing).await
}

/// The local RFC 3161 time-stamping authority: a DER `TimeStampReq` in, a DER
/// `TimeStampResp` out. It answers in RFC 3161's terms: a malformed or refused query gets a
/// rejection with its failure info (badAlg, badDataFormat, …), not a JSON error. Only when
/// the server was started with `--public-tsa` (404 otherwise); 120 per client address in 15
/// minutes (`--public-tsa-limit`).
#[utoipa::path(post, path = "/api/v1/tsa", tag = "authority",
    request_body(content = Binary, content_type = "application/timestamp-query"),
    responses((status = 200, description = "A TimeStampResp (granted or rejected)", content_type = "application/timestamp-reply", body = Binary)))]
pub async fn tsa(
    State(s): State<AppState>,
    ClientAddr(ip): ClientAddr,
    request: axum::extract::Request,
) -> ApiResult<Response> {
    if !s.config.public_tsa {
        return Err(ApiError(Error::NotFound));
    }
    keiyaku_core::ratelimit::hit(
        &*s.items,
        s.now(),
        keiyaku_core::ratelimit::Limit {
            max: s.config.public_tsa_limit,
            ..keiyaku_core::ratelimit::TSA_PER_ADDRESS
        },
        &keiyaku_core::ratelimit::address_subject(ip),
    )
    .await?;
    let authority = authority(&s)?;
    let is_query = request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/timestamp-query"));
    let query = crate::extract::read_limited(request.into_body(), MAX_QUERY_BYTES).await?;
    // HTTP-level mistakes (no query at all, another media type) are HTTP errors; a query
    // that is there but wrong gets RFC 3161's own answer.
    if query.is_empty() {
        return Err(ApiError(Error::bad_request(
            "empty_query",
            "send a DER TimeStampReq",
        )));
    }
    if !is_query {
        return Err(ApiError(Error::UnsupportedMediaType {
            message: "send the query as application/timestamp-query (RFC 3161 section 3.4)".into(),
        }));
    }
    Ok(body(
        "application/timestamp-reply",
        authority.timestamp_reply(&query, s.now()),
    ))
}

/// A TimeStampReq is a few hundred bytes; anything near this is not one.
const MAX_QUERY_BYTES: usize = 16 * 1024;
