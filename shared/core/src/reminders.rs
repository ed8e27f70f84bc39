//! Reminders outside the state machine, through the Scheduler port: three days and one day
//! before a document's deadline the party it waits for is reminded, and a day before, the
//! sender is told that it is about to expire. Each mail has a fixed Message-ID (one per
//! party and slot), so a job that runs twice sends it once; a job for a document that has
//! moved on, ended or been sent again does nothing.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::{Duration, OffsetDateTime};

use crate::domain::document::Ids;
use crate::error::{Error, Result};
use crate::services::Services;

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
    AbandonedUpload(crate::housekeeping::AbandonedUpload),
}

/// The reconciler's job name: one at a time, however many follow-ups failed.
const RECONCILE: &str = "reconcile-outbox";
/// How long after a failed follow-up the reconciler runs.
const RECONCILE_AFTER_SECONDS: i64 = 30;

/// Schedules the reconciler shortly (a follow-up failed). A failure to schedule leaves the
/// follow-up for the next start.
pub async fn schedule_reconcile(s: &Services) {
    let at = s.now() + Duration::seconds(RECONCILE_AFTER_SECONDS);
    let job = serde_json::to_value(Job::Reconcile).unwrap_or_default();
    if let Err(e) = s.scheduler.schedule(RECONCILE, at, job).await {
        tracing::error!(error = %e, "the reconciler could not be scheduled; the next start runs it");
    }
}

fn name(ids: &Ids, days: i64) -> String {
    format!("remind-{}-{}-{days}d", ids.document_id, ids.send)
}

/// Schedules the send's reminders (those still ahead by more than an hour).
pub async fn schedule(s: &Services, ids: &Ids, deadline: OffsetDateTime) -> Result<()> {
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
        s.scheduler.schedule(&name(ids, days), at, job).await?;
    }
    Ok(())
}

/// Forgets the send's reminders (it ended). A failure only leaves jobs that will do nothing.
pub async fn cancel(s: &Services, ids: &Ids) {
    for days in DAYS_BEFORE {
        if let Err(e) = s.scheduler.cancel(&name(ids, days)).await {
            tracing::warn!(error = %e, "a reminder was not cancelled; it will do nothing");
        }
    }
}

/// Runs a job the scheduler hands back.
pub async fn run(s: &Services, job: Value) -> Result<()> {
    match serde_json::from_value(job).map_err(|e| Error::internal(format!("a job: {e}")))? {
        Job::ExpiryReminder { ids, days } => expiry_reminder(s, &ids, days).await,
        Job::Reconcile => {
            let done = crate::answers::reconcile(s).await?;
            // Answers wait for their party's wait to run; anything else failed again.
            if done.left > 0 {
                schedule_reconcile(s).await;
            }
            Ok(())
        }
        Job::Housekeeping => crate::housekeeping::sweep(s).await,
        Job::AbandonedUpload(upload) => crate::housekeeping::abandoned_upload(s, &upload).await,
    }
}

async fn expiry_reminder(s: &Services, ids: &Ids, days: i64) -> Result<()> {
    let (doc, _) = crate::store::documents::load(s, ids).await?;
    if doc.send != ids.send {
        return Ok(());
    }
    let Some((phase, party)) = crate::store::waits::current_party(s, &doc).await? else {
        return Ok(());
    };
    let message_id = format!(
        "expiry-reminder-{}-{}-{party}-{days}d@keiyaku",
        doc.id, ids.send
    );
    crate::answers::ask_again(s, &doc, phase, &party, &message_id).await?;
    if days == 1 {
        let sender = crate::store::users::sender(s, &doc).await?;
        let mail = crate::mail::expiry_notice(
            s,
            sender.email.as_str(),
            &sender.name,
            &doc.title,
            doc.id.as_str(),
            &doc.expires_at
                .map(crate::recipients::jst)
                .unwrap_or_default(),
            &format!("expiry-notice-{}-{}@keiyaku", doc.id, ids.send),
        )?;
        s.mailer.send(&mail).await?;
    }
    Ok(())
}
