//! The Scheduler port locally: a durable timer table in the item store. A job is one item
//! (`SCHEDULE` / `JOB#<name>`) indexed by its due time, so scheduling under a name replaces
//! and cancelling deletes it. The loop sleeps until the earliest job or until a new one is
//! scheduled — never polling —, runs what is due through the core's job handler, and deletes
//! a job only after it ran (at least once); a job that fails is tried again a minute later.

use std::future::Future;
use std::sync::{Arc, OnceLock, Weak};

use async_trait::async_trait;
use keiyaku_core::Services;
use keiyaku_core::clock::Clock;
use keiyaku_core::ports::{
    Condition, Item, ItemStore, Key, Query, Scheduler, SchedulerError, StoreError,
};
use serde_json::Value;
use time::{Duration, OffsetDateTime};
use tokio::sync::Notify;

const PK: &str = "SCHEDULE";
const DUE_PK: &str = "SCHEDULE_DUE";

/// The timer table.
pub struct TimerTable {
    items: Arc<dyn ItemStore>,
    clock: Arc<dyn Clock>,
    wake: Notify,
    /// One pass over the due jobs at a time (the loop and a caller of `run_due`): when
    /// `run_due` returns, everything due has run, whoever ran it.
    passing: tokio::sync::Mutex<()>,
    /// The services jobs run with (weak: the services hold this table).
    services: OnceLock<Weak<Services>>,
}

fn unavailable(e: StoreError) -> SchedulerError {
    SchedulerError::Unavailable(e.to_string())
}

fn millis(at: OffsetDateTime) -> i64 {
    (at.unix_timestamp_nanos() / 1_000_000) as i64
}

/// Sort-key prefix of the timer table's jobs.
pub const JOB: &str = "JOB#";

/// Where a job waits for its time.
pub(crate) fn job_key(name: &str) -> Key {
    Key::new(PK, format!("{JOB}{name}"))
}

impl TimerTable {
    /// A table on `items`, reading time from `clock`.
    pub fn new(items: Arc<dyn ItemStore>, clock: Arc<dyn Clock>) -> TimerTable {
        TimerTable {
            items,
            clock,
            wake: Notify::new(),
            passing: tokio::sync::Mutex::new(()),
            services: OnceLock::new(),
        }
    }

    /// Names the services jobs run with (once, when they are built).
    pub fn bind(&self, services: &Arc<Services>) {
        let _ = self.services.set(Arc::downgrade(services));
    }

    async fn due_page(&self) -> Result<Vec<Item>, StoreError> {
        Ok(self
            .items
            .query_index(&Query {
                pk: DUE_PK.into(),
                sk_prefix: String::new(),
                after: None,
                descending: false,
                limit: 100,
            })
            .await?
            .items)
    }

    fn due_of(item: &Item) -> i64 {
        item.body["due_ms"].as_i64().unwrap_or(0)
    }

    /// When the earliest job is due, if any.
    pub async fn next_due(&self) -> Result<Option<OffsetDateTime>, StoreError> {
        Ok(self.due_page().await?.first().and_then(|i| {
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(Self::due_of(i)) * 1_000_000).ok()
        }))
    }

    /// Runs every job due by the clock's now; how many ran in this call.
    pub async fn run_due(&self) -> Result<usize, StoreError> {
        let Some(services) = self.services.get().and_then(Weak::upgrade) else {
            return Ok(0);
        };
        let _pass = self.passing.lock().await;
        let now = millis(self.clock.now());
        let mut ran = 0;
        for item in self.due_page().await? {
            if Self::due_of(&item) > now {
                break;
            }
            let name = item.key.sk.trim_start_matches("JOB#").to_owned();
            match keiyaku_core::app::scheduled::run(&services, item.body["job"].clone()).await {
                Ok(()) => {
                    ran += 1;
                    // Rescheduled meanwhile (another version): that one stays.
                    match self
                        .items
                        .delete(&item.key, Condition::Version(item.version))
                        .await
                    {
                        Ok(()) | Err(StoreError::ConditionFailed) => {}
                        Err(e) => return Err(e),
                    }
                }
                // A job that does not parse never will: dropped, loudly.
                Err(e @ keiyaku_core::Error::Invalid { .. }) => {
                    tracing::error!(job = %name, error = %e, "scheduled job is not a job; dropped");
                    match self
                        .items
                        .delete(&item.key, Condition::Version(item.version))
                        .await
                    {
                        Ok(()) | Err(StoreError::ConditionFailed) => {}
                        Err(e) => return Err(e),
                    }
                }
                Err(e) => {
                    tracing::warn!(job = %name, error = %e, "scheduled job failed; trying again in a minute");
                    let mut later = item.clone();
                    let at = self.clock.now() + Duration::minutes(1);
                    later.body["due_ms"] = millis(at).into();
                    later.index = Some(Key::new(DUE_PK, format!("{:016}#{name}", millis(at))));
                    later.version += 1;
                    match self
                        .items
                        .put(later, Condition::Version(item.version))
                        .await
                    {
                        Ok(()) | Err(StoreError::ConditionFailed) => {}
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        Ok(ran)
    }

    /// The loop, until `shutdown`: runs what is due, then sleeps until the next job or a
    /// newly scheduled one.
    pub async fn run(self: Arc<Self>, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            let delay = match self.run_due().await {
                Ok(_) => match self.next_due().await {
                    Ok(next) => next.map(|at| {
                        std::time::Duration::try_from(at - self.clock.now()).unwrap_or_default()
                    }),
                    Err(_) => Some(std::time::Duration::from_secs(5)),
                },
                Err(e) => {
                    tracing::error!(error = %e, "the timer table could not be read");
                    Some(std::time::Duration::from_secs(5))
                }
            };
            let sleep = async {
                match delay {
                    Some(d) => tokio::time::sleep(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = &mut shutdown => return,
                _ = self.wake.notified() => {}
                _ = sleep => {}
            }
        }
    }
}

#[async_trait]
impl Scheduler for TimerTable {
    async fn schedule(
        &self,
        name: &str,
        at: OffsetDateTime,
        job: Value,
    ) -> Result<(), SchedulerError> {
        keiyaku_core::ports::check_job_name(name)?;
        let mut item = Item::new(
            job_key(name),
            serde_json::json!({ "due_ms": millis(at), "job": job }),
        );
        item.index = Some(Key::new(DUE_PK, format!("{:016}#{name}", millis(at))));
        // A new version for a replacement, so a run of the job it replaces (which deletes
        // only the version it ran) leaves it alone.
        if let Some(existing) = self.items.get(&item.key).await.map_err(unavailable)? {
            item.version = existing.version + 1;
        }
        self.items
            .put(item, Condition::None)
            .await
            .map_err(unavailable)?;
        self.wake.notify_one();
        Ok(())
    }

    async fn cancel(&self, name: &str) -> Result<(), SchedulerError> {
        self.items
            .delete(&job_key(name), Condition::None)
            .await
            .map_err(unavailable)
    }
}
