//! Keys on a key file: a 256-bit master key made on first start (mode 0600) that wraps
//! every data key with AES-256-GCM, as KMS does on AWS.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use async_trait::async_trait;
use keiyaku_core::ports::{DataKey, KeyError, Keys};
use rand::RngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// The master key from the key file.
pub struct KeyFile {
    key_id: String,
    cipher: Aes256Gcm,
    /// The MAC key, derived from the master key (so one file holds every secret).
    mac_key: Zeroizing<[u8; 32]>,
}

/// What opening the key file can fail with.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// Reading or creating it failed.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// It is not 32 bytes.
    #[error("key file {0} is not a keiyaku key file (expected 32 bytes)")]
    Malformed(String),
}

impl KeyFile {
    /// Opens the key file at `path`, creating it (mode 0600) if it does not exist.
    pub fn open_or_create(path: &Path) -> Result<Self, KeyFileError> {
        let io = |source| KeyFileError::Io {
            path: path.display().to_string(),
            source,
        };
        let key: Zeroizing<Vec<u8>> = match std::fs::read(path) {
            Ok(bytes) => Zeroizing::new(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = Zeroizing::new(vec![0u8; 32]);
                rand::rngs::OsRng.fill_bytes(&mut key);
                write_secret(path, &key).map_err(io)?;
                key
            }
            Err(e) => return Err(io(e)),
        };
        if key.len() != 32 {
            return Err(KeyFileError::Malformed(path.display().to_string()));
        }
        let key_id = format!("local:{}", &hex::encode(Sha256::digest(&key[..]))[..16]);
        let cipher = Aes256Gcm::new_from_slice(&key)
            .map_err(|_| KeyFileError::Malformed(path.display().to_string()))?;
        let mac_key = Zeroizing::new(hmac_sha256(&key, b"keiyaku mac key v1"));
        Ok(KeyFile {
            key_id,
            cipher,
            mac_key,
        })
    }

    /// The id of this master key (written into blob headers).
    pub fn key_id(&self) -> &str {
        &self.key_id
    }
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

#[async_trait]
impl Keys for KeyFile {
    async fn mac(&self, message: &[u8]) -> Result<[u8; 32], KeyError> {
        Ok(hmac_sha256(self.mac_key.as_ref(), message))
    }

    async fn generate_data_key(&self) -> Result<DataKey, KeyError> {
        let mut plaintext = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(plaintext.as_mut());
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_ref(),
                    aad: self.key_id.as_bytes(),
                },
            )
            .map_err(|_| KeyError::Unavailable("wrap failed".into()))?;
        let mut wrapped = nonce.to_vec();
        wrapped.extend_from_slice(&sealed);
        Ok(DataKey {
            key_id: self.key_id.clone(),
            plaintext,
            wrapped,
        })
    }

    async fn unwrap_data_key(
        &self,
        key_id: &str,
        wrapped: &[u8],
    ) -> Result<Zeroizing<[u8; 32]>, KeyError> {
        if key_id != self.key_id {
            return Err(KeyError::UnknownKey(key_id.to_owned()));
        }
        if wrapped.len() != 12 + 32 + 16 {
            return Err(KeyError::Unwrap);
        }
        let plain = Zeroizing::new(
            self.cipher
                .decrypt(
                    Nonce::from_slice(&wrapped[..12]),
                    Payload {
                        msg: &wrapped[12..],
                        aad: self.key_id.as_bytes(),
                    },
                )
                .map_err(|_| KeyError::Unwrap)?,
        );
        let mut key = Zeroizing::new([0u8; 32]);
        key.copy_from_slice(&plain);
        Ok(key)
    }
}

/// Writes a new secret file: created (never overwritten) with mode 0600, and synced.
pub(crate) fn write_secret(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(contents)?;
    f.sync_all()
}
