//! The AWS shape's adapters of keiyaku's ports. Each turns SDK errors into the port's own
//! at its boundary (no SDK type leaves this crate), and all share one SDK configuration on
//! rustls with ring, the crypto provider the rest of keiyaku uses.

pub mod blobs;
pub mod items;
pub mod keys;
pub mod mail;
pub mod schedule;
pub mod sealing;
pub mod secrets;
pub mod staging;
pub mod workflow;

pub use blobs::S3BlobStore;
pub use items::DynamoItemStore;
pub use keys::KmsKeys;
pub use mail::SesMailer;
pub use schedule::EventBridgeScheduler;
pub use sealing::KmsSealingKey;
pub use staging::S3Staging;
pub use workflow::StepFunctionsWorkflow;

use aws_sdk_dynamodb::config::{Credentials, Region};

/// Where the SDK connects and as whom.
#[derive(Clone, Debug, Default)]
pub struct Connection {
    /// An endpoint other than AWS's own (a local emulator in tests).
    pub endpoint: Option<String>,
    /// The region; `None` takes it from the environment (Lambda sets `AWS_REGION`).
    pub region: Option<String>,
    /// Fixed credentials (an emulator's); `None` takes the environment's chain (a Lambda's
    /// role).
    pub credentials: Option<(String, String)>,
}

/// The roots AWS's endpoints chain to (Amazon Trust Services: Amazon Root CA 1–4, and the
/// Starfield Services root that cross-signs them). Only these are trusted for AWS's APIs:
/// reading and parsing the platform's whole store took most of a function's start-up.
pub const AMAZON_ROOTS: &str = include_str!("amazon-roots.pem");

/// The SDK configuration for `connection`, with an HTTPS client on rustls with ring that
/// trusts [`AMAZON_ROOTS`].
pub async fn sdk_config(connection: &Connection) -> aws_config::SdkConfig {
    use aws_smithy_http_client::tls::{
        Provider, TlsContext, TrustStore, rustls_provider::CryptoMode,
    };
    let trust = TrustStore::empty().with_pem_certificate(AMAZON_ROOTS.as_bytes());
    let tls = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .expect("a trust store of PEM certificates is always accepted");
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .tls_context(tls)
        .build_https();
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(http);
    if let Some(url) = &connection.endpoint {
        loader = loader.endpoint_url(url);
    }
    if let Some(region) = &connection.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some((id, secret)) = &connection.credentials {
        loader = loader.credentials_provider(Credentials::new(id, secret, None, None, "fixed"));
    }
    loader.load().await
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_amazon_roots_are_five_self_issued_certificates() {
        use der::DecodePem;
        let pems: Vec<&str> = super::AMAZON_ROOTS
            .split_inclusive("-----END CERTIFICATE-----\n")
            .filter(|p| p.contains("BEGIN CERTIFICATE"))
            .collect();
        assert_eq!(pems.len(), 5);
        for pem in pems {
            let start = pem.find("-----BEGIN").unwrap();
            let cert = x509_cert::Certificate::from_pem(&pem[start..]).unwrap();
            let subject = cert.tbs_certificate.subject.to_string();
            assert_eq!(subject, cert.tbs_certificate.issuer.to_string());
            assert!(
                subject.contains("O=Amazon") || subject.contains("O=Starfield"),
                "{subject}"
            );
        }
    }
}
