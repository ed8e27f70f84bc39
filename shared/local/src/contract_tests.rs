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
    keiyaku_contract::blob_store(Arc::new(FolderBlobStore::open(dir.path()).unwrap())).await;
    let leftovers = std::fs::read_dir(dir.path().join("tmp")).unwrap().count();
    assert_eq!(leftovers, 0, "no temporary files are left behind");
}

#[tokio::test]
async fn the_local_pki_seals_as_the_contract_says() {
    let dir = tempfile::tempdir().unwrap();
    let pki = crate::pki::LocalPki::open_or_create(dir.path(), "http://127.0.0.1:8080").unwrap();
    keiyaku_contract::sealing_key(Arc::new(pki)).await;
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
