//! The AWS shape's whole life cycle on this machine. The contract suite proves each adapter;
//! this proves the assembly: the function binaries run as Lambda runs them (each behind a
//! Runtime API of its own), API Gateway's stand-in turns HTTP requests into REST proxy
//! events for their route's function, the adapters talk to moto (DynamoDB, S3, KMS, SES,
//! EventBridge Scheduler), and Step Functions is played by `keiyaku_server::step_functions`
//! — keiyaku's executor behind the Step Functions API — which invokes the task functions
//! through the Lambda Invoke API. A contract goes from sign-up to a B-LTA file with nothing
//! of the local shape in between.

use keiyaku_core::ports::Workflow;
use keiyaku_tests::aws_shape::{AwsShape, MACHINE_ARN, eventually, status_of};
use serde_json::{Value, json};

/// The routes this life cycle takes.
const ROUTES: [&str; 13] = [
    "signup",
    "verify_email",
    "login",
    "create_upload",
    "create_document",
    "send_document",
    "get_document",
    "approve_document",
    "get_document_file",
    "recipient_session",
    "recipient_document",
    "recipient_file",
    "recipient_agree",
];

#[tokio::test]
async fn a_contract_runs_its_whole_life_on_the_function_binaries_behind_the_aws_stand_ins() {
    let shape = AwsShape::start(&ROUTES).await;
    let moto = &shape.moto;
    let sender = shape.account("taro@example.jp", "山田 太郎").await;
    let boss = shape.account("boss@example.jp", "承認 一郎").await;

    // Uploaded through the presigned POST to moto's staging bucket.
    let created = sender
        .upload(
            "業務委託契約書.pdf",
            keiyaku_pdf::sample::pdf_with_pages(2),
            "業務委託契約書",
        )
        .await;
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());
    let created: Value = created.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let r = sender
        .post_json(
            &format!("/api/v1/documents/{id}/send"),
            json!({
                "recipients": [
                    { "name": "山田 花子", "email": "hanako@example.jp" },
                    { "name": "佐藤 次郎", "email": "jiro@example.jp", "access_code": "1234" },
                ],
                "approvers": ["boss@example.jp"],
                "message": "ご確認ください",
            }),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());

    // The approver is asked by mail (the record_wait task function, through SES).
    shape
        .mail_to("boss@example.jp", &format!("/documents/{id}"))
        .await;
    assert_eq!(status_of(&sender, &id).await, "awaiting_approval");
    let r = boss
        .post_json(&format!("/api/v1/documents/{id}/approve"), json!({}))
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());

    // Sealed when sent (the seal task: KMS signs, the TSA stamps), then each recipient in
    // order, through the link SES took.
    let hanako = shape.mail_to("hanako@example.jp", "/r/#").await;
    shape.agree(&hanako, None).await;
    let jiro = shape.mail_to("jiro@example.jp", "/r/#").await;
    shape.agree(&jiro, Some("1234")).await;

    eventually("the document to complete", async || {
        (status_of(&sender, &id).await == "completed").then_some(())
    })
    .await;
    let doc: Value = sender
        .get(&format!("/api/v1/documents/{id}"))
        .await
        .json()
        .await
        .unwrap();
    let steps: Vec<&str> = doc["seals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        ["1:send", "1:agreement:r1", "1:agreement:r2", "long_term"]
    );

    // The file in moto's S3 is encrypted; through its route it is B-LTA, valid.
    let stored = keiyaku_tests::moto::objects(&moto.s3, &moto.documents).await;
    assert!(stored.iter().any(|k| k.contains(&id)), "{stored:?}");
    for key in stored.iter().filter(|k| k.contains(&id)) {
        let blob = keiyaku_tests::moto::object(&moto.s3, &moto.documents, key).await;
        assert!(
            !blob.windows(5).any(|w| w == b"%PDF-"),
            "{key} in the clear"
        );
    }
    let pdf = sender
        .get(&format!("/api/v1/documents/{id}/file"))
        .await
        .bytes()
        .await
        .unwrap();
    let root = std::fs::read(shape.authority.data_dir().join("pki/root.pem")).unwrap();
    let anchors = keiyaku_pdf::verify::load_anchors(&root).unwrap();
    let report =
        keiyaku_pdf::verify::verify(&pdf, &anchors, time::OffsetDateTime::now_utc()).unwrap();
    assert_eq!(
        report.status,
        keiyaku_pdf::verify::Status::Valid,
        "{report:?}"
    );
    assert_eq!(report.level, Some(keiyaku_pdf::verify::Level::BLTA));
    assert_eq!(
        report.signatures.len(),
        4,
        "three seals and the document timestamp"
    );
    if let Ok(judges) = std::env::var("KEIYAKU_JUDGE_DIR") {
        // tests/run hands this file and its root to pyHanko, pdfsig and `keiyaku verify`.
        let judges = std::path::Path::new(&judges);
        std::fs::create_dir_all(judges).unwrap();
        std::fs::write(judges.join("aws-lifecycle.pdf"), &pdf).unwrap();
        std::fs::write(judges.join("aws-lifecycle-root.pem"), &root).unwrap();
    }

    // Each party got the completed file once, and no message went out twice.
    let mails = shape.mails().await;
    let mut ids: Vec<&str> = mails.iter().map(|m| m.message_id.as_str()).collect();
    ids.sort_unstable();
    let count = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), count, "a message went out twice");
    for party in [
        "taro@example.jp",
        "boss@example.jp",
        "hanako@example.jp",
        "jiro@example.jp",
    ] {
        let with_file: Vec<_> = mails
            .iter()
            .filter(|m| m.to == party && !m.attachments.is_empty())
            .collect();
        assert_eq!(with_file.len(), 1, "{party} got the completed file once");
        assert_eq!(with_file[0].attachments[0].1, pdf.to_vec(), "{party}");
    }

    // What the ops team sees in the console: the execution, read through the Step
    // Functions API by the AWS shape's own adapter.
    let workflow = keiyaku_aws::StepFunctionsWorkflow::new(
        aws_sdk_sfn::Client::from_conf(
            aws_sdk_sfn::config::Builder::from(&moto.config)
                .endpoint_url(&shape.step_functions.url)
                .build(),
        ),
        MACHINE_ARN.into(),
    );
    let listed = workflow.list(Some("SUCCEEDED"), None, 10).await.unwrap();
    let execution = listed
        .executions
        .iter()
        .find(|e| e.name.starts_with(&format!("doc-{id}-")))
        .unwrap_or_else(|| panic!("{listed:?}"));
    let detail = workflow.describe(&execution.id).await.unwrap();
    assert_eq!(detail.summary.status, "SUCCEEDED");
    let entered: Vec<&str> = detail
        .events
        .iter()
        .filter(|e| e["type"] == "TaskStateEntered")
        .filter_map(|e| e["stateEnteredEventDetails"]["name"].as_str())
        .collect();
    assert_eq!(
        entered,
        [
            "NextApproval",
            "WaitForApproval",
            "NextApproval",
            "Seal",
            "NextAgreement",
            "WaitForAgreement",
            "Seal",
            "NextAgreement",
            "WaitForAgreement",
            "Seal",
            "NextAgreement",
            "ExtendLta",
            "Complete",
        ]
    );
    assert!(matches!(
        workflow.describe("doc-none-1").await,
        Err(keiyaku_core::ports::WorkflowError::NotFound)
    ));

    shape.stop().await;
}

/// The Step Functions stand-in keeps the Workflow contract behind the AWS shape's adapter
/// (the SDK speaking to it as to Step Functions), as the local executor and moto's do.
#[tokio::test]
async fn the_step_functions_stand_in_keeps_the_workflow_contract_through_the_aws_adapter() {
    let dir = tempfile::tempdir().unwrap();
    let clock: std::sync::Arc<dyn keiyaku_core::clock::Clock> =
        std::sync::Arc::new(keiyaku_core::clock::SystemClock);
    let store =
        keiyaku_local::SqliteItemStore::open(&dir.path().join("sfn.db"), clock.clone()).unwrap();
    let handlers = std::sync::Arc::new(keiyaku_contract::WorkflowHarness::default());
    let runner = keiyaku_workflow::Runner::new(
        std::sync::Arc::new(store),
        clock,
        handlers.clone(),
        vec![keiyaku_workflow::contract_machine(None).unwrap()],
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        axum::serve(listener, keiyaku_server::step_functions::router(runner)).await
    });
    let config = keiyaku_aws::sdk_config(&keiyaku_aws::Connection {
        endpoint: Some(url.clone()),
        region: Some("ap-northeast-1".into()),
        credentials: Some(("testing".into(), "testing".into())),
    })
    .await;
    let client = aws_sdk_sfn::Client::new(&config);
    let workflow = keiyaku_aws::StepFunctionsWorkflow::new(client.clone(), MACHINE_ARN.into());
    keiyaku_contract::workflow(std::sync::Arc::new(workflow), &*handlers).await;

    // What the adapter does not ask, answered as Step Functions answers it.
    let e = client
        .describe_execution()
        .execution_arn("arn:aws:states:ap-northeast-1:123456789012:stateMachine:contract")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_sfn::error::ProvideErrorMetadata::code(&e),
        Some("InvalidArn")
    );
    let e = client
        .start_execution()
        .state_machine_arn("arn:aws:states:ap-northeast-1:123456789012:stateMachine:other")
        .name("doc-x-1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_sfn::error::ProvideErrorMetadata::code(&e),
        Some("StateMachineDoesNotExist")
    );
    let r = reqwest::Client::new()
        .post(&url)
        .header("x-amz-target", "AWSStepFunctions.CreateStateMachine")
        .header("content-type", "application/x-amz-json-1.0")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["__type"], "UnknownOperationException", "{body}");
    server.abort();
}
