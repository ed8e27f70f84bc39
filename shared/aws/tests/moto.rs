//! The port contract suite against the AWS adapters on moto's server, which `tests/run`
//! starts on loopback and names in `KEIYAKU_MOTO_URL` (the suite fails without it: it is
//! never skipped). Each run uses tables of its own.

use std::sync::Arc;

use keiyaku_aws::blobs::create_bucket;
use keiyaku_aws::keys::create_keys;
use keiyaku_aws::{
    Connection, DynamoItemStore, KmsKeys, KmsSealingKey, S3BlobStore, items::create_table,
    sdk_config,
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

/// An S3 client for moto, which serves buckets by path, not by virtual host.
fn s3_client(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .force_path_style(true)
            .build(),
    )
}

/// A bucket no other run uses, and a client for it.
async fn new_bucket(config: &aws_config::SdkConfig, what: &str) -> (aws_sdk_s3::Client, String) {
    let client = s3_client(config);
    let bucket = unique(what);
    create_bucket(&client, &bucket, "ap-northeast-1")
        .await
        .unwrap();
    (client, bucket)
}

/// The chain (PEM, leaf first) of a certificate for the KMS key `key_id`, made the way the
/// README tells an organisation's CA to: a request the key signs ([`sealing_csr`]),
/// verified and certified by `openssl x509 -req` with the sealing purposes, here by the
/// issuing CA of a local PKI made in `dir` (returned too: its root, its TSA).
async fn certify(
    kms: &aws_sdk_kms::Client,
    key_id: &str,
    dir: &std::path::Path,
) -> (keiyaku_local::pki::LocalPki, String) {
    use der::{EncodePem, pem::LineEnding};
    use keiyaku_aws::sealing::sealing_csr;
    let csr = sealing_csr(
        kms,
        key_id,
        "CN=keiyaku Document Sealing,O=Example K.K.,C=JP",
    )
    .await
    .unwrap();
    let pki =
        keiyaku_local::pki::LocalPki::open_or_create(&dir.join("pki"), "http://127.0.0.1:8080")
            .unwrap();
    let csr_pem = der::pem::encode_string("CERTIFICATE REQUEST", LineEnding::LF, &csr).unwrap();
    std::fs::write(dir.join("kms.csr"), csr_pem).unwrap();
    std::fs::write(
        dir.join("sealing.ext"),
        "keyUsage = critical, digitalSignature, nonRepudiation\n\
         extendedKeyUsage = 1.3.6.1.5.5.7.3.36, emailProtection, 1.2.840.113583.1.1.5\n\
         crlDistributionPoints = URI:http://127.0.0.1:8080/api/v1/ca/crl\n\
         subjectKeyIdentifier = hash\n\
         authorityKeyIdentifier = keyid\n",
    )
    .unwrap();
    let openssl = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    // openssl checks the request's signature (made by KMS) before it certifies it.
    openssl(&["req", "-in", "kms.csr", "-verify", "-noout"]);
    openssl(&[
        "x509",
        "-req",
        "-in",
        "kms.csr",
        "-CA",
        "pki/issuing.pem",
        "-CAkey",
        "pki/issuing.key",
        "-set_serial",
        "0x4b4d53",
        "-days",
        "1095",
        "-sha256",
        "-extfile",
        "sealing.ext",
        "-out",
        "sealing.pem",
    ]);
    let chain = [
        std::fs::read_to_string(dir.join("sealing.pem")).unwrap(),
        pki.issuing.cert.to_pem(LineEnding::LF).unwrap(),
        pki.root.cert.to_pem(LineEnding::LF).unwrap(),
    ]
    .concat();
    (pki, chain)
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
    let (client, bucket) = new_bucket(&config, "blobs").await;
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
    let (client, bucket) = new_bucket(&config, "parts").await;
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

/// The sealing key in KMS, certified the way the README tells an organisation to: a
/// certificate request signed by the KMS key ([`sealing_csr`]), certified by a CA with
/// `openssl x509 -req` (here the issuing CA of a local PKI, whose TSA and CRLs the seal
/// then uses), the chain read from S3. It keeps the SealingKey contract; a chain for another
/// key is refused when loaded; and a file sealed through it and extended to B-LTA verifies
/// in `keiyaku verify`'s verifier. With `KEIYAKU_JUDGE_DIR` set, the file and its root are
/// left there for pyHanko and pdfsig (`tests/run`'s judges).
#[tokio::test]
async fn kms_sealing_key_seals_files_that_verify() {
    use der::{EncodePem, pem::LineEnding};
    use keiyaku_aws::sealing::{create_sealing_key, read_chain};
    use keiyaku_core::sealing::Sealing;
    use keiyaku_local::pki::LocalTsa;
    use keiyaku_local::revocation::LocalRevocation;
    use keiyaku_pdf::verify::{Status, verify};

    let config = connection().await;
    let kms = aws_sdk_kms::Client::new(&config);
    let key_id = create_sealing_key(&kms).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (pki, chain_pem) = certify(&kms, &key_id, dir.path()).await;

    let (s3, bucket) = new_bucket(&config, "sealing").await;
    s3.put_object()
        .bucket(&bucket)
        .key("sealing/chain.pem")
        .body(chain_pem.clone().into_bytes().into())
        .send()
        .await
        .unwrap();
    let read = read_chain(&s3, &bucket, "sealing/chain.pem").await.unwrap();
    assert_eq!(read, chain_pem);
    assert!(
        read_chain(&s3, &bucket, "sealing/none.pem").await.is_err(),
        "a missing chain is an error"
    );
    // The local PKI's own sealing certificate is for another key.
    let wrong = pki.service.cert.to_pem(LineEnding::LF).unwrap();
    assert!(
        KmsSealingKey::new(kms.clone(), &key_id, &wrong)
            .await
            .is_err()
    );
    assert!(
        KmsSealingKey::new(kms.clone(), &key_id, "no pem here")
            .await
            .is_err()
    );

    let key = Arc::new(KmsSealingKey::new(kms, &key_id, &read).await.unwrap());
    keiyaku_contract::sealing_key(key.clone()).await;

    let clock: Arc<dyn Clock> = Arc::new(keiyaku_core::clock::SystemClock);
    let tsa = LocalTsa::new(pki.clone(), clock.clone());
    let revocation = LocalRevocation::new(
        pki.clone(),
        clock.clone(),
        Arc::new(keiyaku_net::crl::CrlFetcher::new().unwrap()),
    );
    let anchors = [pki.root.cert.clone()];
    let sealing = Sealing {
        key: key.as_ref(),
        tsa: &tsa,
        revocation: &revocation,
        anchors: &anchors,
        clock,
    };
    let pdf = keiyaku_pdf::sample::pdf_with_pages(2);
    let (sealed, hash) = sealing
        .seal(&pdf, keiyaku_pdf::seal::Level::BT, "送信")
        .await
        .unwrap();
    let long_term = sealing.extend_lta(&sealed, Some(&hash)).await.unwrap();
    let report = verify(&long_term.pdf, &anchors, time::OffsetDateTime::now_utc()).unwrap();
    assert_eq!(report.status, Status::Valid, "{report:?}");

    if let Ok(judges) = std::env::var("KEIYAKU_JUDGE_DIR") {
        let judges = std::path::Path::new(&judges);
        std::fs::create_dir_all(judges).unwrap();
        std::fs::write(judges.join("kms-seal.pdf"), &long_term.pdf).unwrap();
        std::fs::write(judges.join("kms-seal-root.pem"), pki.root_pem().unwrap()).unwrap();
    }
}

/// What SES took, read back from moto's `GET /moto-api/data.json`.
struct SesProbe {
    url: String,
}

#[async_trait::async_trait]
impl keiyaku_contract::MailProbe for SesProbe {
    async fn delivered(&self, message_id: &str) -> Vec<Vec<u8>> {
        let url = &self.url;
        // moto's data.json reads every object's restore status, which for a part of a
        // multipart upload (another test's) looks up a bucket the part has none of, and
        // fails: held at its first status, it is only read (a server-wide switch no test here
        // depends on).
        let http = reqwest::Client::new();
        let held = http
            .post(format!("{url}/moto-api/state-manager/set-transition"))
            .json(&serde_json::json!({
                "model_name": "s3::keyrestore",
                "transition": { "progression": "manual", "times": 1_000_000_000 }
            }))
            .send()
            .await
            .unwrap();
        assert!(held.status().is_success());
        // It also fails while another test's multipart upload changes what it is reading:
        // asked again, it answers once that upload is done.
        for _ in 0..150 {
            let answer = http
                .get(format!("{url}/moto-api/data.json"))
                .send()
                .await
                .unwrap();
            if answer.status().is_success() {
                let data: serde_json::Value = answer.json().await.unwrap();
                let header = format!("Message-ID: <{message_id}>");
                return data["ses"]["RawMessage"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| m["raw_data"].as_str().unwrap())
                    .filter(|raw| raw.contains(&header))
                    .map(|raw| raw.as_bytes().to_vec())
                    .collect();
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        panic!("moto's data.json kept failing");
    }
}

/// Mail through SES v2 keeps the Mailer contract (under the core's DeliverOnce with its
/// records in a DynamoDB table); a sender SES does not know is refused as an error.
#[tokio::test]
async fn ses_mailer_keeps_the_contract() {
    use keiyaku_aws::SesMailer;
    use keiyaku_core::ports::{Mailer, OutgoingMail};

    let config = connection().await;
    let ses = aws_sdk_sesv2::Client::new(&config);
    let domain = format!("{}.example.jp", unique("ses"));
    ses.create_email_identity()
        .email_identity(&domain)
        .send()
        .await
        .unwrap();
    let dynamo = aws_sdk_dynamodb::Client::new(&config);
    let table = unique("mail");
    create_table(&dynamo, &table).await.unwrap();
    let clock: Arc<dyn Clock> = Arc::new(keiyaku_core::clock::SystemClock);
    let items = Arc::new(DynamoItemStore::new(dynamo, table, clock));
    let probe = SesProbe {
        url: std::env::var("KEIYAKU_MOTO_URL").unwrap(),
    };
    keiyaku_contract::mailer(
        Arc::new(SesMailer::new(ses.clone(), None)),
        items,
        &probe,
        &domain,
    )
    .await;

    let stranger = OutgoingMail {
        to: vec!["hanako@example.jp".into()],
        message_id: "stranger@keiyaku".into(),
        raw: b"From: someone@unknown.example\r\nTo: hanako@example.jp\r\nSubject: x\r\n\r\nx\r\n"
            .to_vec(),
    };
    assert!(
        SesMailer::new(ses, None).send(&stranger).await.is_err(),
        "SES refuses a sender it does not know"
    );
}

/// What EventBridge Scheduler holds under a name: its `at(…)` time and its target's input.
struct Schedules {
    client: aws_sdk_scheduler::Client,
    group: String,
}

#[async_trait::async_trait]
impl keiyaku_contract::ScheduleProbe for Schedules {
    async fn scheduled(&self, name: &str) -> Option<(time::OffsetDateTime, serde_json::Value)> {
        let out = self
            .client
            .get_schedule()
            .group_name(&self.group)
            .name(name)
            .send()
            .await
            .ok()?;
        assert_eq!(out.schedule_expression_timezone(), Some("UTC"));
        assert_eq!(
            out.action_after_completion(),
            Some(&aws_sdk_scheduler::types::ActionAfterCompletion::Delete),
            "a one-time schedule deletes itself once it ran"
        );
        let target = out.target()?;
        assert_eq!(
            target.arn(),
            "arn:aws:lambda:ap-northeast-1:123456789012:function:keiyaku-tasks"
        );
        let at = keiyaku_aws::schedule::parse_at_expression(out.schedule_expression()?)?;
        Some((at, serde_json::from_str(target.input()?).unwrap()))
    }
}

#[tokio::test]
async fn eventbridge_scheduler_keeps_the_contract() {
    let client = aws_sdk_scheduler::Client::new(&connection().await);
    let group = unique("jobs");
    client
        .create_schedule_group()
        .name(&group)
        .send()
        .await
        .unwrap();
    let scheduler = keiyaku_aws::EventBridgeScheduler::new(
        client.clone(),
        group.clone(),
        "arn:aws:lambda:ap-northeast-1:123456789012:function:keiyaku-tasks".into(),
        "arn:aws:iam::123456789012:role/keiyaku-scheduler".into(),
    );
    keiyaku_contract::scheduler(
        Arc::new(scheduler),
        &Schedules { client, group },
        time::OffsetDateTime::now_utc(),
    )
    .await;
}

/// The contract machine on moto's Step Functions, with `${…}` naming one function each.
fn contract_definition() -> String {
    let mut text = include_str!("../../../statemachines/contract.asl.json").to_owned();
    while let Some(start) = text.find("${") {
        let end = start + text[start..].find('}').unwrap();
        let key = text[start + 2..end].to_owned();
        text.replace_range(
            start..=end,
            &format!("arn:aws:lambda:ap-northeast-1:123456789012:function:keiyaku-{key}"),
        );
    }
    text
}

/// A wait's token, read where Step Functions shows it: the parameters its task was
/// scheduled with (the contract machine hands `$$.Task.Token` to record_wait).
struct ScheduledTokens {
    client: aws_sdk_sfn::Client,
    execution_arn_prefix: String,
}

#[async_trait::async_trait]
impl keiyaku_contract::TokenProbe for ScheduledTokens {
    async fn waiting(&self, name: &str) -> String {
        let arn = format!("{}:{name}", self.execution_arn_prefix);
        for _ in 0..500 {
            let history = self
                .client
                .get_execution_history()
                .execution_arn(&arn)
                .send()
                .await
                .unwrap();
            let token = history.events().iter().find_map(|e| {
                let scheduled = e.task_scheduled_event_details()?;
                if !scheduled.resource().ends_with("waitForTaskToken") {
                    return None;
                }
                let parameters: serde_json::Value =
                    serde_json::from_str(scheduled.parameters()).ok()?;
                Some(parameters["Payload"]["task_token"].as_str()?.to_owned())
            });
            if let Some(token) = token {
                return token;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("{name} never waited for a task token");
    }
}

/// The Workflow contract on moto's Step Functions in execute mode (a server-wide switch no
/// other test here depends on), with Lambda answering from moto's queue of results: each
/// answer carries what next_step (an approval by a1) and notify (rejected) return, since
/// moto answers invocations in order, not by function.
#[tokio::test]
async fn step_functions_workflow_keeps_the_contract() {
    let url = std::env::var("KEIYAKU_MOTO_URL").unwrap();
    let http = reqwest::Client::new();
    let post =
        |path: &str, body: serde_json::Value| http.post(format!("{url}{path}")).json(&body).send();
    let status = post(
        "/moto-api/config",
        serde_json::json!({ "lambda": { "use_docker": false },
                            "stepfunctions": { "execute_state_machine": true } }),
    )
    .await
    .unwrap()
    .status();
    assert!(status.is_success());
    let answer = serde_json::json!({
        "kind": "approval", "party_id": "a1", "timeout_seconds": 3600, "status": "rejected"
    })
    .to_string();
    let status = post(
        "/moto-api/static/lambda-simple/response",
        serde_json::json!({ "results": vec![answer; 8], "region": "ap-northeast-1" }),
    )
    .await
    .unwrap()
    .status();
    assert!(status.is_success());

    let client = aws_sdk_sfn::Client::new(&connection().await);
    let machine = keiyaku_aws::workflow::create_state_machine(
        &client,
        &unique("contract"),
        &contract_definition(),
        "arn:aws:iam::123456789012:role/keiyaku-workflow",
    )
    .await
    .unwrap();
    let tokens = ScheduledTokens {
        client: client.clone(),
        execution_arn_prefix: machine.replacen(":stateMachine:", ":execution:", 1),
    };
    let workflow = keiyaku_aws::StepFunctionsWorkflow::new(client, machine);
    keiyaku_contract::workflow(Arc::new(workflow), &tokens).await;
}

/// The remote TSA's credentials from Secrets Manager: both fields read; a secret that is
/// not the credentials object, or is missing, is an error that does not show its value.
#[tokio::test]
async fn tsa_credentials_come_from_secrets_manager() {
    use keiyaku_aws::secrets::{SecretError, credentials};
    let client = aws_sdk_secretsmanager::Client::new(&connection().await);
    let put = |name: String, value: &str| {
        let client = client.clone();
        let value = value.to_owned();
        async move {
            client
                .create_secret()
                .name(&name)
                .secret_string(value)
                .send()
                .await
                .unwrap();
            name
        }
    };
    let good = put(
        unique("tsa"),
        r#"{"username": "keiyaku", "password": "s3cret-契約"}"#,
    )
    .await;
    assert_eq!(
        credentials(&client, &good).await.unwrap(),
        ("keiyaku".to_owned(), "s3cret-契約".to_owned())
    );
    for bad in [
        r#"{"username": "keiyaku"}"#,
        r#"{"username": "", "password": "x"}"#,
        "keiyaku:s3cret-in-the-clear",
    ] {
        let name = put(unique("tsa-bad"), bad).await;
        let e = credentials(&client, &name).await.unwrap_err();
        assert!(matches!(e, SecretError::Malformed(_)), "{bad}: {e}");
        assert!(!e.to_string().contains("s3cret"), "{e}");
    }
    assert!(matches!(
        credentials(&client, "keiyaku-no-such-secret").await,
        Err(SecretError::Unavailable { .. })
    ));
}

/// Uploads staged by a presigned POST: the form the staging area hands out is accepted by
/// S3 (moto) as a browser would send it — the fields, then the file —, the staged file is
/// taken back whole, and discarded; an upload never sent has nothing to take.
#[tokio::test]
async fn s3_staging_takes_what_a_presigned_post_sent() {
    use futures::StreamExt;
    use keiyaku_core::ports::Staging;
    let config = connection().await;
    let (client, bucket) = new_bucket(&config, "staging").await;
    let url = std::env::var("KEIYAKU_MOTO_URL").unwrap();
    let staging =
        keiyaku_aws::S3Staging::new(&config, client, bucket.clone(), format!("{url}/{bucket}"))
            .unwrap();
    let file: Vec<u8> = keiyaku_pdf::sample::pdf_with_pages(3);
    let expires = time::OffsetDateTime::now_utc() + time::Duration::days(1);
    let target = staging
        .target("u-staged", file.len() as u64, expires)
        .await
        .unwrap();
    assert_eq!(target.method, "POST");
    assert_eq!(target.fields["key"], "uploads/u-staged");
    let mut form = reqwest::multipart::Form::new();
    for (name, value) in &target.fields {
        form = form.text(name.clone(), value.clone());
    }
    form = form.part(
        "file",
        reqwest::multipart::Part::bytes(file.clone()).file_name("contract.pdf"),
    );
    let sent = reqwest::Client::new()
        .post(&target.url)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert!(sent.status().is_success(), "{}", sent.status());

    let mut taken = Vec::new();
    let mut body = staging.take("u-staged").await.unwrap().expect("staged");
    while let Some(chunk) = body.next().await {
        taken.extend_from_slice(&chunk.unwrap());
    }
    assert!(taken == file, "taken back whole");
    staging.discard("u-staged").await.unwrap();
    assert!(staging.take("u-staged").await.unwrap().is_none());
    assert!(staging.take("u-never-sent").await.unwrap().is_none());
    staging.discard("u-never-sent").await.unwrap();
}

/// If Tokyo is lost, Osaka carries on with the replicas of the multi-Region keys: link MACs
/// come out the same (mailed links keep working), and the sealing key's replica signs under
/// the same certificate. (Data keys: moto cannot decrypt under a multi-Region key at all —
/// see `create_keys` —, so that Osaka unwraps what Tokyo wrapped rests on blob headers
/// keeping the key id without its region, which `keys.rs` tests.)
#[tokio::test]
async fn osaka_unwraps_macs_and_seals_with_the_replicas() {
    use keiyaku_aws::sealing::create_sealing_key;
    use keiyaku_core::ports::{Keys, SealingKey};
    let tokyo = aws_sdk_kms::Client::new(&connection().await);
    let url = std::env::var("KEIYAKU_MOTO_URL").unwrap();
    let osaka = aws_sdk_kms::Client::new(
        &sdk_config(&Connection {
            endpoint: Some(url),
            region: Some("ap-northeast-3".into()),
            credentials: Some(("testing".into(), "testing".into())),
        })
        .await,
    );
    let (data_key, mac_key) = create_keys(&tokyo).await.unwrap();
    let sealing_key = create_sealing_key(&tokyo).await.unwrap();
    for key in [&mac_key, &sealing_key] {
        assert!(key.starts_with("mrk-"), "{key} is a multi-Region key");
        tokyo
            .replicate_key()
            .key_id(key)
            .replica_region("ap-northeast-3")
            .send()
            .await
            .unwrap();
    }
    let in_tokyo = KmsKeys::new(tokyo.clone(), &data_key, &mac_key);
    let in_osaka = KmsKeys::new(osaka.clone(), &data_key, &mac_key);
    let made = in_tokyo.generate_data_key("doc-1").await.unwrap();
    assert!(!made.key_id.starts_with("arn:"), "{}", made.key_id);
    assert_eq!(
        in_osaka.mac(b"recipient link").await.unwrap(),
        in_tokyo.mac(b"recipient link").await.unwrap()
    );

    // The key's certified chain is accepted in both regions, and Osaka's signature verifies
    // under it.
    let dir = tempfile::tempdir().unwrap();
    let (_, chain) = certify(&tokyo, &sealing_key, dir.path()).await;
    KmsSealingKey::new(tokyo, &sealing_key, &chain)
        .await
        .unwrap();
    let sealing_in_osaka = KmsSealingKey::new(osaka, &sealing_key, &chain)
        .await
        .unwrap();
    let leaf = x509_cert::Certificate::load_pem_chain(chain.as_bytes()).unwrap()[0]
        .tbs_certificate
        .subject_public_key_info
        .clone();
    let key = {
        use der::Encode;
        use p256::pkcs8::DecodePublicKey;
        p256::ecdsa::VerifyingKey::from_public_key_der(&leaf.to_der().unwrap()).unwrap()
    };
    let signature = sealing_in_osaka.sign(b"signed attributes").await.unwrap();
    signature::Verifier::verify(
        &key,
        b"signed attributes",
        &p256::ecdsa::DerSignature::from_bytes(&signature).unwrap(),
    )
    .expect("Osaka's replica signs under the sealing certificate's key");
}
