//! The port contract suite against the local adapters.

use std::sync::Arc;

use crate::{FolderBlobStore, KeyFile, SqliteItemStore};
use keiyaku_core::clock::ManualClock;

#[tokio::test]
async fn sqlite_item_store_keeps_the_contract() {
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteItemStore::open(&dir.path().join("items.db"), clock.clone()).unwrap();
    keiyaku_contract::item_store(Arc::new(store), &clock).await;
}

#[tokio::test]
async fn folder_blob_store_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    keiyaku_contract::blob_store(Arc::new(FolderBlobStore::open(&root).unwrap())).await;
    let leftovers = std::fs::read_dir(root.join("tmp")).unwrap().count();
    assert_eq!(leftovers, 0, "no temporary files are left behind");
    // Nothing was written beside the store by a hostile key.
    let beside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(beside, ["store"]);
}

#[tokio::test]
async fn the_local_pki_seals_as_the_contract_says() {
    let dir = tempfile::tempdir().unwrap();
    let pki = crate::pki::LocalPki::open_or_create(dir.path(), "http://127.0.0.1:8080").unwrap();
    keiyaku_contract::sealing_key(Arc::new(pki)).await;
}

/// What the maildir holds: each file in `new/` is one message handed over.
struct MaildirProbe(std::path::PathBuf);

#[async_trait::async_trait]
impl keiyaku_contract::MailProbe for MaildirProbe {
    async fn delivered(&self, message_id: &str) -> Vec<Vec<u8>> {
        let header = format!("Message-ID: <{message_id}>");
        std::fs::read_dir(self.0.join("new"))
            .unwrap()
            .flatten()
            .map(|e| std::fs::read(e.path()).unwrap())
            .filter(|raw| String::from_utf8_lossy(raw).contains(&header))
            .collect()
    }
}

#[tokio::test]
async fn the_maildir_keeps_the_mailer_contract() {
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let dir = tempfile::tempdir().unwrap();
    let items = Arc::new(SqliteItemStore::in_memory(clock).unwrap());
    let maildir = crate::Maildir::open(dir.path()).unwrap();
    keiyaku_contract::mailer(
        Arc::new(maildir),
        items,
        &MaildirProbe(dir.path().to_owned()),
        "example.jp",
    )
    .await;
}

#[tokio::test]
async fn key_file_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.key");
    let keys = KeyFile::open_or_create(&path).unwrap();
    keiyaku_contract::keys(Arc::new(keys)).await;
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let reopened = KeyFile::open_or_create(&path).unwrap();
    let again = KeyFile::open_or_create(&path).unwrap();
    assert_eq!(
        reopened.key_id(),
        again.key_id(),
        "the key survives a restart"
    );
    std::fs::write(&path, b"short").unwrap();
    assert!(
        KeyFile::open_or_create(&path).is_err(),
        "a damaged key file is an error, not a new key"
    );
}

/// The timer table's own view of a job.
struct TimerProbe(Arc<SqliteItemStore>);

#[async_trait::async_trait]
impl keiyaku_contract::ScheduleProbe for TimerProbe {
    async fn scheduled(&self, name: &str) -> Option<(time::OffsetDateTime, serde_json::Value)> {
        use keiyaku_core::ports::ItemStore;
        let item = self
            .0
            .get(&crate::scheduler::job_key(name))
            .await
            .unwrap()?;
        let ms = item.body["due_ms"].as_i64().unwrap();
        let at =
            time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap();
        Some((at, item.body["job"].clone()))
    }
}

#[tokio::test]
async fn the_timer_table_keeps_the_scheduler_contract() {
    let now = time::OffsetDateTime::now_utc();
    let clock = Arc::new(ManualClock::new(now));
    let dir = tempfile::tempdir().unwrap();
    let store =
        Arc::new(SqliteItemStore::open(&dir.path().join("items.db"), clock.clone()).unwrap());
    let table = crate::scheduler::TimerTable::new(store.clone(), clock.clone());
    keiyaku_contract::scheduler(Arc::new(table), &TimerProbe(store), now).await;
}

#[tokio::test]
async fn the_executor_keeps_the_workflow_contract() {
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let dir = tempfile::tempdir().unwrap();
    let store =
        Arc::new(SqliteItemStore::open(&dir.path().join("items.db"), clock.clone()).unwrap());
    let handlers = Arc::new(keiyaku_contract::WorkflowHarness::default());
    let runner = keiyaku_workflow::Runner::new(
        store,
        clock,
        handlers.clone(),
        vec![keiyaku_workflow::contract_machine(None).unwrap()],
    );
    keiyaku_contract::workflow(Arc::new(runner), &*handlers).await;
}
