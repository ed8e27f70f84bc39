//! A client for any RFC 3161 time-stamping service over HTTP (a certified Japanese TSA in
//! production; the local TSA's own route in benchmarks). Every answer is checked — status,
//! imprint, nonce, the token's signature, the TSA certificate's EKU, a sane genTime — and a
//! failure is an error the caller retries, never a missing or made-up timestamp.

use std::time::Duration;

use async_trait::async_trait;
use keiyaku_core::clock::Clock;
use keiyaku_core::ports::{Tsa, TsaError};
use rand::RngCore;
use std::sync::Arc;

/// Largest answer read from a TSA.
const MAX_RESPONSE_BYTES: usize = 1 << 20;
/// How far a token's genTime may be from our clock.
const MAX_SKEW: time::Duration = time::Duration::minutes(5);

/// An RFC 3161 service at a URL.
pub struct RemoteTsa {
    url: String,
    credentials: Option<(String, String)>,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
}

impl RemoteTsa {
    /// A client for `url`, with HTTP Basic `credentials` if the service wants them.
    pub fn new(
        url: &str,
        credentials: Option<(String, String)>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, TsaError> {
        if !url.starts_with("http://") {
            // This build has no TLS stack; an https TSA needs reqwest's rustls feature.
            return Err(TsaError::Unavailable(format!(
                "{url}: only http:// TSAs are supported by this build"
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| TsaError::Unavailable(e.to_string()))?;
        Ok(RemoteTsa {
            url: url.to_owned(),
            credentials,
            http,
            clock,
        })
    }
}

#[async_trait]
impl Tsa for RemoteTsa {
    async fn timestamp(&self, digest: &[u8; 32]) -> Result<Vec<u8>, TsaError> {
        let mut nonce = [0u8; 8];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let nonce = u64::from_be_bytes(nonce);
        let query = keiyaku_pdf::timestamp::request(digest, Some(nonce), true);
        let mut request = self
            .http
            .post(&self.url)
            .header("content-type", "application/timestamp-query")
            .body(query);
        if let Some((user, password)) = &self.credentials {
            request = request.basic_auth(user, Some(password));
        }
        let unavailable = |e: reqwest::Error| TsaError::Unavailable(format!("{}: {e}", self.url));
        let mut response = request.send().await.map_err(unavailable)?;
        if !response.status().is_success() {
            return Err(TsaError::Unavailable(format!(
                "{}: HTTP {}",
                self.url,
                response.status()
            )));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(unavailable)? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(TsaError::Refused(format!(
                    "{}: answer over {MAX_RESPONSE_BYTES} bytes",
                    self.url
                )));
            }
            body.extend_from_slice(&chunk);
        }
        let token = keiyaku_pdf::timestamp::check_response(&body, digest, Some(nonce))
            .map_err(|e| TsaError::Refused(format!("{}: {e}", self.url)))?;
        let skew = (token.gen_time - self.clock.now()).abs();
        if skew > MAX_SKEW {
            return Err(TsaError::Refused(format!(
                "{}: genTime {} is {skew} away from our clock",
                self.url, token.gen_time
            )));
        }
        Ok(token.der)
    }
}
