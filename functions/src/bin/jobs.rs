//! Scheduled jobs: what EventBridge Scheduler invokes at their time (reminders, clean-ups).

keiyaku_lambda::jobs_function!([BLOBS, ITEMS, LINK_MACS, MAIL, SCHEDULE, WORKFLOWS]);
