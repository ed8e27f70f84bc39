//! Prints a certificate request (PEM) for the KMS sealing key, signed by that key, for an
//! organisation's CA to certify (README, "The sealing certificate on AWS"):
//! `cargo run -p keiyaku-aws --example sealing_csr -- KEY_ID "CN=…,O=…,C=JP"`, with the
//! usual AWS credentials and region in the environment.

use der::pem::LineEnding;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let (Some(key_id), Some(subject)) = (args.next(), args.next()) else {
        return Err(
            "usage: sealing_csr KEY_ID SUBJECT (e.g. \"CN=Example Sealing,O=Example K.K.,C=JP\")"
                .into(),
        );
    };
    let config = keiyaku_aws::sdk_config(&keiyaku_aws::Connection::default()).await;
    let kms = aws_sdk_kms::Client::new(&config);
    let csr = keiyaku_aws::sealing::sealing_csr(&kms, &key_id, &subject)
        .await
        .map_err(|e| e.to_string())?;
    let pem = der::pem::encode_string("CERTIFICATE REQUEST", LineEnding::LF, &csr)
        .map_err(|e| e.to_string())?;
    print!("{pem}");
    Ok(())
}
