//! The objects a Distributed Map's ItemReader reads (`s3:getObject`) and its ResultWriter
//! writes (`s3:putObject`), through the core's BlobStore port: bucket `b`, key `k` is the
//! blob `b/k` (locally a folder of the data dir; on AWS Step Functions reaches S3 itself).
//! Objects are read whole, as text, up to [`MAX_OBJECT_BYTES`]: their items go into the
//! execution's snapshot.

use futures::TryStreamExt;
use keiyaku_core::ports::{BlobError, BlobStore, PutMode};
use serde_json::Value;

use crate::TaskFailure;

/// The largest object an ItemReader reads here.
pub const MAX_OBJECT_BYTES: usize = 8 << 20;

/// S3's error for a key that names nothing, as a service integration names it.
const NO_SUCH_KEY: &str = "S3.NoSuchKeyException";
/// The error for a request S3 would refuse.
const INVALID_REQUEST: &str = "S3.InvalidRequestException";

fn refuse<T>(cause: String) -> Result<T, TaskFailure> {
    Err(TaskFailure::new(INVALID_REQUEST, cause))
}

/// The bucket and key a request names.
fn object(request: &Value) -> Result<(&str, &str), TaskFailure> {
    match (request["Bucket"].as_str(), request["Key"].as_str()) {
        (Some(bucket), Some(key)) => Ok((bucket, key)),
        _ => refuse(format!(
            "An object is named by a Bucket and a Key, both strings: {}",
            serde_json::json!({"Bucket": request["Bucket"], "Key": request["Key"]})
        )),
    }
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
