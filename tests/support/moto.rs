//! Fresh resources on moto's server (which `tests/run` starts on loopback and names in
//! `KEIYAKU_MOTO_URL`) for a test of the AWS shape: a table, buckets, keys, and a sealing
//! key certified by a test server's CA.

use std::sync::Arc;

use keiyaku_aws::blobs::create_bucket;
use keiyaku_aws::items::create_table;
use keiyaku_aws::keys::create_keys;
use keiyaku_aws::{Connection, DynamoItemStore, KmsKeys, S3BlobStore, S3Staging, sdk_config};
use keiyaku_server::Storage;

use crate::TestApp;

/// A name no other run uses.
fn unique(what: &str) -> String {
    format!(
        "keiyaku-e2e-{what}-{}-{}",
        std::process::id(),
        time::OffsetDateTime::now_utc().unix_timestamp_nanos() % 1_000_000_000_000
    )
}

/// Brings a test clock that stands behind the real time up to it.
pub fn keep_real_time(clock: &keiyaku_core::clock::ManualClock) {
    use keiyaku_core::clock::Clock;
    let behind = time::OffsetDateTime::now_utc() - clock.now();
    if behind.is_positive() {
        clock.advance(behind);
    }
}

/// Fresh resources on moto: a table, the documents and staging buckets, the data and MAC
/// keys, and the clients to look at them with.
pub struct Moto {
    /// Where moto listens.
    pub url: String,
    /// The SDK configuration that reaches it.
    pub config: aws_config::SdkConfig,
    /// S3 (path-style addressing, as moto serves buckets).
    pub s3: aws_sdk_s3::Client,
    /// KMS.
    pub kms: aws_sdk_kms::Client,
    /// The DynamoDB table.
    pub table: String,
    /// The documents bucket.
    pub documents: String,
    /// The uploads' staging bucket.
    pub staging: String,
    /// The KMS key that wraps data keys.
    pub data_key: String,
    /// The KMS HMAC key of link tokens.
    pub mac_key: String,
}

impl Moto {
    /// Fresh resources (panics without `KEIYAKU_MOTO_URL`).
    pub async fn new() -> Moto {
        let url = std::env::var("KEIYAKU_MOTO_URL").expect(
            "KEIYAKU_MOTO_URL names a running moto_server (tests/run starts one on loopback)",
        );
        let config = sdk_config(&Connection {
            endpoint: Some(url.clone()),
            region: Some("ap-northeast-1".into()),
            credentials: Some(("testing".into(), "testing".into())),
        })
        .await;
        let table = unique("items");
        create_table(&aws_sdk_dynamodb::Client::new(&config), &table)
            .await
            .unwrap();
        // moto serves buckets by path, not by virtual host.
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
        Moto {
            url,
            config,
            s3,
            kms,
            table,
            documents,
            staging,
            data_key,
            mac_key,
        }
    }

    /// A KMS sealing key certified by `authority`'s CA from a request the key signed (as
    /// README "The sealing certificate on AWS" tells an organisation's CA to), with its
    /// chain and the TSA's roots in the documents bucket where functions read them; its id.
    pub async fn certified_sealing_key(&self, authority: &TestApp) -> String {
        let (s3, kms, documents) = (&self.s3, &self.kms, &self.documents);
        let sealing_key = keiyaku_aws::sealing::create_sealing_key(kms).await.unwrap();

        // The sealing certificate, from a request the KMS key signed, by the running CA.
        let csr =
            keiyaku_aws::sealing::sealing_csr(kms, &sealing_key, "CN=keiyaku Sealing,O=Example")
                .await
                .unwrap();
        let work = tempfile::tempdir().unwrap();
        std::fs::write(
            work.path().join("kms.csr"),
            der::pem::encode_string("CERTIFICATE REQUEST", der::pem::LineEnding::LF, &csr).unwrap(),
        )
        .unwrap();
        std::fs::write(
            work.path().join("sealing.ext"),
            format!(
                "keyUsage = critical, digitalSignature, nonRepudiation\n\
                 extendedKeyUsage = 1.3.6.1.5.5.7.3.36, emailProtection\n\
                 crlDistributionPoints = URI:{}/api/v1/ca/crl\n",
                authority.url
            ),
        )
        .unwrap();
        let pki = authority.data_dir().join("pki");
        let out = std::process::Command::new("openssl")
            .args([
                "x509",
                "-req",
                "-in",
                "kms.csr",
                "-days",
                "30",
                "-set_serial",
                "11",
            ])
            .arg("-CA")
            .arg(pki.join("issuing.pem"))
            .arg("-CAkey")
            .arg(pki.join("issuing.key"))
            .args(["-extfile", "sealing.ext", "-out", "sealing.pem"])
            .current_dir(work.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // openssl dates the certificate from the real now; the TSA's clock has stood still
        // since its start, so it is brought to the real now (not past it: validators refuse
        // a timestamp from the future until its time comes).
        keep_real_time(&authority.clock);
        let root = std::fs::read_to_string(pki.join("root.pem")).unwrap();
        let chain = [
            std::fs::read_to_string(work.path().join("sealing.pem")).unwrap(),
            std::fs::read_to_string(pki.join("issuing.pem")).unwrap(),
            root.clone(),
        ]
        .concat();
        for (key, body) in [
            (keiyaku_lambda::compose::SEALING_CHAIN, chain),
            (keiyaku_lambda::compose::TSA_TRUST, root),
        ] {
            s3.put_object()
                .bucket(documents)
                .key(key)
                .body(body.into_bytes().into())
                .send()
                .await
                .unwrap();
        }
        sealing_key
    }

    /// The adapters over these resources, in place of a data dir's.
    pub fn storage(&self) -> Storage {
        let clock: Arc<dyn keiyaku_core::clock::Clock> = Arc::new(keiyaku_core::clock::SystemClock);
        Storage {
            items: Arc::new(DynamoItemStore::new(
                aws_sdk_dynamodb::Client::new(&self.config),
                self.table.clone(),
                clock,
            )),
            blobs: Arc::new(S3BlobStore::new(self.s3.clone(), self.documents.clone())),
            keys: Arc::new(KmsKeys::new(
                self.kms.clone(),
                self.data_key.clone(),
                self.mac_key.clone(),
            )),
            staging: Arc::new(
                S3Staging::new(
                    &self.config,
                    self.s3.clone(),
                    self.staging.clone(),
                    format!("{}/{}", self.url, self.staging),
                )
                .unwrap(),
            ),
        }
    }
}

/// The keys of every object in `bucket`.
pub async fn objects(s3: &aws_sdk_s3::Client, bucket: &str) -> Vec<String> {
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

/// The content of object `key` in `bucket`.
pub async fn object(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> bytes::Bytes {
    s3.get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes()
}
