//! BlobStore: encrypted objects by key, streamed in and out.

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;

/// A stream of bytes, as a blob is written and read.
pub type ByteStream = BoxStream<'static, std::io::Result<Bytes>>;

/// Whether a put may replace an existing blob.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PutMode {
    /// Replace any existing blob.
    Overwrite,
    /// Fail with [`BlobError::AlreadyExists`] if the key exists (sealed versions).
    CreateOnly,
}

/// What a blob store can fail with.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// No blob at that key.
    #[error("blob not found")]
    NotFound,
    /// A create-only put found a blob already there.
    #[error("blob already exists")]
    AlreadyExists,
    /// The body stream refused to go on (e.g. over the size limit); nothing was kept.
    #[error("body refused: {0}")]
    Rejected(Box<crate::Error>),
    /// The key is not one of ours: `/`-separated segments of `[A-Za-z0-9._-]`, none empty,
    /// `.` or `..` (no path can leave the store, on any adapter).
    #[error("invalid blob key {0:?}")]
    InvalidKey(String),
    /// The store failed.
    #[error("blob store unavailable: {0}")]
    Unavailable(String),
}

/// Refuses a key that is not `/`-separated segments of `[A-Za-z0-9._-]` (none empty, `.`
/// or `..`): every adapter checks it, so no key can name a path outside the store.
pub fn check_blob_key(key: &str) -> Result<(), BlobError> {
    let ok = !key.is_empty()
        && key.len() <= 1024
        && key.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        });
    if ok {
        Ok(())
    } else {
        Err(BlobError::InvalidKey(key.to_owned()))
    }
}

impl BlobError {
    /// Turns an error from a body stream into a blob error, recovering a domain error that a
    /// producer wrapped into `io::Error` (as the envelope's stream does).
    pub fn from_body(e: std::io::Error) -> Self {
        if e.get_ref().is_some_and(|inner| inner.is::<crate::Error>()) {
            let inner = e.into_inner().expect("checked above");
            match inner.downcast::<crate::Error>() {
                Ok(domain) => return BlobError::Rejected(domain),
                Err(other) => return BlobError::Unavailable(other.to_string()),
            }
        }
        BlobError::Unavailable(e.to_string())
    }
}

/// Storage of opaque (already encrypted) objects.
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Stores the whole body under `key`, or nothing (a crash or a failing body never
    /// leaves half a blob under a real name). Returns the number of bytes stored.
    async fn put(&self, key: &str, body: ByteStream, mode: PutMode) -> Result<u64, BlobError>;
    /// Streams the blob at `key`.
    async fn get(&self, key: &str) -> Result<ByteStream, BlobError>;
    /// Deletes the blob at `key`; deleting a missing blob is fine.
    async fn delete(&self, key: &str) -> Result<(), BlobError>;
}
