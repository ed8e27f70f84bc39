//! The audit log's use cases: chaining the events each act wrote (a job through the
//! Scheduler port, and before anyone reads the log), verifying a team's chain, expiring
//! events after two years, and searching and exporting the log — for the team's admins and
//! auditors only.
//!
//! Chaining is a job of its own, not part of each act, so that acts never wait on one
//! another: every act writes its event in its own transaction, and the job links waiting
//! events in the order it finds them, moving the team's head with a condition on its
//! version (two chainers at once cannot both move it).

use std::collections::HashMap;

use bytes::Bytes;
use futures::Stream;
use time::{OffsetDateTime, UtcOffset};

use crate::domain::audit::{
    AuditEvent, Broken, ChainCheck, ChainHead, ChainLink, RETENTION, link_of,
};
use crate::domain::user::{Caller, User};
use crate::error::{Error, Result};
use crate::ids::TeamId;
use crate::ports::{Condition, Item, Query, StoreError, Write};
use crate::services::needs::{Items, Time};
use crate::store::{from_item, keys, to_json};

/// Events one transaction chains (with the head: at most 100 writes).
const CHAIN_BATCH: usize = 99;

/// Transactions one chaining run makes for a team at most (the next run goes on).
const CHAIN_ROUNDS: usize = 1000;

/// A caller who may read the team's audit log: only [`AuditReader::of`] makes one.
pub struct AuditReader<'a>(&'a Caller);

impl<'a> AuditReader<'a> {
    /// The caller as a reader of their team's log (admins and auditors), or `Forbidden`.
    pub fn of(caller: &'a Caller) -> Result<Self> {
        if crate::app::documents::reads_the_team(caller) {
            Ok(AuditReader(caller))
        } else {
            Err(Error::Forbidden {
                code: "audit_readers_only",
                message: "only the team's admins and auditors read its audit log".into(),
            })
        }
    }
}

/// A team's chain head and its item (absent before the first event is chained).
async fn head(s: &impl Items, team: &TeamId) -> Result<(ChainHead, Option<Item>)> {
    match s.items().get(&keys::audit_head(team)).await? {
        Some(item) => Ok((from_item(&item)?, Some(item))),
        None => Ok((ChainHead::new(team.clone()), None)),
    }
}

/// The write that moves the head from its item `before` (or makes it).
fn head_write(head: &ChainHead, before: Option<&Item>) -> Result<Write> {
    let (item, condition) = match before {
        Some(before) => {
            let mut item = before.clone();
            item.body = to_json(head)?;
            item.version += 1;
            (item, Condition::Version(before.version))
        }
        None => {
            let mut item = Item::new(keys::audit_head(&head.team_id), to_json(head)?);
            item.index = Some(keys::audit_head_index(&head.team_id));
            (item, Condition::NotExists)
        }
    };
    Ok(Write::Put { item, condition })
}

/// An event from its item (events from before the chain have no id in their body).
fn event_of(item: &Item) -> Result<AuditEvent> {
    let mut body = item.body.clone();
    if body.get("id").is_none() {
        body["id"] = serde_json::Value::String(
            item.key
                .sk
                .strip_prefix(keys::AUDIT)
                .unwrap_or_default()
                .to_owned(),
        );
    }
    serde_json::from_value(body).map_err(Error::internal)
}

/// Links the team's waiting events into its chain; how many it linked.
pub async fn chain(s: &impl Items, team: &TeamId) -> Result<u64> {
    let mut chained = 0;
    let mut conflicts = 0;
    for _ in 0..CHAIN_ROUNDS {
        let (mut head, head_item) = head(s, team).await?;
        let page = s
            .items()
            .query_index(&Query {
                pk: keys::AUDIT_PENDING.to_owned(),
                sk_prefix: keys::audit_pending_prefix(team),
                after: None,
                descending: false,
                limit: CHAIN_BATCH,
            })
            .await?;
        let mut writes = Vec::new();
        for waiting in &page.items {
            // The index may lag: read the event itself, and skip one already chained.
            let Some(item) = s.items().get(&waiting.key).await? else {
                continue;
            };
            let mut event = event_of(&item)?;
            if event.chain.is_some() {
                continue;
            }
            let link = link_of(&head.link, &event.hash);
            head.seq += 1;
            event.chain = Some(ChainLink {
                seq: head.seq,
                prev: std::mem::replace(&mut head.link, link.clone()),
                link,
            });
            let mut linked = item.clone();
            linked.body = to_json(&event)?;
            linked.index = None;
            linked.version += 1;
            writes.push(Write::Put {
                item: linked,
                condition: Condition::Version(item.version),
            });
        }
        if writes.is_empty() {
            return Ok(chained);
        }
        let count = writes.len() as u64;
        writes.push(head_write(&head, head_item.as_ref())?);
        match s.items().transact(writes).await {
            Ok(()) => chained += count,
            // Another chainer moved the head first: read it again.
            Err(StoreError::ConditionFailed) if conflicts < 5 => conflicts += 1,
            Err(e) => return Err(e.into()),
        }
        if page.next.is_none() && page.items.len() < CHAIN_BATCH {
            return Ok(chained);
        }
    }
    Ok(chained)
}

/// The teams with events waiting to be chained, or with a chain (for retention): from the
/// sort keys of an index partition.
async fn teams_in(s: &impl Items, pk: &str, team_of: fn(&str) -> &str) -> Result<Vec<TeamId>> {
    let mut teams: Vec<TeamId> = Vec::new();
    for item in crate::store::all_items(s, pk, "", true).await? {
        let sk = item.index.as_ref().map_or("", |k| k.sk.as_str());
        let team = TeamId(team_of(sk).to_owned());
        if teams.last() != Some(&team) {
            teams.push(team);
        }
    }
    Ok(teams)
}

/// Chains the waiting events of every team (the scheduled job); how many it linked.
pub async fn chain_all(s: &impl Items) -> Result<u64> {
    let mut chained = 0;
    for team in teams_in(s, keys::AUDIT_PENDING, |sk| {
        sk.split('#').next().unwrap_or(sk)
    })
    .await?
    {
        chained += chain(s, &team).await?;
    }
    Ok(chained)
}

/// What a verification found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verification {
    /// Events checked, from the chain's start to its head.
    pub checked: u64,
    /// Events not chained yet.
    pub unchained: u64,
    /// The chain's last position.
    pub head_seq: u64,
    /// The first break, if any.
    pub broken: Option<Broken>,
}

/// Verifies the team's chain from its start to its head (after chaining what waits).
pub async fn verify(s: &impl Items, team: &TeamId) -> Result<Verification> {
    chain(s, team).await?;
    let (head, _) = head(s, team).await?;
    let mut check = ChainCheck::new(team, &head);
    let mut after = None;
    loop {
        let page = s
            .items()
            .query(&Query {
                pk: keys::team_pk(team),
                sk_prefix: keys::AUDIT.to_owned(),
                after,
                descending: false,
                limit: 1000,
            })
            .await?;
        for item in &page.items {
            check.push(event_of(item)?);
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let (checked, unchained) = (check.checked, check.unchained);
    Ok(Verification {
        checked,
        unchained,
        head_seq: head.seq,
        broken: check.finish(),
    })
}

/// Verifies the reader's team's chain.
pub async fn verify_team(s: &impl Items, reader: &AuditReader<'_>) -> Result<Verification> {
    verify(s, reader.0.team()).await
}

/// The chains of every team, verified (`keiyaku audit verify`).
pub async fn verify_all(s: &impl Items) -> Result<Vec<(TeamId, Verification)>> {
    chain_all(s).await?;
    let mut out = Vec::new();
    for team in teams_in(s, keys::AUDIT_HEADS, |sk| sk).await? {
        out.push((team.clone(), verify(s, &team).await?));
    }
    Ok(out)
}

/// Removes the team's events older than the retention period from the start of its chain,
/// moving the chain's start with them; how many it removed.
pub async fn expire(s: &(impl Items + Time), team: &TeamId) -> Result<u64> {
    let cutoff = s.now() - RETENTION;
    let mut removed = 0;
    loop {
        let (mut head, Some(head_item)) = head(s, team).await? else {
            return Ok(removed);
        };
        let page = s
            .items()
            .query(&Query {
                pk: keys::team_pk(team),
                sk_prefix: keys::AUDIT.to_owned(),
                after: None,
                descending: false,
                limit: CHAIN_BATCH,
            })
            .await?;
        let mut writes = Vec::new();
        for item in &page.items {
            let event = event_of(item)?;
            if event.at >= cutoff {
                break;
            }
            match &event.chain {
                // Only from the start: the chain's order decides.
                Some(link) if link.seq == head.start_seq => {
                    head.start_seq += 1;
                    head.start_prev = link.link.clone();
                }
                Some(_) => break,
                // Never chained (older than the chain itself): nothing links to it.
                None => {}
            }
            writes.push(Write::Delete {
                key: item.key.clone(),
                condition: Condition::Version(item.version),
            });
        }
        if writes.is_empty() {
            return Ok(removed);
        }
        let count = writes.len() as u64;
        writes.push(head_write(&head, Some(&head_item))?);
        s.items().transact(writes).await.map_err(|e| match e {
            StoreError::ConditionFailed => Error::conflict(
                "concurrent_change",
                "the audit chain moved meanwhile; the next run goes on",
            ),
            other => other.into(),
        })?;
        removed += count;
    }
}

/// Expires old events of every team with a chain (the daily sweep).
pub async fn expire_all(s: &(impl Items + Time)) -> Result<u64> {
    let mut removed = 0;
    for team in teams_in(s, keys::AUDIT_HEADS, |sk| sk).await? {
        removed += expire(s, &team).await?;
    }
    Ok(removed)
}

/// What to look for in the log.
#[derive(Default)]
pub struct AuditQuery<'a> {
    /// From this time (inclusive).
    pub from: Option<OffsetDateTime>,
    /// Until this time (exclusive).
    pub to: Option<OffsetDateTime>,
    /// Only this actor (a user id, or `recipient:…`).
    pub actor: Option<&'a str>,
    /// Only actions starting with this (`account.`, `document.sent`).
    pub action: Option<&'a str>,
    /// Only this target (`document:<id>`, `user:<id>`).
    pub target: Option<&'a str>,
    /// Where the previous page ended.
    pub cursor: Option<&'a str>,
    /// Page size (1..=500, default 100).
    pub limit: Option<usize>,
}

/// A page of the log, newest first.
pub struct AuditPage {
    /// The events.
    pub events: Vec<AuditEvent>,
    /// Give this back for the next page.
    pub next_cursor: Option<String>,
}

fn bad_cursor() -> Error {
    Error::invalid(
        "invalid_cursor",
        "cursor",
        "the cursor is not one this search gave you",
    )
}

/// The sort key a search starts below: just under `to`, or after the cursor.
fn start_key(q: &AuditQuery<'_>) -> Result<Option<String>> {
    if let Some(cursor) = q.cursor {
        if !crate::ids::is_id(cursor) {
            return Err(bad_cursor());
        }
        return Ok(Some(format!("{}{cursor}", keys::AUDIT)));
    }
    Ok(q.to.map(|to| {
        let ms = (to.unix_timestamp_nanos() / 1_000_000).max(0) as u64 & 0xffff_ffff_ffff;
        format!("{}{ms:012x}", keys::AUDIT)
    }))
}

fn check_query(q: &AuditQuery<'_>) -> Result<()> {
    for (field, value) in [
        ("actor", q.actor),
        ("action", q.action),
        ("target", q.target),
    ] {
        if value.is_some_and(|v| v.chars().count() > 200) {
            return Err(Error::invalid(
                "too_long",
                field,
                format!("{field} is longer than 200 characters"),
            ));
        }
    }
    if let (Some(from), Some(to)) = (q.from, q.to)
        && from >= to
    {
        return Err(Error::invalid(
            "invalid_range",
            "to",
            "to must be later than from",
        ));
    }
    Ok(())
}

fn matches(q: &AuditQuery<'_>, e: &AuditEvent) -> bool {
    q.actor.is_none_or(|a| e.actor == a)
        && q.action.is_none_or(|a| e.action.starts_with(a))
        && q.target.is_none_or(|t| e.target.as_deref() == Some(t))
}

/// Searches the reader's team's log, newest first (after chaining what waits, so every
/// event shows its place in the chain).
pub async fn search(
    s: &impl Items,
    reader: &AuditReader<'_>,
    q: AuditQuery<'_>,
) -> Result<AuditPage> {
    check_query(&q)?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(Error::invalid(
            "invalid_limit",
            "limit",
            "limit must be between 1 and 500",
        ));
    }
    let team = reader.0.team();
    chain(s, team).await?;
    let mut after = start_key(&q)?;
    let mut events = Vec::new();
    // Filters apply after the key scan; a bounded scan per request, then a cursor.
    for _ in 0..20 {
        let page = s
            .items()
            .query(&Query {
                pk: keys::team_pk(team),
                sk_prefix: keys::AUDIT.to_owned(),
                after: after.clone(),
                descending: true,
                limit: 500,
            })
            .await?;
        for item in &page.items {
            let event = event_of(item)?;
            if q.from.is_some_and(|from| event.at < from) {
                return Ok(AuditPage {
                    events,
                    next_cursor: None,
                });
            }
            if matches(&q, &event) {
                let id = event.id.clone();
                events.push(event);
                if events.len() == limit {
                    return Ok(AuditPage {
                        events,
                        next_cursor: Some(id),
                    });
                }
            }
        }
        match page.next {
            Some(next) => after = Some(next),
            None => {
                return Ok(AuditPage {
                    events,
                    next_cursor: None,
                });
            }
        }
    }
    let next_cursor = after.and_then(|k| k.strip_prefix(keys::AUDIT).map(str::to_owned));
    Ok(AuditPage {
        events,
        next_cursor,
    })
}

/// The names and addresses of the team's accounts (removed ones too: old events name them).
pub async fn people(s: &impl Items, reader: &AuditReader<'_>) -> Result<HashMap<String, User>> {
    let mut out = HashMap::new();
    let pk = keys::team_pk(reader.0.team());
    for item in crate::store::all_items(s, &pk, keys::USER, false).await? {
        let user: User = from_item(&item)?;
        out.insert(user.id.to_string(), user);
    }
    Ok(out)
}

/// Japan's time: the CSV is read by people in Japan, in Excel.
const JST: UtcOffset = match UtcOffset::from_hms(9, 0, 0) {
    Ok(offset) => offset,
    Err(_) => UtcOffset::UTC,
};

/// The log as CSV (UTF-8 with a BOM, so Excel reads the Japanese; times in JST), streamed
/// page by page for any range: the caller never holds more than one page. The export is
/// itself an event.
pub async fn export<S: Items + Time + Clone + Send + Sync + 'static>(
    s: S,
    reader: &AuditReader<'_>,
    q: AuditQuery<'_>,
    japanese: bool,
) -> Result<impl Stream<Item = std::result::Result<Bytes, std::io::Error>> + Send + 'static> {
    check_query(&q)?;
    let team = reader.0.team().clone();
    // Who took the log away is itself in the log.
    s.items()
        .transact(vec![crate::store::audit::caller_event(
            s.now(),
            reader.0,
            "audit.exported",
            Some("team".into()),
        )?])
        .await?;
    chain(&s, &team).await?;
    let people = people(&s, reader).await?;
    let filter = OwnedQuery {
        from: q.from,
        actor: q.actor.map(str::to_owned),
        action: q.action.map(str::to_owned),
        target: q.target.map(str::to_owned),
    };
    let header: &[&str] = if japanese {
        &[
            "日時（日本時間）",
            "操作者ID",
            "操作者",
            "メールアドレス",
            "操作",
            "対象",
            "結果",
            "IPアドレス",
            "ユーザーエージェント",
            "イベントID",
            "連番",
            "チェーンハッシュ",
        ]
    } else {
        &[
            "Time (JST)",
            "Actor id",
            "Actor",
            "E-mail",
            "Action",
            "Target",
            "Outcome",
            "IP address",
            "User agent",
            "Event id",
            "Seq",
            "Chain hash",
        ]
    };
    let mut first = b"\xEF\xBB\xBF".to_vec();
    first.extend(csv_rows(std::iter::once(
        header.iter().map(|h| h.to_string()).collect(),
    ))?);
    let state = Export {
        s,
        team,
        after: start_key(&q)?,
        people,
        filter,
        done: false,
    };
    let rows = futures::stream::unfold(state, |mut st| async move {
        if st.done {
            return None;
        }
        let chunk = st.next_chunk().await;
        if chunk.is_err() {
            st.done = true;
        }
        Some((chunk.map_err(|e| std::io::Error::other(e.to_string())), st))
    });
    Ok(futures::StreamExt::chain(
        futures::stream::once(async move { Ok(Bytes::from(first)) }),
        rows,
    ))
}

/// A search's filters, owned by a stream.
struct OwnedQuery {
    from: Option<OffsetDateTime>,
    actor: Option<String>,
    action: Option<String>,
    target: Option<String>,
}

/// Where an export stands.
struct Export<S> {
    s: S,
    team: TeamId,
    after: Option<String>,
    people: HashMap<String, User>,
    filter: OwnedQuery,
    done: bool,
}

impl<S: Items> Export<S> {
    /// The CSV rows of the next page of events.
    async fn next_chunk(&mut self) -> Result<Bytes> {
        let page = self
            .s
            .items()
            .query(&Query {
                pk: keys::team_pk(&self.team),
                sk_prefix: keys::AUDIT.to_owned(),
                after: self.after.clone(),
                descending: true,
                limit: 1000,
            })
            .await?;
        self.after = page.next.clone();
        self.done = page.next.is_none();
        let q = AuditQuery {
            actor: self.filter.actor.as_deref(),
            action: self.filter.action.as_deref(),
            target: self.filter.target.as_deref(),
            ..Default::default()
        };
        let mut rows = Vec::new();
        for item in &page.items {
            let e = event_of(item)?;
            if self.filter.from.is_some_and(|from| e.at < from) {
                self.done = true;
                break;
            }
            if !matches(&q, &e) {
                continue;
            }
            let who = self.people.get(&e.actor);
            let t = e.at.to_offset(JST);
            let at = format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            );
            rows.push(vec![
                at,
                e.actor.clone(),
                who.map(|u| u.name.clone()).unwrap_or_default(),
                who.map(|u| u.email.to_string()).unwrap_or_default(),
                e.action.clone(),
                e.target.clone().unwrap_or_default(),
                e.outcome.as_str().to_owned(),
                e.ip.clone(),
                e.user_agent.clone().unwrap_or_default(),
                e.id.clone(),
                e.chain
                    .as_ref()
                    .map(|c| c.seq.to_string())
                    .unwrap_or_default(),
                e.chain.as_ref().map(|c| c.link.clone()).unwrap_or_default(),
            ]);
        }
        Ok(Bytes::from(csv_rows(rows)?))
    }
}

/// Rows as CSV (quoted where needed; a cell that a spreadsheet would run as a formula is
/// prefixed with `'`).
fn csv_rows(rows: impl IntoIterator<Item = Vec<String>>) -> Result<Vec<u8>> {
    let mut out = csv::Writer::from_writer(Vec::new());
    for row in rows {
        let row: Vec<String> = row
            .into_iter()
            .map(|cell| {
                if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) && cell != "-" {
                    format!("'{cell}")
                } else {
                    cell
                }
            })
            .collect();
        out.write_record(&row).map_err(Error::internal)?;
    }
    out.into_inner().map_err(Error::internal)
}
