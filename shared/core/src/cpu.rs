//! CPU-heavy work on untrusted input (the upload check, verification) runs here: off the
//! async runtime, on at most as many blocking threads as the machine has cores, behind a
//! short bounded queue. A caller who finds the queue full, or waits too long in it, is told
//! to come back (503 with `Retry-After`), so one client sending costly files cannot stall
//! every other request.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::error::{Error, Result};

/// How long a caller waits for a free worker before it is told to come back.
const MAX_WAIT: Duration = Duration::from_secs(10);

/// The bounded pool for CPU-heavy work.
#[derive(Clone, Debug)]
pub struct CpuPool {
    workers: Arc<Semaphore>,
    admitted: Arc<Semaphore>,
    max_wait: Duration,
}

impl CpuPool {
    /// `workers` jobs at once, and at most `queue` more waiting for one.
    pub fn new(workers: usize, queue: usize, max_wait: Duration) -> Self {
        CpuPool {
            workers: Arc::new(Semaphore::new(workers.max(1))),
            admitted: Arc::new(Semaphore::new(workers.max(1) + queue)),
            max_wait,
        }
    }

    /// One worker per core, four waiting per core.
    pub fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::new(cores, 4 * cores, MAX_WAIT)
    }

    /// Runs `work` on a worker thread; [`Error::Busy`] when the queue is full or no worker
    /// became free in time.
    pub async fn run<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let busy = || Error::Busy {
            retry_after: Duration::from_secs(2),
        };
        let admitted = self
            .admitted
            .clone()
            .try_acquire_owned()
            .map_err(|_| busy())?;
        let worker = tokio::time::timeout(self.max_wait, self.workers.clone().acquire_owned())
            .await
            .map_err(|_| busy())?
            .map_err(Error::internal)?;
        on_worker((admitted, worker), work).await
    }

    /// Runs the service's own work (checking a file it sealed) on a worker thread: it waits
    /// its turn however long the queue, and is never refused.
    pub async fn run_queued<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let worker = self
            .workers
            .clone()
            .acquire_owned()
            .await
            .map_err(Error::internal)?;
        on_worker(worker, work).await
    }
}

/// Runs `work` on a blocking thread, holding `permits` until it is done.
async fn on_worker<T, F, P>(permits: P, work: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
    P: Send + 'static,
{
    tokio::task::spawn_blocking(move || {
        let _held = permits;
        work()
    })
    .await
    .map_err(Error::internal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_queue_is_refused_at_once_and_a_long_wait_in_time() {
        let pool = CpuPool::new(1, 1, Duration::from_millis(200));
        let (release, blocked) = mpsc::channel::<()>();
        let running = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(move || blocked.recv().is_ok()).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        // One waits for the worker (and gives up after 200 ms); a third is not admitted.
        let waiting = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(|| 2).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let refused = pool.run(|| 3).await;
        assert!(matches!(refused, Err(Error::Busy { .. })), "{refused:?}");
        assert!(matches!(waiting.await.unwrap(), Err(Error::Busy { .. })));
        release.send(()).unwrap();
        assert!(running.await.unwrap().unwrap());
        // Free again.
        assert_eq!(pool.run(|| 4).await.unwrap(), 4);
    }
}
