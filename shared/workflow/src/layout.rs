//! Where the executor keeps things in the item store, and how large values are cut to fit
//! DynamoDB's 400 KB items.
//!
//! | pk | sk | what |
//! |---|---|---|
//! | `EXEC#<id>` | `STATE` | the head: version-conditioned; summary fields, event count, definition hash, first chunk of the snapshot (which holds no events) |
//! | `EXEC#<id>` | `STATE#<part 3>` | further chunks of the snapshot, when it is larger than one item |
//! | `EXEC#<id>` | `EV#<first event id 8>#<chunk 3>` | the events one commit appended, as a JSON array cut into chunks |
//! | `EXECNAME#<machine>#<name>` | `NAME` | execution id and input, so a name is taken once |
//! | `TOKEN#<sha256 hex of token>` | `TOKEN` | execution id, task id, whether the task has ended |
//! | `TIMER` | `<due unix ms 16>#<id>#<timer id>` | a pending timer, earliest first |
//! | `EXECS#<STATUS>` and `EXECS#ALL` | `<start unix ms 16>#<id>` | the listing by status |
//!
//! Every item of one commit is written in one transaction, conditioned on the head's
//! version, so state, history, timers, tokens and listing never disagree. Listing items are
//! ordinary items rather than secondary-index entries because recovery reads
//! `EXECS#RUNNING` for correctness, and indexes are only eventually consistent on AWS.

use keiyaku_core::ports::{Item, Key};
use keiyaku_states::{Status, TimerId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::ExecutionId;

/// The escaped size a chunk of text may reach inside an item: below 400 KB with room for
/// the other fields.
const CHUNK_BUDGET: usize = 340_000;

/// Closed task tokens are kept this long (Step Functions keeps closed executions 90 days)
/// so a late answer gets `TaskTimedOut` rather than `TaskDoesNotExist`.
pub(crate) const CLOSED_TOKEN_SECONDS: i64 = 90 * 24 * 3600;

pub(crate) fn exec_pk(id: &ExecutionId) -> String {
    format!("EXEC#{id}")
}

pub(crate) fn head_key(id: &ExecutionId) -> Key {
    Key::new(exec_pk(id), "STATE")
}

pub(crate) fn part_key(id: &ExecutionId, part: usize) -> Key {
    Key::new(exec_pk(id), format!("STATE#{part:03}"))
}

pub(crate) const PART_PREFIX: &str = "STATE#";
pub(crate) const EVENT_PREFIX: &str = "EV#";

pub(crate) fn events_key(id: &ExecutionId, first: u64, chunk: usize) -> Key {
    Key::new(exec_pk(id), format!("EV#{first:08}#{chunk:03}"))
}

/// A sort key just after every chunk of the record whose first event is `first` (`~`
/// sorts after the digits), for resuming a query there.
pub(crate) fn events_after(first: u64) -> String {
    format!("EV#{first:08}#~")
}

/// The first event id of an events record, from its sort key.
pub(crate) fn event_record_first(sk: &str) -> Option<u64> {
    sk.strip_prefix(EVENT_PREFIX)?.get(..8)?.parse().ok()
}

pub(crate) fn name_key(machine: &str, name: &str) -> Key {
    // Execution names cannot contain '#', so the last '#' separates machine and name.
    Key::new(format!("EXECNAME#{machine}#{name}"), "NAME")
}

pub(crate) fn token_key(token: &str) -> Key {
    // Hashed so the store never holds a usable token as a key; the snapshot holds it anyway
    // (the engine needs it), but keys travel into logs and listings more easily than bodies.
    let digest = Sha256::digest(token.as_bytes());
    Key::new(format!("TOKEN#{}", hex::encode(digest)), "TOKEN")
}

pub(crate) const TIMER_PK: &str = "TIMER";

/// Milliseconds since the epoch, rounded up, so a timer keyed by it is never due before
/// its instant.
pub(crate) fn due_ms(at: OffsetDateTime) -> i64 {
    let nanos = at.unix_timestamp_nanos();
    nanos.div_euclid(1_000_000) as i64 + i64::from(nanos.rem_euclid(1_000_000) != 0)
}

/// Milliseconds since the epoch, rounded down (what "now" has reached).
pub(crate) fn now_ms(now: OffsetDateTime) -> i64 {
    now.unix_timestamp_nanos().div_euclid(1_000_000) as i64
}

pub(crate) fn timer_key(at: OffsetDateTime, id: &ExecutionId, timer: TimerId) -> Key {
    Key::new(
        TIMER_PK,
        format!("{:016}#{id}#{}", due_ms(at).max(0), timer.0),
    )
}

/// A pending timer's item (the key says it all; the body repeats it for readers).
pub(crate) fn timer_item(at: OffsetDateTime, id: &ExecutionId, timer: TimerId) -> Item {
    Item::new(
        timer_key(at, id, timer),
        serde_json::json!({"execution": id, "timer": timer.0}),
    )
}

/// The due time (ms), execution and timer of a timer item, from its sort key.
pub(crate) fn parse_timer_sk(sk: &str) -> Option<(i64, ExecutionId, TimerId)> {
    let (due, rest) = sk.split_once('#')?;
    let (id, timer) = rest.rsplit_once('#')?;
    Some((
        due.parse().ok()?,
        ExecutionId::new(id),
        TimerId(timer.parse().ok()?),
    ))
}

pub(crate) fn status_name(s: Status) -> &'static str {
    match s {
        Status::Running => "RUNNING",
        Status::Succeeded => "SUCCEEDED",
        Status::Failed => "FAILED",
        Status::TimedOut => "TIMED_OUT",
        Status::Aborted => "ABORTED",
    }
}

pub(crate) fn list_pk(status: Option<Status>) -> String {
    format!("EXECS#{}", status.map(status_name).unwrap_or("ALL"))
}

pub(crate) fn list_key(status: Option<Status>, start: OffsetDateTime, id: &ExecutionId) -> Key {
    Key::new(
        list_pk(status),
        format!("{:016}#{id}", now_ms(start).max(0)),
    )
}

/// The head item's body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Head {
    pub machine: String,
    pub name: String,
    pub status: Status,
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub stop: Option<OffsetDateTime>,
    /// How many history events are committed.
    pub events: usize,
    /// SHA-256 (hex) of the definition the execution started under, after substitution
    /// (`Definition::sha256_hex`); absent in heads written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition: Option<String>,
    /// How many chunks the snapshot has (the head holds the first).
    pub parts: usize,
    /// Tasks whose `TaskSubmitted` is recorded, so a re-invocation does not record it twice.
    pub submitted: Vec<u64>,
    /// The snapshot's first chunk.
    pub data: String,
}

/// A snapshot part's or an events chunk's body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Chunk {
    pub chunk: usize,
    pub chunks: usize,
    pub data: String,
}

/// A token item's body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TokenRecord {
    pub execution: ExecutionId,
    pub task: u64,
    pub closed: bool,
}

/// A name item's body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct NameRecord {
    pub execution: ExecutionId,
    pub input: serde_json::Value,
}

/// Cuts `text` into pieces whose JSON-escaped size stays within the budget. Never empty:
/// an empty text is one empty piece, so every record has a first chunk.
pub(crate) fn split(text: &str) -> Vec<&str> {
    // Byte by byte (a snapshot is rewritten at every step of a large Map, so this is hot): a
    // multi-byte character costs its bytes, and a cut moves back to a character boundary.
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut cost = 0;
    for (i, &b) in bytes.iter().enumerate() {
        // Quotes and backslashes double when escaped; control characters (which serde_json
        // never leaves raw, but be safe) become \u00XX.
        let n = match b {
            b'"' | b'\\' => 2,
            0..=0x1f | 0x7f => 6,
            _ => 1,
        };
        if cost + n > CHUNK_BUDGET {
            let mut cut = i;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            out.push(&text[start..cut]);
            cost = bytes[cut..i].len();
            start = cut;
        }
        cost += n;
    }
    out.push(&text[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_keeps_every_character_and_respects_the_budget() {
        let text = "\"é\\x".repeat(200_000);
        let pieces = split(&text);
        assert!(pieces.len() > 1);
        assert_eq!(pieces.concat(), text);
        for p in &pieces {
            assert!(serde_json::to_string(p).unwrap().len() <= CHUNK_BUDGET + 2);
        }
        assert_eq!(split(""), vec![""]);
    }

    #[test]
    fn timer_keys_sort_by_due_time_and_round_up() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_500_000_000_000_000_001).unwrap();
        assert_eq!(due_ms(t), 1_500_000_000_001);
        assert_eq!(now_ms(t), 1_500_000_000_000);
        let id = ExecutionId::new("abc");
        let k = timer_key(t, &id, TimerId(7));
        assert_eq!(
            parse_timer_sk(&k.sk),
            Some((1_500_000_000_001, id.clone(), TimerId(7)))
        );
        let later = timer_key(t + time::Duration::seconds(1), &id, TimerId(1));
        assert!(k.sk < later.sk);
    }
}
