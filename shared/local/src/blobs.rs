//! BlobStore on a folder. A blob is written to `tmp/` and fsynced, then renamed (or, when
//! create-only, hard-linked) to its real name, and the folder is fsynced: a crash never
//! leaves half a blob under a real name.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use futures::StreamExt;
use keiyaku_core::ports::{
    BlobError, BlobInfo, BlobStore, ByteStream, MAX_LISTED, PutMode, check_blob_key,
    check_blob_prefix,
};
use md5::{Digest, Md5};
use rand::RngCore;
use tokio::io::AsyncWriteExt;

/// Blobs under one folder.
#[derive(Clone, Debug)]
pub struct FolderBlobStore {
    root: PathBuf,
}

fn unavailable(e: impl std::fmt::Display) -> BlobError {
    BlobError::Unavailable(e.to_string())
}

impl FolderBlobStore {
    /// Uses (creating) `root`.
    pub fn open(root: &Path) -> Result<Self, BlobError> {
        std::fs::create_dir_all(root.join("tmp")).map_err(unavailable)?;
        std::fs::create_dir_all(root.join("objects")).map_err(unavailable)?;
        Ok(FolderBlobStore {
            root: root.to_owned(),
        })
    }

    /// The file holding `key` (checked by the port's rule).
    fn path(&self, key: &str) -> Result<PathBuf, BlobError> {
        check_blob_key(key)?;
        Ok(self.root.join("objects").join(key))
    }
}

async fn sync_dir(dir: &Path) -> Result<(), BlobError> {
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || std::fs::File::open(&dir).and_then(|d| d.sync_all()))
        .await
        .map_err(unavailable)?
        .map_err(unavailable)
}

#[async_trait]
impl BlobStore for FolderBlobStore {
    async fn put(&self, key: &str, mut body: ByteStream, mode: PutMode) -> Result<u64, BlobError> {
        let path = self.path(key)?;
        if mode == PutMode::CreateOnly && tokio::fs::try_exists(&path).await.map_err(unavailable)? {
            return Err(BlobError::AlreadyExists);
        }
        let mut name = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut name);
        let tmp = self.root.join("tmp").join(hex::encode(name));
        let written = async {
            let mut file = tokio::fs::File::create(&tmp).await.map_err(unavailable)?;
            let mut n = 0u64;
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(BlobError::from_body)?;
                file.write_all(&chunk).await.map_err(unavailable)?;
                n += chunk.len() as u64;
            }
            file.sync_all().await.map_err(unavailable)?;
            Ok::<u64, BlobError>(n)
        }
        .await;
        let n = match written {
            Ok(n) => n,
            Err(e) => {
                let _ = tokio::fs::remove_file(&tmp).await;
                return Err(e);
            }
        };
        let parent = path
            .parent()
            .map(Path::to_owned)
            .unwrap_or_else(|| self.root.clone());
        tokio::fs::create_dir_all(&parent)
            .await
            .map_err(unavailable)?;
        let placed = match mode {
            PutMode::Overwrite => tokio::fs::rename(&tmp, &path).await.map_err(unavailable),
            // A hard link fails if the name exists: create-only without a race.
            PutMode::CreateOnly => {
                let linked = tokio::fs::hard_link(&tmp, &path).await;
                let _ = tokio::fs::remove_file(&tmp).await;
                match linked {
                    Ok(()) => Ok(()),
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        Err(BlobError::AlreadyExists)
                    }
                    Err(e) => Err(unavailable(e)),
                }
            }
        };
        if placed.is_err() {
            let _ = tokio::fs::remove_file(&tmp).await;
        }
        placed?;
        sync_dir(&parent).await?;
        Ok(n)
    }

    async fn get(&self, key: &str) -> Result<ByteStream, BlobError> {
        let path = self.path(key)?;
        let file = match tokio::fs::File::open(&path).await {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(BlobError::NotFound),
            Err(e) => return Err(unavailable(e)),
        };
        Ok(tokio_util::io::ReaderStream::with_capacity(file, 64 * 1024).boxed())
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        let path = self.path(key)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn list(&self, prefix: &str, limit: usize) -> Result<Vec<BlobInfo>, BlobError> {
        check_blob_prefix(prefix)?;
        let objects = self.root.join("objects");
        let prefix = prefix.to_owned();
        tokio::task::spawn_blocking(move || list_folder(&objects, &prefix, limit.min(MAX_LISTED)))
            .await
            .map_err(unavailable)?
    }
}

/// The blobs under `objects` whose keys start with `prefix`, in key order, at most `limit`;
/// each file's MD5 is its entity tag, as S3 gives a blob put whole.
fn list_folder(objects: &Path, prefix: &str, limit: usize) -> Result<Vec<BlobInfo>, BlobError> {
    // Only the folder the prefix's last `/` names can hold its keys.
    let dir = prefix.rsplit_once('/').map_or("", |(d, _)| d);
    let mut keys = Vec::new();
    let mut pending = vec![(objects.join(dir), dir.to_owned())];
    while let Some((path, key)) = pending.pop() {
        let entries = match std::fs::read_dir(&path) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(unavailable(e)),
        };
        for entry in entries {
            let entry = entry.map_err(unavailable)?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            let child = if key.is_empty() {
                name
            } else {
                format!("{key}/{name}")
            };
            let kind = entry.file_type().map_err(unavailable)?;
            if kind.is_dir() {
                pending.push((entry.path(), child));
            } else if kind.is_file() && child.starts_with(prefix) && check_blob_key(&child).is_ok()
            {
                keys.push((child, entry.path()));
            }
        }
    }
    keys.sort();
    keys.truncate(limit);
    keys.into_iter()
        .map(|(key, path)| {
            let mut file = std::fs::File::open(&path).map_err(unavailable)?;
            let modified = file
                .metadata()
                .and_then(|m| m.modified())
                .map_err(unavailable)?;
            let mut md5 = Md5::new();
            let size = std::io::copy(&mut file, &mut md5).map_err(unavailable)?;
            Ok(BlobInfo {
                key,
                size,
                last_modified: time::OffsetDateTime::from(modified),
                etag: format!("\"{}\"", hex::encode(md5.finalize())),
            })
        })
        .collect()
}
