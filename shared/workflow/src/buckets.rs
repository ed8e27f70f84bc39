//! The objects a Distributed Map's ItemReader reads (`s3:getObject`) or lists
//! (`s3:listObjectsV2`) and its ResultWriter writes (`s3:putObject`), through the core's BlobStore port: bucket `b`, key `k` is the
//! blob `b/k` (locally a folder of the data dir; on AWS Step Functions reaches S3 itself).
//! Objects are read whole, as text, up to [`MAX_OBJECT_BYTES`]: their items go into the
//! execution's snapshot.

use futures::TryStreamExt;
use keiyaku_core::ports::{BlobError, BlobStore, MAX_LISTED, PutMode};
use serde_json::Value;

use crate::TaskFailure;

/// The largest object an ItemReader reads here.
pub(crate) const MAX_OBJECT_BYTES: usize = 8 << 20;

/// S3's error for a key that names nothing, as a service integration names it.
const NO_SUCH_KEY: &str = "S3.NoSuchKeyException";
/// The error for a request S3 would refuse.
const INVALID_REQUEST: &str = "S3.InvalidRequestException";

fn refuse<T>(cause: String) -> Result<T, TaskFailure> {
    Err(TaskFailure::new(INVALID_REQUEST, cause))
}

/// The bucket a request names, by S3's rules for names (3 to 63 lowercase letters, digits,
/// dots and hyphens, starting and ending with a letter or digit), so that no bucket and key
/// can name another's blob.
fn bucket(request: &Value) -> Result<&str, TaskFailure> {
    let Some(name) = request["Bucket"].as_str() else {
        return refuse(format!(
            "The Bucket must be a string: {}",
            request["Bucket"]
        ));
    };
    let edge = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let ok = (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && edge(name.as_bytes().first())
        && edge(name.as_bytes().last());
    if ok {
        Ok(name)
    } else {
        refuse(format!("The specified bucket is not valid: {name}"))
    }
}

/// The bucket and key a request names.
fn object(request: &Value) -> Result<(&str, &str), TaskFailure> {
    let bucket = bucket(request)?;
    match request["Key"].as_str() {
        Some(key) => Ok((bucket, key)),
        None => refuse(format!("The Key must be a string: {}", request["Key"])),
    }
}

/// Lists the objects under `{"Bucket", "Prefix"}` as an ItemReader's items: `Etag`, `Key`,
/// `LastModified` (seconds since the epoch) and `Size`, in key order, as the Developer
/// Guide's example shows them (unrecorded), with `StorageClass` `STANDARD`.
pub(crate) async fn list_objects(
    blobs: Option<&dyn BlobStore>,
    request: &Value,
) -> Result<Value, TaskFailure> {
    let bucket = bucket(request)?;
    let prefix = match &request["Prefix"] {
        Value::Null => "",
        Value::String(p) => p,
        other => return refuse(format!("The Prefix must be a string: {other}")),
    };
    let Some(blobs) = blobs else {
        return refuse("This executor has no store of objects to list".into());
    };
    let listed = match blobs.list(&format!("{bucket}/{prefix}"), MAX_LISTED).await {
        Ok(listed) => listed,
        Err(BlobError::InvalidKey(_)) => {
            return refuse(format!(
                "The prefix {prefix} cannot name objects here: segments of letters, digits, '.', '_' and '-'"
            ));
        }
        Err(e) => return Err(TaskFailure::new("S3.S3Exception", e.to_string())),
    };
    let items = listed
        .into_iter()
        .map(|b| {
            serde_json::json!({
                "Etag": b.etag,
                "Key": b.key.strip_prefix(&format!("{bucket}/")).unwrap_or(&b.key),
                "LastModified": b.last_modified.unix_timestamp(),
                "Size": b.size,
                "StorageClass": "STANDARD",
            })
        })
        .collect();
    Ok(Value::Array(items))
}

/// Writes `{"Body"}` as the object `{"Bucket", "Key"}` names, replacing what was there.
pub(crate) async fn put_object(
    blobs: Option<&dyn BlobStore>,
    request: &Value,
) -> Result<Value, TaskFailure> {
    let (bucket, key) = object(request)?;
    let Some(body) = request["Body"].as_str() else {
        return refuse(format!("The object {bucket}/{key} has no text to write"));
    };
    let Some(blobs) = blobs else {
        return refuse("This executor has no store of objects to write to".into());
    };
    let stream = futures::stream::iter([Ok(bytes::Bytes::copy_from_slice(body.as_bytes()))]);
    match blobs
        .put(
            &format!("{bucket}/{key}"),
            Box::pin(stream),
            PutMode::Overwrite,
        )
        .await
    {
        Ok(_) => Ok(serde_json::json!({})),
        Err(BlobError::InvalidKey(k)) => refuse(format!(
            "The key {k} cannot be stored here: segments of letters, digits, '.', '_' and '-'"
        )),
        Err(e) => Err(TaskFailure::new("S3.S3Exception", e.to_string())),
    }
}

/// Reads the object `{"Bucket", "Key"}` names as text.
pub(crate) async fn get_object(
    blobs: Option<&dyn BlobStore>,
    request: &Value,
) -> Result<Value, TaskFailure> {
    let (bucket, key) = object(request)?;
    if request.get("VersionId").is_some() {
        return refuse(
            "VersionId is not supported: this store keeps one version of each object".into(),
        );
    }
    let Some(blobs) = blobs else {
        return refuse("This executor has no store of objects to read from".into());
    };
    let missing = || {
        TaskFailure::new(
            NO_SUCH_KEY,
            format!("The specified key does not exist. (Bucket: {bucket}, Key: {key})"),
        )
    };
    let mut body = match blobs.get(&format!("{bucket}/{key}")).await {
        Ok(body) => body,
        Err(BlobError::NotFound | BlobError::InvalidKey(_)) => return Err(missing()),
        Err(e) => return Err(TaskFailure::new("S3.S3Exception", e.to_string())),
    };
    let mut bytes = Vec::new();
    while let Some(chunk) = body
        .try_next()
        .await
        .map_err(|e| TaskFailure::new("S3.S3Exception", e.to_string()))?
    {
        if bytes.len() + chunk.len() > MAX_OBJECT_BYTES {
            return refuse(format!(
                "The object {bucket}/{key} is larger than the {MAX_OBJECT_BYTES} bytes an ItemReader reads here"
            ));
        }
        bytes.extend_from_slice(&chunk);
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Value::String(text)),
        Err(_) => refuse(format!("The object {bucket}/{key} is not UTF-8 text")),
    }
}
