//! Staging in the local shape: the server receives each upload itself at
//! `PUT /api/v1/uploads/{id}` (checked and encrypted as it streams), so nothing is ever
//! staged and there is nothing to take or discard.

use async_trait::async_trait;
use keiyaku_core::ports::{ByteStream, Staging, StagingError, UploadTarget};
use time::OffsetDateTime;

/// Uploads go to this server's own upload route.
pub struct ServerReceives {
    public_url: String,
}

impl ServerReceives {
    /// Uploads go to `public_url` (no trailing slash) + `/api/v1/uploads/{id}`.
    pub fn new(public_url: impl Into<String>) -> Self {
        ServerReceives {
            public_url: public_url.into(),
        }
    }
}

#[async_trait]
impl Staging for ServerReceives {
    async fn target(
        &self,
        id: &str,
        _size: u64,
        _expires_at: OffsetDateTime,
    ) -> Result<UploadTarget, StagingError> {
        Ok(UploadTarget {
            url: format!("{}/api/v1/uploads/{id}", self.public_url),
            method: "PUT".into(),
            fields: Default::default(),
        })
    }

    async fn take(&self, _id: &str) -> Result<Option<ByteStream>, StagingError> {
        Ok(None)
    }

    async fn discard(&self, _id: &str) -> Result<(), StagingError> {
        Ok(())
    }
}
