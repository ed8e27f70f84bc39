//! Keys: data keys for envelope encryption, wrapped by the master key (KMS on AWS, the key
//! file locally), and the service's sealing key, which signs a seal's CMS signed attributes
//! (KMS `Sign` with `MessageType=RAW` on AWS; the local PKI's service key locally).

use async_trait::async_trait;
use zeroize::Zeroizing;

/// A fresh data key: use `plaintext` once, store `wrapped` beside the data.
pub struct DataKey {
    /// Which master key wrapped it.
    pub key_id: String,
    /// The AES-256 key, wiped on drop.
    pub plaintext: Zeroizing<[u8; 32]>,
    /// The key wrapped by the master key.
    pub wrapped: Vec<u8>,
}

/// What key operations can fail with.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The wrapped key is not one this master key made, or was altered.
    #[error("data key failed to unwrap")]
    Unwrap,
    /// The key id names no key available here.
    #[error("unknown key id {0}")]
    UnknownKey(String),
    /// The key service failed.
    #[error("key service unavailable: {0}")]
    Unavailable(String),
}

/// The service's key material.
#[async_trait]
pub trait Keys: Send + Sync {
    /// A new random data key and its wrapped form, bound to `context` (the id of what it
    /// encrypts: KMS's encryption context, which CloudTrail records with every use).
    async fn generate_data_key(&self, context: &str) -> Result<DataKey, KeyError>;
    /// The plaintext of a wrapped data key; `context` must be the one it was made for.
    async fn unwrap_data_key(
        &self,
        key_id: &str,
        wrapped: &[u8],
        context: &str,
    ) -> Result<Zeroizing<[u8; 32]>, KeyError>;
    /// HMAC-SHA256 of `message` under a service key that never leaves the key service (KMS
    /// `GenerateMac` on AWS): secrets that must come out the same when a task runs twice
    /// (a recipient's link) are derived with it, never stored in the clear.
    async fn mac(&self, message: &[u8]) -> Result<[u8; 32], KeyError>;
}

/// The service's sealing key: a capability of its own, so what only encrypts cannot sign
/// (on AWS, each function's IAM policy grants one or the other).
#[async_trait]
pub trait SealingKey: Send + Sync {
    /// Signs `message` (a seal's DER signed attributes): ECDSA P-256 with SHA-256, the
    /// signature DER-encoded.
    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError>;
    /// The sealing key's certificate and the chain above it, DER, leaf first.
    async fn chain(&self) -> Result<Vec<Vec<u8>>, KeyError>;
}
