//! Housekeeping through the Scheduler port: what is dead is also removed. Expired items
//! (sessions, tokens, counters, device records, upload slots) are already absent to every
//! read; a daily job purges them from the store (DynamoDB's TTL does this by itself). An
//! upload slot that was never used leaves an encrypted file: each slot schedules, when it
//! is opened, a job for an hour after it expires that deletes that file unless a document
//! was made from it. Both jobs are idempotent, and the timer table (or EventBridge
//! Scheduler) keeps them across a crash.

use serde::{Deserialize, Serialize};
use time::Duration;

use crate::error::{Error, Result};
use crate::ids::{DocumentId, TeamId, UploadId};
use crate::services::Services;

/// The daily job's name (scheduling again replaces it).
const SWEEP: &str = "housekeeping";
/// How long after a start the first sweep runs.
const FIRST_SWEEP_AFTER: Duration = Duration::minutes(5);
/// How often the sweep runs.
const SWEEP_EVERY: Duration = Duration::days(1);
/// Expired items one sweep removes at most (the next removes the rest).
const SWEEP_LIMIT: usize = 100_000;
/// How long after its slot expired an unused upload's file is deleted: by then no request
/// can make a document from the slot (an expired slot is absent to the conditional write
/// that would use it).
pub(crate) const UPLOAD_GRACE: Duration = Duration::hours(1);

/// What an unused upload leaves behind.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AbandonedUpload {
    /// Its team.
    pub team_id: TeamId,
    /// The slot.
    pub upload_id: UploadId,
    /// The document it would have become (its file's name).
    pub document_id: DocumentId,
}

/// Schedules the first sweep after a start.
pub async fn schedule_sweep(s: &Services) -> Result<()> {
    let job = serde_json::to_value(crate::reminders::Job::Housekeeping).map_err(Error::internal)?;
    s.scheduler
        .schedule(SWEEP, s.now() + FIRST_SWEEP_AFTER, job)
        .await?;
    Ok(())
}

/// Purges expired items, then schedules the next sweep.
pub(crate) async fn sweep(s: &Services) -> Result<()> {
    let removed = s.items.purge_expired(SWEEP_LIMIT).await?;
    tracing::info!(removed, "housekeeping: expired items purged");
    let job = serde_json::to_value(crate::reminders::Job::Housekeeping).map_err(Error::internal)?;
    s.scheduler
        .schedule(SWEEP, s.now() + SWEEP_EVERY, job)
        .await?;
    Ok(())
}

/// The job name for an upload slot's cleanup.
pub(crate) fn upload_job_name(upload: &UploadId) -> String {
    format!("upload-{upload}")
}

/// Deletes an unused upload's file and slot; a file a document was made from stays.
pub(crate) async fn abandoned_upload(s: &Services, upload: &AbandonedUpload) -> Result<()> {
    crate::documents::remove_unused_upload(s, upload).await
}
