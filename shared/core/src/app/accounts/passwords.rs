//! Passwords: changing one, resetting a forgotten one by mail, and checking a candidate.

use super::*;

/// Changes the password (the current one is required) and revokes every other session; the
/// member and the team's admins are mailed.
pub async fn change_password(
    s: &(impl Items + Mail + Time + Settings),
    caller: &Caller,
    current: &str,
    new: &str,
) -> Result<()> {
    ratelimit::hit(
        s.items(),
        s.now(),
        ratelimit::PASSWORD_CHANGE_PER_ACCOUNT,
        caller.user_id().as_str(),
    )
    .await?;
    let (mut user, item) = crate::store::users::load_user(s, caller.team(), caller.user_id())
        .await?
        .ok_or(Error::NotFound)?;
    if current.len() > 4 * password::MAX_LENGTH
        || !password::verify(current, Some(&user.password_hash)).await?
    {
        return Err(Error::invalid(
            "wrong_password",
            "current",
            "the current password is wrong",
        ));
    }
    password::check(new, Some(user.email.as_str()), Some(&user.name))
        .map_err(|w| w.into_error("new"))?;
    user.password_hash = password::hash(new).await?;
    user.session_epoch += 1;
    // The session making the change moves to the new epoch; every other one is revoked.
    let session_item = s
        .items()
        .get(&keys::session(&caller.session_hash))
        .await?
        .ok_or_else(|| Error::unauthorized("the session has ended"))?;
    let mut session: Session = from_item(&session_item)?;
    session.epoch = user.session_epoch;
    let mut moved = session_item.clone();
    moved.body = to_json(&session)?;
    moved.version += 1;
    let writes = vec![
        Write::Put {
            item: moved,
            condition: Condition::Version(session_item.version),
        },
        crate::store::audit::audit_write(
            s.now(),
            &user.team_id,
            &user.id,
            "account.password_changed",
            caller.ip,
        )?,
    ];
    commit_user(s, writes, &user, &item).await?;
    teams::tell(s, &user, MemberChange::PasswordChanged).await
}

/// Mails a reset link if the address has an account; answers the same either way.
pub async fn request_reset(
    s: &(impl Items + Mail + Time + Settings),
    email: &str,
    ip: IpAddr,
) -> Result<()> {
    ratelimit::hit(
        s.items(),
        s.now(),
        ratelimit::RESET_PER_ADDRESS,
        &address_subject(ip),
    )
    .await?;
    let email = Email::parse(email, "email")?;
    ratelimit::hit(
        s.items(),
        s.now(),
        ratelimit::RESET_PER_ACCOUNT,
        email.as_str(),
    )
    .await?;
    let Some((user, _)) = crate::store::users::user_by_email(s, &email).await? else {
        return Ok(());
    };
    let token = Secret::generate();
    s.items()
        .put(
            token_item(
                &token,
                TokenPurpose::ResetPassword,
                &user,
                s.now() + Duration::hours(1),
            )?,
            Condition::NotExists,
        )
        .await?;
    s.mailer()
        .send(&mail::password_reset(
            s,
            email.as_str(),
            &user.name,
            &token.token,
        )?)
        .await?;
    Ok(())
}

/// Sets a new password from a reset token (single use); every session is revoked. The
/// mailed link also proves the address, so it counts as verified. The member and the
/// team's admins are mailed.
pub async fn confirm_reset(
    s: &(impl Items + Mail + Time + Settings),
    token: &str,
    new: &str,
    ip: IpAddr,
) -> Result<()> {
    let (mut user, before, token_key) = redeem(s, token, TokenPurpose::ResetPassword, ip).await?;
    password::check(new, Some(user.email.as_str()), Some(&user.name))
        .map_err(|w| w.into_error("new"))?;
    user.password_hash = password::hash(new).await?;
    user.session_epoch += 1;
    user.email_verified = true;
    consume(s, &user, &before, token_key, "account.password_reset", ip).await?;
    teams::tell(s, &user, MemberChange::PasswordChanged).await
}

/// Why a password would be refused (rate-limited; no account needed).
pub async fn password_check(
    s: &(impl Items + Time),
    pw: &str,
    email: Option<&str>,
    name: Option<&str>,
    ip: IpAddr,
) -> Result<Option<password::Weakness>> {
    ratelimit::hit(
        s.items(),
        s.now(),
        ratelimit::PASSWORD_CHECK_PER_ADDRESS,
        &address_subject(ip),
    )
    .await?;
    Ok(password::check(pw, email, name).err())
}
