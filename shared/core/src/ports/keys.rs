//! Keys: data keys for envelope encryption, wrapped by the master key (KMS on AWS, the key
//! file locally). Signing for seals comes with the sealing issue.

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
    /// A new random data key and its wrapped form.
    async fn generate_data_key(&self) -> Result<DataKey, KeyError>;
    /// The plaintext of a wrapped data key.
    async fn unwrap_data_key(
        &self,
        key_id: &str,
        wrapped: &[u8],
    ) -> Result<Zeroizing<[u8; 32]>, KeyError>;
}
