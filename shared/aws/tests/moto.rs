//! The port contract suite against the AWS adapters on moto's server, which `tests/run`
//! starts on loopback and names in `KEIYAKU_MOTO_URL` (the suite fails without it: it is
//! never skipped). Each run uses tables of its own.

use std::sync::Arc;

use keiyaku_aws::blobs::create_bucket;
use keiyaku_aws::keys::create_keys;
use keiyaku_aws::{
    Connection, DynamoItemStore, KmsKeys, S3BlobStore, items::create_table, sdk_config,
};
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
async fn s3_blob_store_keeps_the_contract() {
    let config = connection().await;
    // moto serves buckets by path, not by virtual host.
    let s3 = aws_sdk_s3::config::Builder::from(&config)
        .force_path_style(true)
        .build();
    let client = aws_sdk_s3::Client::from_conf(s3);
    let bucket = unique("blobs");
    create_bucket(&client, &bucket, "ap-northeast-1")
        .await
        .unwrap();
    keiyaku_contract::blob_store(Arc::new(S3BlobStore::new(client, bucket))).await;
}

#[tokio::test]
async fn kms_keys_keep_the_contract() {
    let client = aws_sdk_kms::Client::new(&connection().await);
    let (data_key, mac_key) = create_keys(&client).await.unwrap();
    keiyaku_contract::keys(Arc::new(KmsKeys::new(client, data_key, mac_key))).await;
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

/// Bodies larger than a part go up as a multipart upload: completed only when the body
/// ended well (a failing body leaves nothing), and create-only there too.
#[tokio::test]
async fn s3_puts_large_bodies_in_parts_whole_or_not_at_all() {
    use futures::StreamExt;
    use keiyaku_core::ports::{BlobError, BlobStore, PutMode};
    let config = connection().await;
    let s3 = aws_sdk_s3::config::Builder::from(&config)
        .force_path_style(true)
        .build();
    let client = aws_sdk_s3::Client::from_conf(s3);
    let bucket = unique("parts");
    create_bucket(&client, &bucket, "ap-northeast-1")
        .await
        .unwrap();
    let store = S3BlobStore::new(client, bucket);
    let data: Vec<u8> = (0..(17u32 << 20)).map(|i| (i % 253) as u8).collect();
    let body = |data: Vec<u8>| {
        futures::stream::iter(
            data.chunks(1 << 20)
                .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
                .collect::<Vec<_>>(),
        )
        .boxed()
    };
    let stored = store
        .put("large/one", body(data.clone()), PutMode::CreateOnly)
        .await
        .unwrap();
    assert_eq!(stored, data.len() as u64);
    let mut read = Vec::new();
    let mut stream = store.get("large/one").await.unwrap();
    while let Some(chunk) = stream.next().await {
        read.extend_from_slice(&chunk.unwrap());
    }
    assert!(read == data, "read back as written");
    assert!(matches!(
        store
            .put("large/one", body(data.clone()), PutMode::CreateOnly)
            .await,
        Err(BlobError::AlreadyExists)
    ));
    let head: Vec<_> = data
        .chunks(1 << 20)
        .take(12)
        .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
        .chain([Err(std::io::Error::other("client went away"))])
        .collect();
    let failing = futures::stream::iter(head).boxed();
    assert!(
        store
            .put("large/two", failing, PutMode::Overwrite)
            .await
            .is_err()
    );
    assert!(matches!(
        store.get("large/two").await.map(|_| ()),
        Err(BlobError::NotFound)
    ));
}
