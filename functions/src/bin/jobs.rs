//! Scheduled jobs: what EventBridge Scheduler invokes at their time (reminders, clean-ups).

#[tokio::main]
async fn main() -> Result<(), keiyaku_lambda::Error> {
    keiyaku_lambda::jobs_main().await
}
