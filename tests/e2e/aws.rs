//! The service with its storage on AWS's services (moto's server, which `tests/run` starts
//! on loopback and names in `KEIYAKU_MOTO_URL`): items — accounts, documents, the
//! workflow's executions and timers — in DynamoDB, files in S3, data keys from KMS, and
//! uploads posted by the client straight to a staging bucket with a presigned POST. A
//! contract goes its whole way there as it does on the data dir.

use std::sync::Arc;

use keiyaku_aws::blobs::create_bucket;
use keiyaku_aws::items::create_table;
use keiyaku_aws::keys::create_keys;
use keiyaku_aws::{Connection, DynamoItemStore, KmsKeys, S3BlobStore, S3Staging, sdk_config};
use keiyaku_server::{Seams, Storage};
use keiyaku_tests::{Client, TestApp};
use serde_json::{Value, json};

/// A name no other run uses.
fn unique(what: &str) -> String {
    format!(
        "keiyaku-e2e-{what}-{}-{}",
        std::process::id(),
        time::OffsetDateTime::now_utc().unix_timestamp_nanos() % 1_000_000_000_000
    )
}

/// Fresh resources on moto, and the adapters over them; also the S3 client, to look.
async fn storage_on_moto() -> (Storage, aws_sdk_s3::Client, String, String) {
    let url = std::env::var("KEIYAKU_MOTO_URL")
        .expect("KEIYAKU_MOTO_URL names a running moto_server (tests/run starts one on loopback)");
    let config = sdk_config(&Connection {
        endpoint: Some(url.clone()),
        region: Some("ap-northeast-1".into()),
        credentials: Some(("testing".into(), "testing".into())),
    })
    .await;
    let dynamo = aws_sdk_dynamodb::Client::new(&config);
    let table = unique("items");
    create_table(&dynamo, &table).await.unwrap();
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );
    let (documents, staging) = (unique("documents"), unique("staging"));
    for bucket in [&documents, &staging] {
        create_bucket(&s3, bucket, "ap-northeast-1").await.unwrap();
    }
    let kms = aws_sdk_kms::Client::new(&config);
    let (data_key, mac_key) = create_keys(&kms).await.unwrap();
    let clock: Arc<dyn keiyaku_core::clock::Clock> = Arc::new(keiyaku_core::clock::SystemClock);
    let storage = Storage {
        items: Arc::new(DynamoItemStore::new(dynamo, table, clock)),
        blobs: Arc::new(S3BlobStore::new(s3.clone(), documents.clone())),
        keys: Arc::new(KmsKeys::new(kms, data_key, mac_key)),
        staging: Arc::new(
            S3Staging::new(
                &config,
                s3.clone(),
                staging.clone(),
                format!("{url}/{staging}"),
            )
            .unwrap(),
        ),
    };
    (storage, s3, documents, staging)
}

/// The keys of every object in `bucket`.
async fn objects(s3: &aws_sdk_s3::Client, bucket: &str) -> Vec<String> {
    s3.list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .unwrap()
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn a_contract_completes_with_its_storage_on_dynamodb_s3_and_kms() {
    let (storage, s3, documents, staging) = storage_on_moto().await;
    let app = TestApp::spawn_with_seams(Seams {
        storage: Some(storage),
        ..Seams::default()
    })
    .await;
    let sender = app.user("taro@example.jp", "山田 太郎").await;
    let pdf = keiyaku_pdf::sample::pdf_with_pages(2);
    let created = sender
        .upload("業務委託契約書.pdf", pdf.clone(), "業務委託契約書")
        .await;
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());
    let created: Value = created.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(
        objects(&s3, &staging).await.is_empty(),
        "the staged upload is removed once it is encrypted into the documents bucket"
    );
    let stored = objects(&s3, &documents).await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    let blob = s3
        .get_object()
        .bucket(&documents)
        .key(&stored[0])
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    assert!(
        !blob.windows(5).any(|w| w == b"%PDF-"),
        "the documents bucket holds the file encrypted"
    );

    let r = sender
        .post_json(
            &format!("/api/v1/documents/{id}/send"),
            json!({ "recipients": [{ "name": "山田 花子", "email": "hanako@example.jp" }] }),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    app.settle().await;
    let token = app.last_mail_to("hanako@example.jp").link_token("/r/#");
    let (status, view, recipient) = Client::open_link(&app.url, &token, None).await;
    assert_eq!(status, 200, "{view}");
    let r = recipient
        .unwrap()
        .post_json("/api/v1/r/agree", json!({}))
        .await;
    assert_eq!(r.status(), 200);
    app.settle().await;

    let doc: Value = sender
        .get(&format!("/api/v1/documents/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(doc["status"], "completed", "{doc}");
    let file = sender
        .get(&format!("/api/v1/documents/{id}/file"))
        .await
        .bytes()
        .await
        .unwrap();
    let root = app
        .anonymous()
        .get("/api/v1/ca/root.pem")
        .await
        .bytes()
        .await
        .unwrap();
    let anchors = keiyaku_pdf::verify::load_anchors(&root).unwrap();
    let report =
        keiyaku_pdf::verify::verify(&file, &anchors, time::OffsetDateTime::now_utc()).unwrap();
    assert_eq!(
        report.status,
        keiyaku_pdf::verify::Status::Valid,
        "{report:?}"
    );
    // Sent, agreed, and extended: two seals and the document timestamp of long-term form.
    assert_eq!(report.level, Some(keiyaku_pdf::verify::Level::BLTA));
    assert_eq!(report.signatures.len(), 3, "{report:?}");
    app.stop().await;
}
