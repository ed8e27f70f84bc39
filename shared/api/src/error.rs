//! The one place where domain errors become HTTP: a status and the JSON body
//! `{"error":{"code","message","field"}}`. Internal causes are logged, never sent.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keiyaku_core::Error;
use serde::Serialize;
use utoipa::ToSchema;

/// The error body of every JSON route.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// What went wrong: clients choose their words by `code`.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `password_too_short`.
    pub code: String,
    /// A human-readable explanation (English).
    pub message: String,
    /// The request field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// A domain error on its way out.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

/// The status and body for an error (public so tests and other shapes share it).
pub fn status_and_detail(e: &Error) -> (StatusCode, ErrorDetail) {
    let detail = |code: &str, message: String, field: Option<&str>| ErrorDetail {
        code: code.to_owned(),
        message,
        field: field.map(str::to_owned),
    };
    match e {
        Error::Invalid {
            code,
            message,
            field,
        } => (
            StatusCode::BAD_REQUEST,
            detail(code, message.clone(), field.as_deref()),
        ),
        Error::Unprocessable { code, message } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            detail(code, message.clone(), Some("file")),
        ),
        Error::Unauthorized { code, message } => (
            StatusCode::UNAUTHORIZED,
            detail(code, message.clone(), None),
        ),
        Error::Forbidden { code, message } => {
            (StatusCode::FORBIDDEN, detail(code, message.clone(), None))
        }
        Error::NotFound => (
            StatusCode::NOT_FOUND,
            detail("not_found", "not found".into(), None),
        ),
        Error::Conflict { code, message } => {
            (StatusCode::CONFLICT, detail(code, message.clone(), None))
        }
        Error::TooLarge { message } => (
            StatusCode::PAYLOAD_TOO_LARGE,
            detail("too_large", message.clone(), None),
        ),
        Error::UnsupportedMediaType { message } => (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            detail("unsupported_media_type", message.clone(), None),
        ),
        Error::RateLimited { .. } => (
            StatusCode::TOO_MANY_REQUESTS,
            detail(
                "rate_limited",
                "too many requests; try again later".into(),
                None,
            ),
        ),
        Error::Integrity(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            detail(
                "integrity_error",
                "the stored file failed its integrity check".into(),
                None,
            ),
        ),
        Error::Gone { code, message } => (StatusCode::GONE, detail(code, message.clone(), None)),
        Error::Timeout { limit } => (
            StatusCode::REQUEST_TIMEOUT,
            detail(
                "request_timeout",
                format!("the request took longer than {} s", limit.as_secs()),
                None,
            ),
        ),
        Error::Busy { .. } => (
            StatusCode::SERVICE_UNAVAILABLE,
            detail(
                "busy",
                "the server is busy checking other files; try again shortly".into(),
                None,
            ),
        ),
        Error::Unavailable(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            detail(
                "service_unavailable",
                "a service we depend on is unavailable; try again later".into(),
                None,
            ),
        ),
        Error::Internal(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            detail(
                "internal_error",
                "something went wrong on our side".into(),
                None,
            ),
        ),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, detail) = status_and_detail(&self.0);
        match &self.0 {
            Error::Internal(cause) => tracing::error!(cause = %cause, "internal error"),
            Error::Integrity(cause) => tracing::error!(cause = %cause, "integrity error"),
            Error::Unavailable(cause) => tracing::warn!(cause = %cause, "dependency unavailable"),
            other => tracing::info!(code = %detail.code, "refused: {other}"),
        }
        let mut response = (status, axum::Json(ErrorBody { error: detail })).into_response();
        if let Error::RateLimited { retry_after } | Error::Busy { retry_after } = &self.0
            && let Ok(v) = HeaderValue::from_str(&retry_after.as_secs().max(1).to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
