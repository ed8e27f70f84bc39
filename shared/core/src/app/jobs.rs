//! What runs later, through the Scheduler port (a timer table locally, EventBridge Scheduler
//! on AWS): the kinds of job, their names (scheduling a name again replaces its job), and
//! scheduling or cancelling them. What a job does when it runs is `scheduled::run`.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::domain::document::Ids;
use crate::error::{Error, Result};
use crate::ids::{DocumentId, TeamId, UploadId};
use crate::services::needs::{Schedule, Time};

/// Days before the deadline at which the party is reminded (the last also tells the sender).
pub const DAYS_BEFORE: [i64; 2] = [3, 1];

/// A scheduled job.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum Job {
    /// Remind before the deadline.
    ExpiryReminder {
        /// The send.
        ids: Ids,
        /// Days before the deadline.
        days: i64,
    },
    /// Finish the follow-ups left in the outbox.
    Reconcile,
    /// Purge expired items (daily).
    Housekeeping,
    /// Remove what an upload slot left if it was never used.
    AbandonedUpload(AbandonedUpload),
    /// Chain the audit events that wait (every few minutes), and with `expire` remove
    /// those past retention; with `repeat` it schedules its next run itself (the local
    /// shape: on AWS fixed schedules in the template run it).
    AuditUpkeep {
        /// Also expire events past retention.
        #[serde(default)]
        expire: bool,
        /// Schedule the next run.
        #[serde(default)]
        repeat: bool,
    },
}

/// The audit upkeep's job name (scheduling again replaces it).
const AUDIT_UPKEEP: &str = "audit-upkeep";

/// How often waiting audit events are chained.
const AUDIT_UPKEEP_EVERY: Duration = Duration::minutes(10);

/// Schedules the next chaining of audit events, which then schedules itself.
pub async fn schedule_audit_upkeep(s: &(impl Schedule + Time)) -> Result<()> {
    let job = serde_json::to_value(Job::AuditUpkeep {
        expire: false,
        repeat: true,
    })
    .map_err(Error::internal)?;
    s.scheduler()
        .schedule(AUDIT_UPKEEP, s.now() + AUDIT_UPKEEP_EVERY, job)
        .await?;
    Ok(())
}

/// The reconciler's job name: one at a time, however many follow-ups failed.
const RECONCILE: &str = "reconcile-outbox";

/// How long after a failed follow-up the reconciler runs.
const RECONCILE_AFTER_SECONDS: i64 = 30;

/// Schedules the reconciler shortly (a follow-up failed). A failure to schedule leaves the
/// follow-up for the next start.
pub async fn schedule_reconcile(s: &(impl Schedule + Time)) {
    let at = s.now() + Duration::seconds(RECONCILE_AFTER_SECONDS);
    let job = serde_json::to_value(Job::Reconcile).unwrap_or_default();
    if let Err(e) = s.scheduler().schedule(RECONCILE, at, job).await {
        tracing::error!(error = %e, "the reconciler could not be scheduled; the next start runs it");
    }
}

fn reminder_name(ids: &Ids, days: i64) -> String {
    format!("remind-{}-{}-{days}d", ids.document_id, ids.send)
}

/// Schedules the send's reminders (those still ahead by more than an hour).
pub async fn schedule_reminders(
    s: &(impl Schedule + Time),
    ids: &Ids,
    deadline: OffsetDateTime,
) -> Result<()> {
    for days in DAYS_BEFORE {
        let at = deadline - Duration::days(days);
        if at <= s.now() + Duration::hours(1) {
            continue;
        }
        let job = serde_json::to_value(Job::ExpiryReminder {
            ids: ids.clone(),
            days,
        })
        .map_err(Error::internal)?;
        s.scheduler()
            .schedule(&reminder_name(ids, days), at, job)
            .await?;
    }
    Ok(())
}

/// Forgets the send's reminders (it ended). A failure only leaves jobs that will do nothing.
pub async fn cancel_reminders(s: &impl Schedule, ids: &Ids) {
    for days in DAYS_BEFORE {
        if let Err(e) = s.scheduler().cancel(&reminder_name(ids, days)).await {
            tracing::warn!(error = %e, "a reminder was not cancelled; it will do nothing");
        }
    }
}

/// The daily job's name (scheduling again replaces it).
const SWEEP: &str = "housekeeping";

/// How long after a start the first sweep runs.
const FIRST_SWEEP_AFTER: Duration = Duration::minutes(5);

/// How often the sweep runs.
const SWEEP_EVERY: Duration = Duration::days(1);

/// How long after its slot expired an unused upload's file is deleted: by then no request
/// can make a document from the slot (an expired slot is absent to the conditional write
/// that would use it).
const UPLOAD_GRACE: Duration = Duration::hours(1);

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
pub async fn schedule_sweep(s: &(impl Schedule + Time)) -> Result<()> {
    sweep_at(s, s.now() + FIRST_SWEEP_AFTER).await
}

/// Schedules the next daily sweep.
pub(crate) async fn schedule_next_sweep(s: &(impl Schedule + Time)) -> Result<()> {
    sweep_at(s, s.now() + SWEEP_EVERY).await
}

async fn sweep_at(s: &impl Schedule, at: OffsetDateTime) -> Result<()> {
    let job = serde_json::to_value(Job::Housekeeping).map_err(Error::internal)?;
    s.scheduler().schedule(SWEEP, at, job).await?;
    Ok(())
}

/// The job name for an upload slot's cleanup.
fn upload_job_name(upload: &UploadId) -> String {
    format!("upload-{upload}")
}

/// Schedules the cleanup of an upload slot that expires at `expires_at`, for when no
/// request can use it any more.
pub(crate) async fn schedule_upload_cleanup(
    s: &impl Schedule,
    upload: AbandonedUpload,
    expires_at: OffsetDateTime,
) -> Result<()> {
    let name = upload_job_name(&upload.upload_id);
    let job = serde_json::to_value(Job::AbandonedUpload(upload)).map_err(Error::internal)?;
    s.scheduler()
        .schedule(&name, expires_at + UPLOAD_GRACE, job)
        .await?;
    Ok(())
}
