//! The port contract suite against the AWS adapters on moto's server, which `tests/run`
//! starts on loopback and names in `KEIYAKU_MOTO_URL` (the suite fails without it: it is
//! never skipped). Each run uses tables of its own.

use std::sync::Arc;

use keiyaku_aws::{Connection, DynamoItemStore, items::create_table, sdk_config};
use keiyaku_core::clock::{Clock, ManualClock};

async fn connection() -> aws_config::SdkConfig {
    let url = std::env::var("KEIYAKU_MOTO_URL")
        .expect("KEIYAKU_MOTO_URL names a running moto_server (tests/run starts one on loopback)");
    sdk_config(&Connection {
        endpoint: Some(url),
        region: Some("ap-northeast-1".into()),
        credentials: Some(("testing".into(), "testing".into())),
    })
    .await
}

/// A table name no other run uses.
fn unique(what: &str) -> String {
    format!(
        "keiyaku-{what}-{}-{}",
        std::process::id(),
        time::OffsetDateTime::now_utc().unix_timestamp_nanos()
    )
}

#[tokio::test]
async fn dynamodb_item_store_keeps_the_contract() {
    let config = connection().await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = unique("items");
    create_table(&client, &table).await.unwrap();
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let store = DynamoItemStore::new(client, table, clock.clone() as Arc<dyn Clock>);
    keiyaku_contract::item_store(Arc::new(store), &clock).await;
}
