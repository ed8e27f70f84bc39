//! API tokens: named tokens for scripts, the caller's list of them, and revoking one.

use super::*;

/// What the owner sees of an API token (never the token itself).
#[derive(Serialize, Deserialize)]
pub(super) struct ApiTokenRecord {
    /// Its id.
    pub(super) id: String,
    /// Hash of the token: the key of its session.
    pub(super) session_hash: String,
    /// What its owner called it (tokens made for scripts); none for a token-mode login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) name: Option<String>,
}

/// One of the caller's API tokens.
#[derive(Clone, Debug)]
pub struct ApiToken {
    /// Its id (for `DELETE /me/tokens/{id}`).
    pub id: String,
    /// Its name (tokens made for scripts); none for a token-mode login.
    pub name: Option<String>,
    /// When it was issued.
    pub created_at: OffsetDateTime,
    /// When it was last used.
    pub last_used: OffsetDateTime,
    /// When it ends unless revoked first.
    pub expires_at: OffsetDateTime,
    /// Whether the request asking is made with it.
    pub current: bool,
}

/// A named API token for scripts, made by a logged-in user whose logins ask for a second
/// factor: the one way for a script around the code. Its token is shown once.
pub async fn create_api_token(
    s: &(impl Items + Time + Settings),
    caller: &Caller,
    name: &str,
) -> Result<(ApiToken, String)> {
    if !caller.user.two_factor {
        return Err(Error::Forbidden {
            code: "two_factor_required",
            message: "turn on two-factor login before making API tokens".into(),
        });
    }
    let name = text::line(name, "name", 100)?;
    let NewSession {
        token,
        api_token_id,
        mut writes,
        ..
    } = new_session(s, &caller.user, SessionKind::Api, Some(name.clone()))?;
    writes.push(crate::store::audit::caller_event(
        s.now(),
        caller,
        "account.api_token_created",
        api_token_id.as_ref().map(|id| format!("token:{id}")),
    )?);
    s.items().transact(writes).await?;
    let now = s.now();
    Ok((
        ApiToken {
            id: api_token_id.unwrap_or_default(),
            name: Some(name),
            created_at: now,
            last_used: now,
            expires_at: now + s.config().api_token_idle.min(s.config().api_token_absolute),
            current: false,
        },
        token.token,
    ))
}

/// The caller's API tokens that still work, newest first.
pub async fn list_api_tokens(
    s: &(impl Items + Time + Settings),
    caller: &Caller,
) -> Result<Vec<ApiToken>> {
    let page = s
        .items()
        .query(&crate::ports::Query {
            pk: keys::team_pk(caller.team()),
            sk_prefix: keys::api_tokens_prefix(caller.user_id()),
            after: None,
            descending: true,
            limit: 1000,
        })
        .await?;
    let mut out = Vec::new();
    for item in page.items {
        let record: ApiTokenRecord = from_item(&item)?;
        let key = keys::session(&record.session_hash);
        let Some(session_item) = s.items().get(&key).await? else {
            continue;
        };
        let session: Session = from_item(&session_item)?;
        let expires_at = session_deadline(s, &session);
        if expires_at <= s.now() || session.epoch != caller.user.session_epoch {
            continue;
        }
        out.push(ApiToken {
            id: record.id,
            name: record.name,
            created_at: session.created_at,
            last_used: session.last_seen,
            expires_at,
            current: key == keys::session(&caller.session_hash),
        });
    }
    Ok(out)
}

/// Revokes one of the caller's API tokens.
pub async fn revoke_api_token(s: &(impl Items + Time), caller: &Caller, id: &str) -> Result<()> {
    if id.is_empty() || id.len() > 64 {
        return Err(Error::NotFound);
    }
    let key = keys::api_token(caller.team(), caller.user_id(), id);
    let item = s.items().get(&key).await?.ok_or(Error::NotFound)?;
    let record: ApiTokenRecord = from_item(&item)?;
    s.items()
        .transact(vec![
            Write::Delete {
                key: keys::session(&record.session_hash),
                condition: Condition::None,
            },
            Write::Delete {
                key,
                condition: Condition::None,
            },
            crate::store::audit::caller_event(
                s.now(),
                caller,
                "account.api_token_revoked",
                Some(format!("token:{id}")),
            )?,
        ])
        .await?;
    Ok(())
}
