//! The audit log (監査ログ): an event for every security-relevant act — who (a member, a
//! recipient, the service), what, on what, with which outcome, when, from where — and the
//! hash chain that makes the team's log tamper-evident. Each event carries the hash of its
//! own content; the chaining job then gives it its place in the team's chain (a sequence
//! number, the previous link, and its link = SHA-256(previous link ‖ content hash)). An
//! edited event no longer matches its hash or its link; a deleted one leaves a gap in the
//! sequence; a cut tail no longer reaches the head. Retention moves the chain's start.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use crate::ids::TeamId;

/// How long events are kept (the white paper's two years).
pub const RETENTION: Duration = Duration::days(731);

/// The link before the first event of a chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Whether the act succeeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It was done.
    Success,
    /// It was tried and refused (a wrong password, a wrong code, an address not allowed).
    Failure,
}

impl Outcome {
    /// Its name in the API and the CSV.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }
    }
}

/// One event of a team's audit log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Its id (time-ordered).
    pub id: String,
    /// When it happened.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Who: a user id, `recipient:<document>:<party>`, or `keiyaku` (the service itself).
    pub actor: String,
    /// What, as `area.act` (`account.logged_in`, `document.sent`, …).
    pub action: String,
    /// On what: `document:<id>`, `user:<id>`, `team`, … when it concerns something.
    #[serde(default)]
    pub target: Option<String>,
    /// Done or refused.
    #[serde(default = "success")]
    pub outcome: Outcome,
    /// The client address (`-` for the service's own acts).
    pub ip: String,
    /// The client's User-Agent, when it sent one.
    #[serde(default)]
    pub user_agent: Option<String>,
    /// SHA-256 of its content (see [`content_hash`]), hex.
    #[serde(default)]
    pub hash: String,
    /// Its place in the team's chain, once the chaining job has given it one.
    #[serde(default)]
    pub chain: Option<ChainLink>,
}

fn success() -> Outcome {
    Outcome::Success
}

/// An event's place in its team's chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainLink {
    /// Its position, from 1.
    pub seq: u64,
    /// The link of the event before it ([`GENESIS`] for the first).
    pub prev: String,
    /// SHA-256(prev ‖ hash), hex.
    pub link: String,
}

/// Where a team's chain stands: its last link, and where it starts since retention removed
/// the oldest events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    /// The team.
    pub team_id: TeamId,
    /// The last event chained (0: none yet).
    pub seq: u64,
    /// Its link.
    pub link: String,
    /// The first event still kept.
    pub start_seq: u64,
    /// The link before it.
    pub start_prev: String,
}

impl ChainHead {
    /// The head of a chain with nothing in it yet.
    pub fn new(team_id: TeamId) -> Self {
        ChainHead {
            team_id,
            seq: 0,
            link: GENESIS.to_owned(),
            start_seq: 1,
            start_prev: GENESIS.to_owned(),
        }
    }
}

impl AuditEvent {
    /// A new event, its content hash computed (not chained yet).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        team: &TeamId,
        id: String,
        at: OffsetDateTime,
        actor: String,
        action: &str,
        target: Option<String>,
        outcome: Outcome,
        ip: String,
        user_agent: Option<String>,
    ) -> Self {
        let mut event = AuditEvent {
            id,
            at,
            actor,
            action: action.to_owned(),
            target,
            outcome,
            ip,
            user_agent: user_agent.map(|ua| ua.chars().take(MAX_USER_AGENT).collect()),
            hash: String::new(),
            chain: None,
        };
        event.hash = content_hash(team, &event);
        event
    }
}

/// Longest User-Agent kept, in characters.
pub const MAX_USER_AGENT: usize = 400;

/// SHA-256 over the event's content and its team, as a JSON array in a fixed order (so no
/// field can move into another unseen, and an event cannot be moved to another team).
pub fn content_hash(team: &TeamId, e: &AuditEvent) -> String {
    let at =
        e.at.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
    let canonical = serde_json::json!([
        team,
        e.id,
        at,
        e.actor,
        e.action,
        e.target,
        e.outcome.as_str(),
        e.ip,
        e.user_agent,
    ]);
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// The link that follows `prev` for an event whose content hash is `hash`.
pub fn link_of(prev: &str, hash: &str) -> String {
    let mut digest = Sha256::new();
    digest.update(prev.as_bytes());
    digest.update(hash.as_bytes());
    hex::encode(digest.finalize())
}

/// The first place a chain is broken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broken {
    /// The position in the chain.
    pub seq: u64,
    /// The event there, when there is one.
    pub event_id: Option<String>,
    /// What is wrong: `edited`, `missing`, `moved` or `cut`.
    pub reason: &'static str,
}

/// Checks a team's chain event by event, in any order close to the chain's: events that
/// come early wait (at most `MAX_WAITING`) until those before them are checked.
pub struct ChainCheck<'a> {
    team: &'a TeamId,
    head: &'a ChainHead,
    next: u64,
    prev: String,
    waiting: std::collections::BTreeMap<u64, AuditEvent>,
    /// Events checked so far.
    pub checked: u64,
    /// Events not chained yet (written after the chaining job last ran).
    pub unchained: u64,
    broken: Option<Broken>,
}

/// Most events that may arrive ahead of their turn before the gap counts as missing events.
const MAX_WAITING: usize = 10_000;

impl<'a> ChainCheck<'a> {
    /// A check of the chain that `head` ends.
    pub fn new(team: &'a TeamId, head: &'a ChainHead) -> Self {
        ChainCheck {
            team,
            head,
            next: head.start_seq,
            prev: head.start_prev.clone(),
            waiting: Default::default(),
            checked: 0,
            unchained: 0,
            broken: None,
        }
    }

    /// Takes the next event read.
    pub fn push(&mut self, event: AuditEvent) {
        if self.broken.is_some() {
            return;
        }
        let Some(link) = &event.chain else {
            self.unchained += 1;
            return;
        };
        if link.seq < self.next || self.waiting.contains_key(&link.seq) {
            // Before the start, or a second event claiming a place.
            self.broken = Some(Broken {
                seq: link.seq,
                event_id: Some(event.id.clone()),
                reason: "moved",
            });
            return;
        }
        self.waiting.insert(link.seq, event);
        self.drain();
        if self.waiting.len() > MAX_WAITING {
            self.broken = Some(Broken {
                seq: self.next,
                event_id: None,
                reason: "missing",
            });
        }
    }

    fn drain(&mut self) {
        while let Some(event) = self.waiting.remove(&self.next) {
            let link = event.chain.as_ref().expect("only chained events wait");
            let fine = content_hash(self.team, &event) == event.hash
                && link.prev == self.prev
                && link.link == link_of(&self.prev, &event.hash);
            if !fine {
                self.broken = Some(Broken {
                    seq: self.next,
                    event_id: Some(event.id),
                    reason: "edited",
                });
                return;
            }
            self.prev = link.link.clone();
            self.next += 1;
            self.checked += 1;
        }
    }

    /// The first break, once every event was pushed: none when the chain runs unbroken
    /// from its start to its head.
    pub fn finish(self) -> Option<Broken> {
        if let Some(broken) = self.broken {
            return Some(broken);
        }
        let last = self.next - 1;
        if last < self.head.seq {
            // An event the head counts is gone (or everything after it).
            return Some(Broken {
                seq: self.next,
                event_id: None,
                reason: "missing",
            });
        }
        if !self.waiting.is_empty() || last > self.head.seq || self.prev != self.head.link {
            return Some(Broken {
                seq: self.head.seq,
                event_id: None,
                reason: "cut",
            });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A chain of `n` events as the chaining job makes it, and its head.
    fn chain(team: &TeamId, n: u64) -> (Vec<AuditEvent>, ChainHead) {
        let mut head = ChainHead::new(team.clone());
        let at = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let events = (1..=n)
            .map(|i| {
                let mut e = AuditEvent::new(
                    team,
                    format!("{i:028x}"),
                    at + Duration::seconds(i as i64),
                    "u1".into(),
                    "account.logged_in",
                    Some("user:u1".into()),
                    Outcome::Success,
                    "192.0.2.1".into(),
                    Some("Mozilla/5.0".into()),
                );
                let link = link_of(&head.link, &e.hash);
                e.chain = Some(ChainLink {
                    seq: i,
                    prev: head.link.clone(),
                    link: link.clone(),
                });
                head.seq = i;
                head.link = link;
                e
            })
            .collect();
        (events, head)
    }

    fn check(team: &TeamId, head: &ChainHead, events: Vec<AuditEvent>) -> Option<Broken> {
        let mut c = ChainCheck::new(team, head);
        for e in events {
            c.push(e);
        }
        c.finish()
    }

    #[test]
    fn an_unbroken_chain_verifies_in_any_near_order() {
        let team = TeamId("t".into());
        let (mut events, head) = chain(&team, 20);
        assert_eq!(check(&team, &head, events.clone()), None);
        events.swap(3, 7);
        assert_eq!(check(&team, &head, events), None);
        assert_eq!(check(&team, &ChainHead::new(team.clone()), vec![]), None);
    }

    #[test]
    fn an_edited_deleted_moved_or_cut_event_is_found() {
        let team = TeamId("t".into());
        let (events, head) = chain(&team, 10);
        let broken = |events: Vec<AuditEvent>| check(&team, &head, events).unwrap();

        let mut edited = events.clone();
        edited[4].ip = "203.0.113.9".into();
        assert_eq!(broken(edited).seq, 5);
        // Rehashed too: the link no longer follows.
        let mut rehashed = events.clone();
        rehashed[4].outcome = Outcome::Failure;
        rehashed[4].hash = content_hash(&team, &rehashed[4]);
        let b = broken(rehashed);
        assert_eq!((b.seq, b.reason), (5, "edited"));

        let mut deleted = events.clone();
        deleted.remove(6);
        let b = broken(deleted);
        assert_eq!((b.seq, b.reason), (7, "missing"));

        let mut tail = events.clone();
        tail.truncate(8);
        let b = broken(tail);
        assert_eq!((b.seq, b.reason), (9, "missing"));

        // Moved to another team: its hash names the team.
        let other = TeamId("u".into());
        assert_eq!(check(&other, &head, events.clone()).unwrap().seq, 1);

        let mut twice = events.clone();
        twice.push(events[2].clone());
        assert_eq!(broken(twice).reason, "moved");
    }

    #[test]
    fn retention_moves_the_start_of_the_chain() {
        let team = TeamId("t".into());
        let (events, mut head) = chain(&team, 10);
        head.start_seq = 5;
        head.start_prev = events[3].chain.as_ref().unwrap().link.clone();
        assert_eq!(check(&team, &head, events[4..].to_vec()), None);
        // The kept part cannot lose its first event unseen.
        assert_eq!(check(&team, &head, events[5..].to_vec()).unwrap().seq, 5);
    }
}
