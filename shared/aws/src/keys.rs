//! The Keys port on KMS: data keys from `GenerateDataKey` under the service's symmetric key
//! (a multi-Region key, so the Osaka replica can unwrap what Tokyo wrapped), unwrapped by
//! `Decrypt` (each bound to the id of what it encrypts by the encryption context, so a
//! wrapped key unwraps for that document only and CloudTrail names it), and link MACs from `GenerateMac` under an HMAC key that never leaves KMS.

use async_trait::async_trait;
use aws_sdk_kms::Client;
use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{DataKeySpec, MacAlgorithmSpec};
use keiyaku_core::ports::{DataKey, KeyError, Keys};
use zeroize::Zeroizing;

/// The encryption context's key: its value is the id of what a data key encrypts.
const CONTEXT: &str = "keiyaku:owner";

/// The service's keys in KMS.
pub struct KmsKeys {
    client: Client,
    data_key: String,
    mac_key: String,
}

/// An SDK error as the port's: a ciphertext KMS refuses, a key it does not know, or the
/// service being unavailable (its code and message; no SDK type leaves this module).
pub(crate) fn key_error<E, R>(e: SdkError<E, R>) -> KeyError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let service = e.as_service_error();
    match service.and_then(|s| s.code()) {
        Some("InvalidCiphertextException") | Some("IncorrectKeyException") => KeyError::Unwrap,
        Some("NotFoundException") => KeyError::UnknownKey(
            service
                .and_then(|s| s.message())
                .unwrap_or("no such key")
                .to_owned(),
        ),
        _ => KeyError::Unavailable(aws_sdk_kms::error::DisplayErrorContext(&e).to_string()),
    }
}

/// A key's id without its ARN (`arn:aws:kms:<region>:<account>:key/<id>` → `<id>`): what
/// blob headers keep, so the replica of a multi-Region key (same id, another region's ARN)
/// unwraps in Osaka what Tokyo wrapped.
fn region_free(key: &str) -> &str {
    match key.strip_prefix("arn:") {
        Some(_) => key.rsplit_once(":key/").map_or(key, |(_, id)| id),
        None => key,
    }
}

/// 32 bytes, or the service answered with something else.
fn exactly_32(bytes: &[u8], what: &str) -> Result<[u8; 32], KeyError> {
    bytes
        .try_into()
        .map_err(|_| KeyError::Unavailable(format!("{what} is {} bytes, not 32", bytes.len())))
}

impl KmsKeys {
    /// Keys under `data_key` (symmetric, ENCRYPT_DECRYPT) and `mac_key` (HMAC_256,
    /// GENERATE_VERIFY_MAC), each an id, ARN or alias.
    pub fn new(client: Client, data_key: impl Into<String>, mac_key: impl Into<String>) -> Self {
        KmsKeys {
            client,
            data_key: data_key.into(),
            mac_key: mac_key.into(),
        }
    }
}

#[async_trait]
impl Keys for KmsKeys {
    async fn generate_data_key(&self, context: &str) -> Result<DataKey, KeyError> {
        let out = self
            .client
            .generate_data_key()
            .key_id(&self.data_key)
            .encryption_context(CONTEXT, context)
            .key_spec(DataKeySpec::Aes256)
            .send()
            .await
            .map_err(key_error)?;
        let plaintext = out
            .plaintext()
            .ok_or_else(|| KeyError::Unavailable("a data key without its plaintext".into()))?;
        Ok(DataKey {
            key_id: region_free(out.key_id().unwrap_or(&self.data_key)).to_owned(),
            plaintext: Zeroizing::new(exactly_32(plaintext.as_ref(), "a data key")?),
            wrapped: out
                .ciphertext_blob()
                .ok_or_else(|| KeyError::Unavailable("a data key without its ciphertext".into()))?
                .as_ref()
                .to_vec(),
        })
    }

    async fn unwrap_data_key(
        &self,
        key_id: &str,
        wrapped: &[u8],
        context: &str,
    ) -> Result<Zeroizing<[u8; 32]>, KeyError> {
        let out = self
            .client
            .decrypt()
            .key_id(key_id)
            .encryption_context(CONTEXT, context)
            .ciphertext_blob(Blob::new(wrapped))
            .send()
            .await
            .map_err(key_error)?;
        let plaintext = out
            .plaintext()
            .ok_or_else(|| KeyError::Unavailable("a decrypt without its plaintext".into()))?;
        Ok(Zeroizing::new(exactly_32(
            plaintext.as_ref(),
            "a data key",
        )?))
    }

    async fn mac(&self, message: &[u8]) -> Result<[u8; 32], KeyError> {
        let out = self
            .client
            .generate_mac()
            .key_id(&self.mac_key)
            .mac_algorithm(MacAlgorithmSpec::HmacSha256)
            .message(Blob::new(message))
            .send()
            .await
            .map_err(key_error)?;
        let mac = out
            .mac()
            .ok_or_else(|| KeyError::Unavailable("a MAC answer without its MAC".into()))?;
        exactly_32(mac.as_ref(), "a MAC")
    }
}

/// Creates the two keys [`KmsKeys`] uses and returns their ids (emulators and tests; the
/// keys stack in `infra/` declares the real ones). The MAC key is multi-Region as the real
/// one; the data key is not, because moto cannot decrypt under a multi-Region key (its
/// ciphertext keeps 36 characters of key id, and `mrk-` ids have 40).
pub async fn create_keys(client: &Client) -> Result<(String, String), KeyError> {
    use aws_sdk_kms::types::{KeySpec, KeyUsageType};
    let data = client
        .create_key()
        .key_usage(KeyUsageType::EncryptDecrypt)
        .key_spec(KeySpec::SymmetricDefault)
        .description("keiyaku data keys")
        .send()
        .await
        .map_err(key_error)?;
    let mac = client
        .create_key()
        .key_usage(KeyUsageType::GenerateVerifyMac)
        .key_spec(KeySpec::Hmac256)
        .multi_region(true)
        .description("keiyaku link MACs")
        .send()
        .await
        .map_err(key_error)?;
    let id = |m: Option<&aws_sdk_kms::types::KeyMetadata>| {
        m.map(|m| m.key_id().to_owned())
            .ok_or_else(|| KeyError::Unavailable("a key without metadata".into()))
    };
    Ok((id(data.key_metadata())?, id(mac.key_metadata())?))
}

#[cfg(test)]
mod tests {
    #[test]
    fn key_ids_are_kept_without_their_region() {
        use super::region_free;
        assert_eq!(
            region_free("arn:aws:kms:ap-northeast-1:123456789012:key/mrk-1234abcd"),
            "mrk-1234abcd"
        );
        assert_eq!(region_free("mrk-1234abcd"), "mrk-1234abcd");
        assert_eq!(region_free("alias/keiyaku-data"), "alias/keiyaku-data");
    }
}
