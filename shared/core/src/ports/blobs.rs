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

/// One `/`-separated segment of a key: `[A-Za-z0-9._-]`, not empty, `.` or `..`.
fn key_segment(seg: &str) -> bool {
    !seg.is_empty()
        && seg != "."
        && seg != ".."
        && seg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// Refuses a key that is not `/`-separated segments of `[A-Za-z0-9._-]` (none empty, `.`
/// or `..`): every adapter checks it, so no key can name a path outside the store.
pub fn check_blob_key(key: &str) -> Result<(), BlobError> {
    let ok = !key.is_empty() && key.len() <= 1024 && key.split('/').all(key_segment);
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

/// One blob as a listing tells it (S3's `ListObjectsV2` entry).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobInfo {
    /// Its key.
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
    /// When it was last written.
    pub last_modified: time::OffsetDateTime,
    /// Its entity tag as S3 gives it: for a blob put whole, the MD5 of its bytes in hex,
    /// between double quotes.
    pub etag: String,
}

/// The most blobs one listing returns.
pub const MAX_LISTED: usize = 100_000;

/// Refuses a prefix that no key could start with under [`check_blob_key`]'s rule: the
/// characters of keys, no `.` or `..` segment, no empty segment but a last one (`a/` is
/// fine), at most 1,024 bytes.
pub fn check_blob_prefix(prefix: &str) -> Result<(), BlobError> {
    // Every segment but the last is whole; the last may be empty or the start of one.
    let (whole, last) = prefix.rsplit_once('/').unwrap_or(("", prefix));
    let ok = prefix.len() <= 1024
        && ((whole.is_empty() && !prefix.starts_with('/')) || whole.split('/').all(key_segment))
        && (last.is_empty() || key_segment(last));
    if ok {
        Ok(())
    } else {
        Err(BlobError::InvalidKey(prefix.to_owned()))
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
    /// The blobs whose keys start with `prefix` (see [`check_blob_prefix`]), in key order,
    /// at most `limit` (up to [`MAX_LISTED`]).
    async fn list(&self, prefix: &str, limit: usize) -> Result<Vec<BlobInfo>, BlobError>;
}
