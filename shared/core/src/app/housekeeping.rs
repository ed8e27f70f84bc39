//! Housekeeping through the Scheduler port: what is dead is also removed (audit events two
//! years after they happened, from the start of their chain). Expired items
//! (sessions, tokens, counters, device records, upload slots) are already absent to every
//! read; a daily job purges them from the store (DynamoDB's TTL does this by itself). An
//! upload slot that was never used leaves an encrypted file: each slot schedules, when it
//! is opened, a job for an hour after it expires that deletes that file unless a document
//! was made from it. Both jobs are idempotent, and the timer table (or EventBridge
//! Scheduler) keeps them across a crash.

use crate::error::Result;
use crate::services::needs::{Blobs, Items, Schedule, Time};

/// Expired items one sweep removes at most (the next removes the rest).
const SWEEP_LIMIT: usize = 100_000;

/// Purges expired items, then schedules the next sweep.
pub(crate) async fn sweep(s: &(impl Items + Schedule + Time)) -> Result<()> {
    let removed = s.items().purge_expired(SWEEP_LIMIT).await?;
    tracing::info!(removed, "housekeeping: expired items purged");
    let expired = crate::app::audit::expire_all(s).await?;
    tracing::info!(expired, "housekeeping: audit events past retention removed");
    crate::app::jobs::schedule_next_sweep(s).await
}

/// Deletes an unused upload's file and slot; a file a document was made from stays.
pub(crate) async fn abandoned_upload(
    s: &(impl Items + Blobs),
    upload: &crate::app::jobs::AbandonedUpload,
) -> Result<()> {
    crate::app::uploads::remove_unused_upload(s, upload).await
}
