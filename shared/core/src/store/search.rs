//! Title search that costs in proportion to what it finds, the same on both shapes: an
//! n-gram index on the ItemStore. Each document's folded title (NFKC, lower case) is cut
//! into its distinct characters and pairs of characters; each gets a posting item under
//! `TITLE#<team>#<gram>` whose sort key is the document's id (ids sort by creation, so
//! newest first).
//! A search walks the postings of a few grams of the needle together, newest first,
//! seeking each list past what another already ruled out (a leapfrog join), so a rare gram
//! skips a common one's long list. What it yields are candidates: the caller reads each
//! document and checks that its title holds the needle, so a stale or early posting is
//! harmless. Postings are written before the document (never a title without them); those
//! of an edited draft's earlier title stay, those of a deleted draft go after it.

use std::collections::{BTreeSet, VecDeque};

use crate::ids::{DocumentId, TeamId};
use crate::ports::{Condition, Item, ItemStore, MAX_TRANSACTION_ITEMS, Query, StoreError, Write};
use crate::store::keys;
use crate::text;

/// Most grams of a needle walked together (any subset is a correct filter).
const MAX_NEEDLE_GRAMS: usize = 4;
/// Postings read by a query that seeks (the list is likely to be passed over again soon).
const SEEK_PAGE: usize = 4;
/// Postings read by the first query of a list read in order; each next one reads twice as
/// many, up to [`MAX_PAGE`].
const FIRST_PAGE: usize = 16;
const MAX_PAGE: usize = 256;

/// The grams of a folded text: each character and each pair of neighbouring characters,
/// leaving out any with white space.
fn grams(folded: &str) -> BTreeSet<String> {
    let chars: Vec<char> = folded.chars().collect();
    let mut out = BTreeSet::new();
    for (i, c) in chars.iter().enumerate() {
        if c.is_whitespace() {
            continue;
        }
        out.insert(c.to_string());
        if let Some(next) = chars.get(i + 1).filter(|n| !n.is_whitespace()) {
            out.insert(format!("{c}{next}"));
        }
    }
    out
}

/// The grams a search for `folded` walks: pairs when it has any (a few, spread over the
/// needle), else its single character; none for a needle of white space only.
fn needle_grams(folded: &str) -> Vec<String> {
    let chars: Vec<char> = folded.chars().collect();
    let mut pairs: Vec<String> = Vec::new();
    for w in chars.windows(2) {
        let pair: String = w.iter().collect();
        if !w.iter().any(|c| c.is_whitespace()) && !pairs.contains(&pair) {
            pairs.push(pair);
        }
    }
    if pairs.is_empty() {
        return chars
            .iter()
            .find(|c| !c.is_whitespace())
            .map(|c| vec![c.to_string()])
            .unwrap_or_default();
    }
    if pairs.len() <= MAX_NEEDLE_GRAMS {
        return pairs;
    }
    // Spread: the first, the last, and evenly between.
    let last = pairs.len() - 1;
    let mut picked: Vec<String> = (0..MAX_NEEDLE_GRAMS)
        .map(|k| pairs[k * last / (MAX_NEEDLE_GRAMS - 1)].clone())
        .collect();
    picked.dedup();
    picked
}

/// Whether a search for `needle` can use the index (it has a character that is not white
/// space).
pub(crate) fn searchable(needle: &str) -> bool {
    !needle_grams(needle).is_empty()
}

async fn write_chunked(items: &dyn ItemStore, writes: Vec<Write>) -> Result<(), StoreError> {
    let mut writes = writes.into_iter().peekable();
    while writes.peek().is_some() {
        let chunk: Vec<Write> = writes.by_ref().take(MAX_TRANSACTION_ITEMS).collect();
        items.transact(chunk).await?;
    }
    Ok(())
}

/// Writes the postings `title` has and `before` had not (call before the document is
/// written with `title`).
pub(crate) async fn index_title(
    items: &dyn ItemStore,
    team: &TeamId,
    id: &DocumentId,
    before: Option<&str>,
    title: &str,
) -> Result<(), StoreError> {
    let old = before.map(|t| grams(&text::fold(t))).unwrap_or_default();
    let writes = grams(&text::fold(title))
        .difference(&old)
        .map(|g| Write::Put {
            item: Item::new(keys::title_posting(team, g, id), serde_json::json!({})),
            condition: Condition::None,
        })
        .collect();
    write_chunked(items, writes).await
}

/// Deletes the postings of `title` of a document that is gone.
pub(crate) async fn unindex_title(
    items: &dyn ItemStore,
    team: &TeamId,
    id: &DocumentId,
    title: &str,
) -> Result<(), StoreError> {
    let writes = grams(&text::fold(title))
        .iter()
        .map(|g| Write::Delete {
            key: keys::title_posting(team, g, id),
            condition: Condition::None,
        })
        .collect();
    write_chunked(items, writes).await
}

/// One gram's postings, read page by page, newest first.
struct Postings {
    pk: String,
    /// How many the next in-order query reads.
    page: usize,
    buffered: VecDeque<String>,
    /// The last sort key read from the store (reading resumes after it).
    after: Option<String>,
    done: bool,
}

impl Postings {
    async fn fetch(
        &mut self,
        items: &dyn ItemStore,
        after: Option<String>,
        limit: usize,
        reads: &mut usize,
    ) -> Result<(), StoreError> {
        let page = items
            .query(&Query {
                pk: self.pk.clone(),
                sk_prefix: String::new(),
                after,
                descending: true,
                limit,
            })
            .await?;
        *reads += page.items.len() + 1;
        self.done = page.next.is_none();
        self.after = page.items.last().map(|i| i.key.sk.clone());
        self.buffered = page.items.into_iter().map(|i| i.key.sk).collect();
        Ok(())
    }

    /// The newest posting not yet passed.
    async fn head(
        &mut self,
        items: &dyn ItemStore,
        reads: &mut usize,
    ) -> Result<Option<String>, StoreError> {
        if self.buffered.is_empty() && !self.done {
            let limit = self.page;
            self.page = (self.page * 2).min(MAX_PAGE);
            self.fetch(items, self.after.clone(), limit, reads).await?;
        }
        Ok(self.buffered.front().cloned())
    }

    /// Passes every posting newer than `target`.
    async fn seek(
        &mut self,
        items: &dyn ItemStore,
        target: &str,
        reads: &mut usize,
    ) -> Result<(), StoreError> {
        while self.buffered.front().is_some_and(|sk| sk.as_str() > target) {
            self.buffered.pop_front();
        }
        if self.buffered.is_empty() && !self.done {
            // From `target` itself: ids have one length, so no sort key lies between an id
            // and the id followed by `~`.
            self.page = FIRST_PAGE;
            self.fetch(items, Some(format!("{target}~")), SEEK_PAGE, reads)
                .await?;
        }
        Ok(())
    }
}

/// Documents of a team whose titles hold every walked gram of a needle, newest first.
pub(crate) struct TitleMatches<'a> {
    items: &'a dyn ItemStore,
    lists: Vec<Postings>,
    reads: usize,
}

impl<'a> TitleMatches<'a> {
    /// The walk for the folded `needle`, resuming after the document `after` (`None` when
    /// the needle has nothing to search by).
    pub(crate) fn new(
        items: &'a dyn ItemStore,
        team: &TeamId,
        needle: &str,
        after: Option<&DocumentId>,
    ) -> Option<Self> {
        let after = after.map(|id| id.to_string());
        let grams = needle_grams(needle);
        (!grams.is_empty()).then(|| TitleMatches {
            items,
            lists: grams
                .iter()
                .map(|g| Postings {
                    pk: keys::title_postings_pk(team, g),
                    page: FIRST_PAGE,
                    buffered: VecDeque::new(),
                    after: after.clone(),
                    done: false,
                })
                .collect(),
            reads: 0,
        })
    }

    /// Postings read so far (the walk's cost, for a caller's budget).
    pub(crate) fn reads(&self) -> usize {
        self.reads
    }

    /// The next candidate, or `None` at the end.
    pub(crate) async fn next(&mut self) -> Result<Option<DocumentId>, StoreError> {
        loop {
            // Every list must reach the oldest of their heads: nothing newer is common.
            let mut target: Option<String> = None;
            for list in &mut self.lists {
                let Some(head) = list.head(self.items, &mut self.reads).await? else {
                    return Ok(None);
                };
                if target.as_ref().is_none_or(|t| head < *t) {
                    target = Some(head);
                }
            }
            let Some(target) = target else {
                return Ok(None);
            };
            let mut everywhere = true;
            for list in &mut self.lists {
                list.seek(self.items, &target, &mut self.reads).await?;
                match list.buffered.front() {
                    None => return Ok(None),
                    Some(head) if *head != target => everywhere = false,
                    Some(_) => {}
                }
            }
            if everywhere {
                for list in &mut self.lists {
                    list.buffered.pop_front();
                }
                return Ok(Some(DocumentId(target)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, ManualClock};
    use crate::ports::MemoryItemStore;

    fn store() -> MemoryItemStore {
        let clock: std::sync::Arc<dyn Clock> =
            std::sync::Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
        MemoryItemStore::new(clock)
    }

    async fn walk_all(
        store: &MemoryItemStore,
        team: &TeamId,
        needle: &str,
    ) -> (Vec<String>, usize) {
        let mut walk = TitleMatches::new(store, team, &text::fold(needle), None).unwrap();
        let mut found = Vec::new();
        while let Some(id) = walk.next().await.unwrap() {
            found.push(id.to_string());
        }
        (found, walk.reads())
    }

    #[tokio::test]
    async fn a_rare_gram_skips_a_common_ones_long_list() {
        let store = store();
        let team = TeamId("t".repeat(28));
        // 3,000 contracts; every 1,000th is a lease. Ids sort by creation, like new_id's.
        for n in 0..3000u32 {
            let title = if n % 1000 == 7 {
                format!("賃貸借契約書 {n}")
            } else {
                format!("業務委託契約書 {n}")
            };
            let id = DocumentId(format!("{n:028}"));
            index_title(&store, &team, &id, None, &title).await.unwrap();
        }
        let (found, reads) = walk_all(&store, &team, "賃貸借契約").await;
        assert_eq!(
            found,
            [
                "0000000000000000000000002007",
                "0000000000000000000000001007",
                "0000000000000000000000000007"
            ]
        );
        // The common pair 契約 has 3,000 postings; the walk reads a few per match.
        assert!(reads < 100, "{reads} postings read for 3 matches");
        // A common needle reads about what it finds.
        let (found, reads) = walk_all(&store, &team, "契約").await;
        assert_eq!(found.len(), 3000);
        assert!(reads < 3200, "{reads}");
        // One character walks the characters' postings.
        let (found, _) = walk_all(&store, &team, "賃").await;
        assert_eq!(found.len(), 3);
    }

    #[tokio::test]
    async fn a_walk_resumes_after_a_cursor_and_deleted_postings_are_gone() {
        let store = store();
        let team = TeamId("t".repeat(28));
        for n in 0..5u32 {
            let id = DocumentId(format!("{n:028}"));
            index_title(&store, &team, &id, None, "秘密保持契約")
                .await
                .unwrap();
        }
        let mut walk = TitleMatches::new(
            &store,
            &team,
            "保持",
            Some(&DocumentId(format!("{:028}", 3))),
        )
        .unwrap();
        assert_eq!(
            walk.next().await.unwrap().map(|id| id.to_string()),
            Some(format!("{:028}", 2))
        );
        let gone = DocumentId(format!("{:028}", 1));
        unindex_title(&store, &team, &gone, "秘密保持契約")
            .await
            .unwrap();
        let (found, _) = walk_all(&store, &team, "秘密保持").await;
        assert_eq!(found.len(), 4);
        assert!(!found.contains(&"0000000000000000000000000001".to_owned()));
    }

    #[test]
    fn grams_are_characters_and_pairs_without_white_space() {
        let g = grams(&text::fold("業務 委託"));
        let expected: BTreeSet<String> = ["業", "務", "委", "託", "業務", "委託"]
            .into_iter()
            .map(str::to_owned)
            .collect();
        assert_eq!(g, expected);
    }

    #[test]
    fn a_needle_walks_a_few_pairs_or_its_one_character() {
        assert_eq!(needle_grams("契"), ["契"]);
        assert_eq!(needle_grams(" 契 "), ["契"]);
        assert!(needle_grams("   ").is_empty());
        assert_eq!(needle_grams("契約書"), ["契約", "約書"]);
        let long = needle_grams("業務委託基本契約書");
        assert_eq!(long.len(), MAX_NEEDLE_GRAMS);
        assert_eq!(long.first().map(String::as_str), Some("業務"));
        assert_eq!(long.last().map(String::as_str), Some("約書"));
    }
}
