//! The port contract: one suite of behaviour every adapter must show, run against the local
//! adapters (SQLite, folder, key file, local PKI, maildir, timer table, the embedded
//! executor) and against the AWS ones (DynamoDB, S3, KMS, SES, EventBridge Scheduler, Step
//! Functions) on moto's server. Each check uses its own partition, so a shared table is
//! fine. A failed expectation panics with what differed; a suite that passed notes itself
//! for `tests/run`, which fails unless the same suites passed on both shapes.

use std::sync::Arc;

use bytes::Bytes;
use futures::{StreamExt, stream};
use keiyaku_core::clock::ManualClock;
use keiyaku_core::ports::{
    BlobError, BlobStore, ByteStream, Condition, Item, ItemStore, Key, KeyError, Keys, PutMode,
    Query, SealingKey, StoreError, Write,
};
use serde_json::json;

/// Notes that `suite` passed, for `tests/run`, which compares what passed against the
/// local adapters with what passed against the AWS ones: a line `<package>\t<suite>`
/// appended to the file `KEIYAKU_CONTRACT_LOG` names (cargo names the package running).
fn passed(suite: &str) {
    use std::io::Write;
    let (Ok(path), Ok(package)) = (
        std::env::var("KEIYAKU_CONTRACT_LOG"),
        std::env::var("CARGO_PKG_NAME"),
    ) else {
        return;
    };
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    // One write of one short line: appends from parallel tests do not interleave.
    log.write_all(format!("{package}\t{suite}\n").as_bytes())
        .unwrap_or_else(|e| panic!("{path}: {e}"));
}

fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{prefix}#{nanos}-{}", N.fetch_add(1, Ordering::Relaxed))
}

/// The `n` of each item of a page, in order.
fn numbers(page: &keiyaku_core::ports::Page) -> Vec<i64> {
    page.items
        .iter()
        .map(|i| i.body["n"].as_i64().unwrap())
        .collect()
}

fn item(pk: &str, sk: &str, n: i64) -> Item {
    Item::new(Key::new(pk, sk), json!({ "n": n, "text": "契約" }))
}

/// Every ItemStore check. `clock` must be the clock the store was built with.
pub async fn item_store(store: Arc<dyn ItemStore>, clock: &ManualClock) {
    conditional_writes(&*store).await;
    transactions_are_all_or_nothing(&*store).await;
    prefix_queries_and_paging(&*store).await;
    index_queries(&*store).await;
    uniqueness_items(&*store).await;
    expired_items_are_absent(&*store, clock).await;
    limits_are_dynamodb_limits(&*store).await;
    counters(&*store, clock).await;
    expired_items_are_purged(&*store, clock).await;
    passed("item_store");
}

async fn conditional_writes(s: &dyn ItemStore) {
    let pk = unique("COND");
    let key = Key::new(&pk, "A");
    assert_eq!(s.get(&key).await.unwrap(), None);
    s.put(item(&pk, "A", 1), Condition::NotExists)
        .await
        .unwrap();
    assert_eq!(
        s.put(item(&pk, "A", 2), Condition::NotExists).await,
        Err(StoreError::ConditionFailed),
        "NotExists must fail on an existing item"
    );
    let got = s.get(&key).await.unwrap().expect("item written");
    assert_eq!(got.body["n"], 1);
    assert_eq!(got.body["text"], "契約");
    let mut next = got.clone();
    next.version = 2;
    next.body = json!({ "n": 2 });
    assert_eq!(
        s.put(next.clone(), Condition::Version(7)).await,
        Err(StoreError::ConditionFailed),
        "a stale version must not be overwritten"
    );
    s.put(next.clone(), Condition::Version(1)).await.unwrap();
    assert_eq!(s.get(&key).await.unwrap().unwrap().version, 2);
    assert_eq!(
        s.put(next.clone(), Condition::Version(1)).await,
        Err(StoreError::ConditionFailed),
        "the same version cannot win twice"
    );
    assert_eq!(
        s.delete(&key, Condition::Version(1)).await,
        Err(StoreError::ConditionFailed)
    );
    s.delete(&key, Condition::Version(2)).await.unwrap();
    assert_eq!(s.get(&key).await.unwrap(), None);
    assert_eq!(
        s.delete(&key, Condition::Exists).await,
        Err(StoreError::ConditionFailed)
    );
    s.delete(&key, Condition::None).await.unwrap();
    assert_eq!(
        s.put(item(&pk, "B", 1), Condition::Exists).await,
        Err(StoreError::ConditionFailed)
    );
    s.put(item(&pk, "B", 1), Condition::None).await.unwrap();
    s.put(item(&pk, "B", 3), Condition::None).await.unwrap();
    assert_eq!(
        s.get(&Key::new(&pk, "B")).await.unwrap().unwrap().body["n"],
        3
    );
}

async fn transactions_are_all_or_nothing(s: &dyn ItemStore) {
    let pk = unique("TX");
    s.put(item(&pk, "EXISTING", 0), Condition::NotExists)
        .await
        .unwrap();
    let failing = vec![
        Write::Put {
            item: item(&pk, "NEW1", 1),
            condition: Condition::NotExists,
        },
        Write::Delete {
            key: Key::new(&pk, "EXISTING"),
            condition: Condition::Exists,
        },
        Write::Put {
            item: item(&pk, "EXISTING", 2),
            condition: Condition::NotExists,
        },
    ];
    // The same key twice is refused outright (as DynamoDB does).
    assert!(matches!(
        s.transact(failing).await,
        Err(StoreError::InvalidTransaction(_))
    ));
    let failing = vec![
        Write::Put {
            item: item(&pk, "NEW1", 1),
            condition: Condition::NotExists,
        },
        Write::Delete {
            key: Key::new(&pk, "EXISTING"),
            condition: Condition::None,
        },
        Write::Check {
            key: Key::new(&pk, "MISSING"),
            condition: Condition::Exists,
        },
    ];
    assert_eq!(s.transact(failing).await, Err(StoreError::ConditionFailed));
    assert_eq!(
        s.get(&Key::new(&pk, "NEW1")).await.unwrap(),
        None,
        "nothing of a failed transaction is written"
    );
    assert!(
        s.get(&Key::new(&pk, "EXISTING")).await.unwrap().is_some(),
        "nothing of a failed transaction is deleted"
    );
    let ok = vec![
        Write::Put {
            item: item(&pk, "NEW1", 1),
            condition: Condition::NotExists,
        },
        Write::Put {
            item: item(&pk, "NEW2", 2),
            condition: Condition::NotExists,
        },
        Write::Delete {
            key: Key::new(&pk, "EXISTING"),
            condition: Condition::Version(1),
        },
        Write::Check {
            key: Key::new(&pk, "NEW3"),
            condition: Condition::NotExists,
        },
    ];
    s.transact(ok).await.unwrap();
    assert!(s.get(&Key::new(&pk, "NEW1")).await.unwrap().is_some());
    assert!(s.get(&Key::new(&pk, "NEW2")).await.unwrap().is_some());
    assert_eq!(s.get(&Key::new(&pk, "EXISTING")).await.unwrap(), None);
}

async fn prefix_queries_and_paging(s: &dyn ItemStore) {
    let pk = unique("Q");
    for i in 0..25 {
        s.put(item(&pk, &format!("DOC#{i:03}"), i), Condition::NotExists)
            .await
            .unwrap();
    }
    s.put(item(&pk, "DOCX", 99), Condition::NotExists)
        .await
        .unwrap();
    s.put(item(&pk, "HIST#001", 99), Condition::NotExists)
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = s
            .query(&Query {
                pk: pk.clone(),
                sk_prefix: "DOC#".into(),
                after: after.clone(),
                descending: false,
                limit: 10,
            })
            .await
            .unwrap();
        assert!(page.items.len() <= 10);
        seen.extend(numbers(&page));
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(
        seen,
        (0..25).collect::<Vec<_>>(),
        "ascending pages cover the prefix exactly once"
    );
    let newest = s
        .query(&Query {
            pk: pk.clone(),
            sk_prefix: "DOC#".into(),
            after: None,
            descending: true,
            limit: 3,
        })
        .await
        .unwrap();
    let n = numbers(&newest);
    assert_eq!(n, vec![24, 23, 22]);
    let rest = s
        .query(&Query {
            pk: pk.clone(),
            sk_prefix: "DOC#".into(),
            after: newest.next,
            descending: true,
            limit: 100,
        })
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 22);
    assert_eq!(rest.next, None);
    let none = s
        .query(&Query {
            pk: unique("EMPTY"),
            sk_prefix: String::new(),
            after: None,
            descending: false,
            limit: 10,
        })
        .await
        .unwrap();
    assert!(none.items.is_empty() && none.next.is_none());
}

async fn index_queries(s: &dyn ItemStore) {
    let pk = unique("IDXBASE");
    let ipk = unique("OWNER");
    for i in 0..5 {
        let mut it = item(&pk, &format!("DOC#{i}"), i);
        it.index = Some(Key::new(&ipk, format!("DOC#{i}")));
        s.put(it, Condition::NotExists).await.unwrap();
    }
    s.put(item(&pk, "DOC#9", 9), Condition::NotExists)
        .await
        .unwrap();
    let page = s
        .query_index(&Query {
            pk: ipk.clone(),
            sk_prefix: "DOC#".into(),
            after: None,
            descending: true,
            limit: 2,
        })
        .await
        .unwrap();
    let n = numbers(&page);
    assert_eq!(n, vec![4, 3]);
    assert_eq!(page.items[0].index, Some(Key::new(&ipk, "DOC#4")));
    let rest = s
        .query_index(&Query {
            pk: ipk,
            sk_prefix: "DOC#".into(),
            after: page.next,
            descending: true,
            limit: 10,
        })
        .await
        .unwrap();
    let n = numbers(&rest);
    assert_eq!(
        n,
        vec![2, 1, 0],
        "unindexed items never appear in the index"
    );
}

async fn uniqueness_items(s: &dyn ItemStore) {
    let email = unique("EMAIL");
    let claim = |user: &str| {
        vec![
            Write::Put {
                item: Item::new(Key::new(&email, "EMAIL"), json!({ "user": user })),
                condition: Condition::NotExists,
            },
            Write::Put {
                item: item(&format!("{email}-{user}"), "USER", 1),
                condition: Condition::NotExists,
            },
        ]
    };
    s.transact(claim("a")).await.unwrap();
    assert_eq!(
        s.transact(claim("b")).await,
        Err(StoreError::ConditionFailed)
    );
    assert_eq!(
        s.get(&Key::new(format!("{email}-b"), "USER"))
            .await
            .unwrap(),
        None,
        "the loser's user is not written"
    );
    assert_eq!(
        s.get(&Key::new(&email, "EMAIL"))
            .await
            .unwrap()
            .unwrap()
            .body["user"],
        "a"
    );
}

async fn expired_items_are_absent(s: &dyn ItemStore, clock: &ManualClock) {
    use keiyaku_core::clock::Clock;
    let pk = unique("TTL");
    let now = clock.now().unix_timestamp();
    let mut it = item(&pk, "SESSION", 1);
    it.expires_at = Some(now + 60);
    s.put(it.clone(), Condition::NotExists).await.unwrap();
    assert!(s.get(&Key::new(&pk, "SESSION")).await.unwrap().is_some());
    clock.advance(time::Duration::seconds(61));
    assert_eq!(
        s.get(&Key::new(&pk, "SESSION")).await.unwrap(),
        None,
        "expired items read as absent"
    );
    let listed = s
        .query(&Query {
            pk: pk.clone(),
            sk_prefix: String::new(),
            after: None,
            descending: false,
            limit: 10,
        })
        .await
        .unwrap();
    assert!(listed.items.is_empty(), "expired items are not listed");
    assert_eq!(
        s.put(it.clone(), Condition::Exists).await,
        Err(StoreError::ConditionFailed)
    );
    let mut again = it;
    again.expires_at = Some(clock.now().unix_timestamp() + 60);
    s.put(again, Condition::NotExists)
        .await
        .expect("an expired item does not block NotExists");
}

async fn limits_are_dynamodb_limits(s: &dyn ItemStore) {
    let pk = unique("LIMIT");
    let big = Item::new(
        Key::new(&pk, "BIG"),
        json!({ "blob": "x".repeat(401 * 1024) }),
    );
    assert!(matches!(
        s.put(big, Condition::None).await,
        Err(StoreError::TooLarge(_))
    ));
    let many: Vec<Write> = (0..101)
        .map(|i| Write::Put {
            item: item(&pk, &format!("I{i}"), i),
            condition: Condition::None,
        })
        .collect();
    assert!(matches!(
        s.transact(many).await,
        Err(StoreError::InvalidTransaction(_))
    ));
    let hundred: Vec<Write> = (0..100)
        .map(|i| Write::Put {
            item: item(&pk, &format!("I{i}"), i),
            condition: Condition::None,
        })
        .collect();
    s.transact(hundred).await.expect("100 actions are allowed");
}

async fn counters(s: &dyn ItemStore, clock: &ManualClock) {
    use keiyaku_core::clock::Clock;
    let key = Key::new(unique("RATE"), "W");
    let end = clock.now().unix_timestamp() + 30;
    for expected in 1..=5 {
        assert_eq!(s.increment(&key, end).await.unwrap(), expected);
    }
    clock.advance(time::Duration::seconds(31));
    assert_eq!(
        s.increment(&key, end + 60).await.unwrap(),
        1,
        "an expired counter starts again"
    );
}

async fn expired_items_are_purged(s: &dyn ItemStore, clock: &ManualClock) {
    use keiyaku_core::clock::Clock;
    // What the other checks left expired goes first, so the counts below are this check's.
    s.purge_expired(usize::MAX).await.unwrap();
    let pk = unique("PURGE");
    let now = clock.now().unix_timestamp();
    for (sk, expires) in [("A", 10), ("B", 10), ("C", 10), ("LATER", 1000)] {
        let mut it = item(&pk, sk, 1);
        it.expires_at = Some(now + expires);
        s.put(it, Condition::NotExists).await.unwrap();
    }
    s.put(item(&pk, "FOREVER", 1), Condition::NotExists)
        .await
        .unwrap();
    clock.advance(time::Duration::seconds(11));
    assert_eq!(s.purge_expired(2).await.unwrap(), 2, "at most the limit");
    assert_eq!(s.purge_expired(10).await.unwrap(), 1, "then the rest");
    assert_eq!(s.purge_expired(10).await.unwrap(), 0, "and nothing twice");
    for live in ["LATER", "FOREVER"] {
        assert!(
            s.get(&Key::new(&pk, live)).await.unwrap().is_some(),
            "{live} is live and stays"
        );
    }
}

fn body(chunks: Vec<Vec<u8>>) -> ByteStream {
    stream::iter(chunks.into_iter().map(|c| Ok(Bytes::from(c)))).boxed()
}

async fn read_all(s: &dyn BlobStore, key: &str) -> Result<Vec<u8>, BlobError> {
    let mut stream = s.get(key).await?;
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk.map_err(|e| BlobError::Unavailable(e.to_string()))?);
    }
    Ok(out)
}

/// Every BlobStore check.
pub async fn blob_store(s: Arc<dyn BlobStore>) {
    let s = &*s;
    let key = format!("contract/{}", unique("blob").replace('#', "-"));
    assert!(matches!(read_all(s, &key).await, Err(BlobError::NotFound)));
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let n = s
        .put(
            &key,
            body(data.chunks(70_000).map(<[u8]>::to_vec).collect()),
            PutMode::CreateOnly,
        )
        .await
        .unwrap();
    assert_eq!(n, data.len() as u64);
    assert_eq!(read_all(s, &key).await.unwrap(), data);
    assert!(matches!(
        s.put(&key, body(vec![b"other".to_vec()]), PutMode::CreateOnly)
            .await,
        Err(BlobError::AlreadyExists)
    ));
    assert_eq!(
        read_all(s, &key).await.unwrap(),
        data,
        "a refused create-only put changes nothing"
    );
    s.put(&key, body(vec![b"replaced".to_vec()]), PutMode::Overwrite)
        .await
        .unwrap();
    assert_eq!(read_all(s, &key).await.unwrap(), b"replaced");

    let failing_key = format!("{key}-failing");
    let failing: ByteStream = stream::iter(vec![
        Ok(Bytes::from_static(b"half a file")),
        Err(std::io::Error::other("client went away")),
    ])
    .boxed();
    assert!(
        s.put(&failing_key, failing, PutMode::CreateOnly)
            .await
            .is_err()
    );
    assert!(
        matches!(read_all(s, &failing_key).await, Err(BlobError::NotFound)),
        "a failed body leaves no blob"
    );
    s.delete(&key).await.unwrap();
    s.delete(&key).await.unwrap();
    assert!(matches!(read_all(s, &key).await, Err(BlobError::NotFound)));

    // No key can name a path outside the store, on any adapter.
    for hostile in [
        "",
        "..",
        "contract/../../escape",
        "/etc/passwd",
        "contract//double",
        "contract/./here",
        "contract/trailing/",
        "contract\\back",
        "contract/nul\0byte",
        "contract/ space",
        "contract/日本語",
    ] {
        let put = s
            .put(hostile, body(vec![b"x".to_vec()]), PutMode::Overwrite)
            .await;
        assert!(
            matches!(put, Err(BlobError::InvalidKey(_))),
            "put {hostile:?}: {put:?}"
        );
        assert!(
            matches!(read_all(s, hostile).await, Err(BlobError::InvalidKey(_))),
            "get {hostile:?}"
        );
        assert!(
            matches!(s.delete(hostile).await, Err(BlobError::InvalidKey(_))),
            "delete {hostile:?}"
        );
    }

    // A listing: the keys under a prefix in key order, with sizes and S3's entity tags.
    let dir = format!("contract/{}", unique("list").replace('#', "-"));
    let bodies = [("b.csv", "b,c\n"), ("a.json", "[1, 2]"), ("sub/c.txt", "c")];
    for (name, text) in bodies {
        s.put(
            &format!("{dir}/{name}"),
            body(vec![text.as_bytes().to_vec()]),
            PutMode::Overwrite,
        )
        .await
        .unwrap();
    }
    let listed = s.list(&format!("{dir}/"), 10).await.unwrap();
    let keys: Vec<String> = listed.iter().map(|b| b.key.clone()).collect();
    assert_eq!(
        keys,
        ["a.json", "b.csv", "sub/c.txt"].map(|n| format!("{dir}/{n}"))
    );
    assert_eq!(listed[0].size, 6);
    // MD5("[1, 2]"), as S3 tags a blob put whole.
    assert_eq!(listed[0].etag, "\"04cd0e0151f352e7fd414d694a604136\"");
    let since = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
    assert!(listed.iter().all(|b| b.last_modified > since));
    let some = s.list(&format!("{dir}/"), 2).await.unwrap();
    assert_eq!(some, listed[..2]);
    let part = s.list(&format!("{dir}/s"), 10).await.unwrap();
    assert_eq!(part, listed[2..]);
    assert!(
        s.list(&format!("{dir}-none/"), 10)
            .await
            .unwrap()
            .is_empty()
    );
    for hostile in ["../", "contract/../x", "/etc", "contract//x", "contract/ x"] {
        assert!(
            matches!(s.list(hostile, 10).await, Err(BlobError::InvalidKey(_))),
            "list {hostile:?}"
        );
    }
    for (name, _) in bodies {
        s.delete(&format!("{dir}/{name}")).await.unwrap();
    }
    assert!(s.list(&format!("{dir}/"), 10).await.unwrap().is_empty());
    passed("blob_store");
}

/// Every Keys check.
pub async fn keys(k: Arc<dyn Keys>) {
    let a = k.generate_data_key("doc-1").await.unwrap();
    let b = k.generate_data_key("doc-1").await.unwrap();
    assert_ne!(*a.plaintext, *b.plaintext, "data keys are random");
    assert_ne!(
        a.wrapped,
        a.plaintext.to_vec(),
        "the wrapped key is not the key"
    );
    let unwrapped = k
        .unwrap_data_key(&a.key_id, &a.wrapped, "doc-1")
        .await
        .unwrap();
    assert_eq!(*unwrapped, *a.plaintext);
    assert!(
        matches!(
            k.unwrap_data_key(&a.key_id, &a.wrapped, "doc-2").await,
            Err(KeyError::Unwrap)
        ),
        "a data key unwraps only for what it was made for"
    );
    let mut tampered = a.wrapped.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    assert!(matches!(
        k.unwrap_data_key(&a.key_id, &tampered, "doc-1").await,
        Err(KeyError::Unwrap)
    ));
    assert!(
        k.unwrap_data_key("some-other-key", &a.wrapped, "doc-1")
            .await
            .is_err()
    );
    // A MAC is the same for the same message, and another for another.
    let first = k.mac(b"recipient link d1 r1").await.unwrap();
    assert_eq!(first, k.mac(b"recipient link d1 r1").await.unwrap());
    assert_ne!(first, k.mac(b"recipient link d1 r2").await.unwrap());
    assert_ne!(first, [0u8; 32]);
    passed("keys");
}

/// Every SealingKey check: its signatures verify under its certificate's key (ECDSA P-256,
/// SHA-256, DER) and only for what was signed; its chain runs from that certificate upward.
pub async fn sealing_key(k: Arc<dyn SealingKey>) {
    use der::{Decode, Encode};
    use p256::pkcs8::DecodePublicKey;
    use signature::Verifier;
    let chain = k.chain().await.unwrap();
    assert!(
        !chain.is_empty(),
        "the chain starts with the sealing certificate"
    );
    let certs: Vec<x509_cert::Certificate> = chain
        .iter()
        .map(|der| x509_cert::Certificate::from_der(der).unwrap())
        .collect();
    for pair in certs.windows(2) {
        assert_eq!(
            pair[0].tbs_certificate.issuer, pair[1].tbs_certificate.subject,
            "each certificate is issued by the next"
        );
    }
    let spki = certs[0]
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .unwrap();
    let key = p256::ecdsa::VerifyingKey::from_public_key_der(&spki).unwrap();
    let message = b"DER signed attributes";
    let signature = k.sign(message).await.unwrap();
    let signature = p256::ecdsa::DerSignature::from_bytes(&signature).unwrap();
    key.verify(message, &signature).unwrap();
    assert!(key.verify(b"other attributes", &signature).is_err());
    passed("sealing_key");
}

/// How a Scheduler check sees what is scheduled (the timer table's item locally,
/// EventBridge Scheduler's `GetSchedule` on AWS).
#[async_trait::async_trait]
pub trait ScheduleProbe: Send + Sync {
    /// The time and job scheduled under `name`, if any.
    async fn scheduled(&self, name: &str) -> Option<(time::OffsetDateTime, serde_json::Value)>;
}

/// Every Scheduler check: a job is kept under its name with its time; scheduling the name
/// again replaces it; cancelling forgets it (also a name never scheduled); a name outside
/// letters, digits, `-` and `_` (or longer than 64) is refused.
pub async fn scheduler(
    s: Arc<dyn keiyaku_core::ports::Scheduler>,
    probe: &dyn ScheduleProbe,
    now: time::OffsetDateTime,
) {
    let name = unique("remind-contract").replace('#', "-");
    let name = name.as_str();
    let at = now + time::Duration::days(3);
    // Whole seconds: EventBridge Scheduler keeps no finer.
    let at = at - time::Duration::nanoseconds(i64::from(at.nanosecond()));
    s.schedule(name, at, json!({ "job": "a", "n": 1 }))
        .await
        .unwrap();
    assert_eq!(
        probe.scheduled(name).await,
        Some((at, json!({ "job": "a", "n": 1 })))
    );
    let later = at + time::Duration::days(1);
    s.schedule(name, later, json!({ "job": "a", "n": 2 }))
        .await
        .unwrap();
    assert_eq!(
        probe.scheduled(name).await,
        Some((later, json!({ "job": "a", "n": 2 }))),
        "scheduling a name again replaces its job"
    );
    s.cancel(name).await.unwrap();
    assert_eq!(probe.scheduled(name).await, None);
    s.cancel(name).await.unwrap();
    s.cancel("never-scheduled").await.unwrap();
    for bad in ["has space", "slash/no", "", &"x".repeat(65)] {
        assert!(
            s.schedule(bad, at, json!({})).await.is_err(),
            "{bad:?} is refused"
        );
    }
    passed("scheduler");
}

/// How a Mailer check sees what was handed over for delivery (the maildir's files locally,
/// what SES took on AWS).
#[async_trait::async_trait]
pub trait MailProbe: Send + Sync {
    /// Every message handed over whose Message-ID is `message_id`, as raw bytes.
    async fn delivered(&self, message_id: &str) -> Vec<Vec<u8>>;
}

/// Every Mailer check, under the core's DeliverOnce (its records in `items`): a message is
/// handed over with the bytes it was built with (UTF-8 Japanese in an encoded subject and a
/// base64 body), and sending it again (a retried task) mails nobody twice. `domain` is a
/// sender domain the mailer may send from.
pub async fn mailer(
    m: Arc<dyn keiyaku_core::ports::Mailer>,
    items: Arc<dyn ItemStore>,
    probe: &dyn MailProbe,
    domain: &str,
) {
    use keiyaku_core::ports::{Mailer, OutgoingMail};
    let clock = Arc::new(keiyaku_core::clock::SystemClock);
    let once = keiyaku_core::delivery::DeliverOnce::new(items, m, clock);
    let message = |id: &str| OutgoingMail {
        to: vec!["hanako@example.jp".into()],
        message_id: id.to_owned(),
        raw: format!(
            "From: keiyaku <no-reply@{domain}>\r\nTo: hanako@example.jp\r\n\
             Subject: =?utf-8?b?44CQa2VpeWFrdeOAkQ==?=\r\nMessage-ID: <{id}>\r\n\
             MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n44GU56K66KqN44GP44Gg44GV44GE\r\n"
        )
        .into_bytes(),
    };
    let first = message(&format!("{}@keiyaku", unique("mail").replace('#', "-")));
    once.send(&first).await.unwrap();
    once.send(&first).await.unwrap();
    assert_eq!(
        probe.delivered(&first.message_id).await,
        vec![first.raw.clone()],
        "handed over once, as built"
    );
    let second = message(&format!("{}@keiyaku", unique("mail").replace('#', "-")));
    once.send(&second).await.unwrap();
    assert_eq!(probe.delivered(&second.message_id).await, vec![second.raw]);
    assert_eq!(probe.delivered(&first.message_id).await.len(), 1);
    passed("mailer");
}

/// How a Workflow check learns a waiting task's token: the harness's handler for the
/// contract machine's first wait records it (never mailed, as in the service).
#[async_trait::async_trait]
pub trait TokenProbe: Send + Sync {
    /// The token of the wait the execution of `name` is in, once it is waiting.
    async fn waiting(&self, name: &str) -> String;
}

/// Handlers for the contract machine, for the executors that call handlers of ours (the
/// local one, and the Step Functions stand-in behind the AWS adapter): they ask approver
/// `a1` and record the wait's token for [`workflow`]'s checks.
#[derive(Default)]
pub struct WorkflowHarness {
    tokens: std::sync::Mutex<std::collections::HashMap<String, String>>,
    recorded: tokio::sync::Notify,
}

#[async_trait::async_trait]
impl keiyaku_workflow::TaskHandlers for WorkflowHarness {
    async fn invoke(
        &self,
        handler: &str,
        payload: serde_json::Value,
        token: Option<String>,
    ) -> Result<serde_json::Value, keiyaku_workflow::TaskFailure> {
        use serde_json::json;
        Ok(match handler {
            "next_step" => json!({ "kind": "approval", "party_id": "a1", "timeout_seconds": 3600 }),
            "record_wait" => {
                let doc = payload["document_id"].as_str().unwrap().to_owned();
                self.tokens.lock().unwrap().insert(doc, token.unwrap());
                self.recorded.notify_waiters();
                json!({})
            }
            "notify" => json!({ "status": "rejected" }),
            other => {
                return Err(keiyaku_workflow::TaskFailure::new(
                    "Keiyaku.NonRetryable",
                    format!("not in this harness: {other}"),
                ));
            }
        })
    }
}

#[async_trait::async_trait]
impl TokenProbe for WorkflowHarness {
    async fn waiting(&self, name: &str) -> String {
        loop {
            let notified = self.recorded.notified();
            tokio::pin!(notified);
            // Registered before looking, so a token recorded in between still wakes it.
            notified.as_mut().enable();
            if let Some(t) = self.tokens.lock().unwrap().get(name) {
                return t.clone();
            }
            tokio::time::timeout(std::time::Duration::from_secs(10), notified)
                .await
                .expect("the wait records its token");
        }
    }
}

/// Every Workflow check, on the contract machine whose handlers the harness makes answer:
/// `next_step` with an approval by `a1`, `record_wait` with an acknowledgement (recording
/// the token for `tokens`), and `notify` with `{"status": "rejected"}`. Starting is
/// idempotent for the same input and refused for another; a waiting task completes once
/// (then its token is gone), an unknown token is gone; listing and describing show the
/// execution with Step Functions' event names; an unknown execution is not found.
pub async fn workflow(w: Arc<dyn keiyaku_core::ports::Workflow>, tokens: &dyn TokenProbe) {
    use keiyaku_core::ports::WorkflowError;
    let name = unique("doc-contract").replace('#', "-");
    let input = json!({ "team_id": "t1", "document_id": name, "send": 1 });
    let id = w.start(&name, input.clone()).await.unwrap();
    assert_eq!(
        w.start(&name, input.clone()).await.unwrap(),
        id,
        "a retried start is the same execution"
    );
    assert!(matches!(
        w.start(
            &name,
            json!({ "team_id": "t1", "document_id": "other", "send": 1 })
        )
        .await,
        Err(WorkflowError::AlreadyExists)
    ));
    assert!(matches!(
        w.succeed_task("no-such-token", json!({})).await,
        Err(WorkflowError::TaskGone)
    ));
    assert!(matches!(
        w.fail_task("no-such-token", "Keiyaku.Cancelled", "x").await,
        Err(WorkflowError::TaskGone)
    ));
    let token = tokens.waiting(&name).await;
    let running = w.list(Some("RUNNING"), None, 100).await.unwrap();
    assert!(
        running
            .executions
            .iter()
            .any(|e| e.id == id && e.name == name && e.status == "RUNNING"),
        "the waiting execution is listed as running"
    );
    w.succeed_task(&token, json!({ "decision": "rejected" }))
        .await
        .unwrap();
    // The machine goes on to NotifyRejected and ends.
    let mut detail = w.describe(&id).await.unwrap();
    for _ in 0..200 {
        if detail.summary.status != "RUNNING" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        detail = w.describe(&id).await.unwrap();
    }
    assert_eq!(detail.summary.status, "SUCCEEDED", "{detail:?}");
    // Answered again once the execution has ended. (moto's Step Functions accepts a second
    // success while the execution still runs, and a failure even after it ended; AWS and the
    // local executor refuse both, and the domain never relies on it: an answer is a
    // conditional write before the task is completed.)
    let again = w
        .succeed_task(&token, json!({ "decision": "approved" }))
        .await;
    assert!(
        matches!(again, Err(WorkflowError::TaskGone)),
        "a task completes once: {again:?}"
    );
    assert_eq!(detail.input, input);
    assert_eq!(
        detail.output.as_ref().unwrap()["outcome"]["status"],
        "rejected"
    );
    let types: Vec<&str> = detail
        .events
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(types.first(), Some(&"ExecutionStarted"));
    assert_eq!(types.last(), Some(&"ExecutionSucceeded"));
    assert!(types.contains(&"TaskSubmitted") || types.contains(&"TaskSucceeded"));
    assert!(matches!(
        w.describe("0123456789abcdef0123456789abcdef").await,
        Err(WorkflowError::NotFound)
    ));
    passed("workflow");
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use keiyaku_core::clock::ManualClock;
    use keiyaku_core::ports::MemoryItemStore;

    /// The in-memory store that tests of the engine and the domain use keeps the contract
    /// the adapters keep.
    #[tokio::test]
    async fn memory_item_store_keeps_the_contract() {
        let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
        super::item_store(Arc::new(MemoryItemStore::new(clock.clone())), &clock).await;
    }
}
