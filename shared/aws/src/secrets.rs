//! Secrets the AWS shape reads once per cold start from Secrets Manager: the remote TSA's
//! credentials (a certified TSA bills per timestamp and asks who is calling). The secret is
//! the JSON object Secrets Manager's console writes for credentials,
//! `{"username": "…", "password": "…"}`; the values never reach a log or an error message.

use aws_sdk_secretsmanager::Client;

/// What reading a secret can fail with.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// Secrets Manager could not be asked, or has no such secret.
    #[error("secret {id}: {reason}")]
    Unavailable {
        /// The secret's name or ARN.
        id: String,
        /// Why.
        reason: String,
    },
    /// The secret is not `{"username": …, "password": …}` with two non-empty strings.
    #[error("secret {0} is not {{\"username\": …, \"password\": …}} with both set")]
    Malformed(String),
}

/// The user name and password kept in the secret `id` (a name or ARN).
pub async fn credentials(client: &Client, id: &str) -> Result<(String, String), SecretError> {
    let out = client
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .map_err(|e| SecretError::Unavailable {
            id: id.to_owned(),
            reason: aws_sdk_secretsmanager::error::DisplayErrorContext(&e).to_string(),
        })?;
    let malformed = || SecretError::Malformed(id.to_owned());
    let value: serde_json::Value = serde_json::from_str(out.secret_string().ok_or_else(malformed)?)
        .map_err(|_| malformed())?;
    let field = |name: &str| {
        value[name]
            .as_str()
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .ok_or_else(malformed)
    };
    Ok((field("username")?, field("password")?))
}
