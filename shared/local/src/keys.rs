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

/// The first byte of a wrapped key bound to a context: nonce, key and tag follow.
const BOUND: u8 = 2;
/// The length of a key wrapped before contexts existed: nonce, key, tag.
const UNBOUND_LEN: usize = 12 + 32 + 16;

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

    /// What a wrap is bound to: this master key and, for keys made since contexts exist,
    /// the id of what the data key encrypts.
    fn aad(&self, context: Option<&str>) -> Vec<u8> {
        match context {
            None => self.key_id.as_bytes().to_vec(),
            Some(c) => format!("{}\0{c}", self.key_id).into_bytes(),
        }
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

    async fn generate_data_key(&self, context: &str) -> Result<DataKey, KeyError> {
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
                    aad: &self.aad(Some(context)),
                },
            )
            .map_err(|_| KeyError::Unavailable("wrap failed".into()))?;
        let mut wrapped = vec![BOUND];
        wrapped.extend_from_slice(&nonce);
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
        context: &str,
    ) -> Result<Zeroizing<[u8; 32]>, KeyError> {
        if key_id != self.key_id {
            return Err(KeyError::UnknownKey(key_id.to_owned()));
        }
        // Keys wrapped before contexts existed are 60 bytes without the format byte.
        let (body, context) = match wrapped.len() {
            UNBOUND_LEN => (wrapped, None),
            n if n == UNBOUND_LEN + 1 && wrapped[0] == BOUND => (&wrapped[1..], Some(context)),
            _ => return Err(KeyError::Unwrap),
        };
        let plain = Zeroizing::new(
            self.cipher
                .decrypt(
                    Nonce::from_slice(&body[..12]),
                    Payload {
                        msg: &body[12..],
                        aad: &self.aad(context),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A data key wrapped before wraps were bound to a context (a data dir made earlier)
    /// still unwraps, whatever context is asked; new wraps are bound to theirs.
    #[tokio::test]
    async fn keys_wrapped_before_contexts_still_unwrap() {
        let dir = tempfile::tempdir().unwrap();
        let file = KeyFile::open_or_create(&dir.path().join("master.key")).unwrap();
        let key = [7u8; 32];
        let nonce = [1u8; 12];
        let mut legacy = nonce.to_vec();
        legacy.extend_from_slice(
            &file
                .cipher
                .encrypt(
                    Nonce::from_slice(&nonce),
                    Payload {
                        msg: &key,
                        aad: file.key_id.as_bytes(),
                    },
                )
                .unwrap(),
        );
        let unwrapped = file
            .unwrap_data_key(file.key_id(), &legacy, "doc-1")
            .await
            .unwrap();
        assert_eq!(*unwrapped, key);

        let bound = file.generate_data_key("doc-1").await.unwrap();
        assert_eq!(bound.wrapped.len(), UNBOUND_LEN + 1);
        assert!(matches!(
            file.unwrap_data_key(file.key_id(), &bound.wrapped, "doc-2")
                .await,
            Err(KeyError::Unwrap)
        ));
        // Without its format byte, a bound key is not taken for an unbound one.
        assert!(matches!(
            file.unwrap_data_key(file.key_id(), &bound.wrapped[1..], "doc-1")
                .await,
            Err(KeyError::Unwrap)
        ));
    }
}
