//! The port a function was not composed with. On AWS each function holds only the ports
//! its use case takes (`infra/ports.json`, from which its IAM policy follows too); the other
//! slots hold this, which refuses every call as unavailable, naming the port — so a call
//! that reaches one is a drift between that table and the code, logged as such, rather
//! than a call AWS would deny for want of permission.

use async_trait::async_trait;
use serde_json::Value;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::{
    BlobError, BlobInfo, BlobStore, ByteStream, Condition, DataKey, ExecutionDetail, ExecutionList,
    Item, ItemStore, Key, KeyError, Keys, MailError, Mailer, OutgoingMail, Page, PutMode, Query,
    Revocation, RevocationError, Scheduler, SchedulerError, SealingKey, Staging, StagingError,
    StoreError, Tsa, TsaError, UploadTarget, Workflow, WorkflowError, Write,
};

/// A port this function does not hold; the name says which.
#[derive(Clone, Copy, Debug)]
pub struct Absent(pub &'static str);

impl Absent {
    fn why(&self) -> String {
        format!(
            "this function holds no {} port (infra/ports.json does not give it one)",
            self.0
        )
    }
}

#[async_trait]
impl ItemStore for Absent {
    async fn get(&self, _: &Key) -> Result<Option<Item>, StoreError> {
        Err(StoreError::Unavailable(self.why()))
    }
    async fn put(&self, _: Item, _: Condition) -> Result<(), StoreError> {
        Err(StoreError::Unavailable(self.why()))
    }
    async fn delete(&self, _: &Key, _: Condition) -> Result<(), StoreError> {
        Err(StoreError::Unavailable(self.why()))
    }
    async fn query(&self, _: &Query) -> Result<Page, StoreError> {
        Err(StoreError::Unavailable(self.why()))
    }
    async fn query_index(&self, _: &Query) -> Result<Page, StoreError> {
        Err(StoreError::Unavailable(self.why()))
    }
    async fn transact(&self, _: Vec<Write>) -> Result<(), StoreError> {
        Err(StoreError::Unavailable(self.why()))
    }
    async fn increment(&self, _: &Key, _: i64) -> Result<u64, StoreError> {
        Err(StoreError::Unavailable(self.why()))
    }
    async fn purge_expired(&self, _: usize) -> Result<usize, StoreError> {
        Err(StoreError::Unavailable(self.why()))
    }
}

#[async_trait]
impl BlobStore for Absent {
    async fn put(&self, _: &str, _: ByteStream, _: PutMode) -> Result<u64, BlobError> {
        Err(BlobError::Unavailable(self.why()))
    }
    async fn get(&self, _: &str) -> Result<ByteStream, BlobError> {
        Err(BlobError::Unavailable(self.why()))
    }
    async fn delete(&self, _: &str) -> Result<(), BlobError> {
        Err(BlobError::Unavailable(self.why()))
    }
    async fn list(&self, _: &str, _: usize) -> Result<Vec<BlobInfo>, BlobError> {
        Err(BlobError::Unavailable(self.why()))
    }
}

#[async_trait]
impl Staging for Absent {
    async fn target(
        &self,
        _: &str,
        _: u64,
        _: OffsetDateTime,
    ) -> Result<UploadTarget, StagingError> {
        Err(StagingError::Unavailable(self.why()))
    }
    async fn take(&self, _: &str) -> Result<Option<ByteStream>, StagingError> {
        Err(StagingError::Unavailable(self.why()))
    }
    async fn discard(&self, _: &str) -> Result<(), StagingError> {
        Err(StagingError::Unavailable(self.why()))
    }
}

#[async_trait]
impl Keys for Absent {
    async fn generate_data_key(&self, _: &str) -> Result<DataKey, KeyError> {
        Err(KeyError::Unavailable(self.why()))
    }
    async fn unwrap_data_key(
        &self,
        _: &str,
        _: &[u8],
        _: &str,
    ) -> Result<Zeroizing<[u8; 32]>, KeyError> {
        Err(KeyError::Unavailable(self.why()))
    }
    async fn mac(&self, _: &[u8]) -> Result<[u8; 32], KeyError> {
        Err(KeyError::Unavailable(self.why()))
    }
}

#[async_trait]
impl SealingKey for Absent {
    async fn sign(&self, _: &[u8]) -> Result<Vec<u8>, KeyError> {
        Err(KeyError::Unavailable(self.why()))
    }
    async fn chain(&self) -> Result<Vec<Vec<u8>>, KeyError> {
        Err(KeyError::Unavailable(self.why()))
    }
}

#[async_trait]
impl Tsa for Absent {
    async fn timestamp(&self, _: &[u8; 32]) -> Result<Vec<u8>, TsaError> {
        Err(TsaError::Unavailable(self.why()))
    }
}

#[async_trait]
impl Revocation for Absent {
    async fn crls(&self, _: &[u8], _: &[u8]) -> Result<Vec<Vec<u8>>, RevocationError> {
        Err(RevocationError::Unavailable(self.why()))
    }
}

#[async_trait]
impl Mailer for Absent {
    async fn send(&self, _: &OutgoingMail) -> Result<(), MailError> {
        Err(MailError::Unavailable(self.why()))
    }
}

#[async_trait]
impl Workflow for Absent {
    async fn start(&self, _: &str, _: Value) -> Result<String, WorkflowError> {
        Err(WorkflowError::Unavailable(self.why()))
    }
    async fn succeed_task(&self, _: &str, _: Value) -> Result<(), WorkflowError> {
        Err(WorkflowError::Unavailable(self.why()))
    }
    async fn fail_task(&self, _: &str, _: &str, _: &str) -> Result<(), WorkflowError> {
        Err(WorkflowError::Unavailable(self.why()))
    }
    async fn list(
        &self,
        _: Option<&str>,
        _: Option<&str>,
        _: usize,
    ) -> Result<ExecutionList, WorkflowError> {
        Err(WorkflowError::Unavailable(self.why()))
    }
    async fn describe(&self, _: &str) -> Result<ExecutionDetail, WorkflowError> {
        Err(WorkflowError::Unavailable(self.why()))
    }
}

#[async_trait]
impl Scheduler for Absent {
    async fn schedule(&self, _: &str, _: OffsetDateTime, _: Value) -> Result<(), SchedulerError> {
        Err(SchedulerError::Unavailable(self.why()))
    }
    async fn cancel(&self, _: &str) -> Result<(), SchedulerError> {
        Err(SchedulerError::Unavailable(self.why()))
    }
}
