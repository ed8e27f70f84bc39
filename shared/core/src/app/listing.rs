//! Listing the documents a caller may see, newest first and paged by an opaque cursor: their
//! own as sender, or those waiting for them as approver; filtered by status and by a title
//! search over the team's title index.

use serde::{Deserialize, Serialize};

use crate::app::documents::{approver_address, reads_the_team};
use crate::domain::document::{Document, Status, StatusGroup};
use crate::domain::user::Caller;
use crate::error::{Error, Result};
use crate::ids::{DocumentId, TeamId, UserId};
use crate::ports::{Condition, Item, Query, Write};
use crate::services::needs::Items;
use crate::store::keys;
use crate::store::{from_item, to_json};
use crate::text;

/// Filters and position of a listing.
pub struct ListQuery<'a> {
    /// Only this status.
    pub status: Option<Status>,
    /// Only the statuses of this tab.
    pub group: Option<StatusGroup>,
    /// Only titles containing this (full/half width and case folded).
    pub q: Option<&'a str>,
    /// Where the previous page ended.
    pub cursor: Option<&'a str>,
    /// Page size (1..=100, default 50).
    pub limit: Option<usize>,
    /// Whose list: the caller's own documents, or those they were named to approve.
    pub role: ListRole,
}

/// Which documents a listing shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ListRole {
    /// The caller's own documents, as their sender.
    #[default]
    Sender,
    /// Documents of any team that name the caller as an approver.
    Approver,
    /// Every document of the caller's team (admins and auditors): 親展 ones show only that
    /// they exist.
    Team,
}

/// A page of documents.
#[derive(Default)]
pub struct Listing {
    /// Newest first.
    pub documents: Vec<Document>,
    /// Give this back for the next page.
    pub next_cursor: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Cursor {
    u: UserId,
    k: String,
}

fn bad_cursor() -> Error {
    Error::invalid(
        "invalid_cursor",
        "cursor",
        "the cursor is not one this listing gave you",
    )
}

/// The caller's documents, newest first, filtered and paged. The cursor is bound to the
/// caller: another user's cursor is refused.
pub async fn list(s: &impl Items, caller: &Caller, q: ListQuery<'_>) -> Result<Listing> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let wanted = |st: Status| {
        q.status.is_none_or(|want| want == st) && q.group.is_none_or(|g| g.contains(st))
    };
    let limit = q.limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(Error::invalid(
            "invalid_limit",
            "limit",
            "limit must be between 1 and 100",
        ));
    }
    let needle = match q.q {
        Some(n) if n.chars().count() > 200 => {
            return Err(Error::invalid(
                "too_long",
                "q",
                "q is longer than 200 characters",
            ));
        }
        Some(n) => Some(text::fold(n.trim())),
        None => None,
    };
    let mut after = match q.cursor {
        Some(c) => {
            let raw = b64.decode(c).map_err(|_| bad_cursor())?;
            let cursor: Cursor = serde_json::from_slice(&raw).map_err(|_| bad_cursor())?;
            if &cursor.u != caller.user_id() || keys::document_id(&cursor.k).is_none() {
                return Err(bad_cursor());
            }
            Some(cursor.k)
        }
        None => None,
    };
    if let (ListRole::Sender, Some(n)) = (q.role, needle.as_deref())
        && crate::store::search::searchable(n)
    {
        return search_own(s, caller, n, &wanted, limit, after).await;
    }
    let approver = match q.role {
        ListRole::Approver => match approver_address(caller) {
            Ok(email) => Some(email),
            Err(_) => return Ok(Listing::default()),
        },
        ListRole::Team if !reads_the_team(caller) => {
            return Err(Error::Forbidden {
                code: "team_readers_only",
                message: "only the team's admins and auditors list every document of the team"
                    .into(),
            });
        }
        ListRole::Sender | ListRole::Team => None,
    };
    let mut documents = Vec::new();
    // Filters apply after the key scan (as a DynamoDB FilterExpression would); scan a
    // bounded number of batches per request and hand back a cursor to go on.
    for _ in 0..20 {
        let page = match q.role {
            ListRole::Sender => {
                s.items()
                    .query_index(&Query {
                        pk: keys::owner_index_pk(caller.user_id()),
                        sk_prefix: keys::DOC.into(),
                        after: after.clone(),
                        descending: true,
                        limit: 100,
                    })
                    .await?
            }
            ListRole::Team => {
                s.items()
                    .query(&Query {
                        pk: keys::team_pk(caller.team()),
                        sk_prefix: keys::DOC.into(),
                        after: after.clone(),
                        descending: true,
                        limit: 100,
                    })
                    .await?
            }
            // The approver's index holds (team, document); each document is read from its
            // team, and only shown while it still names the caller.
            ListRole::Approver => {
                s.items()
                    .query(&Query {
                        pk: approver.map(keys::approver_index_pk).unwrap_or_default(),
                        sk_prefix: keys::DOC.into(),
                        after: after.clone(),
                        descending: true,
                        limit: 100,
                    })
                    .await?
            }
        };
        for item in &page.items {
            let (doc, last): (Document, Option<String>) = match q.role {
                ListRole::Sender => (from_item(item)?, item.index.as_ref().map(|k| k.sk.clone())),
                ListRole::Team => (
                    as_team_sees_it(caller, from_item(item)?),
                    Some(item.key.sk.clone()),
                ),
                ListRole::Approver => {
                    let team: TeamId = serde_json::from_value(item.body["team_id"].clone())
                        .map_err(Error::internal)?;
                    let Some(id) = keys::document_id(&item.key.sk) else {
                        continue;
                    };
                    let Some(found) = s.items().get(&keys::document(&team, &id)).await? else {
                        continue;
                    };
                    let doc: Document = from_item(&found)?;
                    if !doc.approvers.iter().any(|a| Some(&a.email) == approver) {
                        continue;
                    }
                    (doc, Some(item.key.sk.clone()))
                }
            };
            let keep = wanted(doc.status)
                && needle
                    .as_deref()
                    .is_none_or(|n| text::fold(&doc.title).contains(n));
            if keep {
                documents.push(doc);
                if documents.len() == limit {
                    return Ok(Listing {
                        documents,
                        next_cursor: Some(cursor(caller, last.unwrap_or_default())?),
                    });
                }
            }
        }
        match page.next {
            Some(n) => after = Some(n),
            None => {
                return Ok(Listing {
                    documents,
                    next_cursor: None,
                });
            }
        }
    }
    Ok(Listing {
        documents,
        next_cursor: Some(cursor(caller, after.unwrap_or_default())?),
    })
}

/// A document as the team's admins and auditors see it in the team's list: a 親展 one of
/// someone else's shows only that it exists (its status and dates), nothing of what it is.
fn as_team_sees_it(caller: &Caller, mut doc: Document) -> Document {
    let own = &doc.owner_id == caller.user_id();
    if doc.confidential && !own && crate::app::documents::approver_of(&doc, caller).is_none() {
        doc.title = String::new();
        doc.filename = String::new();
        doc.recipients.clear();
        doc.approvers.clear();
        doc.message = None;
    }
    doc
}

/// Copies of the document `id` of `team` under new ids, one per title, as if each had been
/// created in turn (the file is not copied): for benchmarks of listing and search at
/// scale, which cannot wait for 100,000 uploads. Not reachable from the API.
#[doc(hidden)]
pub async fn copies_for_benchmark(
    items: &dyn crate::ports::ItemStore,
    team: &TeamId,
    id: &DocumentId,
    titles: &[String],
) -> Result<()> {
    let template: Document = from_item(
        &items
            .get(&keys::document(team, id))
            .await?
            .ok_or(Error::NotFound)?,
    )?;
    for chunk in titles.chunks(crate::ports::MAX_TRANSACTION_ITEMS) {
        let mut writes = Vec::with_capacity(chunk.len());
        for title in chunk {
            let mut doc = template.clone();
            doc.id = DocumentId(crate::ids::new_id(time::OffsetDateTime::now_utc()));
            doc.title = title.clone();
            crate::store::search::index_title(items, team, &doc.id, None, title).await?;
            let mut item = Item::new(keys::document(team, &doc.id), to_json(&doc)?);
            item.index = Some(keys::owner_index(&doc.owner_id, &doc.id));
            writes.push(Write::Put {
                item,
                condition: Condition::NotExists,
            });
        }
        items.transact(writes).await?;
    }
    Ok(())
}

/// The cursor that resumes the caller's listing after the sort key `k`.
fn cursor(caller: &Caller, k: String) -> Result<String> {
    use base64::Engine;
    let cursor = Cursor {
        u: caller.user_id().clone(),
        k,
    };
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(&cursor).map_err(Error::internal)?))
}

/// Postings and documents one search request reads at most before it answers with what it
/// found so far and a cursor.
const SEARCH_BUDGET: usize = 2000;

/// The caller's own documents whose titles hold the folded `needle`, newest first, through
/// the title index: the cost follows what is found, not how many documents there are.
async fn search_own(
    s: &impl Items,
    caller: &Caller,
    needle: &str,
    wanted: &(dyn Fn(Status) -> bool + Sync),
    limit: usize,
    after: Option<String>,
) -> Result<Listing> {
    ensure_title_index(s, caller.team()).await?;
    // The listing's cursors name `DOC#<id>`.
    let after = after.as_deref().and_then(keys::document_id);
    let Some(mut walk) =
        crate::store::search::TitleMatches::new(s.items(), caller.team(), needle, after.as_ref())
    else {
        return Ok(Listing::default());
    };
    let mut documents = Vec::new();
    let mut fetched = 0;
    while let Some(id) = walk.next().await? {
        fetched += 1;
        // A posting is a candidate: the document may be gone, another's, or retitled.
        if let Some(item) = s.items().get(&keys::document(caller.team(), &id)).await? {
            let doc: Document = from_item(&item)?;
            if &doc.owner_id == caller.user_id()
                && wanted(doc.status)
                && text::fold(&doc.title).contains(needle)
            {
                documents.push(doc);
            }
        }
        if documents.len() == limit || walk.reads() + fetched >= SEARCH_BUDGET {
            return Ok(Listing {
                documents,
                next_cursor: Some(cursor(caller, keys::document_sk(&id))?),
            });
        }
    }
    Ok(Listing {
        documents,
        next_cursor: None,
    })
}

/// Indexes the titles of a team's documents from before the title index, once per team
/// (idempotent: a crash or a concurrent request only repeats the same writes).
async fn ensure_title_index(s: &impl Items, team: &TeamId) -> Result<()> {
    let marker = keys::titles_indexed(team);
    if s.items().get(&marker).await?.is_some() {
        return Ok(());
    }
    let mut after = None;
    loop {
        let page = s
            .items()
            .query(&Query {
                pk: keys::team_pk(team),
                sk_prefix: keys::DOC.into(),
                after,
                descending: false,
                limit: 100,
            })
            .await?;
        for item in &page.items {
            let doc: Document = from_item(item)?;
            crate::store::search::index_title(s.items(), team, &doc.id, None, &doc.title).await?;
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    s.items()
        .put(Item::new(marker, serde_json::json!({})), Condition::None)
        .await?;
    Ok(())
}
