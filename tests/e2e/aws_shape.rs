//! The AWS shape's whole life cycle on this machine. The contract suite proves each adapter;
//! this proves the assembly: the function binaries run as Lambda runs them (each behind a
//! Runtime API of its own), API Gateway's stand-in turns HTTP requests into REST proxy
//! events for their route's function, the adapters talk to moto (DynamoDB, S3, KMS, SES,
//! EventBridge Scheduler), and Step Functions is played by `keiyaku_server::step_functions`
//! — keiyaku's executor behind the Step Functions API — which invokes the task functions
//! through the Lambda Invoke API. A contract goes from sign-up to a B-LTA file with nothing
//! of the local shape in between.

use std::collections::HashMap;
use std::time::Duration;

use keiyaku_core::ports::Workflow;
use keiyaku_tests::lambda::{ApiGateway, LambdaFunction, LambdaService};
use keiyaku_tests::{Client, Mail, PASSWORD, TestApp, parse_mail};
use serde_json::{Value, json};

use crate::aws::Moto;

/// The routes this life cycle takes.
const ROUTES: [&str; 14] = [
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
    "list_documents",
];

const MACHINE_ARN: &str = "arn:aws:states:ap-northeast-1:123456789012:stateMachine:contract";

/// Every message SES took from `domain`'s sender, read back from moto's
/// `GET /moto-api/data.json`.
async fn ses_mails(moto_url: &str, domain: &str) -> Vec<Mail> {
    let http = reqwest::Client::new();
    // moto's data.json reads every S3 object's restore status, which fails for another
    // test's multipart upload part: held at its first status, it is only read.
    let held = http
        .post(format!("{moto_url}/moto-api/state-manager/set-transition"))
        .json(&json!({
            "model_name": "s3::keyrestore",
            "transition": { "progression": "manual", "times": 1_000_000_000 }
        }))
        .send()
        .await
        .unwrap();
    assert!(held.status().is_success());
    let from = format!("@{domain}>");
    for _ in 0..150 {
        let answer = http
            .get(format!("{moto_url}/moto-api/data.json"))
            .send()
            .await
            .unwrap();
        // It also fails while another test's multipart upload changes what it reads.
        if answer.status().is_success() {
            let data: Value = answer.json().await.unwrap();
            return data["ses"]["RawMessage"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|m| m["raw_data"].as_str())
                .filter(|raw| raw.contains(&from))
                .map(|raw| parse_mail(raw.as_bytes()))
                .collect();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("moto's data.json kept failing");
}

/// Waits (at most two minutes) until `check` finds what it looks for.
async fn eventually<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "waited two minutes for {what}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The newest mail to `to` whose text holds `marker`, once SES has it.
async fn mail_to(moto_url: &str, domain: &str, to: &str, marker: &str) -> Mail {
    eventually(&format!("a mail to {to} with {marker}"), async || {
        ses_mails(moto_url, domain)
            .await
            .into_iter()
            .rev()
            .find(|m| m.to == to && m.text.contains(marker))
    })
    .await
}

/// Signs up through the gateway, confirms the address from the mail SES took, logs in.
async fn account(gateway: &str, moto_url: &str, domain: &str, email: &str, name: &str) -> Client {
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{gateway}/api/v1/auth/signup"))
        .json(&json!({ "email": email, "name": name, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        202,
        "sign-up of {email}: {}",
        r.text().await.unwrap()
    );
    let token = mail_to(moto_url, domain, email, "/verify-email#")
        .await
        .link_token("/verify-email#");
    let r = http
        .post(format!("{gateway}/api/v1/auth/verify-email"))
        .json(&json!({ "token": token }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "verification of {email}");
    let r = http
        .post(format!("{gateway}/api/v1/auth/login"))
        .json(&json!({ "email": email, "password": PASSWORD, "mode": "token" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "login of {email}");
    let body: Value = r.json().await.unwrap();
    Client::with_token(gateway, body["token"].as_str().unwrap())
}

async fn status_of(sender: &Client, id: &str) -> Value {
    sender
        .get(&format!("/api/v1/documents/{id}"))
        .await
        .json::<Value>()
        .await
        .unwrap()["status"]
        .clone()
}

/// Opens the recipient's mailed link (with `code`) through the gateway and agrees.
async fn agree(gateway: &str, mail: &Mail, code: Option<&str>) {
    let (status, view, recipient) =
        Client::open_link(gateway, &mail.link_token("/r/#"), code).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["can_answer"], true, "{view}");
    let recipient = recipient.unwrap();
    let file = recipient.get("/api/v1/r/file").await;
    assert_eq!(file.status(), 200);
    assert!(file.bytes().await.unwrap().starts_with(b"%PDF-"));
    let r = recipient.post_json("/api/v1/r/agree", json!({})).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

#[tokio::test]
async fn a_contract_runs_its_whole_life_on_the_function_binaries_behind_the_aws_stand_ins() {
    let authority = TestApp::spawn_with_public_tsa().await;
    let moto = Moto::new().await;
    let sealing_key = moto.certified_sealing_key(&authority).await;
    // The TSA and the CA (in the test server) tell the real time, as the seals' own clocks do.
    let clock = authority.clock.clone();
    let ticking = tokio::spawn(async move {
        loop {
            crate::aws::keep_real_time(&clock);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let domain = format!("{}.example.jp", moto.table);
    let config = moto.config.clone();
    aws_sdk_sesv2::Client::new(&config)
        .create_email_identity()
        .email_identity(&domain)
        .send()
        .await
        .unwrap();
    let schedule_group = format!("{}-jobs", moto.table);
    aws_sdk_scheduler::Client::new(&config)
        .create_schedule_group()
        .name(&schedule_group)
        .send()
        .await
        .unwrap();

    // Step Functions: the stand-in, its tasks invoking the task functions by handler name.
    let lambda = LambdaService::start().await;
    let work = tempfile::tempdir().unwrap();
    let step_functions = keiyaku_server::step_functions::start(
        "127.0.0.1:0".parse().unwrap(),
        work.path(),
        &lambda.url,
        None,
    )
    .await
    .unwrap();

    let env: Vec<(&str, String)> = vec![
        ("KEIYAKU_PUBLIC_URL", "https://keiyaku.example.jp".into()),
        ("KEIYAKU_MAIL_FROM", format!("keiyaku <no-reply@{domain}>")),
        ("KEIYAKU_TABLE", moto.table.clone()),
        ("KEIYAKU_DOCUMENTS_BUCKET", moto.documents.clone()),
        ("KEIYAKU_STAGING_BUCKET", moto.staging.clone()),
        (
            "KEIYAKU_STAGING_URL",
            format!("{}/{}", moto.url, moto.staging),
        ),
        ("KEIYAKU_S3_FORCE_PATH_STYLE", "true".into()),
        ("KEIYAKU_DATA_KEY", moto.data_key.clone()),
        ("KEIYAKU_MAC_KEY", moto.mac_key.clone()),
        ("KEIYAKU_SEALING_KEY", sealing_key),
        ("KEIYAKU_TSA_URL", format!("{}/api/v1/tsa", authority.url)),
        ("KEIYAKU_STATE_MACHINE_ARN", MACHINE_ARN.into()),
        ("KEIYAKU_SCHEDULE_GROUP", schedule_group),
        (
            "KEIYAKU_SCHEDULER_TARGET_ARN",
            "arn:aws:lambda:ap-northeast-1:123456789012:function:keiyaku-jobs".into(),
        ),
        (
            "KEIYAKU_SCHEDULER_ROLE_ARN",
            "arn:aws:iam::123456789012:role/keiyaku-scheduler".into(),
        ),
        ("AWS_ENDPOINT_URL", moto.url.clone()),
        ("AWS_ENDPOINT_URL_SFN", step_functions.url.clone()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
    ];
    let handlers = keiyaku_workflow::substitutions().unwrap();
    for arn in handlers.values() {
        let handler = keiyaku_workflow::handler_name(arn);
        let binary = format!("task-{}", handler.replace('_', "-"));
        lambda.add(handler, LambdaFunction::start(&binary, &env).await);
    }
    let mut routes = HashMap::new();
    for route in ROUTES {
        routes.insert(
            route,
            LambdaFunction::start(&route.replace('_', "-"), &env).await,
        );
    }
    let gateway = ApiGateway::start(routes).await;
    let (url, moto_url) = (gateway.url.as_str(), moto.url.as_str());

    let sender = account(url, moto_url, &domain, "taro@example.jp", "山田 太郎").await;
    let boss = account(url, moto_url, &domain, "boss@example.jp", "承認 一郎").await;

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
    mail_to(
        moto_url,
        &domain,
        "boss@example.jp",
        &format!("/documents/{id}"),
    )
    .await;
    assert_eq!(status_of(&sender, &id).await, "awaiting_approval");
    let r = boss
        .post_json(&format!("/api/v1/documents/{id}/approve"), json!({}))
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());

    // Sealed when sent (the seal task: KMS signs, the TSA stamps), then each recipient in
    // order, through the link SES took.
    let hanako = mail_to(moto_url, &domain, "hanako@example.jp", "/r/#").await;
    agree(url, &hanako, None).await;
    let jiro = mail_to(moto_url, &domain, "jiro@example.jp", "/r/#").await;
    agree(url, &jiro, Some("1234")).await;

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
    let stored = crate::aws::objects(&moto.s3, &moto.documents).await;
    assert!(stored.iter().any(|k| k.contains(&id)), "{stored:?}");
    for key in stored.iter().filter(|k| k.contains(&id)) {
        let blob = moto
            .s3
            .get_object()
            .bucket(&moto.documents)
            .key(key)
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
            "{key} in the clear"
        );
    }
    let pdf = sender
        .get(&format!("/api/v1/documents/{id}/file"))
        .await
        .bytes()
        .await
        .unwrap();
    let root = std::fs::read(authority.data_dir().join("pki/root.pem")).unwrap();
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
    let mails = ses_mails(moto_url, &domain).await;
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
            aws_sdk_sfn::config::Builder::from(&config)
                .endpoint_url(&step_functions.url)
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

    step_functions.stop().await;
    ticking.abort();
    authority.stop().await;
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
