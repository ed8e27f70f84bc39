//! The AWS shape assembled on this machine: the function binaries run as Lambda runs them
//! (each behind a Runtime API of its own), API Gateway's stand-in turns HTTP requests into
//! REST proxy events for their route's function, the adapters talk to moto (DynamoDB, S3,
//! KMS, SES, EventBridge Scheduler), and Step Functions is played by
//! `keiyaku_server::step_functions` — keiyaku's executor behind the Step Functions API —
//! which invokes the task functions through the Lambda Invoke API. The life-cycle test and
//! the Lambda benchmark drive it.

use std::collections::HashMap;
use std::time::Duration;

use keiyaku_server::step_functions::RunningStepFunctions;
use serde_json::{Value, json};

use crate::lambda::{ApiGateway, LambdaFunction, LambdaService};
use crate::moto::{Moto, keep_real_time};
use crate::{Client, Mail, PASSWORD, TestApp, parse_mail};

/// The contract machine's ARN as the functions are told it.
pub const MACHINE_ARN: &str = "arn:aws:states:ap-northeast-1:123456789012:stateMachine:contract";

/// The whole assembly.
pub struct AwsShape {
    /// The TSA and CA the sealing key's certificate comes from (a test server).
    pub authority: TestApp,
    /// The AWS services.
    pub moto: Moto,
    /// The mail domain SES knows (the sender's).
    pub domain: String,
    /// The task functions, by handler.
    pub lambda: LambdaService,
    /// The route functions, behind the gateway.
    pub gateway: ApiGateway,
    /// Step Functions.
    pub step_functions: RunningStepFunctions,
    /// Every function's environment (as the template sets it, pointed at the stand-ins).
    pub env: Vec<(&'static str, String)>,
    ticking: tokio::task::JoinHandle<()>,
    _work: tempfile::TempDir,
}

impl AwsShape {
    /// Everything running, with the function of each of `routes` (route names) behind the
    /// gateway and every task function behind the Lambda service.
    pub async fn start(routes: &[&'static str]) -> AwsShape {
        Self::start_with(routes, crate::lambda::function_binary).await
    }

    /// [`AwsShape::start`] with each function binary (by its name, `get-document`) where
    /// `binary` says.
    pub async fn start_with(
        routes: &[&'static str],
        binary: impl Fn(&str) -> std::path::PathBuf,
    ) -> AwsShape {
        let authority = TestApp::spawn_with_public_tsa().await;
        let moto = Moto::new().await;
        let sealing_key = moto.certified_sealing_key(&authority).await;
        // The TSA and the CA (in the test server) tell the real time, as the seals' clocks do.
        let clock = authority.clock.clone();
        let ticking = tokio::spawn(async move {
            loop {
                keep_real_time(&clock);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        let domain = format!("{}.example.jp", moto.table);
        aws_sdk_sesv2::Client::new(&moto.config)
            .create_email_identity()
            .email_identity(&domain)
            .send()
            .await
            .unwrap();
        let schedule_group = format!("{}-jobs", moto.table);
        aws_sdk_scheduler::Client::new(&moto.config)
            .create_schedule_group()
            .name(&schedule_group)
            .send()
            .await
            .unwrap();

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
        let env: Vec<(&'static str, String)> = vec![
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
        for arn in keiyaku_workflow::substitutions().unwrap().values() {
            let handler = keiyaku_workflow::handler_name(arn);
            let name = format!("task-{}", handler.replace('_', "-"));
            lambda.add(
                handler,
                LambdaFunction::start_binary(&binary(&name), &name, &env).await,
            );
        }
        let mut functions = HashMap::new();
        for route in routes {
            let name = route.replace('_', "-");
            functions.insert(
                *route,
                LambdaFunction::start_binary(&binary(&name), &name, &env).await,
            );
        }
        let gateway = ApiGateway::start(functions).await;
        AwsShape {
            authority,
            moto,
            domain,
            lambda,
            gateway,
            step_functions,
            env,
            ticking,
            _work: work,
        }
    }

    /// Waits until every function process has asked for its first event.
    pub async fn ready(&self) {
        for function in self.gateway.functions() {
            function.start_up().await;
        }
        for function in self.lambda.functions() {
            function.start_up().await;
        }
    }

    /// Where clients reach the API (the gateway).
    pub fn url(&self) -> &str {
        &self.gateway.url
    }

    /// Every message SES took from this assembly's sender, read back from moto's
    /// `GET /moto-api/data.json`.
    pub async fn mails(&self) -> Vec<Mail> {
        let http = reqwest::Client::new();
        let moto = &self.moto.url;
        // moto's data.json reads every S3 object's restore status, which fails for another
        // test's multipart upload part: held at its first status, it is only read.
        let held = http
            .post(format!("{moto}/moto-api/state-manager/set-transition"))
            .json(&json!({
                "model_name": "s3::keyrestore",
                "transition": { "progression": "manual", "times": 1_000_000_000 }
            }))
            .send()
            .await
            .unwrap();
        assert!(held.status().is_success());
        let from = format!("@{}>", self.domain);
        for _ in 0..150 {
            let answer = http
                .get(format!("{moto}/moto-api/data.json"))
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

    /// The newest mail to `to` whose text holds `marker`, once SES has it.
    pub async fn mail_to(&self, to: &str, marker: &str) -> Mail {
        eventually(&format!("a mail to {to} with {marker}"), async || {
            self.mails()
                .await
                .into_iter()
                .rev()
                .find(|m| m.to == to && m.text.contains(marker))
        })
        .await
    }

    /// Signs up through the gateway, confirms the address from the mail SES took, logs in.
    pub async fn account(&self, email: &str, name: &str) -> Client {
        let (http, url) = (reqwest::Client::new(), self.url());
        let r = http
            .post(format!("{url}/api/v1/auth/signup"))
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
        let token = self
            .mail_to(email, "/verify-email#")
            .await
            .link_token("/verify-email#");
        let r = http
            .post(format!("{url}/api/v1/auth/verify-email"))
            .json(&json!({ "token": token }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "verification of {email}");
        let r = http
            .post(format!("{url}/api/v1/auth/login"))
            .json(&json!({ "email": email, "password": PASSWORD, "mode": "token" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "login of {email}");
        let body: Value = r.json().await.unwrap();
        Client::with_token(url, body["token"].as_str().unwrap())
    }

    /// Opens the recipient's mailed link (with `code`) through the gateway, reads the file
    /// and agrees.
    pub async fn agree(&self, mail: &Mail, code: Option<&str>) {
        let (status, view, recipient) =
            Client::open_link(self.url(), &mail.link_token("/r/#"), code).await;
        assert_eq!(status, 200, "{view}");
        assert_eq!(view["can_answer"], true, "{view}");
        let recipient = recipient.unwrap();
        let file = recipient.get("/api/v1/r/file").await;
        assert_eq!(file.status(), 200);
        assert!(file.bytes().await.unwrap().starts_with(b"%PDF-"));
        let r = recipient.post_json("/api/v1/r/agree", json!({})).await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    }

    /// Stops the stand-ins and the test server (the function processes end when dropped).
    pub async fn stop(self) {
        self.step_functions.stop().await;
        self.ticking.abort();
        self.authority.stop().await;
    }
}

/// The status of document `id`, as its sender reads it.
pub async fn status_of(sender: &Client, id: &str) -> Value {
    sender
        .get(&format!("/api/v1/documents/{id}"))
        .await
        .json::<Value>()
        .await
        .unwrap()["status"]
        .clone()
}

/// Waits (at most two minutes) until `check` finds what it looks for.
pub async fn eventually<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
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
