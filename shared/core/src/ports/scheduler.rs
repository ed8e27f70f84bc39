//! Scheduler: run a job at a time, outside the state machine (reminders before a deadline,
//! expiry notices). EventBridge Scheduler on AWS; a durable timer table locally.

use async_trait::async_trait;
use serde_json::Value;
use time::OffsetDateTime;

/// What scheduling can fail with.
#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    /// The scheduler could not be reached or refused the request; worth retrying.
    #[error("scheduler: {0}")]
    Unavailable(String),
}

/// Runs jobs later. A job runs at least once, at or after its time; the job's handler
/// (`keiyaku_core::reminders::run`) makes its effect happen once.
#[async_trait]
pub trait Scheduler: Send + Sync {
    /// Runs `job` at `at` under `name` (letters, digits, `-` and `_`; at most 64
    /// characters), replacing a job of that name.
    async fn schedule(
        &self,
        name: &str,
        at: OffsetDateTime,
        job: Value,
    ) -> Result<(), SchedulerError>;
    /// Forgets the job of that name, if any.
    async fn cancel(&self, name: &str) -> Result<(), SchedulerError>;
}

/// A job name as [`Scheduler::schedule`] takes it: 1–64 letters, digits, `-` and `_` (what
/// EventBridge Scheduler's names allow, less `.`); anything else is refused by every adapter.
pub fn check_job_name(name: &str) -> Result<(), SchedulerError> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(SchedulerError::Unavailable(format!(
            "invalid job name {name:?}"
        )))
    }
}
