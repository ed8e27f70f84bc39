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

/// The ports a function can hold, one bit each: a function's binary names its set at compile
/// time (`route_function!(get_me, [ITEMS])`), so the adapters and SDK clients it does not
/// hold are not linked into it; at start the set is checked against `infra/ports.json`.
pub mod port {
    /// The item store (DynamoDB).
    pub const ITEMS: u16 = 1;
    /// The documents bucket.
    pub const BLOBS: u16 = 1 << 1;
    /// The uploads' staging bucket.
    pub const STAGE: u16 = 1 << 2;
    /// Wrapping new data keys (KMS).
    pub const ENCRYPT: u16 = 1 << 3;
    /// Unwrapping data keys (KMS).
    pub const DECRYPT: u16 = 1 << 4;
    /// Link-token MACs (KMS).
    pub const LINK_MACS: u16 = 1 << 5;
    /// The sealing key, the TSA and revocation data.
    pub const SEALING_PORTS: u16 = 1 << 6;
    /// The trust anchors of verification.
    pub const ANCHORS: u16 = 1 << 7;
    /// Mail (SES).
    pub const MAIL: u16 = 1 << 8;
    /// The contract state machine (Step Functions).
    pub const WORKFLOWS: u16 = 1 << 9;
    /// Scheduled jobs (EventBridge Scheduler).
    pub const SCHEDULE: u16 = 1 << 10;

    /// Each port's name in `infra/ports.json` and its bit.
    pub const NAMES: [(&str, u16); 11] = [
        ("Items", ITEMS),
        ("Blobs", BLOBS),
        ("Stage", STAGE),
        ("Encrypt", ENCRYPT),
        ("Decrypt", DECRYPT),
        ("LinkMacs", LINK_MACS),
        ("SealingPorts", SEALING_PORTS),
        ("Anchors", ANCHORS),
        ("Mail", MAIL),
        ("Workflows", WORKFLOWS),
        ("Schedule", SCHEDULE),
    ];
}

/// The ports function `name` holds (a route's name, `task:<handler>` or `jobs`), as
/// `infra/ports.json` lists them.
pub fn ports_of(name: &str) -> Result<u16, ComposeError> {
    let table: std::collections::BTreeMap<String, Vec<String>> =
        serde_json::from_str(PORTS).map_err(|e| unusable("infra/ports.json", e))?;
    let names = table.get(name).ok_or_else(|| {
        unusable(
            format!("function {name}"),
            "infra/ports.json does not list it",
        )
    })?;
    names.iter().try_fold(0, |mask, held| {
        port::NAMES
            .iter()
            .find(|(n, _)| n == held)
            .map(|(_, bit)| mask | bit)
            .ok_or_else(|| unusable(format!("port {held}"), "no such port"))
    })
}

/// Refuses a function whose binary holds other ports (`held`) than `infra/ports.json`
/// lists for `name`: its IAM policy follows from that table.
pub fn check_held(name: &str, held: u16) -> Result<(), ComposeError> {
    let listed = ports_of(name)?;
    if listed == held {
        return Ok(());
    }
    let names = |mask: u16| {
        let held: Vec<&str> = port::NAMES
            .iter()
            .filter(|(_, bit)| mask & bit != 0)
            .map(|(n, _)| *n)
            .collect();
        format!("[{}]", held.join(", "))
    };
    Err(unusable(
        format!("function {name}"),
        format!(
            "its binary holds {} but infra/ports.json lists {}",
            names(held),
            names(listed)
        ),
    ))
}

fn unusable(what: impl Into<String>, why: impl std::fmt::Display) -> ComposeError {
    ComposeError::Unusable {
        what: what.into(),
        why: why.to_string(),
    }
}

/// The adapters of a function holding `ports` (bits of [`port`]), from its environment.
pub async fn services<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
    sdk: &SdkConfig,
    ports: u16,
) -> Result<Services, ComposeError> {
    compose(env, sdk, |p| ports & p != 0).await
}

/// [`services`] for the ports `PORTS` known at compile time: what a function's binary
/// calls, so the code of the ports it does not hold is left out of it.
pub async fn services_of<const PORTS: u16, F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
    sdk: &SdkConfig,
) -> Result<Services, ComposeError> {
    compose(env, sdk, |p| PORTS & p != 0).await
}

async fn compose<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
    sdk: &SdkConfig,
    holds: impl Fn(u16) -> bool,
) -> Result<Services, ComposeError> {
    use port::*;
    let mut config = env.config()?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let path_style = env
        .optional("KEIYAKU_S3_FORCE_PATH_STYLE")
        .is_some_and(|v| v == "true" || v == "1");
    // Clients are made only for the ports held (they share the SDK's HTTP client).
    let s3 = || {
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(sdk)
                .force_path_style(path_style)
                .build(),
        )
    };
    let kms = || aws_sdk_kms::Client::new(sdk);
    let documents = || env.required("KEIYAKU_DOCUMENTS_BUCKET", "the documents bucket");

    let items: Arc<dyn keiyaku_core::ports::ItemStore> = if holds(ITEMS) {
        Arc::new(DynamoItemStore::new(
            aws_sdk_dynamodb::Client::new(sdk),
            env.required("KEIYAKU_TABLE", "the DynamoDB table")?,
            clock.clone(),
        ))
    } else {
        Arc::new(Absent("Items"))
    };
    let blobs: Arc<dyn keiyaku_core::ports::BlobStore> = if holds(BLOBS) {
        Arc::new(S3BlobStore::new(s3(), documents()?))
    } else {
        Arc::new(Absent("Blobs"))
    };
    let staging: Arc<dyn keiyaku_core::ports::Staging> = if holds(STAGE) {
        let bucket = env.required("KEIYAKU_STAGING_BUCKET", "the uploads' staging bucket")?;
        let region = sdk
            .region()
            .map(|r| r.to_string())
            .ok_or_else(|| unusable("AWS_REGION", "no region is configured"))?;
        let url = env
            .optional("KEIYAKU_STAGING_URL")
            .unwrap_or_else(|| format!("https://{bucket}.s3.{region}.amazonaws.com/"));
        Arc::new(
            S3Staging::new(sdk, s3(), bucket, url)
                .map_err(|e| unusable("KEIYAKU_STAGING_BUCKET", e))?,
        )
    } else {
        Arc::new(Absent("Stage"))
    };
    // One key service for the three uses; the role grants only the ones held (a function
    // that only derives link MACs cannot decrypt), and only those settings are required.
    let data_keys = holds(ENCRYPT) || holds(DECRYPT);
    let keys: Arc<dyn keiyaku_core::ports::Keys> = if data_keys || holds(LINK_MACS) {
        let data_key = if data_keys {
            env.required("KEIYAKU_DATA_KEY", "the KMS key that wraps data keys")?
        } else {
            env.optional("KEIYAKU_DATA_KEY").unwrap_or_default()
        };
        let mac_key = if holds(LINK_MACS) {
            env.required("KEIYAKU_MAC_KEY", "the KMS HMAC key of link tokens")?
        } else {
            env.optional("KEIYAKU_MAC_KEY").unwrap_or_default()
        };
        Arc::new(KmsKeys::new(kms(), data_key, mac_key))
    } else {
        Arc::new(Absent("Keys"))
    };
    // Trusted: the root of the sealing chain and the TSA's roots.
    let mut sealing_chain = None;
    let mut tsa_anchors = Vec::new();
    if holds(SEALING_PORTS) || holds(ANCHORS) {
        let documents = documents()?;
        let s3 = s3();
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
    ) = match sealing_chain.filter(|_| holds(SEALING_PORTS)) {
        Some(chain) => {
            let key_id = env.required("KEIYAKU_SEALING_KEY", "the KMS key that seals")?;
            let sealing_key = KmsSealingKey::new(kms(), &key_id, &chain)
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

    let mailer: Arc<dyn keiyaku_core::ports::Mailer> = if holds(MAIL) {
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
    let workflow: Arc<dyn keiyaku_core::ports::Workflow> = if holds(WORKFLOWS) {
        Arc::new(StepFunctionsWorkflow::new(
            aws_sdk_sfn::Client::new(sdk),
            env.required("KEIYAKU_STATE_MACHINE_ARN", "the contract state machine")?,
        ))
    } else {
        Arc::new(Absent("Workflows"))
    };
    let scheduler: Arc<dyn keiyaku_core::ports::Scheduler> = if holds(SCHEDULE) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_binary_holding_other_ports_than_the_table_is_refused_naming_both() {
        assert_eq!(ports_of("get_document").unwrap(), port::ITEMS);
        assert_eq!(
            ports_of("get_document_file").unwrap(),
            port::BLOBS | port::DECRYPT | port::ITEMS
        );
        assert!(check_held("get_document", port::ITEMS).is_ok());
        let refused = check_held("get_document", port::ITEMS | port::DECRYPT)
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains("holds [Items, Decrypt] but infra/ports.json lists [Items]"),
            "{refused}"
        );
        assert!(ports_of("no_such_function").is_err());
    }
}
