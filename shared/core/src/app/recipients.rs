//! Recipients and their links: the mailed link carries an opaque token of ours (derived
//! with the key service's MAC, stored only hashed, in the URL fragment); the page exchanges
//! it — with the access code when the sender set one — for a recipient session, which opens
//! exactly one document for exactly one party. Ten wrong codes (in total, not in a row)
//! suspend the link until the sender reissues it.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::domain::answer::Decision;
use crate::domain::document::{Document, Ids, Status};

use crate::domain::party::Recipient;
use crate::error::{Error, Result};
use crate::ids::{Secret, hash_token};
use crate::ports::{ByteStream, Condition, Item, StoreError};
use crate::ratelimit::{self, Limit, address_subject};
use crate::services::needs::{
    Blobs, Decrypt, Items, LinkMacs, Mail, Schedule, Settings, Time, Workflows,
};
use crate::store::keys;
use crate::store::links::Link;

/// Wrong access codes that suspend a link.
pub const MAX_CODE_FAILURES: u32 = 10;
/// How long a recipient session lasts.
pub const SESSION_HOURS: i64 = 8;

/// Link openings per client address (each may hash an access code).
pub const OPEN_PER_ADDRESS: Limit = Limit {
    name: "recipient-link-address",
    max: 60,
    window_secs: 15 * 60,
};

/// A recipient with an open session: one party of one document.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RecipientCaller {
    /// The document and send.
    pub ids: Ids,
    /// The recipient.
    pub party_id: String,
    generation: u32,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
}

/// Opens a recipient link: `token` from the URL fragment and, when the sender set one, the
/// access code. Returns the session's secret (for the recipient cookie) and the caller.
pub async fn open_session(
    s: &(impl Items + Mail + Time + Settings),
    token: &str,
    code: Option<&str>,
    ip: IpAddr,
) -> Result<(String, RecipientCaller)> {
    ratelimit::hit(s.items(), s.now(), OPEN_PER_ADDRESS, &address_subject(ip)).await?;
    let invalid = || {
        Error::invalid(
            "invalid_link",
            "token",
            "this link is not valid; open the newest mail you received",
        )
    };
    if token.is_empty() || token.len() > 128 {
        return Err(invalid());
    }
    let key = keys::recipient_link(&hash_token(token));
    let item = s.items().get(&key).await?.ok_or_else(invalid)?;
    let link: Link = serde_json::from_value(item.body.clone()).map_err(Error::internal)?;
    let (doc, _) = crate::store::documents::load(s, &link.ids).await?;
    let recipient = party(&doc, &link.party_id)?;
    if recipient.link_generation != link.generation {
        return Err(invalid());
    }
    if link.suspended {
        return Err(suspended());
    }
    // A forwarded mail does not open the contract forever: a link ends a while after the
    // document did (or after it was reissued, if later).
    if let Some(ended) = doc.ended_at {
        let from = link.issued_at.map_or(ended, |issued| issued.max(ended));
        if s.now() > from + s.config().link_after_end {
            return Err(Error::Gone {
                code: "link_expired",
                message: format!(
                    "this link ended {} days after the document did; ask the sender to reissue it",
                    s.config().link_after_end.whole_days()
                ),
            });
        }
    }
    if let Some(hash) = &recipient.access_code_hash {
        let Some(given) = code.filter(|c| !c.trim().is_empty()) else {
            return Err(Error::Unauthorized {
                code: "access_code_required",
                message: "this document needs the access code the sender told you".into(),
            });
        };
        // The attempt is counted before the code is checked, so parallel requests cannot
        // try more than the limit allows.
        let (item, counted) = count_attempt(s, item, link.clone()).await?;
        let normalized = crate::domain::party::normalize_access_code(given).unwrap_or_default();
        if !crate::password::verify(&normalized, Some(hash)).await? {
            return Err(wrong_code(s, &doc, recipient, item, counted).await?);
        }
        // Ten wrong codes in total suspend the link: a right one takes back only its own
        // count, so guesses between the owner's visits add up.
        uncount_attempt(s, item, counted).await?;
    }
    let secret = Secret::generate();
    let caller = RecipientCaller {
        ids: link.ids,
        party_id: link.party_id,
        generation: link.generation,
        expires_at: s.now() + Duration::hours(SESSION_HOURS),
    };
    let mut session = Item::new(
        keys::recipient_session(&secret.hash),
        serde_json::to_value(&caller).map_err(Error::internal)?,
    );
    session.expires_at = Some(caller.expires_at.unix_timestamp());
    s.items()
        .transact(vec![
            crate::ports::Write::Put {
                item: session,
                condition: Condition::NotExists,
            },
            crate::store::audit::outsider_event(
                s.now(),
                &doc.team_id,
                format!("recipient:{}:{}", doc.id, caller.party_id),
                "recipient.link_opened",
                Some(format!("document:{}", doc.id)),
                &ip.to_canonical().to_string(),
            )?,
        ])
        .await?;
    Ok((secret.token, caller))
}

fn suspended() -> Error {
    Error::Forbidden {
        code: "link_suspended",
        message: "too many wrong access codes: this link is suspended until the sender reissues it"
            .into(),
    }
}

/// Counts one attempt at the code (a conditioned write: parallel attempts each count), or
/// refuses when the link is suspended. The link as counted, and its item.
async fn count_attempt(s: &impl Items, item: Item, link: Link) -> Result<(Item, Link)> {
    update_link(s, item, link, |link| {
        if link.suspended || link.failures >= MAX_CODE_FAILURES {
            return Err(suspended());
        }
        link.failures += 1;
        Ok(())
    })
    .await
}

/// Takes back the count of one attempt that gave the right code.
async fn uncount_attempt(s: &impl Items, item: Item, link: Link) -> Result<()> {
    update_link(s, item, link, |link| {
        link.failures = link.failures.saturating_sub(1);
        Ok(())
    })
    .await
    .map(|_| ())
}

/// Applies `change` to the link and writes it on the condition that nothing changed it
/// meanwhile; when something did, reads it again and applies `change` to that. The link as
/// written, and its item.
async fn update_link(
    s: &impl Items,
    mut item: Item,
    mut link: Link,
    change: impl Fn(&mut Link) -> Result<()>,
) -> Result<(Item, Link)> {
    for _ in 0..16 {
        change(&mut link)?;
        let mut updated = item.clone();
        updated.body = serde_json::to_value(&link).map_err(Error::internal)?;
        updated.version += 1;
        match s
            .items()
            .put(updated.clone(), Condition::Version(item.version))
            .await
        {
            Ok(()) => return Ok((updated, link)),
            Err(StoreError::ConditionFailed) => {
                item = s
                    .items()
                    .get(&item.key)
                    .await?
                    .ok_or_else(|| Error::internal("a recipient link vanished"))?;
                link = serde_json::from_value(item.body.clone()).map_err(Error::internal)?;
            }
            Err(other) => return Err(other.into()),
        }
    }
    Err(Error::Unavailable("the link kept changing".into()))
}

/// A wrong code, already counted: the error to answer with. The tenth suspends the link
/// (exactly one attempt counts the tenth) and tells the sender, once.
async fn wrong_code(
    s: &(impl Items + Mail + Time + Settings),
    doc: &Document,
    recipient: &Recipient,
    item: Item,
    link: Link,
) -> Result<Error> {
    if link.failures < MAX_CODE_FAILURES {
        let left = MAX_CODE_FAILURES - link.failures;
        return Ok(Error::Unauthorized {
            code: "access_code_invalid",
            message: format!("the access code is wrong; {left} more wrong codes suspend this link"),
        });
    }
    suspend(s, item, link.clone()).await?;
    let sender = crate::store::users::sender(s, doc).await?;
    s.items()
        .transact(vec![crate::store::documents::history_event_write(
            s.now(),
            doc,
            &recipient.id,
            "recipient.link_suspended",
            "-",
        )?])
        .await?;
    let mail = crate::app::mail::link_suspended(
        s,
        sender.email.as_str(),
        &sender.name,
        &recipient.name,
        &doc.title,
        doc.id.as_str(),
        &format!(
            "suspended-{}-{}-{}-g{}@keiyaku",
            doc.id, link.ids.send, recipient.id, link.generation
        ),
    )?;
    s.mailer().send(&mail).await?;
    Ok(suspended())
}

/// Marks the link suspended (whatever else changed it meanwhile).
async fn suspend(s: &impl Items, item: Item, link: Link) -> Result<()> {
    update_link(s, item, link, |link| {
        link.suspended = true;
        Ok(())
    })
    .await
    .map(|_| ())
}

fn party<'d>(doc: &'d Document, party: &str) -> Result<&'d Recipient> {
    doc.recipients
        .iter()
        .find(|r| r.id == party)
        .ok_or(Error::NotFound)
}

/// The recipient behind a session secret (from the recipient cookie), or `Unauthorized`.
pub async fn authenticate(s: &(impl Items + Time), secret: &str) -> Result<RecipientCaller> {
    let ended = || Error::unauthorized("open the link from your mail again");
    if secret.is_empty() || secret.len() > 100 {
        return Err(ended());
    }
    let item = s
        .items()
        .get(&keys::recipient_session(&hash_token(secret)))
        .await?
        .ok_or_else(ended)?;
    let caller: RecipientCaller = serde_json::from_value(item.body).map_err(Error::internal)?;
    if caller.expires_at <= s.now() {
        return Err(ended());
    }
    Ok(caller)
}

/// The document and the recipient, checking the session is of the link's current
/// generation (a reissue ends earlier sessions).
async fn load(s: &impl Items, caller: &RecipientCaller) -> Result<(Document, Recipient)> {
    let (doc, _) = crate::store::documents::load(s, &caller.ids).await?;
    let recipient = party(&doc, &caller.party_id)?.clone();
    if recipient.link_generation != caller.generation {
        return Err(Error::unauthorized(
            "this link was reissued; open the newest mail you received",
        ));
    }
    Ok((doc, recipient))
}

/// A party as a recipient sees them.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PartyView {
    /// Name.
    pub name: String,
    /// 会社名.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    /// 部署.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Their answer so far, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<Decision>,
    /// When they answered.
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub answered_at: Option<OffsetDateTime>,
}

/// What a recipient sees of the document.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct RecipientView {
    /// The document's id.
    pub document_id: String,
    /// Title.
    pub title: String,
    /// File name.
    pub filename: String,
    /// Pages.
    pub pages: u32,
    /// Where it is in its life.
    pub status: Status,
    /// The sender's name.
    pub sender: String,
    /// The sender's message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The deadline for answering.
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<OffsetDateTime>,
    /// This recipient.
    pub you: PartyView,
    /// Whether this recipient can answer now.
    pub can_answer: bool,
    /// Whether this recipient reached the last page of this send (`POST /r/viewed`).
    pub viewed: bool,
    /// Every recipient in order, with their answers.
    pub recipients: Vec<PartyView>,
    /// How many seals the file carries so far.
    pub seals: usize,
}

fn party_view(doc: &Document, r: &Recipient) -> PartyView {
    let answer = doc.answer_of(doc.send, &r.id);
    PartyView {
        name: r.name.clone(),
        company: r.company.clone(),
        department: r.department.clone(),
        answer: answer.map(|a| a.decision),
        answered_at: answer.map(|a| a.at),
    }
}

/// The recipient's view of their document.
pub async fn view(s: &(impl Items + Time), caller: &RecipientCaller) -> Result<RecipientView> {
    let (doc, me) = load(s, caller).await?;
    let sender = crate::store::users::sender(s, &doc).await?;
    let you = party_view(&doc, &me);
    let can_answer = doc.status == Status::InProgress
        && you.answer.is_none()
        && doc.expires_at.is_some_and(|at| at > s.now());
    let viewed = s
        .items()
        .get(&keys::viewed(
            &doc.team_id,
            &doc.id,
            caller.ids.send,
            &me.id,
        ))
        .await?
        .is_some();
    Ok(RecipientView {
        document_id: doc.id.to_string(),
        title: doc.title.clone(),
        filename: doc.filename.clone(),
        pages: doc.pages,
        status: doc.status,
        sender: sender.name,
        message: doc.message.clone(),
        expires_at: doc.expires_at,
        recipients: doc.recipients.iter().map(|r| party_view(&doc, r)).collect(),
        seals: doc.seals.len(),
        you,
        can_answer,
        viewed,
    })
}

/// The recipient reached the last page: recorded once per send in the document's history
/// (the page enables 同意 only then). The view as it is afterwards.
pub async fn viewed(
    s: &(impl Items + Time),
    caller: &RecipientCaller,
    ip: IpAddr,
) -> Result<RecipientView> {
    let (doc, me) = load(s, caller).await?;
    let marker = Item::new(
        keys::viewed(&doc.team_id, &doc.id, caller.ids.send, &me.id),
        serde_json::json!({ "at": s.now().unix_timestamp() }),
    );
    let writes = vec![
        crate::ports::Write::Put {
            item: marker,
            condition: Condition::NotExists,
        },
        crate::store::documents::history_event_write(
            s.now(),
            &doc,
            &me.id,
            "recipient.viewed",
            &ip.to_string(),
        )?,
    ];
    match s.items().transact(writes).await {
        // Already recorded: once is the record.
        Ok(()) | Err(StoreError::ConditionFailed) => {}
        Err(e) => return Err(e.into()),
    }
    view(s, caller).await
}

/// The document's current file (after completion: the sealed file in long-term form).
pub async fn open_file(
    s: &(impl Items + Blobs + Decrypt),
    caller: &RecipientCaller,
) -> Result<(Document, ByteStream)> {
    let (doc, _) = load(s, caller).await?;
    let stream = crate::store::documents::stream_current(s, &doc).await?;
    Ok((doc, stream))
}

/// The recipient agrees or declines (with a reason): recorded once, then their waiting task
/// is completed. The view as it is afterwards.
pub async fn answer(
    s: &(impl Items + Workflows + Schedule + Time),
    caller: &RecipientCaller,
    decision: Decision,
    reason: Option<String>,
    ip: IpAddr,
) -> Result<RecipientView> {
    load(s, caller).await?;
    crate::app::answers::answer(
        s,
        &caller.ids,
        &caller.party_id,
        decision,
        reason,
        &ip.to_string(),
    )
    .await?;
    view(s, caller).await
}

/// Reissued links per party of a document.
const REISSUE_PER_PARTY: Limit = Limit {
    name: "reissue-party",
    max: 5,
    window_secs: 60 * 60,
};

/// Reissued links per document, all parties together (after the end every party has one).
const REISSUE_PER_DOCUMENT: Limit = Limit {
    name: "reissue-document",
    max: 20,
    window_secs: 60 * 60,
};

/// The sender reissues a recipient's link at any time once it was sent (after a
/// suspension, a lost mail, or for the sealed file after the end): the earlier link and its
/// sessions stop working, and a new link is mailed; at most five an hour for one party and
/// twenty for the document.
pub async fn reissue(
    s: &(impl Items + Mail + Time + Settings + LinkMacs),
    caller: &crate::domain::user::Caller,
    id: &str,
    party_id: &str,
) -> Result<()> {
    let (mut doc, item, ids, at) = linked_party(s, caller, id, party_id).await?;
    // Each reissue mails the recipient: a sender cannot flood their inbox.
    ratelimit::hit(
        s.items(),
        s.now(),
        REISSUE_PER_PARTY,
        &format!("{}#{party_id}", doc.id),
    )
    .await?;
    ratelimit::hit(s.items(), s.now(), REISSUE_PER_DOCUMENT, doc.id.as_str()).await?;
    doc.recipients[at].link_generation += 1;
    doc.updated_at = s.now();
    crate::store::documents::commit_change(s, caller, &doc, &item, "recipient.link_reissued")
        .await?;
    crate::app::notify::issue_link(s, &doc, &ids, &doc.recipients[at], None).await
}

/// The sender revokes a recipient's link: it and its sessions stop working at once, and no
/// new one is sent until the sender reissues it.
pub async fn revoke(
    s: &(impl Items + Time + LinkMacs),
    caller: &crate::domain::user::Caller,
    id: &str,
    party_id: &str,
) -> Result<()> {
    let (mut doc, item, _, at) = linked_party(s, caller, id, party_id).await?;
    doc.recipients[at].link_generation += 1;
    doc.updated_at = s.now();
    crate::store::documents::commit_change(s, caller, &doc, &item, "recipient.link_revoked").await
}

/// The caller's document, its item and ids, and where `party_id` is among its recipients:
/// one who was sent a link (of this generation or an earlier one).
async fn linked_party(
    s: &(impl Items + LinkMacs),
    caller: &crate::domain::user::Caller,
    id: &str,
    party_id: &str,
) -> Result<(Document, Item, Ids, usize)> {
    let (doc, item) = crate::app::documents::load(s, caller, id).await?;
    let ids = Ids {
        team_id: doc.team_id.clone(),
        document_id: doc.id.clone(),
        send: doc.send,
    };
    let at = doc
        .recipients
        .iter()
        .position(|r| r.id == party_id)
        .ok_or(Error::NotFound)?;
    let current = doc.recipients[at].link_generation;
    let mut sent = false;
    // Newest first; a party's links are few (each reissue is rate-limited).
    for generation in (0..=current).rev().take(64) {
        let token = crate::store::links::link_token(s, &ids, party_id, generation).await?;
        if s.items()
            .get(&keys::recipient_link(&hash_token(&token)))
            .await?
            .is_some()
        {
            sent = true;
            break;
        }
    }
    if doc.status == Status::Draft || !sent {
        return Err(Error::conflict(
            "not_asked_yet",
            "this recipient has not been sent a link yet",
        ));
    }
    Ok((doc, item, ids, at))
}
