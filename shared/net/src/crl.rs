//! CRLs fetched from a certificate's CRL distribution points (http only in this build),
//! with a timeout and a size cap, and checked to be that certificate issuer's.

use std::time::Duration;

use async_trait::async_trait;
use der::Decode;
use keiyaku_core::ports::{Revocation, RevocationError};
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::CrlDistributionPoints;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};

/// Largest CRL fetched.
pub const MAX_CRL_BYTES: usize = 10 << 20;

/// Revocation data from the distribution points each certificate names.
pub struct CrlFetcher {
    http: reqwest::Client,
}

impl CrlFetcher {
    /// A fetcher with its own HTTP client (15 s per request, 5 s to connect).
    pub fn new() -> Result<Self, RevocationError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| RevocationError::Unavailable(e.to_string()))?;
        Ok(CrlFetcher { http })
    }
    async fn fetch(&self, url: &str) -> Result<Vec<u8>, RevocationError> {
        let unavailable = |e: String| RevocationError::Unavailable(format!("{url}: {e}"));
        let mut response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        if !response.status().is_success() {
            return Err(unavailable(format!("HTTP {}", response.status())));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| unavailable(e.to_string()))?
        {
            if body.len() + chunk.len() > MAX_CRL_BYTES {
                return Err(unavailable(format!("larger than {MAX_CRL_BYTES} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

/// The http URLs of a certificate's CRL distribution points.
fn distribution_points(cert: &Certificate) -> Vec<String> {
    let Some(ext) = cert
        .tbs_certificate
        .extensions
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .find(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_CRL_DISTRIBUTION_POINTS)
    else {
        return Vec::new();
    };
    let Ok(points) = CrlDistributionPoints::from_der(ext.extn_value.as_bytes()) else {
        return Vec::new();
    };
    points
        .0
        .iter()
        .filter_map(|p| match &p.distribution_point {
            Some(DistributionPointName::FullName(names)) => Some(names),
            _ => None,
        })
        .flatten()
        .filter_map(|name| match name {
            GeneralName::UniformResourceIdentifier(uri) => Some(uri.to_string()),
            _ => None,
        })
        .filter(|uri| url::Url::parse(uri).is_ok_and(|u| u.scheme() == "http"))
        .collect()
}

#[async_trait]
impl Revocation for CrlFetcher {
    async fn crls(&self, cert: &[u8], _issuer: &[u8]) -> Result<Vec<Vec<u8>>, RevocationError> {
        let cert = Certificate::from_der(cert)
            .map_err(|e| RevocationError::NoSource(format!("certificate: {e}")))?;
        let urls = distribution_points(&cert);
        if urls.is_empty() {
            return Err(RevocationError::NoSource(format!(
                "{} names no http CRL distribution point",
                cert.tbs_certificate.subject
            )));
        }
        let mut last_error = None;
        for url in urls {
            match self.fetch(&url).await {
                Ok(der) => match CertificateList::from_der(&der) {
                    Ok(crl) if crl.tbs_cert_list.issuer == cert.tbs_certificate.issuer => {
                        return Ok(vec![der]);
                    }
                    Ok(_) => {
                        last_error = Some(RevocationError::Unavailable(format!(
                            "{url}: a CRL of another issuer"
                        )))
                    }
                    Err(e) => {
                        last_error = Some(RevocationError::Unavailable(format!(
                            "{url}: not a CRL: {e}"
                        )))
                    }
                },
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| RevocationError::NoSource("no CRL".into())))
    }
}
