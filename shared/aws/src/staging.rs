//! Staging on S3: the client posts an upload straight to the staging bucket (SSE-KMS, no
//! versioning, no replication, objects expire after a day) with a presigned S3 POST whose
//! policy admits exactly one key and exactly the declared size (`content-length-range`), so
//! large bodies never pass through API Gateway or Lambda. The call that needs the file takes
//! it from there and removes it once it is checked and encrypted into the documents bucket.
//!
//! The SDK has no presigned POST (awslabs/aws-sdk-rust#863): the policy document is written
//! here, after S3's "Creating a POST policy" (SigV4), and signed with `aws-sigv4`'s signing
//! key and signature functions, with the credentials of the SDK configuration (a Lambda's
//! role: temporary, so the form also carries their session token).

use std::collections::BTreeMap;
use std::time::SystemTime;

use async_trait::async_trait;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use base64::Engine;
use keiyaku_core::ports::{BlobError, BlobStore, ByteStream, Staging, StagingError, UploadTarget};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::S3BlobStore;

/// How long a form may be used: shorter than the slot, since the role's credentials that
/// sign it are temporary.
const FORM_LIFETIME: time::Duration = time::Duration::hours(1);

/// The staging bucket.
pub struct S3Staging {
    objects: S3BlobStore,
    bucket: String,
    url: String,
    region: String,
    credentials: SharedCredentialsProvider,
}

fn unavailable(e: impl std::fmt::Display) -> StagingError {
    StagingError::Unavailable(e.to_string())
}

fn object_key(id: &str) -> String {
    format!("uploads/{id}")
}

impl S3Staging {
    /// The staging bucket `bucket`, read and emptied with `client`, posted to at `url` (the
    /// bucket's own endpoint, `https://<bucket>.s3.<region>.amazonaws.com/`), signed with
    /// `config`'s region and credentials.
    pub fn new(
        config: &aws_config::SdkConfig,
        client: aws_sdk_s3::Client,
        bucket: String,
        url: String,
    ) -> Result<Self, StagingError> {
        let region = config
            .region()
            .ok_or_else(|| unavailable("no AWS region is configured"))?
            .to_string();
        let credentials = config
            .credentials_provider()
            .ok_or_else(|| unavailable("no AWS credentials are configured"))?;
        Ok(S3Staging {
            objects: S3BlobStore::new(client, bucket.clone()),
            bucket,
            url,
            region,
            credentials,
        })
    }
}

/// The fields of a presigned POST of `key` to `bucket`, `size` bytes exactly, until
/// `expires` (`now` is when it is signed).
#[allow(clippy::too_many_arguments)]
fn post_fields(
    bucket: &str,
    key: &str,
    size: u64,
    region: &str,
    access_key: &str,
    secret: &str,
    session_token: Option<&str>,
    now: OffsetDateTime,
    expires: OffsetDateTime,
) -> Result<BTreeMap<String, String>, StagingError> {
    let date = now
        .format(format_description!("[year][month][day]"))
        .map_err(unavailable)?;
    let amz_date = now
        .format(format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .map_err(unavailable)?;
    let expiration = expires
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].000Z"
        ))
        .map_err(unavailable)?;
    let mut fields = BTreeMap::from([
        ("key".to_owned(), key.to_owned()),
        ("x-amz-algorithm".to_owned(), "AWS4-HMAC-SHA256".to_owned()),
        (
            "x-amz-credential".to_owned(),
            format!("{access_key}/{date}/{region}/s3/aws4_request"),
        ),
        ("x-amz-date".to_owned(), amz_date),
    ]);
    if let Some(token) = session_token {
        fields.insert("x-amz-security-token".to_owned(), token.to_owned());
    }
    let mut conditions: Vec<Value> = vec![
        json!({ "bucket": bucket }),
        json!(["content-length-range", size, size]),
    ];
    conditions.extend(fields.iter().map(|(k, v)| json!({ k: v })));
    let policy = json!({ "expiration": expiration, "conditions": conditions });
    let policy = base64::engine::general_purpose::STANDARD.encode(policy.to_string());
    let signing_key =
        aws_sigv4::sign::v4::generate_signing_key(secret, SystemTime::from(now), region, "s3");
    let signature = aws_sigv4::sign::v4::calculate_signature(signing_key, policy.as_bytes());
    fields.insert("policy".to_owned(), policy);
    fields.insert("x-amz-signature".to_owned(), signature);
    Ok(fields)
}

#[async_trait]
impl Staging for S3Staging {
    async fn target(
        &self,
        id: &str,
        size: u64,
        expires_at: OffsetDateTime,
    ) -> Result<UploadTarget, StagingError> {
        let credentials = self
            .credentials
            .provide_credentials()
            .await
            .map_err(|e| unavailable(format!("AWS credentials: {e}")))?;
        let now = OffsetDateTime::now_utc();
        let fields = post_fields(
            &self.bucket,
            &object_key(id),
            size,
            &self.region,
            credentials.access_key_id(),
            credentials.secret_access_key(),
            credentials.session_token(),
            now,
            expires_at.min(now + FORM_LIFETIME),
        )?;
        Ok(UploadTarget {
            url: self.url.clone(),
            method: "POST".into(),
            fields,
        })
    }

    async fn take(&self, id: &str) -> Result<Option<ByteStream>, StagingError> {
        match self.objects.get(&object_key(id)).await {
            Ok(body) => Ok(Some(body)),
            Err(BlobError::NotFound) => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn discard(&self, id: &str) -> Result<(), StagingError> {
        self.objects
            .delete(&object_key(id))
            .await
            .map_err(unavailable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SigV4's signing key, derived independently (HMAC-SHA256 over date, region, service and
    /// `aws4_request`).
    fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
        use hmac::{Hmac, Mac};
        let mac = |key: &[u8], data: &str| {
            let mut m = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
            m.update(data.as_bytes());
            m.finalize().into_bytes().to_vec()
        };
        let k = mac(format!("AWS4{secret}").as_bytes(), date);
        let k = mac(&k, region);
        let k = mac(&k, service);
        mac(&k, "aws4_request")
    }

    /// The derivation matches AWS's documented example ("Examples of how to derive a signing
    /// key for Signature Version 4"), and aws-sigv4's agrees with it.
    #[test]
    fn signing_keys_follow_aws_example() {
        let documented = "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d";
        let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
        assert_eq!(
            hex::encode(signing_key(secret, "20120215", "us-east-1", "iam")),
            documented
        );
        let theirs = aws_sigv4::sign::v4::generate_signing_key(
            secret,
            SystemTime::from(time::macros::datetime!(2012-02-15 12:00 UTC)),
            "us-east-1",
            "iam",
        );
        assert_eq!(hex::encode(theirs.as_ref()), documented);
    }

    /// The form admits one key and one size, names the credential's scope, carries the
    /// session token, expires when asked, and is signed over the policy it carries.
    #[test]
    fn the_policy_admits_one_key_and_one_size() {
        let now = time::macros::datetime!(2026-12-04 06:00:00 UTC);
        let fields = post_fields(
            "keiyaku-staging",
            "uploads/u1",
            1234,
            "ap-northeast-1",
            "AKIDEXAMPLE",
            "secret",
            Some("token"),
            now,
            now + FORM_LIFETIME,
        )
        .unwrap();
        assert_eq!(fields["key"], "uploads/u1");
        assert_eq!(
            fields["x-amz-credential"],
            "AKIDEXAMPLE/20261204/ap-northeast-1/s3/aws4_request"
        );
        assert_eq!(fields["x-amz-date"], "20261204T060000Z");
        assert_eq!(fields["x-amz-security-token"], "token");
        let policy: Value = serde_json::from_slice(
            &base64::engine::general_purpose::STANDARD
                .decode(&fields["policy"])
                .unwrap(),
        )
        .unwrap();
        assert_eq!(policy["expiration"], "2026-12-04T07:00:00.000Z");
        let conditions = policy["conditions"].as_array().unwrap();
        assert!(conditions.contains(&json!(["content-length-range", 1234, 1234])));
        assert!(conditions.contains(&json!({ "bucket": "keiyaku-staging" })));
        assert!(conditions.contains(&json!({ "key": "uploads/u1" })));
        assert!(conditions.contains(&json!({ "x-amz-security-token": "token" })));
        // HMAC-SHA256 of the base64 policy under the day's signing key for S3 in the region.
        let signature = {
            use hmac::{Hmac, Mac};
            let key = signing_key("secret", "20261204", "ap-northeast-1", "s3");
            let mut m = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
            m.update(fields["policy"].as_bytes());
            hex::encode(m.finalize().into_bytes())
        };
        assert_eq!(fields["x-amz-signature"], signature);
    }
}
