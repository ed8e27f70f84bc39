//! The objects a Distributed Map's ItemReader reads (`s3:getObject`), through the core's
//! BlobStore port: bucket `b`, key `k` is the blob `b/k` (locally a folder of the data
//! dir; on AWS Step Functions reads S3 itself). Objects are read whole, as text, up to
//! [`MAX_OBJECT_BYTES`]: their items go into the execution's snapshot.

use futures::TryStreamExt;
use keiyaku_core::ports::{BlobError, BlobStore};
use serde_json::Value;

use crate::TaskFailure;

/// The largest object an ItemReader reads here.
pub const MAX_OBJECT_BYTES: usize = 8 << 20;

/// S3's error for a key that names nothing, as a service integration names it.
const NO_SUCH_KEY: &str = "S3.NoSuchKeyException";
/// The error for a request S3 would refuse.
const INVALID_REQUEST: &str = "S3.InvalidRequestException";

/// Reads the object `{"Bucket", "Key"}` names as text.
pub(crate) async fn get_object(
    blobs: Option<&dyn BlobStore>,
    request: &Value,
) -> Result<Value, TaskFailure> {
    let refuse = |cause: String| Err(TaskFailure::new(INVALID_REQUEST, cause));
    let (Some(bucket), Some(key)) = (request["Bucket"].as_str(), request["Key"].as_str()) else {
        return refuse(format!(
            "An ItemReader names its object by Bucket and Key, both strings: {request}"
        ));
    };
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
