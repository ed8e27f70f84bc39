//! The service with its storage on AWS's services (moto's server, which `tests/run` starts
//! on loopback and names in `KEIYAKU_MOTO_URL`): items — accounts, documents, the
//! workflow's executions and timers — in DynamoDB, files in S3, data keys from KMS, and
//! uploads posted by the client straight to a staging bucket with a presigned POST. A
//! contract goes its whole way there as it does on the data dir.

use std::sync::Arc;

use keiyaku_server::Seams;
use keiyaku_tests::moto::{Moto, object, objects};
use keiyaku_tests::{Client, TestApp};
use serde_json::{Value, json};

#[tokio::test]
async fn a_contract_completes_with_its_storage_on_dynamodb_s3_and_kms() {
    let moto = Moto::new().await;
    let (s3, documents, staging) = (&moto.s3, &moto.documents, &moto.staging);
    let app = TestApp::spawn_with_seams(Seams {
        storage: Some(moto.storage()),
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
        objects(s3, staging).await.is_empty(),
        "the staged upload is removed once it is encrypted into the documents bucket"
    );
    let stored = objects(s3, documents).await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    let blob = object(s3, documents, &stored[0]).await;
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

/// A function composed from its environment as the template sets it, on moto: the sealing
/// key in KMS with its chain read from S3 (certified from a request the KMS key signed, by
/// the CA of a running keiyaku whose TSA stamps the seals), seals a file to long-term form
/// that verifies against the roots the composition trusts; the function answers its route;
/// a function holds only its own ports (one that reads metadata cannot sign or decrypt);
/// and a missing or broken setting stops it at start, naming the variable.
#[tokio::test]
async fn a_function_composed_from_its_environment_seals_to_long_term_form() {
    use keiyaku_core::services::needs::{LinkMacs, SealingPorts, Settings, Time};
    use std::collections::HashMap;
    let authority = TestApp::spawn_with_public_tsa().await;
    let moto = Moto::new().await;
    let sealing_key = moto.certified_sealing_key(&authority).await;
    let Moto {
        url,
        config,
        table,
        documents,
        staging,
        data_key,
        mac_key,
        ..
    } = moto;

    let mut vars: HashMap<&'static str, String> = HashMap::from([
        (
            "KEIYAKU_PUBLIC_URL",
            "https://keiyaku.example.jp".to_owned(),
        ),
        ("KEIYAKU_TABLE", table),
        ("KEIYAKU_DOCUMENTS_BUCKET", documents),
        ("KEIYAKU_STAGING_BUCKET", staging.clone()),
        ("KEIYAKU_STAGING_URL", format!("{url}/{staging}")),
        ("KEIYAKU_S3_FORCE_PATH_STYLE", "true".to_owned()),
        ("KEIYAKU_DATA_KEY", data_key),
        ("KEIYAKU_MAC_KEY", mac_key),
        ("KEIYAKU_SEALING_KEY", sealing_key),
        ("KEIYAKU_TSA_URL", format!("{}/api/v1/tsa", authority.url)),
        (
            "KEIYAKU_STATE_MACHINE_ARN",
            "arn:aws:states:ap-northeast-1:123456789012:stateMachine:keiyaku-contract".to_owned(),
        ),
        ("KEIYAKU_SCHEDULE_GROUP", "keiyaku".to_owned()),
        (
            "KEIYAKU_SCHEDULER_TARGET_ARN",
            "arn:aws:lambda:ap-northeast-1:123456789012:function:keiyaku-tasks".to_owned(),
        ),
        (
            "KEIYAKU_SCHEDULER_ROLE_ARN",
            "arn:aws:iam::123456789012:role/keiyaku-scheduler".to_owned(),
        ),
    ]);
    let compose = |vars: HashMap<&'static str, String>, function: &str| {
        let config = config.clone();
        let ports = keiyaku_lambda::compose::ports_of(function);
        async move {
            let env = keiyaku_lambda::env::Env::new(move |name: &str| vars.get(name).cloned());
            keiyaku_lambda::compose::services(&env, &config, ports?).await
        }
    };
    assert!(keiyaku_lambda::compose::ports_of("no_such_function").is_err());
    let mut without_table = vars.clone();
    without_table.remove("KEIYAKU_TABLE");
    let e = compose(without_table, "task:seal").await.err().unwrap();
    assert!(e.to_string().starts_with("KEIYAKU_TABLE is not set"), "{e}");
    let mut wrong_key = vars.clone();
    wrong_key.insert("KEIYAKU_SEALING_KEY", vars["KEIYAKU_DATA_KEY"].clone());
    let e = compose(wrong_key.clone(), "task:seal").await.err().unwrap();
    assert!(e.to_string().starts_with("KEIYAKU_SEALING_KEY="), "{e}");
    // A function that reads metadata holds neither the sealing key nor the data keys, so it
    // neither needs nor checks their settings.
    let mut reader_vars = wrong_key;
    reader_vars.remove("KEIYAKU_DATA_KEY");
    let reader = compose(reader_vars, "get_document").await.unwrap();
    let refused = reader.sealing_key().sign(b"x").await.unwrap_err();
    assert!(
        refused.to_string().contains("holds no SealingPorts"),
        "{refused}"
    );
    assert!(reader.link_macs().mac(b"x").await.is_err());
    vars.insert(
        "KEIYAKU_PUBLIC_URL",
        "https://keiyaku.example.jp/".to_owned(),
    );
    let services = Arc::new(compose(vars, "task:seal").await.unwrap());

    let anchors = services.config().trust_anchors.clone();
    let sealing = keiyaku_core::sealing::Sealing {
        key: services.sealing_key(),
        tsa: services.tsa(),
        revocation: services.revocation(),
        anchors: &anchors,
        clock: services.clock().clone(),
    };
    keiyaku_tests::seal_to_long_term_form(&sealing, &keiyaku_pdf::sample::pdf_with_pages(1)).await;

    let event = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/lambda/tests/fixtures/get-openapi.json"
    ))
    .unwrap();
    let response = tower::ServiceExt::oneshot(
        keiyaku_lambda::http::route_service(
            services,
            "openapi",
            keiyaku_api::route_handler!(openapi),
        )
        .unwrap(),
        lambda_http::request::from_str(&event).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    authority.stop().await;
}
