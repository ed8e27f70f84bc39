//! The SealingKey port on KMS: an asymmetric key (ECC_NIST_P256, SIGN_VERIFY, multi-Region
//! so Osaka can seal if Tokyo is lost) signs a seal's DER signed attributes by `Sign` with
//! `MessageType=RAW` (KMS hashes them with SHA-256). The private key never leaves KMS, so
//! its certificate is made outside: [`sealing_csr`] writes a certificate request signed by
//! the KMS key, an organisation's CA certifies it, and the chain (PEM, leaf first) is kept
//! in S3 and read once per cold start ([`read_chain`]). The chain is checked against the
//! key when loaded, so a certificate for another key is a configuration error at start,
//! not a seal nobody can verify.

use std::str::FromStr;

use async_trait::async_trait;
use aws_sdk_kms::Client;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{MessageType, SigningAlgorithmSpec};
use der::asn1::BitString;
use der::{Decode, Encode};
use keiyaku_core::ports::{KeyError, SealingKey};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::Certificate;
use x509_cert::name::Name;
use x509_cert::request::{CertReq, CertReqInfo};

use crate::keys::key_error;

/// The service's sealing key in KMS and its certificate chain.
pub struct KmsSealingKey {
    client: Client,
    key_id: String,
    chain: Vec<Vec<u8>>,
}

fn unavailable(e: impl std::fmt::Display) -> KeyError {
    KeyError::Unavailable(e.to_string())
}

/// The KMS key's public key.
async fn public_key(client: &Client, key_id: &str) -> Result<SubjectPublicKeyInfoOwned, KeyError> {
    let out = client
        .get_public_key()
        .key_id(key_id)
        .send()
        .await
        .map_err(key_error)?;
    let der = out
        .public_key()
        .ok_or_else(|| unavailable("a public key answer without the key"))?;
    SubjectPublicKeyInfoOwned::from_der(der.as_ref()).map_err(unavailable)
}

/// ECDSA P-256 with SHA-256 over `message` by the KMS key, DER-encoded.
async fn sign(client: &Client, key_id: &str, message: &[u8]) -> Result<Vec<u8>, KeyError> {
    let out = client
        .sign()
        .key_id(key_id)
        .message(Blob::new(message))
        .message_type(MessageType::Raw)
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .send()
        .await
        .map_err(key_error)?;
    Ok(out
        .signature()
        .ok_or_else(|| unavailable("a sign answer without the signature"))?
        .as_ref()
        .to_vec())
}

impl KmsSealingKey {
    /// The key `key_id` (an id, ARN or alias) with `chain_pem`, its certificate first and
    /// then the CAs above it. Refused when the first certificate is not for this key.
    pub async fn new(client: Client, key_id: &str, chain_pem: &str) -> Result<Self, KeyError> {
        let chain = Certificate::load_pem_chain(chain_pem.as_bytes())
            .map_err(|e| unavailable(format!("the sealing chain is not PEM certificates: {e}")))?;
        let leaf = chain
            .first()
            .ok_or_else(|| unavailable("the sealing chain holds no certificate"))?;
        if leaf.tbs_certificate.subject_public_key_info != public_key(&client, key_id).await? {
            return Err(unavailable(format!(
                "the sealing chain's first certificate ({}) is not for KMS key {key_id}",
                leaf.tbs_certificate.subject
            )));
        }
        let chain = chain
            .iter()
            .map(|c| c.to_der())
            .collect::<Result<_, _>>()
            .map_err(unavailable)?;
        Ok(KmsSealingKey {
            client,
            key_id: key_id.to_owned(),
            chain,
        })
    }
}

#[async_trait]
impl SealingKey for KmsSealingKey {
    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        sign(&self.client, &self.key_id, message).await
    }

    async fn chain(&self) -> Result<Vec<Vec<u8>>, KeyError> {
        Ok(self.chain.clone())
    }
}

/// A PKCS#10 certificate request for the KMS key `key_id`, naming `subject` (RFC 4514,
/// e.g. `CN=keiyaku Document Sealing,O=Example K.K.,C=JP`), signed by that key: what an
/// organisation's CA certifies (README, "The sealing certificate on AWS"). DER.
pub async fn sealing_csr(
    client: &Client,
    key_id: &str,
    subject: &str,
) -> Result<Vec<u8>, KeyError> {
    let info = CertReqInfo {
        version: x509_cert::request::Version::V1,
        subject: Name::from_str(subject)
            .map_err(|e| unavailable(format!("subject {subject:?}: {e}")))?,
        public_key: public_key(client, key_id).await?,
        attributes: Default::default(),
    };
    let signature = sign(client, key_id, &info.to_der().map_err(unavailable)?).await?;
    CertReq {
        info,
        algorithm: AlgorithmIdentifierOwned {
            oid: const_oid::db::rfc5912::ECDSA_WITH_SHA_256,
            parameters: None,
        },
        signature: BitString::from_bytes(&signature).map_err(unavailable)?,
    }
    .to_der()
    .map_err(unavailable)
}

/// The sealing chain kept as the S3 object `bucket`/`key`.
pub async fn read_chain(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<String, KeyError> {
    let out = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| {
            unavailable(format!(
                "s3://{bucket}/{key}: {}",
                aws_sdk_s3::error::DisplayErrorContext(&e)
            ))
        })?;
    let bytes = out.body.collect().await.map_err(unavailable)?.into_bytes();
    String::from_utf8(bytes.to_vec())
        .map_err(|_| unavailable(format!("s3://{bucket}/{key} is not PEM")))
}

/// Creates a multi-Region sealing key like the real one (which the keys stack in `infra/`
/// declares) and returns its id (emulators and tests).
pub async fn create_sealing_key(client: &Client) -> Result<String, KeyError> {
    use aws_sdk_kms::types::{KeySpec, KeyUsageType};
    let out = client
        .create_key()
        .key_usage(KeyUsageType::SignVerify)
        .key_spec(KeySpec::EccNistP256)
        .multi_region(true)
        .description("keiyaku sealing key")
        .send()
        .await
        .map_err(key_error)?;
    out.key_metadata()
        .map(|m| m.key_id().to_owned())
        .ok_or_else(|| unavailable("a key without metadata"))
}
