//! Revocation data for long-term form: the local CA issues a fresh CRL for its own
//! certificates; any other certificate's CRL is fetched from its CRL distribution point
//! (http only in this build), with a timeout and a size cap, and checked to be that issuer's.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use der::{Decode, Encode};
use keiyaku_core::clock::Clock;
use keiyaku_core::ports::{Revocation, RevocationError};
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::CrlDistributionPoints;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};

use crate::pki::LocalPki;

/// Largest CRL fetched.
const MAX_CRL_BYTES: usize = 10 << 20;

/// The local CA for its own certificates; CRL distribution points for the rest.
pub struct CrlSource {
    pki: Option<LocalPki>,
    clock: Arc<dyn Clock>,
    http: reqwest::Client,
}

impl CrlSource {
    /// Revocation data from `pki` (when given) and from the network.
    pub fn new(pki: Option<LocalPki>, clock: Arc<dyn Clock>) -> Result<Self, RevocationError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| RevocationError::Unavailable(e.to_string()))?;
        Ok(CrlSource { pki, clock, http })
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
        .filter(|uri| uri.starts_with("http://"))
        .collect()
}

#[async_trait]
impl Revocation for CrlSource {
    async fn crls(&self, cert: &[u8], issuer: &[u8]) -> Result<Vec<Vec<u8>>, RevocationError> {
        if let Some(pki) = &self.pki {
            for ca in [&pki.root, &pki.issuing] {
                if ca.cert.to_der().ok().as_deref() == Some(issuer) {
                    let crl = LocalPki::crl(ca, self.clock.now())
                        .map_err(|e| RevocationError::Unavailable(e.to_string()))?;
                    return Ok(vec![crl]);
                }
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use keiyaku_core::clock::SystemClock;
    use std::io::{Read, Write};

    /// Serves `body` once per connection on a loopback port, as any HTTP server would.
    fn serve(bodies: Vec<Vec<u8>>) -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for body in bodies {
                let (mut stream, _) = listener.accept().unwrap();
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request);
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/pkix-crl\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
            }
        });
        port
    }

    #[tokio::test]
    async fn fetched_crls_are_capped_and_must_be_the_issuers() {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let other_dir = tempfile::tempdir().unwrap();
        let other = LocalPki::open_or_create(other_dir.path(), "http://127.0.0.1:9").unwrap();
        let foreign_crl = LocalPki::crl(&other.issuing, clock.now()).unwrap();
        let port = serve(vec![vec![0u8; MAX_CRL_BYTES + 1], foreign_crl]);
        // Certificates whose CRL distribution point is that server.
        let dir = tempfile::tempdir().unwrap();
        let pki =
            LocalPki::open_or_create(dir.path(), &format!("http://127.0.0.1:{port}")).unwrap();
        let own_crl = LocalPki::crl(&pki.issuing, clock.now()).unwrap();
        let (cert, issuer) = (
            pki.service.cert.to_der().unwrap(),
            pki.issuing.cert.to_der().unwrap(),
        );
        // Without the PKI at hand, the CRL is fetched: too large, then another issuer's.
        let fetching = CrlSource::new(None, clock.clone()).unwrap();
        match fetching.crls(&cert, &issuer).await {
            Err(RevocationError::Unavailable(why)) => assert!(why.contains("larger"), "{why}"),
            other => panic!("{other:?}"),
        }
        match fetching.crls(&cert, &issuer).await {
            Err(RevocationError::Unavailable(why)) => {
                assert!(why.contains("another issuer"), "{why}")
            }
            other => panic!("{other:?}"),
        }
        // With it, the local CA issues one now, for its own certificates only.
        let local = CrlSource::new(Some(pki.clone()), clock).unwrap();
        let crls = local.crls(&cert, &issuer).await.unwrap();
        let crl = CertificateList::from_der(&crls[0]).unwrap();
        assert_eq!(
            crl.tbs_cert_list.issuer,
            CertificateList::from_der(&own_crl)
                .unwrap()
                .tbs_cert_list
                .issuer
        );
        // A certificate naming no distribution point has no source.
        let root = pki.root.cert.to_der().unwrap();
        assert!(matches!(
            CrlSource::new(None, Arc::new(SystemClock))
                .unwrap()
                .crls(&root, &root)
                .await,
            Err(RevocationError::NoSource(_))
        ));
    }
}
