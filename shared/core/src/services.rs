//! The ports and settings every use case runs with: one value, built by the local server or
//! a Lambda's `main`, passed by reference.

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::Config;
use crate::ports::{
    BlobStore, ItemStore, Keys, LocalAuthority, Mailer, Revocation, Scheduler, SealingKey, Tsa,
    Workflow,
};

/// Everything a use case needs from the outside world.
#[derive(Clone)]
pub struct Services {
    /// Items (accounts, documents, sessions, counters).
    pub items: Arc<dyn ItemStore>,
    /// Encrypted document files.
    pub blobs: Arc<dyn BlobStore>,
    /// Data keys.
    pub keys: Arc<dyn Keys>,
    /// The key that seals documents.
    pub sealing_key: Arc<dyn SealingKey>,
    /// Timestamps for seals.
    pub tsa: Arc<dyn Tsa>,
    /// Revocation data for long-term form.
    pub revocation: Arc<dyn Revocation>,
    /// Outgoing mail.
    pub mailer: Arc<dyn Mailer>,
    /// The contract state machine's executions.
    pub workflow: Arc<dyn Workflow>,
    /// Jobs at a time (reminders, expiry notices).
    pub scheduler: Arc<dyn Scheduler>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// The local shape's own CA and TSA (`None` on AWS).
    pub authority: Option<Arc<dyn LocalAuthority>>,
    /// Settings.
    pub config: Config,
    /// Where CPU-heavy work on untrusted input runs.
    pub cpu: crate::cpu::CpuPool,
}

impl Services {
    /// Now, from the clock.
    pub fn now(&self) -> time::OffsetDateTime {
        self.clock.now()
    }
}
