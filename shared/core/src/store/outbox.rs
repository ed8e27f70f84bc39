//! The outbox in the store: work that follows a committed change and must not be lost if
//! the process stops in between, written in the change's own transaction and deleted once
//! done (the follow-ups finish it).

use serde::{Deserialize, Serialize};

use crate::domain::answer::Decision;
use crate::domain::document::Ids;
use crate::error::{Error, Result};
use crate::ports::{Condition, Item, Key, Write};
use crate::store::keys;

/// Work that follows a committed change and must not be lost if the process stops in
/// between (an outbox): written in the change's own transaction, deleted once done;
/// the reconciler finishes any that were left.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Pending {
    /// Start the send's execution.
    Start {
        /// The send.
        ids: Ids,
    },
    /// Complete the party's waiting task with their answer.
    Answer {
        /// The send.
        ids: Ids,
        /// The party.
        party_id: String,
        /// Their answer.
        decision: Decision,
    },
    /// Fail the send's waiting tasks with `Keiyaku.Cancelled`.
    Cancel {
        /// The send.
        ids: Ids,
    },
}

impl Pending {
    /// Where the entry is kept.
    pub(crate) fn key(&self) -> Key {
        match self {
            Pending::Start { ids } => keys::pending("START", &ids.document_id, ids.send, None),
            Pending::Answer { ids, party_id, .. } => {
                keys::pending("ANSWER", &ids.document_id, ids.send, Some(party_id))
            }
            Pending::Cancel { ids } => keys::pending("CANCEL", &ids.document_id, ids.send, None),
        }
    }

    /// The write that records it.
    pub(crate) fn write(&self) -> Result<Write> {
        Ok(Write::Put {
            item: Item::new(
                self.key(),
                serde_json::to_value(self).map_err(Error::internal)?,
            ),
            condition: Condition::None,
        })
    }
}
