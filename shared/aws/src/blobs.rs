//! The BlobStore on S3 (the bucket encrypts with SSE-KMS; what we store is already our
//! chunked AES-GCM envelope). A put is whole or nothing: a small body is one PutObject, a
//! larger one a multipart upload that is completed only once the body ended well and
//! aborted otherwise, so no half object ever appears under a real key. A create-only put
//! is S3's conditional write (`If-None-Match: *`), so two writers cannot both create.

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream as S3Body;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use keiyaku_core::ports::{
    BlobError, BlobInfo, BlobStore, ByteStream, MAX_LISTED, PutMode, check_blob_key,
    check_blob_prefix,
};

/// The size of a multipart upload's parts (S3 wants at least 5 MiB but for the last).
const PART_BYTES: usize = 8 << 20;

/// Blobs in one S3 bucket.
pub struct S3BlobStore {
    client: Client,
    bucket: String,
}

fn unavailable(e: impl std::fmt::Display) -> BlobError {
    BlobError::Unavailable(e.to_string())
}

/// An SDK error as the port's: what S3 said (its code), never an SDK type.
fn blob_error<E, R>(e: SdkError<E, R>) -> BlobError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match e.as_service_error().and_then(|s| s.code()) {
        Some("NoSuchKey") | Some("NotFound") => BlobError::NotFound,
        Some("PreconditionFailed") | Some("ConditionalRequestConflict") => BlobError::AlreadyExists,
        _ => unavailable(aws_sdk_s3::error::DisplayErrorContext(&e)),
    }
}

impl S3BlobStore {
    /// Blobs in `bucket` through `client`.
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        S3BlobStore {
            client,
            bucket: bucket.into(),
        }
    }

    /// Reads from `body` until `buf` holds a part (or the body ended).
    async fn fill(body: &mut ByteStream, buf: &mut BytesMut) -> Result<bool, BlobError> {
        while buf.len() < PART_BYTES {
            match body.next().await {
                Some(chunk) => buf.extend_from_slice(&chunk.map_err(BlobError::from_body)?),
                None => return Ok(false),
            }
        }
        Ok(true)
    }

    async fn put_whole(&self, key: &str, bytes: Bytes, mode: PutMode) -> Result<u64, BlobError> {
        let len = bytes.len() as u64;
        let mut request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(S3Body::from(bytes));
        if mode == PutMode::CreateOnly {
            request = request.if_none_match("*");
        }
        request.send().await.map_err(blob_error)?;
        Ok(len)
    }

    async fn put_parts(
        &self,
        key: &str,
        first: Bytes,
        mut body: ByteStream,
        mode: PutMode,
    ) -> Result<u64, BlobError> {
        let upload = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(blob_error)?;
        let id = upload
            .upload_id()
            .ok_or_else(|| unavailable("a multipart upload without an id"))?
            .to_owned();
        let result = async {
            let mut parts = Vec::new();
            let mut total = 0u64;
            let mut next = Some(first);
            let mut number = 1;
            while let Some(bytes) = next.take() {
                total += bytes.len() as u64;
                let sent = self
                    .client
                    .upload_part()
                    .bucket(&self.bucket)
                    .key(key)
                    .upload_id(&id)
                    .part_number(number)
                    .body(S3Body::from(bytes))
                    .send()
                    .await
                    .map_err(blob_error)?;
                parts.push(
                    CompletedPart::builder()
                        .part_number(number)
                        .set_e_tag(sent.e_tag().map(str::to_owned))
                        .build(),
                );
                number += 1;
                let mut buf = BytesMut::with_capacity(PART_BYTES);
                Self::fill(&mut body, &mut buf).await?;
                if !buf.is_empty() {
                    next = Some(buf.freeze());
                }
            }
            let mut complete = self
                .client
                .complete_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(&id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(parts))
                        .build(),
                );
            if mode == PutMode::CreateOnly {
                complete = complete.if_none_match("*");
            }
            complete.send().await.map_err(blob_error)?;
            Ok(total)
        }
        .await;
        if result.is_err() {
            // Nothing was completed: the parts are dropped, no object appears.
            let _ = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(&id)
                .send()
                .await;
        }
        result
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    async fn put(&self, key: &str, mut body: ByteStream, mode: PutMode) -> Result<u64, BlobError> {
        check_blob_key(key)?;
        let mut buf = BytesMut::with_capacity(PART_BYTES);
        let more = Self::fill(&mut body, &mut buf).await?;
        if !more {
            return self.put_whole(key, buf.freeze(), mode).await;
        }
        self.put_parts(key, buf.freeze(), body, mode).await
    }

    async fn get(&self, key: &str) -> Result<ByteStream, BlobError> {
        check_blob_key(key)?;
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(blob_error)?;
        let body = out.body;
        Ok(futures::stream::unfold(body, |mut body| async move {
            match body.next().await {
                Some(Ok(bytes)) => Some((Ok(bytes), body)),
                Some(Err(e)) => Some((Err(std::io::Error::other(e.to_string())), body)),
                None => None,
            }
        })
        .boxed())
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        check_blob_key(key)?;
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(blob_error)?;
        Ok(())
    }

    async fn list(&self, prefix: &str, limit: usize) -> Result<Vec<BlobInfo>, BlobError> {
        check_blob_prefix(prefix)?;
        let limit = limit.min(MAX_LISTED);
        let mut out = Vec::new();
        let mut token = None;
        // S3 answers 1,000 keys a page, in key order.
        while out.len() < limit {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_continuation_token(token.take())
                .max_keys((limit - out.len()).min(1000) as i32)
                .send()
                .await
                .map_err(blob_error)?;
            for o in page.contents() {
                let modified = o
                    .last_modified()
                    .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t.secs()).ok())
                    .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
                out.push(BlobInfo {
                    key: o.key().unwrap_or_default().to_owned(),
                    size: o.size().unwrap_or_default().max(0) as u64,
                    last_modified: modified,
                    etag: o.e_tag().unwrap_or_default().to_owned(),
                });
            }
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_owned()),
                _ => break,
            }
        }
        out.truncate(limit);
        Ok(out)
    }
}

/// Creates a bucket for this adapter in `region` (emulators and tests; `template.yaml`
/// declares the real ones, versioned, encrypted and replicated).
pub async fn create_bucket(client: &Client, bucket: &str, region: &str) -> Result<(), BlobError> {
    use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
    client
        .create_bucket()
        .bucket(bucket)
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region))
                .build(),
        )
        .send()
        .await
        .map_err(blob_error)?;
    Ok(())
}
