//! Listing and title-search benchmark: one account's documents at 1,000, 10,000 and
//! 100,000, and p50/p99 of `GET /api/v1/documents` through the real server: the first page
//! of the listing, and searches for a word most titles hold, one a tenth hold, one that
//! three titles per scale hold, one character, and a word no title holds. The floor is
//! `GET /api/v1/me` (the same request path, authentication and JSON, without documents)
//! in the same run.
//! Documents beyond the first are copies of it with other titles, written straight into
//! the data dir (100,000 uploads would take hours). Not a timed test: it prints figures.

use std::time::{Duration, Instant};

use keiyaku_core::ids::{DocumentId, TeamId};
use serde_json::Value;

const REQUESTS: usize = 200;

const KINDS: [&str; 10] = [
    "業務委託",
    "売買",
    "秘密保持",
    "賃貸借",
    "雇用",
    "請負",
    "ライセンス",
    "保守サービス",
    "代理店",
    "共同研究開発",
];
const FORMS: [&str; 5] = ["契約書", "基本契約書", "覚書", "合意書", "個別契約書"];
const KANA: [char; 20] = [
    'ア', 'イ', 'カ', 'キ', 'サ', 'シ', 'タ', 'チ', 'ナ', 'ニ', 'ハ', 'ヒ', 'マ', 'ミ', 'ヤ', 'ラ',
    'リ', 'ワ', 'ン', 'ト',
];

/// A title like a Japanese company's: kind, form, counterparty, edition. `n` picks them.
fn title(n: u64) -> String {
    // A small multiplicative hash so neighbours differ.
    let h = n.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17);
    let company: String = (0..4)
        .map(|i| KANA[((h >> (8 * i)) % KANA.len() as u64) as usize])
        .collect();
    format!(
        "{}{}（株式会社{company}） 第{}版",
        KINDS[(h % 10) as usize],
        FORMS[((h >> 40) % 5) as usize],
        n % 7 + 1
    )
}

fn percentiles(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p99 = ((v.len() as f64 * 0.99).ceil() as usize).clamp(1, v.len()) - 1;
    (ms(v[v.len() / 2]), ms(v[p99]))
}

async fn timed(http: &reqwest::Client, url: &str, bearer: &str) -> ((f64, f64), Value) {
    let mut times = Vec::with_capacity(REQUESTS);
    let mut last = Value::Null;
    for _ in 0..REQUESTS {
        let t = Instant::now();
        let r = http
            .get(url)
            .header("authorization", bearer)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{url}");
        last = r.json().await.unwrap();
        times.push(t.elapsed());
    }
    (percentiles(times), last)
}

#[tokio::main]
async fn main() {
    let server = keiyaku_tests::start_process(&[]);
    let url = server.url.clone();
    let account =
        keiyaku_tests::sign_up_and_log_in(&url, &server.data_dir, "bench@example.jp").await;
    let bearer = format!("Bearer {}", account.token);
    let http = reqwest::Client::new();
    let created: Value = http
        .post(format!("{url}/api/v1/documents"))
        .header("authorization", &bearer)
        .header("content-type", "application/pdf")
        .query(&[("title", title(0).as_str()), ("filename", "bench.pdf")])
        .body(keiyaku_pdf::sample::pdf_with_pages(1))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let team = TeamId(created["team_id"].as_str().unwrap().to_owned());
    let template = DocumentId(created["id"].as_str().unwrap().to_owned());
    let items = keiyaku_local::items::SqliteItemStore::open(
        &server.data_dir.join("keiyaku.db"),
        std::sync::Arc::new(keiyaku_core::clock::SystemClock),
    )
    .unwrap();
    // The first search indexes the team's titles once; seeded copies are indexed as written.
    let warm = http
        .get(format!("{url}/api/v1/documents?q=warm"))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(warm.status(), 200);

    let q = |word: &str| {
        format!(
            "{url}/api/v1/documents?q={}",
            percent_encoding::utf8_percent_encode(word, percent_encoding::NON_ALPHANUMERIC)
        )
    };
    let mut have = 1u64;
    println!("{REQUESTS} requests each; p50 / p99 in ms; 50 documents a page");
    for scale in [1_000u64, 10_000, 100_000] {
        let started = Instant::now();
        // Three titles hold a word nobody else's does, spread over the newest and oldest.
        let titles: Vec<String> = (have..scale)
            .map(|n| {
                if n == have || n == (have + scale) / 2 || n == scale - 1 {
                    format!("特別調達契約書 {n}")
                } else {
                    title(n)
                }
            })
            .collect();
        keiyaku_core::app::listing::copies_for_benchmark(&items, &team, &template, &titles)
            .await
            .unwrap();
        have = scale;
        println!(
            "\n== {scale} documents (seeded in {:.1} s)",
            started.elapsed().as_secs_f64()
        );
        let (floor, _) = timed(&http, &format!("{url}/api/v1/me"), &bearer).await;
        println!(
            "  floor GET /me                  {:6.2} / {:6.2}",
            floor.0, floor.1
        );
        for (label, target) in [
            ("list, first page", format!("{url}/api/v1/documents")),
            ("search 契約 (nearly all)", q("契約")),
            ("search 秘密保持 (a tenth)", q("秘密保持")),
            ("search 特別調達 (3 per scale)", q("特別調達")),
            ("search 覚 (one character)", q("覚")),
            ("search 存在しない (none)", q("存在しない")),
        ] {
            let ((p50, p99), last) = timed(&http, &target, &bearer).await;
            let found = last["documents"].as_array().map_or(0, Vec::len);
            println!(
                "  {label:<26} {p50:6.2} / {p99:6.2}  = {:5.2} × floor p50; {found} on the page",
                p50 / floor.0
            );
        }
    }
    println!("\ntarget: search p50 ≤ 20 ms at 100,000; each curve flat within 2 × from 1,000");
}
