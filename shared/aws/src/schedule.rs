//! The Scheduler port on EventBridge Scheduler: each job is a one-time schedule
//! (`at(…)` in UTC, no flexible window) in keiyaku's schedule group, invoking the task
//! function with the job as its input under the scheduler's own role, and deleted by the
//! service once it has run (`ActionAfterCompletion: DELETE`). Scheduling a name again
//! replaces its schedule; cancelling a name that has run or never existed is no error.

use async_trait::async_trait;
use aws_sdk_scheduler::Client;
use aws_sdk_scheduler::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_scheduler::types::{
    ActionAfterCompletion, FlexibleTimeWindow, FlexibleTimeWindowMode, Target,
};
use keiyaku_core::ports::{Scheduler, SchedulerError, check_job_name};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::FormatItem;
use time::macros::format_description;

/// The form of an `at(…)` expression (whole seconds, no zone: the zone is UTC).
const AT: &[FormatItem<'static>] =
    format_description!("at([year]-[month]-[day]T[hour]:[minute]:[second])");

/// Jobs as one-time EventBridge schedules.
pub struct EventBridgeScheduler {
    client: Client,
    group: String,
    target_arn: String,
    role_arn: String,
}

fn unavailable<E, R>(e: SdkError<E, R>) -> SchedulerError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    SchedulerError::Unavailable(aws_sdk_scheduler::error::DisplayErrorContext(&e).to_string())
}

fn code<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> Option<&str> {
    e.as_service_error().and_then(|s| s.code())
}

/// `at` as the schedule expression EventBridge Scheduler takes (whole seconds, UTC).
pub fn at_expression(at: OffsetDateTime) -> Result<String, SchedulerError> {
    at.to_offset(time::UtcOffset::UTC)
        .format(AT)
        .map_err(|e| SchedulerError::Unavailable(e.to_string()))
}

/// The time of an expression [`at_expression`] wrote.
pub fn parse_at_expression(expression: &str) -> Option<OffsetDateTime> {
    time::PrimitiveDateTime::parse(expression, AT)
        .ok()
        .map(|t| t.assume_utc())
}

impl EventBridgeScheduler {
    /// Schedules in `group`, each invoking `target_arn` (the task function) as `role_arn`
    /// (a role that may only invoke it).
    pub fn new(client: Client, group: String, target_arn: String, role_arn: String) -> Self {
        EventBridgeScheduler {
            client,
            group,
            target_arn,
            role_arn,
        }
    }

    fn target(&self, job: &Value) -> Result<Target, SchedulerError> {
        Target::builder()
            .arn(&self.target_arn)
            .role_arn(&self.role_arn)
            .input(job.to_string())
            .build()
            .map_err(|e| SchedulerError::Unavailable(e.to_string()))
    }
}

fn off() -> Result<FlexibleTimeWindow, SchedulerError> {
    FlexibleTimeWindow::builder()
        .mode(FlexibleTimeWindowMode::Off)
        .build()
        .map_err(|e| SchedulerError::Unavailable(e.to_string()))
}

#[async_trait]
impl Scheduler for EventBridgeScheduler {
    async fn schedule(
        &self,
        name: &str,
        at: OffsetDateTime,
        job: Value,
    ) -> Result<(), SchedulerError> {
        check_job_name(name)?;
        let expression = at_expression(at)?;
        let created = self
            .client
            .create_schedule()
            .group_name(&self.group)
            .name(name)
            .schedule_expression(&expression)
            .schedule_expression_timezone("UTC")
            .flexible_time_window(off()?)
            .target(self.target(&job)?)
            .action_after_completion(ActionAfterCompletion::Delete)
            .send()
            .await;
        match created {
            Ok(_) => Ok(()),
            // The name is taken: this job replaces it.
            Err(e) if code(&e) == Some("ConflictException") => self
                .client
                .update_schedule()
                .group_name(&self.group)
                .name(name)
                .schedule_expression(&expression)
                .schedule_expression_timezone("UTC")
                .flexible_time_window(off()?)
                .target(self.target(&job)?)
                .action_after_completion(ActionAfterCompletion::Delete)
                .send()
                .await
                .map(|_| ())
                .map_err(unavailable),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn cancel(&self, name: &str) -> Result<(), SchedulerError> {
        match self
            .client
            .delete_schedule()
            .group_name(&self.group)
            .name(name)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            // Ran (and deleted itself) or never existed: either way nothing is left to run.
            Err(e) if code(&e) == Some("ResourceNotFoundException") => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_expressions_are_utc_whole_seconds_and_read_back() {
        let at = time::macros::datetime!(2026-12-07 15:04:05.9 +09:00);
        let expression = at_expression(at).unwrap();
        assert_eq!(expression, "at(2026-12-07T06:04:05)");
        assert_eq!(
            parse_at_expression(&expression),
            Some(time::macros::datetime!(2026-12-07 06:04:05 UTC))
        );
        assert_eq!(parse_at_expression("rate(5 minutes)"), None);
    }
}
