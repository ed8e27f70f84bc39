//! The ports and settings every use case runs with: one value, built by the local server or
//! a Lambda's `main`, passed by reference.

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::Config;
use crate::ports::{
    BlobStore, ItemStore, Keys, LocalAuthority, Mailer, Revocation, Scheduler, SealingKey, Staging,
    Tsa, Workflow,
};

/// Everything a use case needs from the outside world.
#[derive(Clone)]
pub struct Services {
    /// Items (accounts, documents, sessions, counters).
    pub items: Arc<dyn ItemStore>,
    /// Encrypted document files.
    pub blobs: Arc<dyn BlobStore>,
    /// Where uploads wait to be checked.
    pub staging: Arc<dyn Staging>,
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

/// The ports a use case names. Each trait hands out one port (or one group that only works
/// together), and a use case takes `&(impl …)` of exactly the ones it uses: what it may
/// touch — and so the IAM policy of the Lambda that runs it — follows from its signature.
/// [`Services`] has them all; a Lambda's composition may have fewer.
pub mod needs {
    use std::sync::Arc;

    use time::OffsetDateTime;

    use crate::clock::Clock;
    use crate::config::Config;
    use crate::cpu::CpuPool;
    use crate::ports::{
        BlobStore, ItemStore, Keys, LocalAuthority, Mailer, Revocation, Scheduler, SealingKey,
        Staging, Tsa, Workflow,
    };

    /// Items (accounts, documents, sessions, counters).
    pub trait Items {
        /// The item store.
        fn items(&self) -> &dyn ItemStore;
    }
    /// Encrypted files.
    pub trait Blobs {
        /// The blob store.
        fn blobs(&self) -> &dyn BlobStore;
    }
    /// Where uploads wait to be checked.
    pub trait Stage {
        /// The staging area.
        fn staging(&self) -> &dyn Staging;
    }
    /// New data keys, to encrypt a file (on AWS: `kms:GenerateDataKey`).
    pub trait Encrypt {
        /// The key service, to encrypt with.
        fn encryption(&self) -> &dyn Keys;
    }
    /// Unwrapping data keys, to read a file in the clear (on AWS: `kms:Decrypt`).
    pub trait Decrypt {
        /// The key service, to decrypt with.
        fn decryption(&self) -> &dyn Keys;
    }
    /// The MACs that derive recipient link tokens (on AWS: `kms:GenerateMac`).
    pub trait LinkMacs {
        /// The key service, for link MACs.
        fn link_macs(&self) -> &dyn Keys;
    }
    /// What a seal is made with: the service's key, timestamps, revocation data.
    pub trait SealingPorts {
        /// The key that seals documents.
        fn sealing_key(&self) -> &dyn SealingKey;
        /// Timestamps.
        fn tsa(&self) -> &dyn Tsa;
        /// Revocation data.
        fn revocation(&self) -> &dyn Revocation;
    }
    /// Outgoing mail.
    pub trait Mail {
        /// The mailer.
        fn mailer(&self) -> &dyn Mailer;
    }
    /// The contract state machine's executions.
    pub trait Workflows {
        /// The workflow port.
        fn workflow(&self) -> &dyn Workflow;
    }
    /// Jobs at a time.
    pub trait Schedule {
        /// The scheduler.
        fn scheduler(&self) -> &dyn Scheduler;
    }
    /// Time.
    pub trait Time {
        /// The clock.
        fn clock(&self) -> &Arc<dyn Clock>;
        /// Now, from the clock.
        fn now(&self) -> OffsetDateTime {
            self.clock().now()
        }
    }
    /// Settings.
    pub trait Settings {
        /// The configuration.
        fn config(&self) -> &Config;
    }
    /// Where CPU-heavy work on untrusted input runs.
    pub trait Cpu {
        /// The bounded pool.
        fn cpu(&self) -> &CpuPool;
    }
    /// The local shape's own CA and TSA (absent on AWS).
    pub trait Authority {
        /// The authority, if this shape has one.
        fn authority(&self) -> Option<&dyn LocalAuthority>;
    }

    /// Implements a need for `Services` (from its field) and for anything that derefs to a
    /// type with it (`Arc<Services>`).
    macro_rules! need {
        ($trait:ident, $method:ident, $ret:ty, |$s:ident| $body:expr) => {
            impl $trait for super::Services {
                fn $method(&self) -> $ret {
                    let $s = self;
                    $body
                }
            }
            impl<T: $trait + ?Sized> $trait for Arc<T> {
                fn $method(&self) -> $ret {
                    (**self).$method()
                }
            }
        };
    }
    need!(Items, items, &dyn ItemStore, |s| &*s.items);
    need!(Blobs, blobs, &dyn BlobStore, |s| &*s.blobs);
    need!(Stage, staging, &dyn Staging, |s| &*s.staging);
    need!(Encrypt, encryption, &dyn Keys, |s| &*s.keys);
    need!(Decrypt, decryption, &dyn Keys, |s| &*s.keys);
    need!(LinkMacs, link_macs, &dyn Keys, |s| &*s.keys);
    need!(Mail, mailer, &dyn Mailer, |s| &*s.mailer);
    need!(Workflows, workflow, &dyn Workflow, |s| &*s.workflow);
    need!(Schedule, scheduler, &dyn Scheduler, |s| &*s.scheduler);
    need!(Time, clock, &Arc<dyn Clock>, |s| &s.clock);
    need!(Settings, config, &Config, |s| &s.config);
    need!(Cpu, cpu, &CpuPool, |s| &s.cpu);
    need!(Authority, authority, Option<&dyn LocalAuthority>, |s| s
        .authority
        .as_deref());

    impl SealingPorts for super::Services {
        fn sealing_key(&self) -> &dyn SealingKey {
            &*self.sealing_key
        }
        fn tsa(&self) -> &dyn Tsa {
            &*self.tsa
        }
        fn revocation(&self) -> &dyn Revocation {
            &*self.revocation
        }
    }
    impl<T: SealingPorts + ?Sized> SealingPorts for Arc<T> {
        fn sealing_key(&self) -> &dyn SealingKey {
            (**self).sealing_key()
        }
        fn tsa(&self) -> &dyn Tsa {
            (**self).tsa()
        }
        fn revocation(&self) -> &dyn Revocation {
            (**self).revocation()
        }
    }
}
