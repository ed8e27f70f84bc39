//! A client for any RFC 3161 time-stamping service over HTTP (a certified Japanese TSA in
//! production; the local TSA's own route in benchmarks). Every answer is checked — status,
//! imprint, nonce, the token's signature, the TSA certificate's EKU, its chain to the
//! configured TSA anchors at genTime, its revocation (CRLs from the Revocation port, kept
//! until their nextUpdate), a sane genTime — and a failure is an error the caller retries,
//! never a missing or made-up timestamp.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use der::{Decode, Encode};
use keiyaku_core::clock::Clock;
use keiyaku_core::ports::{Revocation, Tsa, TsaError};
use rand::RngCore;
use time::OffsetDateTime;
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;

/// Largest answer read from a TSA.
const MAX_RESPONSE_BYTES: usize = 1 << 20;
/// How far a token's genTime may be from our clock.
const MAX_SKEW: time::Duration = time::Duration::minutes(5);

/// A time-stamp request for `digest` with a fresh random nonce (the answer must echo it),
/// asking for the TSA's certificates; the request and the nonce.
pub fn request(digest: &[u8; 32]) -> (Vec<u8>, u64) {
    let mut nonce = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let nonce = u64::from_be_bytes(nonce);
    (
        keiyaku_pdf::timestamp::request(digest, Some(nonce), true),
        nonce,
    )
}

/// How long a CRL without nextUpdate is kept.
const CRL_KEPT: time::Duration = time::Duration::hours(1);

/// Who the TSA must be: its chain's anchors, where revocation data comes from, and which
/// roots its https server may chain to besides the public web's.
pub struct TsaTrust {
    /// The roots a TSA certificate must chain to.
    pub anchors: Vec<Certificate>,
    /// CRLs for each certificate of that chain.
    pub revocation: Arc<dyn Revocation>,
    /// Extra roots (DER) for the TLS connection (a private CA's https endpoint).
    pub tls_roots: Vec<Vec<u8>>,
}

/// An RFC 3161 service at a URL.
pub struct RemoteTsa {
    url: String,
    credentials: Option<(String, String)>,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    trust: TsaTrust,
    /// CRLs by issuer (DER), until they are stale.
    crls: Mutex<HashMap<Vec<u8>, (CertificateList, OffsetDateTime)>>,
    /// The size of this TSA's tokens, once measured.
    token_size: keiyaku_core::ports::TokenSize,
    /// The TSA certificate last found trusted (DER), and until when that verdict holds
    /// (its CRLs' nextUpdate): a TSA signs with one certificate for years.
    trusted: Mutex<Option<(Vec<u8>, OffsetDateTime)>>,
}

impl RemoteTsa {
    /// A client for `url`, with HTTP Basic `credentials` if the service wants them, that
    /// accepts tokens only from a TSA that `trust` vouches for.
    pub fn new(
        url: &str,
        credentials: Option<(String, String)>,
        trust: TsaTrust,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, TsaError> {
        if trust.anchors.is_empty() {
            return Err(TsaError::Unavailable(format!(
                "{url}: no trust anchors for the TSA are configured"
            )));
        }
        let scheme = url::Url::parse(url).map(|u| u.scheme().to_owned());
        let https = scheme.as_deref() == Ok("https");
        if !https && scheme.as_deref() != Ok("http") {
            return Err(TsaError::Unavailable(format!(
                "{url}: not an http:// or https:// URL"
            )));
        }
        // Tokens are signed, so plain http is fine for them; a password is not.
        if credentials.is_some() && !https {
            return Err(TsaError::Unavailable(format!(
                "{url}: credentials are only sent over https"
            )));
        }
        let mut http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(10))
            .https_only(https);
        for root in &trust.tls_roots {
            let root = reqwest::Certificate::from_der(root)
                .map_err(|e| TsaError::Unavailable(format!("TLS root: {e}")))?;
            http = http.add_root_certificate(root);
        }
        let http = http
            .build()
            .map_err(|e| TsaError::Unavailable(e.to_string()))?;
        Ok(RemoteTsa {
            url: url.to_owned(),
            credentials,
            http,
            clock,
            trust,
            crls: Mutex::new(HashMap::new()),
            trusted: Mutex::new(None),
            token_size: Default::default(),
        })
    }

    /// Current CRLs for each certificate of `path` below its anchor, and until when they are
    /// all current.
    async fn crls_for(
        &self,
        path: &[Certificate],
    ) -> Result<(Vec<CertificateList>, OffsetDateTime), TsaError> {
        let now = self.clock.now();
        let mut out = Vec::new();
        let mut current_until = now + CRL_KEPT;
        for pair in path.windows(2) {
            let issuer = pair[1]
                .to_der()
                .map_err(|e| TsaError::Refused(e.to_string()))?;
            let cached = {
                let cache = self.crls.lock().unwrap_or_else(|e| e.into_inner());
                cache
                    .get(&issuer)
                    .filter(|(_, until)| *until > now)
                    .cloned()
            };
            if let Some((crl, until)) = cached {
                current_until = current_until.min(until);
                out.push(crl);
                continue;
            }
            let cert = pair[0]
                .to_der()
                .map_err(|e| TsaError::Refused(e.to_string()))?;
            let fetched = self
                .trust
                .revocation
                .crls(&cert, &issuer)
                .await
                .map_err(|e| TsaError::Unavailable(format!("TSA revocation data: {e}")))?;
            for der in fetched {
                let crl = CertificateList::from_der(&der)
                    .map_err(|e| TsaError::Unavailable(format!("TSA revocation data: {e}")))?;
                let until = crl.tbs_cert_list.next_update.map_or(now + CRL_KEPT, |t| {
                    OffsetDateTime::from_unix_timestamp(t.to_unix_duration().as_secs() as i64)
                        .unwrap_or(now)
                });
                self.crls
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(issuer.clone(), (crl.clone(), until));
                current_until = current_until.min(until);
                out.push(crl);
            }
        }
        Ok((out, current_until))
    }

    /// The TSA certificate chains to the anchors at `at` and nothing in the chain is revoked.
    async fn check_trust(&self, token: &keiyaku_pdf::Token) -> Result<(), TsaError> {
        let refused =
            |e: String| TsaError::Refused(format!("{}: the TSA is not trusted: {e}", self.url));
        let validate = |crls: &[CertificateList]| {
            keiyaku_pdf::verify::validate_path(
                &token.tsa_cert,
                &token.certs,
                &self.trust.anchors,
                crls,
                token.gen_time,
            )
        };
        let cert = token
            .tsa_cert
            .to_der()
            .map_err(|e| TsaError::Refused(e.to_string()))?;
        let now = self.clock.now();
        {
            let trusted = self.trusted.lock().unwrap_or_else(|e| e.into_inner());
            if matches!(&*trusted, Some((der, until)) if *der == cert && now < *until) {
                return Ok(());
            }
        }
        let path = validate(&[]).map_err(refused)?;
        let (crls, until) = self.crls_for(&path).await?;
        validate(&crls).map_err(refused)?;
        // Not beyond the certificate's own end either.
        let expires = OffsetDateTime::from_unix_timestamp(
            token
                .tsa_cert
                .tbs_certificate
                .validity
                .not_after
                .to_unix_duration()
                .as_secs() as i64,
        )
        .unwrap_or(now);
        *self.trusted.lock().unwrap_or_else(|e| e.into_inner()) = Some((cert, until.min(expires)));
        Ok(())
    }
}

#[async_trait]
impl Tsa for RemoteTsa {
    async fn timestamp(&self, digest: &[u8; 32]) -> Result<Vec<u8>, TsaError> {
        let (query, nonce) = request(digest);
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
        self.check_trust(&token).await?;
        Ok(token.der)
    }

    async fn token_size(&self) -> Result<usize, TsaError> {
        self.token_size
            .get_or_measure(self.timestamp(&[0u8; 32]))
            .await
    }
}
