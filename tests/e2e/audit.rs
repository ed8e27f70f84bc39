//! The audit log over HTTP: events of logins (failed ones with address and User-Agent),
//! documents and the team, searched by time, actor, action and target; the CSV export
//! (BOM, columns, JST); the hash chain verified by the route and by `keiyaku audit
//! verify`, an edited or deleted event found; two-year retention moving the chain's start;
//! admins and auditors only.

use keiyaku_core::ports::{Condition, Query};
use keiyaku_core::store::keys;
use keiyaku_tests::{Client, TestApp, error_code, keiyaku_binary};
use serde_json::{Value, json};

use crate::teams::{join, roster_ids};

const AGENT: &str = "Mozilla/5.0 (keiyaku audit test)";

/// A page of the log as the admin searches it.
async fn search(client: &Client, query: &str) -> Vec<Value> {
    let page = client.get_json(&format!("/api/v1/team/audit{query}")).await;
    page["events"].as_array().unwrap().clone()
}

fn actions(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect()
}

async fn verification(client: &Client) -> Value {
    client.get_json("/api/v1/team/audit/verify").await
}

/// Runs `keiyaku audit verify` on the app's data dir: its exit code and output.
fn verify_command(app: &TestApp) -> (i32, String) {
    let out = std::process::Command::new(keiyaku_binary())
        .args(["audit", "verify", "--data-dir"])
        .arg(app.data_dir())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test]
async fn the_audit_log_records_searches_exports_and_proves_itself() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin@example.jp", "管理 太郎").await;
    let member = join(&app, &admin, "hanako@example.jp", "山田 花子", "member").await;
    let auditor = join(&app, &admin, "audit@example.jp", "監査 三郎", "auditor").await;
    let ids = roster_ids(&admin).await;
    let hanako = ids["hanako@example.jp"].clone();

    // A failed login, with its address and User-Agent.
    let r = app
        .anonymous()
        .request(reqwest::Method::POST, "/api/v1/auth/login")
        .header("user-agent", AGENT)
        .json(&json!({ "email": "hanako@example.jp", "password": "wrong password 1" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // A document made, read by the admin (details and download).
    let doc = member.sample_draft("契約書.pdf").await;
    admin.get_json(&format!("/api/v1/documents/{doc}")).await;
    let r = admin
        .get(&format!("/api/v1/documents/{doc}/file?download=1"))
        .await;
    assert_eq!(r.status(), 200);

    // Readers only: admins and auditors.
    let r = member.get("/api/v1/team/audit").await;
    assert_eq!(r.status(), 403);
    assert_eq!(error_code(r).await, "audit_readers_only");
    for path in ["/api/v1/team/audit/export", "/api/v1/team/audit/verify"] {
        assert_eq!(member.get(path).await.status(), 403, "{path}");
    }
    let all = search(&auditor, "").await;
    let found = actions(&all);
    for wanted in [
        "account.signed_up",
        "team.member_invited",
        "team.member_joined",
        "account.logged_in",
        "account.login_failed",
        "document.created",
        "document.viewed",
        "document.downloaded",
    ] {
        assert!(found.contains(&wanted), "{wanted} missing from {found:?}");
    }
    // Newest first, each chained (searching chains what waits).
    assert_eq!(found[0], "document.downloaded");
    let seqs: Vec<u64> = all
        .iter()
        .map(|e| e["chain"]["seq"].as_u64().unwrap())
        .collect();
    let mut sorted = seqs.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(seqs, sorted);

    let failed = search(&admin, "?action=account.login_failed").await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["outcome"], "failure");
    assert_eq!(failed[0]["user_agent"], AGENT);
    assert_eq!(failed[0]["ip"], "127.0.0.1");
    assert_eq!(failed[0]["actor"], hanako.as_str());
    assert_eq!(failed[0]["actor_name"], "山田 花子");
    let on_doc = search(&admin, &format!("?target=document:{doc}")).await;
    assert_eq!(
        actions(&on_doc),
        ["document.downloaded", "document.viewed", "document.created"]
    );
    let by_member = search(&admin, &format!("?actor={hanako}&action=account.")).await;
    assert!(
        actions(&by_member)
            .iter()
            .all(|a| a.starts_with("account.")),
        "{by_member:?}"
    );
    // Time ranges: nothing before the first event, everything up to now.
    let past = search(&admin, "?to=2020-01-01T00:00:00Z").await;
    assert!(past.is_empty());
    let future = search(&admin, "?from=2020-01-01T00:00:00%2B09:00").await;
    assert_eq!(future.len(), all.len());
    for bad in ["?from=yesterday", "?limit=0", "?cursor=nope"] {
        assert_eq!(
            admin
                .get(&format!("/api/v1/team/audit{bad}"))
                .await
                .status(),
            400,
            "{bad}"
        );
    }
    // Pages.
    let first = admin.get_json("/api/v1/team/audit?limit=2").await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = search(&admin, &format!("?limit=2&cursor={cursor}")).await;
    assert_ne!(first["events"][0]["id"], second[0]["id"]);

    // The CSV: BOM, Japanese header, one row per event, JST.
    let r = admin
        .get(&format!("/api/v1/team/audit/export?target=document:{doc}"))
        .await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let bytes = r.bytes().await.unwrap();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF");
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    let mut csv = csv_rows(text);
    let header = csv.remove(0);
    assert_eq!(header[0], "日時（日本時間）");
    assert_eq!(header.len(), 12);
    assert_eq!(csv.len(), 3, "{text}");
    assert_eq!(
        actions(&search(&admin, "?limit=1").await),
        ["audit.exported"]
    );
    assert_eq!(csv[0][4], "document.downloaded");
    assert_eq!(csv[2][2], "山田 花子");
    let jst =
        time::OffsetDateTime::now_utc().to_offset(time::UtcOffset::from_hms(9, 0, 0).unwrap());
    assert!(
        csv[0][0].starts_with(&format!("{:04}-{:02}-", jst.year(), u8::from(jst.month()))),
        "{}",
        csv[0][0]
    );

    // The chain verifies, by the route and by the command.
    let v = verification(&admin).await;
    assert_eq!(v["intact"], true, "{v}");
    assert!(v["checked"].as_u64().unwrap() >= 10);
    let (code, out) = verify_command(&app);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("intact"), "{out}");

    // An edited event is found, at its place.
    let items = app.services().items;
    let page = items
        .query(&Query {
            pk: keys::team_pk(
                &serde_json::from_value(admin.get_json("/api/v1/me").await["team_id"].clone())
                    .unwrap(),
            ),
            sk_prefix: keys::AUDIT.into(),
            after: None,
            descending: false,
            limit: 1000,
        })
        .await
        .unwrap();
    let mut victim = page.items[3].clone();
    let original = victim.clone();
    let seq = victim.body["chain"]["seq"].as_u64().unwrap();
    victim.body["ip"] = json!("203.0.113.66");
    items.put(victim, Condition::None).await.unwrap();
    let v = verification(&admin).await;
    assert_eq!(v["intact"], false);
    assert_eq!(v["first_broken"]["seq"], seq);
    assert_eq!(v["first_broken"]["reason"], "edited");
    let (code, out) = verify_command(&app);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("BROKEN at #{seq}")), "{out}");
    // Put back; then one deleted.
    items.put(original.clone(), Condition::None).await.unwrap();
    assert_eq!(verification(&admin).await["intact"], true);
    items.delete(&original.key, Condition::None).await.unwrap();
    let v = verification(&admin).await;
    assert_eq!(v["first_broken"]["seq"], seq);
    assert_eq!(v["first_broken"]["reason"], "missing");
}

#[tokio::test]
async fn events_are_kept_two_years_then_expire_from_the_start_of_the_chain() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin@example.jp", "管理 太郎").await;
    let before = search(&admin, "").await;
    assert!(!before.is_empty());
    app.clock.advance(time::Duration::days(365));
    app.log_in("admin@example.jp").await;
    app.clock.advance(time::Duration::days(367));
    // The daily housekeeping removes what is over two years old.
    app.fire_scheduled().await;
    let admin_now = app.log_in("admin@example.jp").await;
    let after = search(&admin_now, "").await;
    let ids: Vec<&Value> = after.iter().map(|e| &e["id"]).collect();
    for old in &before {
        assert!(!ids.contains(&&old["id"]), "{old} was kept");
    }
    // The login a year later is kept, and the chain still verifies from its new start.
    assert!(actions(&after).contains(&"account.logged_in"));
    assert!(after.len() >= 2, "{after:?}");
    let v = verification(&admin_now).await;
    assert_eq!(v["intact"], true, "{v}");
}

/// CSV text as rows of cells.
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}
