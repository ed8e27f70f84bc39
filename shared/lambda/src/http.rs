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
    /// The request did not come through CloudFront: it lacks the origin secret.
    #[error("requests reach keiyaku through its own address only")]
    NotThroughFrontDoor,
}

/// The API's request for an API Gateway REST event: the path API Gateway matched (not the
/// one `lambda_http` prefixes with the stage), the body, and the client address. Behind
/// CloudFront (`origin_secret` set) the event must carry the secret CloudFront adds, and the
/// client is CloudFront's `CloudFront-Viewer-Address`; otherwise it is the request
/// context's `sourceIp`. Never `X-Forwarded-For`, which anyone can write.
pub fn api_request(
    event: lambda_http::Request,
    origin_secret: Option<&str>,
) -> Result<axum::extract::Request, EventError> {
    let client = match origin_secret {
        Some(secret) => {
            use subtle::ConstantTimeEq;
            let sent = event
                .headers()
                .get("x-keiyaku-origin")
                .map(|v| v.as_bytes())
                .unwrap_or_default();
            if !bool::from(sent.ct_eq(secret.as_bytes())) {
                return Err(EventError::NotThroughFrontDoor);
            }
            event
                .headers()
                .get("cloudfront-viewer-address")
                .and_then(|v| v.to_str().ok())
                .and_then(viewer_address)
        }
        None => match event.request_context_ref() {
            Some(RequestContext::ApiGatewayV1(context)) => context
                .identity
                .source_ip
                .as_deref()
                .and_then(|ip| ip.parse::<IpAddr>().ok()),
            _ => None,
        },
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

/// The address in CloudFront's `CloudFront-Viewer-Address` (`198.51.100.10:46532`, or an
/// IPv6 address and the port after its last colon, without brackets).
fn viewer_address(value: &str) -> Option<IpAddr> {
    let (ip, port) = value.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    ip.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

/// What the function answers an event that is not a request it serves.
fn refused(e: EventError) -> axum::response::Response {
    use axum::response::IntoResponse;
    let error = match e {
        EventError::NotThroughFrontDoor => keiyaku_core::Error::Forbidden {
            code: "not_through_front_door",
            message: e.to_string(),
        },
        other => keiyaku_core::Error::invalid("bad_event", "event", other.to_string()),
    };
    keiyaku_api::error::ApiError(error).into_response()
}

/// The router of route `name` for events: each event becomes the API's request and gets
/// the router's answer.
pub fn route_service(
    services: Arc<Services>,
    name: &str,
    handler: axum::routing::MethodRouter<keiyaku_api::AppState>,
) -> Option<
    impl tower::Service<
        lambda_http::Request,
        Response = axum::response::Response,
        Error = std::convert::Infallible,
        Future = impl Send,
    > + Clone,
> {
    let secret: Option<Arc<str>> = services.config.origin_secret.as_deref().map(Arc::from);
    let router = keiyaku_api::single_route(services, name, handler)?;
    Some(tower::service_fn(move |event: lambda_http::Request| {
        let router = router.clone();
        let secret = secret.clone();
        async move {
            match api_request(event, secret.as_deref()) {
                Ok(request) => router.oneshot(request).await,
                Err(e) => Ok(refused(e)),
            }
        }
    }))
}

/// Serves route `name` of the API to API Gateway until the Lambda runtime stops, streaming
/// each response.
pub async fn serve_route(
    services: Arc<Services>,
    name: &str,
    handler: axum::routing::MethodRouter<keiyaku_api::AppState>,
) -> Result<(), lambda_http::Error> {
    let service = route_service(services, name, handler)
        .ok_or_else(|| format!("the route table has no route named {name}"))?;
    lambda_http::run_with_streaming_response(service).await
}

#[cfg(test)]
mod tests {
    use super::viewer_address;

    #[test]
    fn viewer_addresses_are_read_with_their_port_cut_off() {
        assert_eq!(
            viewer_address("198.51.100.10:46532").unwrap().to_string(),
            "198.51.100.10"
        );
        assert_eq!(
            viewer_address("2001:db8:85a3::8a2e:370:7334:46532")
                .unwrap()
                .to_string(),
            "2001:db8:85a3::8a2e:370:7334"
        );
        assert_eq!(
            viewer_address("[2001:db8::1]:443").unwrap().to_string(),
            "2001:db8::1"
        );
        assert_eq!(viewer_address("198.51.100.10"), None);
        assert_eq!(viewer_address("not an address:80"), None);
    }
}
