//! Every mail once: a send is recorded in the item store under its Message-ID before it
//! leaves (a conditional put) and marked sent once the mailer took it. A retried task that
//! sends the same message again finds it sent and skips it; an attempt that failed, or
//! stopped before the mark, is sent again by whoever retries (a task, the reconciler):
//! never lost, and repeated only if a process stops in the instant between the mailer's
//! acceptance and the mark. Two attempts at once do not both send: the first holds the
//! record for a while, and the other fails (to be retried) rather than send. The same
//! record serves the SES adapter on AWS.

use std::sync::Arc;

use async_trait::async_trait;
use time::Duration;

use crate::clock::Clock;
use crate::ports::{Condition, Item, ItemStore, Key, MailError, Mailer, OutgoingMail, StoreError};
use crate::store::keys;

/// How long an attempt holds a message before another may take it over.
const HOLD: Duration = Duration::minutes(5);
/// How long a record is kept (a task is retried within hours, not weeks).
const KEEP: Duration = Duration::days(30);

/// A mailer that sends each Message-ID once, over another that delivers.
pub struct DeliverOnce {
    items: Arc<dyn ItemStore>,
    inner: Arc<dyn Mailer>,
    clock: Arc<dyn Clock>,
}

impl DeliverOnce {
    /// Records sends in `items` and delivers through `inner`.
    pub fn new(items: Arc<dyn ItemStore>, inner: Arc<dyn Mailer>, clock: Arc<dyn Clock>) -> Self {
        DeliverOnce {
            items,
            inner,
            clock,
        }
    }

    fn record(&self, key: Key, sent: bool, version: u64) -> Item {
        let now = self.clock.now();
        let mut item = Item::new(
            key,
            serde_json::json!({
                "sent": sent,
                "held_until": (now + HOLD).unix_timestamp(),
            }),
        );
        item.version = version;
        item.expires_at = Some((now + KEEP).unix_timestamp());
        item
    }

    /// Takes the message for this attempt: `Ok(None)` when it was sent already, else the
    /// version the record now has.
    async fn take(&self, key: &Key) -> Result<Option<u64>, MailError> {
        let store = |e: StoreError| MailError::Unavailable(format!("the mail record: {e}"));
        match self.items.get(key).await.map_err(store)? {
            None => {
                match self
                    .items
                    .put(self.record(key.clone(), false, 1), Condition::NotExists)
                    .await
                {
                    Ok(()) => Ok(Some(1)),
                    Err(StoreError::ConditionFailed) => Err(in_flight()),
                    Err(e) => Err(store(e)),
                }
            }
            Some(item) if item.body["sent"] == true => Ok(None),
            Some(item) => {
                let held = item.body["held_until"].as_i64().unwrap_or(0);
                if held > self.clock.now().unix_timestamp() {
                    return Err(in_flight());
                }
                let version = item.version + 1;
                match self
                    .items
                    .put(
                        self.record(key.clone(), false, version),
                        Condition::Version(item.version),
                    )
                    .await
                {
                    Ok(()) => Ok(Some(version)),
                    Err(StoreError::ConditionFailed) => Err(in_flight()),
                    Err(e) => Err(store(e)),
                }
            }
        }
    }
}

fn in_flight() -> MailError {
    MailError::Unavailable("another attempt is sending this message".into())
}

#[async_trait]
impl Mailer for DeliverOnce {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        let key = keys::mail_sent(&mail.message_id);
        let Some(version) = self.take(&key).await? else {
            return Ok(());
        };
        if let Err(e) = self.inner.send(mail).await {
            // Let the next attempt take it at once.
            let mut released = self.record(key.clone(), false, version + 1);
            released.body["held_until"] = 0.into();
            let _ = self.items.put(released, Condition::Version(version)).await;
            return Err(e);
        }
        // The message is out: failing now would only make a retry send it again.
        if let Err(e) = self
            .items
            .put(
                self.record(key, true, version + 1),
                Condition::Version(version),
            )
            .await
        {
            tracing::warn!(message_id = %mail.message_id, error = %e, "mail sent, but not marked sent");
        }
        Ok(())
    }
}
