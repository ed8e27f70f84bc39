//! The narrow traits the domain talks to. Each has a local adapter (`shared/local`) and an
//! AWS adapter, and one contract test suite (`shared/contract`) that runs against both.

mod absent;
mod authority;
mod blobs;
mod items;
mod keys;
mod mailer;
mod memory;
mod revocation;
mod scheduler;
mod staging;
mod tsa;
mod workflow;

pub use absent::Absent;
pub use authority::{AuthorityError, CaLevel, LocalAuthority};
pub use blobs::{
    BlobError, BlobInfo, BlobStore, ByteStream, MAX_LISTED, PutMode, check_blob_key,
    check_blob_prefix,
};
pub use items::{
    Condition, Item, ItemStore, Key, MAX_ITEM_BYTES, MAX_TRANSACTION_ITEMS, Page, Query,
    StoreError, Write, check_size, check_transaction,
};
pub use keys::{DataKey, KeyError, Keys, SealingKey};
pub use mailer::{MailError, Mailer, OutgoingMail};
pub use memory::MemoryItemStore;
pub use revocation::{Revocation, RevocationError};
pub use scheduler::{Scheduler, SchedulerError, check_job_name};
pub use staging::{Staging, StagingError, UploadTarget};
pub use tsa::{TokenSize, Tsa, TsaError};
pub use workflow::{
    ExecutionDetail, ExecutionList, ExecutionSummary, MAP_RUN_CHILDREN, MapRun, Workflow,
    WorkflowError,
};
