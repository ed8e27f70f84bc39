//! BlobStore on a folder. A blob is written to `tmp/` and fsynced, then renamed (or, when
//! create-only, hard-linked) to its real name, and the folder is fsynced: a crash never
//! leaves half a blob under a real name.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use futures::StreamExt;
use keiyaku_core::ports::{BlobError, BlobStore, ByteStream, PutMode, check_blob_key};
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
}
