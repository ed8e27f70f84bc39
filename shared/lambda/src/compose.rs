//! The AWS shape's composition root: a function's adapters, built once per cold start from
//! its environment (what `template.yaml` sets) and the SDK configuration (the function's
//! role in its region). A function holds only the ports its use case takes, as
//! `infra/ports.json` lists them (the same table its IAM policy follows from); the other
//! slots hold [`Absent`]. Everything a variable names is checked here — the sealing chain
//! against the KMS key, the TSA's roots read — so a misconfigured function fails at start
//! with the variable's name, never on a customer's request.
//!
//! | variable | what it names |
//! |---|---|
//! | `KEIYAKU_PUBLIC_URL`, `KEIYAKU_MAIL_FROM`, `KEIYAKU_MAX_DOCUMENT_MB`, `KEIYAKU_ORIGIN_SECRET` | settings ([`Env::config`]) |
//! | `KEIYAKU_TABLE` | the DynamoDB table |
//! | `KEIYAKU_DOCUMENTS_BUCKET` | the documents bucket (also holds `sealing/chain.pem` and `tsa/trust.pem`) |
//! | `KEIYAKU_STAGING_BUCKET`, `KEIYAKU_STAGING_URL` (optional) | the staging bucket and where browsers post to it |
//! | `KEIYAKU_DATA_KEY`, `KEIYAKU_MAC_KEY`, `KEIYAKU_SEALING_KEY` | the KMS keys |
//! | `KEIYAKU_TSA_URL`, `KEIYAKU_TSA_SECRET` (optional) | the RFC 3161 TSA and its credentials in Secrets Manager |
//! | `KEIYAKU_STATE_MACHINE_ARN` | the contract state machine |
//! | `KEIYAKU_SCHEDULE_GROUP`, `KEIYAKU_SCHEDULER_TARGET_ARN`, `KEIYAKU_SCHEDULER_ROLE_ARN` | EventBridge Scheduler's group, the task function it invokes, the role it invokes as |
//! | `KEIYAKU_SES_CONFIGURATION_SET` (optional) | SES's configuration set |
//! | `KEIYAKU_S3_FORCE_PATH_STYLE` (optional) | path-style S3 addressing (emulators) |

use std::collections::BTreeSet;
use std::sync::Arc;

use aws_config::SdkConfig;
use keiyaku_aws::{
    DynamoItemStore, EventBridgeScheduler, KmsKeys, KmsSealingKey, S3BlobStore, S3Staging,
    SesMailer, StepFunctionsWorkflow,
};
use keiyaku_core::Services;
use keiyaku_core::clock::{Clock, SystemClock};
use keiyaku_core::ports::Absent;

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

/// The ports of each function (`get_me`, `task:seal`, `jobs`): `infra/ports.json`.
const PORTS: &str = include_str!("../../../infra/ports.json");

/// The ports function `name` holds (a route's name, `task:<handler>` or `jobs`).
pub fn ports_of(name: &str) -> Result<BTreeSet<String>, ComposeError> {
    let table: std::collections::BTreeMap<String, BTreeSet<String>> =
        serde_json::from_str(PORTS).map_err(|e| unusable("infra/ports.json", e))?;
    table.get(name).cloned().ok_or_else(|| {
        unusable(
            format!("function {name}"),
            "infra/ports.json does not list it",
        )
    })
}

fn unusable(what: impl Into<String>, why: impl std::fmt::Display) -> ComposeError {
    ComposeError::Unusable {
        what: what.into(),
        why: why.to_string(),
    }
}

/// The adapters of a function holding `ports` (names as in `infra/ports.json`), from its
/// environment.
pub async fn services<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
    sdk: &SdkConfig,
    ports: &BTreeSet<String>,
) -> Result<Services, ComposeError> {
    const KNOWN: [&str; 11] = [
        "Items",
        "Blobs",
        "Stage",
        "Encrypt",
        "Decrypt",
        "LinkMacs",
        "SealingPorts",
        "Anchors",
        "Mail",
        "Workflows",
        "Schedule",
    ];
    if let Some(unknown) = ports.iter().find(|p| !KNOWN.contains(&p.as_str())) {
        return Err(unusable(format!("port {unknown}"), "no such port"));
    }
    let holds = |port: &str| ports.contains(port);
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
    let documents = || env.required("KEIYAKU_DOCUMENTS_BUCKET", "the documents bucket");

    let items: Arc<dyn keiyaku_core::ports::ItemStore> = if holds("Items") {
        Arc::new(DynamoItemStore::new(
            aws_sdk_dynamodb::Client::new(sdk),
            env.required("KEIYAKU_TABLE", "the DynamoDB table")?,
            clock.clone(),
        ))
    } else {
        Arc::new(Absent("Items"))
    };
    let blobs: Arc<dyn keiyaku_core::ports::BlobStore> = if holds("Blobs") {
        Arc::new(S3BlobStore::new(s3.clone(), documents()?))
    } else {
        Arc::new(Absent("Blobs"))
    };
    let staging: Arc<dyn keiyaku_core::ports::Staging> = if holds("Stage") {
        let bucket = env.required("KEIYAKU_STAGING_BUCKET", "the uploads' staging bucket")?;
        let region = sdk
            .region()
            .map(|r| r.to_string())
            .ok_or_else(|| unusable("AWS_REGION", "no region is configured"))?;
        let url = env
            .optional("KEIYAKU_STAGING_URL")
            .unwrap_or_else(|| format!("https://{bucket}.s3.{region}.amazonaws.com/"));
        Arc::new(
            S3Staging::new(sdk, s3.clone(), bucket, url)
                .map_err(|e| unusable("KEIYAKU_STAGING_BUCKET", e))?,
        )
    } else {
        Arc::new(Absent("Stage"))
    };
    // One key service for the three uses; the role grants only the ones held (a function
    // that only derives link MACs cannot decrypt), and only those settings are required.
    let data_keys = holds("Encrypt") || holds("Decrypt");
    let keys: Arc<dyn keiyaku_core::ports::Keys> = if data_keys || holds("LinkMacs") {
        let data_key = if data_keys {
            env.required("KEIYAKU_DATA_KEY", "the KMS key that wraps data keys")?
        } else {
            env.optional("KEIYAKU_DATA_KEY").unwrap_or_default()
        };
        let mac_key = if holds("LinkMacs") {
            env.required("KEIYAKU_MAC_KEY", "the KMS HMAC key of link tokens")?
        } else {
            env.optional("KEIYAKU_MAC_KEY").unwrap_or_default()
        };
        Arc::new(KmsKeys::new(kms.clone(), data_key, mac_key))
    } else {
        Arc::new(Absent("Keys"))
    };
    // Trusted: the root of the sealing chain and the TSA's roots.
    let mut sealing_chain = None;
    let mut tsa_anchors = Vec::new();
    if holds("SealingPorts") || holds("Anchors") {
        let documents = documents()?;
        let chain = keiyaku_aws::sealing::read_chain(&s3, &documents, SEALING_CHAIN)
            .await
            .map_err(|e| unusable(format!("s3://{documents}/{SEALING_CHAIN}"), e))?;
        let sealing_root = keiyaku_pdf::verify::load_anchors(chain.as_bytes())
            .map_err(|e| unusable(format!("s3://{documents}/{SEALING_CHAIN}"), e))?
            .pop()
            .ok_or_else(|| {
                unusable(
                    format!("s3://{documents}/{SEALING_CHAIN}"),
                    "no certificate",
                )
            })?;
        let trust = keiyaku_aws::sealing::read_chain(&s3, &documents, TSA_TRUST)
            .await
            .map_err(|e| unusable(format!("s3://{documents}/{TSA_TRUST}"), e))?;
        tsa_anchors = keiyaku_pdf::verify::load_anchors(trust.as_bytes())
            .map_err(|e| unusable(format!("s3://{documents}/{TSA_TRUST}"), e))?;
        config.trust_anchors = std::iter::once(sealing_root)
            .chain(tsa_anchors.iter().cloned())
            .collect();
        sealing_chain = Some(chain);
    }
    let (sealing_key, tsa, revocation): (
        Arc<dyn keiyaku_core::ports::SealingKey>,
        Arc<dyn keiyaku_core::ports::Tsa>,
        Arc<dyn keiyaku_core::ports::Revocation>,
    ) = match sealing_chain.filter(|_| holds("SealingPorts")) {
        Some(chain) => {
            let key_id = env.required("KEIYAKU_SEALING_KEY", "the KMS key that seals")?;
            let sealing_key = KmsSealingKey::new(kms, &key_id, &chain)
                .await
                .map_err(|e| unusable(format!("KEIYAKU_SEALING_KEY={key_id}"), e))?;
            let revocation: Arc<dyn keiyaku_core::ports::Revocation> = Arc::new(
                keiyaku_net::crl::CrlFetcher::new().map_err(|e| unusable("CRL fetching", e))?,
            );
            let tsa_url = env.required("KEIYAKU_TSA_URL", "the RFC 3161 TSA that stamps seals")?;
            let credentials = match env.optional("KEIYAKU_TSA_SECRET") {
                None => None,
                Some(id) => Some(
                    keiyaku_aws::secrets::credentials(
                        &aws_sdk_secretsmanager::Client::new(sdk),
                        &id,
                    )
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
            (Arc::new(sealing_key), Arc::new(tsa), revocation)
        }
        None => (
            Arc::new(Absent("SealingPorts")),
            Arc::new(Absent("SealingPorts")),
            Arc::new(Absent("SealingPorts")),
        ),
    };

    let mailer: Arc<dyn keiyaku_core::ports::Mailer> = if holds("Mail") {
        Arc::new(keiyaku_core::delivery::DeliverOnce::new(
            items.clone(),
            Arc::new(SesMailer::new(
                aws_sdk_sesv2::Client::new(sdk),
                env.optional("KEIYAKU_SES_CONFIGURATION_SET"),
            )),
            clock.clone(),
        ))
    } else {
        Arc::new(Absent("Mail"))
    };
    let workflow: Arc<dyn keiyaku_core::ports::Workflow> = if holds("Workflows") {
        Arc::new(StepFunctionsWorkflow::new(
            aws_sdk_sfn::Client::new(sdk),
            env.required("KEIYAKU_STATE_MACHINE_ARN", "the contract state machine")?,
        ))
    } else {
        Arc::new(Absent("Workflows"))
    };
    let scheduler: Arc<dyn keiyaku_core::ports::Scheduler> = if holds("Schedule") {
        Arc::new(EventBridgeScheduler::new(
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
        ))
    } else {
        Arc::new(Absent("Schedule"))
    };
    Ok(Services {
        items,
        blobs,
        staging,
        keys,
        sealing_key,
        tsa,
        revocation,
        mailer,
        workflow,
        scheduler,
        clock,
        authority: None,
        config,
        cpu: keiyaku_core::cpu::CpuPool::for_this_machine(),
    })
}
