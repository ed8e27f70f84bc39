//! The AWS shape's composition root: a function's adapters, built once per cold start from
//! its environment (what `template.yaml` sets) and the SDK configuration (the function's
//! role in its region). Everything a variable names is checked here — the sealing chain
//! against the KMS key, the TSA's roots read — so a misconfigured function fails at start
//! with the variable's name, never on a customer's request.
//!
//! | variable | what it names |
//! |---|---|
//! | `KEIYAKU_PUBLIC_URL`, `KEIYAKU_MAIL_FROM`, `KEIYAKU_MAX_DOCUMENT_MB` | settings ([`Env::config`]) |
//! | `KEIYAKU_TABLE` | the DynamoDB table |
//! | `KEIYAKU_DOCUMENTS_BUCKET` | the documents bucket (also holds `sealing/chain.pem` and `tsa/trust.pem`) |
//! | `KEIYAKU_STAGING_BUCKET`, `KEIYAKU_STAGING_URL` (optional) | the staging bucket and where browsers post to it |
//! | `KEIYAKU_DATA_KEY`, `KEIYAKU_MAC_KEY`, `KEIYAKU_SEALING_KEY` | the KMS keys |
//! | `KEIYAKU_TSA_URL`, `KEIYAKU_TSA_SECRET` (optional) | the RFC 3161 TSA and its credentials in Secrets Manager |
//! | `KEIYAKU_STATE_MACHINE_ARN` | the contract state machine |
//! | `KEIYAKU_SCHEDULE_GROUP`, `KEIYAKU_SCHEDULER_TARGET_ARN`, `KEIYAKU_SCHEDULER_ROLE_ARN` | EventBridge Scheduler's group, the task function it invokes, the role it invokes as |
//! | `KEIYAKU_SES_CONFIGURATION_SET` (optional) | SES's configuration set |
//! | `KEIYAKU_S3_FORCE_PATH_STYLE` (optional) | path-style S3 addressing (emulators) |

use std::sync::Arc;

use aws_config::SdkConfig;
use keiyaku_aws::{
    DynamoItemStore, EventBridgeScheduler, KmsKeys, KmsSealingKey, S3BlobStore, S3Staging,
    SesMailer, StepFunctionsWorkflow,
};
use keiyaku_core::Services;
use keiyaku_core::clock::{Clock, SystemClock};

use crate::env::{Env, EnvError};

/// The S3 object (in the documents bucket) with the sealing certificate chain, PEM.
pub const SEALING_CHAIN: &str = "sealing/chain.pem";
/// The S3 object (in the documents bucket) with the roots the TSA must chain to, PEM.
pub const TSA_TRUST: &str = "tsa/trust.pem";

/// Why a function could not be composed.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    /// A variable is missing or unusable.
    #[error(transparent)]
    Env(#[from] EnvError),
    /// What a variable names could not be used.
    #[error("{what}: {why}")]
    Unusable {
        /// What (the variable and its value, or the object).
        what: String,
        /// Why.
        why: String,
    },
}

fn unusable(what: impl Into<String>, why: impl std::fmt::Display) -> ComposeError {
    ComposeError::Unusable {
        what: what.into(),
        why: why.to_string(),
    }
}

/// The service's adapters on AWS, from the function's environment.
pub async fn services<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
    sdk: &SdkConfig,
) -> Result<Services, ComposeError> {
    let mut config = env.config()?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let path_style = env
        .optional("KEIYAKU_S3_FORCE_PATH_STYLE")
        .is_some_and(|v| v == "true" || v == "1");
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(path_style)
            .build(),
    );
    let kms = aws_sdk_kms::Client::new(sdk);

    let table = env.required("KEIYAKU_TABLE", "the DynamoDB table")?;
    let items: Arc<dyn keiyaku_core::ports::ItemStore> = Arc::new(DynamoItemStore::new(
        aws_sdk_dynamodb::Client::new(sdk),
        table,
        clock.clone(),
    ));
    let documents = env.required("KEIYAKU_DOCUMENTS_BUCKET", "the documents bucket")?;
    let staging_bucket = env.required("KEIYAKU_STAGING_BUCKET", "the uploads' staging bucket")?;
    let region = sdk
        .region()
        .map(|r| r.to_string())
        .ok_or_else(|| unusable("AWS_REGION", "no region is configured"))?;
    let staging_url = env
        .optional("KEIYAKU_STAGING_URL")
        .unwrap_or_else(|| format!("https://{staging_bucket}.s3.{region}.amazonaws.com/"));
    let staging = S3Staging::new(sdk, s3.clone(), staging_bucket, staging_url)
        .map_err(|e| unusable("KEIYAKU_STAGING_BUCKET", e))?;

    let keys = KmsKeys::new(
        kms.clone(),
        env.required("KEIYAKU_DATA_KEY", "the KMS key that wraps data keys")?,
        env.required("KEIYAKU_MAC_KEY", "the KMS HMAC key of link tokens")?,
    );
    let sealing_key_id = env.required("KEIYAKU_SEALING_KEY", "the KMS key that seals")?;
    let chain = keiyaku_aws::sealing::read_chain(&s3, &documents, SEALING_CHAIN)
        .await
        .map_err(|e| unusable(format!("s3://{documents}/{SEALING_CHAIN}"), e))?;
    let sealing_key = KmsSealingKey::new(kms, &sealing_key_id, &chain)
        .await
        .map_err(|e| unusable(format!("KEIYAKU_SEALING_KEY={sealing_key_id}"), e))?;
    // Trusted: the root of the sealing chain and the TSA's roots.
    let sealing_root = keiyaku_pdf::verify::load_anchors(chain.as_bytes())
        .map_err(|e| unusable(format!("s3://{documents}/{SEALING_CHAIN}"), e))?
        .pop()
        .ok_or_else(|| {
            unusable(
                format!("s3://{documents}/{SEALING_CHAIN}"),
                "no certificate",
            )
        })?;
    let tsa_trust = keiyaku_aws::sealing::read_chain(&s3, &documents, TSA_TRUST)
        .await
        .map_err(|e| unusable(format!("s3://{documents}/{TSA_TRUST}"), e))?;
    let tsa_anchors = keiyaku_pdf::verify::load_anchors(tsa_trust.as_bytes())
        .map_err(|e| unusable(format!("s3://{documents}/{TSA_TRUST}"), e))?;
    config.trust_anchors = std::iter::once(sealing_root)
        .chain(tsa_anchors.iter().cloned())
        .collect();

    let revocation: Arc<dyn keiyaku_core::ports::Revocation> =
        Arc::new(keiyaku_net::crl::CrlFetcher::new().map_err(|e| unusable("CRL fetching", e))?);
    let tsa_url = env.required("KEIYAKU_TSA_URL", "the RFC 3161 TSA that stamps seals")?;
    let credentials = match env.optional("KEIYAKU_TSA_SECRET") {
        None => None,
        Some(id) => Some(
            keiyaku_aws::secrets::credentials(&aws_sdk_secretsmanager::Client::new(sdk), &id)
                .await
                .map_err(|e| unusable("KEIYAKU_TSA_SECRET", e))?,
        ),
    };
    let tsa = keiyaku_net::tsa::RemoteTsa::new(
        &tsa_url,
        credentials,
        keiyaku_net::tsa::TsaTrust {
            anchors: tsa_anchors,
            revocation: revocation.clone(),
            tls_roots: Vec::new(),
        },
        clock.clone(),
    )
    .map_err(|e| unusable("KEIYAKU_TSA_URL", e))?;

    let mailer = keiyaku_core::delivery::DeliverOnce::new(
        items.clone(),
        Arc::new(SesMailer::new(
            aws_sdk_sesv2::Client::new(sdk),
            env.optional("KEIYAKU_SES_CONFIGURATION_SET"),
        )),
        clock.clone(),
    );
    let workflow = StepFunctionsWorkflow::new(
        aws_sdk_sfn::Client::new(sdk),
        env.required("KEIYAKU_STATE_MACHINE_ARN", "the contract state machine")?,
    );
    let scheduler = EventBridgeScheduler::new(
        aws_sdk_scheduler::Client::new(sdk),
        env.required(
            "KEIYAKU_SCHEDULE_GROUP",
            "EventBridge Scheduler's schedule group",
        )?,
        env.required(
            "KEIYAKU_SCHEDULER_TARGET_ARN",
            "the task function that scheduled jobs invoke",
        )?,
        env.required(
            "KEIYAKU_SCHEDULER_ROLE_ARN",
            "the role EventBridge Scheduler invokes it as",
        )?,
    );
    Ok(Services {
        items,
        blobs: Arc::new(S3BlobStore::new(s3, documents)),
        staging: Arc::new(staging),
        keys: Arc::new(keys),
        sealing_key: Arc::new(sealing_key),
        tsa: Arc::new(tsa),
        revocation,
        mailer: Arc::new(mailer),
        workflow: Arc::new(workflow),
        scheduler: Arc::new(scheduler),
        clock,
        authority: None,
        config,
        cpu: keiyaku_core::cpu::CpuPool::for_this_machine(),
    })
}
