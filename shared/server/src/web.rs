//! The browser client (`web/` at the top of the repository), served by the local shape from
//! the binary itself: a release build embeds the files, so `cargo run --release` needs
//! nothing else (a debug build reads them from the folder, so the client can be edited
//! without a rebuild). On AWS the same files are in S3 behind CloudFront, whose
//! response-headers policy carries the same headers (`web/headers.json`, the one source
//! both read).
//!
//! Paths whose last segment has no dot are the client's own screens (the links mails carry:
//! `/verify-email`, `/reset`, `/documents/{id}`, `/r/`): each is answered with `index.html`,
//! and the client decides what to show (a not-found screen included). CloudFront's viewer
//! function rewrites the same paths the same way. Files are revalidated by their ETag on
//! every use (the client has no build step, so no hashed file names) and sent gzipped when
//! the browser takes it.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Mutex, OnceLock};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use keiyaku_api::error::ApiError;
use keiyaku_core::Error;

/// The files of `web/`, but for the header table (it is not served).
#[derive(rust_embed::Embed)]
#[folder = "../../web/"]
#[exclude = "headers.json"]
struct Client;

/// The headers every answer of the client carries, its Content-Security-Policy among them;
/// CloudFront's response-headers policy is generated from the same file.
const HEADERS: &str = include_str!("../../../web/headers.json");

/// [`HEADERS`], parsed once.
pub fn headers() -> &'static [(HeaderName, HeaderValue)] {
    static PARSED: OnceLock<Vec<(HeaderName, HeaderValue)>> = OnceLock::new();
    PARSED.get_or_init(|| {
        // The file is part of the binary and tested: a broken one is a build defect.
        let table: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(HEADERS).expect("web/headers.json is a JSON object");
        table
            .into_iter()
            .map(|(name, value)| {
                let value = value.as_str().expect("web/headers.json holds strings");
                (
                    HeaderName::try_from(name).expect("a header name"),
                    HeaderValue::from_str(value).expect("a header value"),
                )
            })
            .collect()
    })
}

/// The routes of the client: every path the API does not take.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", any(serve))
        .route("/{*path}", any(serve))
}

async fn serve(method: Method, uri: Uri, request: HeaderMap) -> Response {
    let path = uri.path();
    // The API's own unknown paths stay JSON errors.
    if path == "/api" || path.starts_with("/api/") {
        return ApiError(Error::NotFound).into_response();
    }
    let mut response = if !matches!(method, Method::GET | Method::HEAD) {
        let mut r = StatusCode::METHOD_NOT_ALLOWED.into_response();
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        r
    } else {
        let name = path.trim_start_matches('/');
        let screen = !name.rsplit('/').next().unwrap_or_default().contains('.');
        match Client::get(if screen { "index.html" } else { name }) {
            Some(file) => file_response(file, &request),
            None => (StatusCode::NOT_FOUND, "not found\n").into_response(),
        }
    };
    let h = response.headers_mut();
    for (name, value) in headers() {
        h.insert(name.clone(), value.clone());
    }
    response
}

fn file_response(file: rust_embed::EmbeddedFile, request: &HeaderMap) -> Response {
    let hash = file.metadata.sha256_hash();
    let etag = format!("\"{}\"", hex_prefix(&hash));
    let mut h = HeaderMap::new();
    // Always revalidated: a new binary serves new files at the same names.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    let mime = file.metadata.mimetype();
    // Text is sent as UTF-8, and compressed.
    let textual =
        mime.starts_with("text/") || mime == "application/json" || mime == "image/svg+xml";
    let content_type = if textual {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_owned()
    };
    if let Ok(v) = HeaderValue::from_str(&content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    let unchanged = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag));
    if unchanged {
        return (StatusCode::NOT_MODIFIED, h).into_response();
    }
    let gzip = textual
        && request
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    if gzip {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        (h, gzipped(hash, &file.data)).into_response()
    } else {
        // Embedded files are sent from the binary as they are, not copied.
        let body = match file.data {
            std::borrow::Cow::Borrowed(data) => Bytes::from_static(data),
            std::borrow::Cow::Owned(data) => Bytes::from(data),
        };
        (h, body).into_response()
    }
}

/// A file gzipped, once per content (by its hash).
fn gzipped(hash: [u8; 32], data: &[u8]) -> Bytes {
    static CACHE: OnceLock<Mutex<HashMap<[u8; 32], Bytes>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(hit) = cache.lock().ok().and_then(|c| c.get(&hash).cloned()) {
        return hit;
    }
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(data);
    let out = Bytes::from(encoder.finish().unwrap_or_default());
    if let Ok(mut c) = cache.lock() {
        c.insert(hash, out.clone());
    }
    out
}

fn hex_prefix(hash: &[u8; 32]) -> String {
    hex::encode(&hash[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_table_parses_and_holds_the_policy() {
        let csp = headers()
            .iter()
            .find(|(n, _)| n == header::CONTENT_SECURITY_POLICY)
            .map(|(_, v)| v.to_str().unwrap_or_default());
        assert!(csp.is_some_and(|c| c.contains("trusted-types 'none'")));
    }

    #[test]
    fn the_client_has_its_entry_page() {
        let index = Client::get("index.html").expect("web/index.html");
        assert_eq!(index.metadata.mimetype(), "text/html");
        assert!(Client::get("headers.json").is_none());
    }
}
