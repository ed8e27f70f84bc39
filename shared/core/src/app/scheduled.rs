//! Runs a job the scheduler hands back (see `jobs` for what is scheduled).

use serde_json::Value;

use crate::app::jobs::Job;
use crate::error::{Error, Result};
use crate::services::needs::{Blobs, Items, LinkMacs, Mail, Schedule, Settings, Time, Workflows};

/// Runs a job the scheduler hands back.
pub async fn run(
    s: &(impl Items + Blobs + Mail + Workflows + Schedule + Time + Settings + LinkMacs),
    job: Value,
) -> Result<()> {
    // A job that does not parse will not parse on a retry either.
    let job = serde_json::from_value(job)
        .map_err(|e| Error::invalid("bad_job", "job", format!("not a job: {e}")))?;
    match job {
        Job::ExpiryReminder { ids, days } => {
            crate::app::reminders::expiry_reminder(s, &ids, days).await
        }
        Job::Reconcile => {
            let done = crate::app::followups::reconcile(s).await?;
            // Answers wait for their party's wait to run; anything else failed again.
            if done.left > 0 {
                crate::app::jobs::schedule_reconcile(s).await;
            }
            Ok(())
        }
        Job::Housekeeping => crate::app::housekeeping::sweep(s).await,
        Job::AbandonedUpload(upload) => {
            crate::app::housekeeping::abandoned_upload(s, &upload).await
        }
        Job::AuditUpkeep { expire, repeat } => {
            let chained = crate::app::audit::chain_all(s).await?;
            let expired = if expire {
                crate::app::audit::expire_all(s).await?
            } else {
                0
            };
            tracing::info!(chained, expired, "audit log kept");
            if repeat {
                crate::app::jobs::schedule_audit_upkeep(s).await?;
            }
            Ok(())
        }
    }
}
