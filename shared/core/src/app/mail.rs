//! The service's mails, Japanese first with English below, built here as finished MIME so
//! every shape sends the same bytes.

use lettre::message::{Mailbox, Message, MessageBuilder, header::ContentType};
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::ports::OutgoingMail;
use crate::services::needs::{Settings, Time};

/// The headers every mail of the service has: from, to, subject, date, Message-ID.
fn headers(
    s: &(impl Time + Settings),
    to: &str,
    subject: &str,
    message_id: &str,
) -> Result<MessageBuilder> {
    let from: Mailbox = s.config().mail_from.parse().map_err(Error::internal)?;
    let to_box: Mailbox = to.parse().map_err(Error::internal)?;
    let date: std::time::SystemTime = s.now().into();
    Ok(Message::builder()
        .from(from)
        .to(to_box)
        .subject(subject)
        .date(date)
        .message_id(Some(format!("<{message_id}>"))))
}

/// A finished message for the mailer.
fn outgoing(to: &str, message_id: &str, message: Message) -> OutgoingMail {
    OutgoingMail {
        to: vec![to.to_owned()],
        message_id: message_id.to_owned(),
        raw: message.formatted(),
    }
}

/// Builds a plain-text UTF-8 message.
pub fn compose(
    s: &(impl Time + Settings),
    to: &str,
    subject: &str,
    body: &str,
    message_id: &str,
) -> Result<OutgoingMail> {
    let message = headers(s, to, subject, message_id)?
        .header(ContentType::TEXT_PLAIN)
        .body(body.replace('\n', "\r\n"))
        .map_err(Error::internal)?;
    Ok(outgoing(to, message_id, message))
}

/// A Message-ID unique to this mail.
pub fn fresh_message_id(now: OffsetDateTime) -> String {
    format!("{}@keiyaku", crate::ids::new_id(now))
}

/// The address-confirmation mail after sign-up.
pub fn verify_email(
    s: &(impl Time + Settings),
    to: &str,
    name: &str,
    token: &str,
) -> Result<OutgoingMail> {
    let link = format!("{}/verify-email#{token}", s.config().public_url);
    let body = format!(
        "{name} 様\n\n\
         keiyaku へのご登録ありがとうございます。\n\
         次のリンクを開いて、メールアドレスを確認してください（24 時間有効）。\n\n\
         {link}\n\n\
         お心当たりのない場合は、このメールを破棄してください。\n\n\
         ----\n\
         Thank you for signing up for keiyaku.\n\
         Open the link above to confirm your e-mail address (valid for 24 hours).\n\
         If you did not sign up, ignore this mail.\n"
    );
    compose(
        s,
        to,
        "【keiyaku】メールアドレスの確認 / Confirm your e-mail address",
        &body,
        &fresh_message_id(s.now()),
    )
}

/// Sent when someone signs up with an address that already has an account (the API answers
/// the same either way, so sign-up does not reveal which addresses are registered).
pub fn already_registered(s: &(impl Time + Settings), to: &str) -> Result<OutgoingMail> {
    let link = format!("{}/reset", s.config().public_url);
    let body = format!(
        "このメールアドレスで keiyaku の新規登録が試みられましたが、すでにアカウントがあります。\n\
         パスワードをお忘れの場合は、次のページから再設定してください。\n\n\
         {link}\n\n\
         ----\n\
         Someone tried to sign up for keiyaku with this address, which already has an account.\n\
         If you forgot your password, reset it on the page above.\n"
    );
    compose(
        s,
        to,
        "【keiyaku】アカウントはすでに登録されています / You already have an account",
        &body,
        &fresh_message_id(s.now()),
    )
}

/// The link that proves a new address is the account holder's.
pub fn address_change(
    s: &(impl Time + Settings),
    to: &str,
    name: &str,
    token: &str,
) -> Result<OutgoingMail> {
    let link = format!("{}/address#{token}", s.config().public_url);
    let body = format!(
        "{name} 様\n\n\
         keiyaku のアカウントのメールアドレスをこのアドレスに変更する手続きが行われました。\n\
         次のリンクを開くと変更が完了します（24 時間有効）。\n\n\
         {link}\n\n\
         お心当たりのない場合は、このメールを破棄してください。\n\n\
         ----\n\
         Someone asked to change the address of a keiyaku account to this one.\n\
         Open the link above to finish the change (valid 24 hours). If it was not you, ignore this mail.\n"
    );
    compose(
        s,
        to,
        "【keiyaku】メールアドレスの確認 / Confirm your new address",
        &body,
        &fresh_message_id(s.now()),
    )
}

/// Tells the address an account has now that a change to another was asked for.
pub fn address_change_asked(
    s: &(impl Time + Settings),
    to: &str,
    name: &str,
    new: &str,
) -> Result<OutgoingMail> {
    let body = format!(
        "{name} 様\n\n\
         keiyaku のアカウントのメールアドレスを {new} に変更する手続きが行われました。\n\
         新しいアドレスに届いたリンクが開かれると、変更が完了します。\n\
         お心当たりのない場合は、すぐにパスワードを変更し、チームの管理者にご確認ください。\n\n\
         ----\n\
         Someone asked to change the address of your keiyaku account to {new}. The change is made\n\
         when the link mailed there is opened. If it was not you, change your password at once\n\
         and check with your team's admins.\n"
    );
    compose(
        s,
        to,
        "【keiyaku】メールアドレス変更の手続き / Address change asked",
        &body,
        &fresh_message_id(s.now()),
    )
}

/// The password-reset mail.
pub fn password_reset(
    s: &(impl Time + Settings),
    to: &str,
    name: &str,
    token: &str,
) -> Result<OutgoingMail> {
    let link = format!("{}/reset#{token}", s.config().public_url);
    let body = format!(
        "{name} 様\n\n\
         パスワード再設定のご依頼を受け付けました。\n\
         次のリンクを開いて、新しいパスワードを設定してください（1 時間有効）。\n\n\
         {link}\n\n\
         お心当たりのない場合は、このメールを破棄してください。パスワードは変わりません。\n\n\
         ----\n\
         We received a request to reset your keiyaku password.\n\
         Open the link above to choose a new one (valid for 1 hour).\n\
         If you did not ask for this, ignore this mail; your password stays as it is.\n"
    );
    compose(
        s,
        to,
        "【keiyaku】パスワードの再設定 / Reset your password",
        &body,
        &fresh_message_id(s.now()),
    )
}

/// An invitation to join a team, with its link (valid seven days).
pub fn invitation(
    s: &(impl Time + Settings),
    to: &str,
    inviter: &str,
    team: &str,
    token: &str,
) -> Result<OutgoingMail> {
    let link = format!("{}/invitation#{token}", s.config().public_url);
    let body = format!(
        "{inviter} 様から、keiyaku のチーム「{team}」に招待されました。\n\
         次のリンクを開いて、お名前とパスワードを設定してください（7 日間有効）。\n\n\
         {link}\n\n\
         お心当たりのない場合は、このメールを破棄してください。\n\n\
         ----\n\
         {inviter} invited you to the keiyaku team \"{team}\".\n\
         Open the link above to choose your name and password (valid for 7 days).\n\
         If you did not expect this, ignore this mail.\n"
    );
    compose(
        s,
        to,
        "【keiyaku】チームへの招待 / You are invited to a team",
        &body,
        &fresh_message_id(s.now()),
    )
}

/// Tells `to` (an admin of the team, or the member concerned) what changed about
/// `member`: so a change nobody asked for is noticed (checklist No.47).
pub fn member_changed(
    s: &(impl Time + Settings),
    to: &crate::domain::user::User,
    member: &crate::domain::user::User,
    change: crate::domain::team::MemberChange,
) -> Result<OutgoingMail> {
    use crate::domain::team::MemberChange;
    let who = format!("{}（{}）", member.name, member.email);
    let role = member.role.as_str();
    let (ja, en, subject) = match change {
        MemberChange::Joined => (
            format!("{who} 様がチームに参加しました（役割: {role}）。"),
            format!("{who} joined the team (role: {role})."),
            "【keiyaku】チームのメンバーが変わりました / Team membership changed",
        ),
        MemberChange::RoleChanged => (
            format!("{who} 様の役割が {role} に変わりました。"),
            format!("The role of {who} is now {role}."),
            "【keiyaku】チームのメンバーが変わりました / Team membership changed",
        ),
        MemberChange::Removed => (
            format!(
                "{who} 様がチームから外されました。このアカウントではログインできなくなりました。"
            ),
            format!("{who} was removed from the team and can no longer log in with this account."),
            "【keiyaku】チームのメンバーが変わりました / Team membership changed",
        ),
        MemberChange::PasswordChanged => (
            format!("{who} 様のパスワードが変更されました。"),
            format!("The password of {who} was changed."),
            "【keiyaku】パスワードが変更されました / Password changed",
        ),
        MemberChange::TwoFactorOn => (
            format!("{who} 様の 2 段階認証が有効になりました。"),
            format!("Two-factor login of {who} is now on."),
            "【keiyaku】2 段階認証を有効にしました / Two-factor login turned on",
        ),
        MemberChange::TwoFactorOff => (
            format!("{who} 様の 2 段階認証が無効になりました。"),
            format!("Two-factor login of {who} is now off."),
            "【keiyaku】2 段階認証を無効にしました / Two-factor login turned off",
        ),
        MemberChange::AddressChanged => (
            format!(
                "{} 様のメールアドレスが {} に変わりました。",
                member.name, member.email
            ),
            format!("The address of {} is now {}.", member.name, member.email),
            "【keiyaku】メールアドレスが変わりました / Address changed",
        ),
    };
    let name = &to.name;
    let link = format!("{}/team", s.config().public_url);
    let body = format!(
        "{name} 様\n\n{ja}\n\
         お心当たりのない場合は、すぐにパスワードを変更し、チームの管理者にご確認ください。\n\n\
         {link}\n\n\
         ----\n\
         {en}\n\
         If this is unexpected, change your password at once and check with the team's admins.\n"
    );
    compose(
        s,
        to.email.as_str(),
        subject,
        &body,
        &fresh_message_id(s.now()),
    )
}

/// Tells an admin that `by` changed the team's security settings to `settings`.
pub fn settings_changed(
    s: &(impl Time + Settings),
    to: &crate::domain::user::User,
    by: &str,
    settings: &crate::domain::team::TeamSettings,
    approvers: &[String],
) -> Result<OutgoingMail> {
    use crate::domain::team::ApprovalKind;
    let name = &to.name;
    let names = approvers.join("、");
    let (ja_rule, en_rule) = match settings.approval.as_ref().map(|r| r.kind) {
        None => ("なし".to_owned(), "none".to_owned()),
        Some(ApprovalKind::AnyOf) => (
            format!("{names} のいずれか 1 人"),
            format!("any one of {names}"),
        ),
        Some(ApprovalKind::InOrder) => (
            format!("{names} の順に全員"),
            format!("each of {names}, in this order"),
        ),
    };
    let link = format!("{}/team", s.config().public_url);
    let (ja_2fa, en_2fa) = if settings.require_two_factor {
        ("必須", "required")
    } else {
        ("任意", "optional")
    };
    let networks = if settings.allowed_networks.is_empty() {
        "-".to_owned()
    } else {
        settings
            .allowed_networks
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let body = format!(
        "{name} 様\n\n\
         {by} 様がチームのセキュリティ設定を変更しました。\n\
         2 段階認証: {ja_2fa}\n\
         接続を許可するネットワーク: {networks}\n\
         送信前の承認: {ja_rule}\n\n\
         {link}\n\n\
         ----\n\
         {by} changed the team's security settings.\n\
         Two-factor login: {en_2fa}\n\
         Networks allowed: {networks}\n\
         Approval before sending: {en_rule}\n"
    );
    compose(
        s,
        to.email.as_str(),
        "【keiyaku】チームの設定が変わりました / Team settings changed",
        &body,
        &fresh_message_id(s.now()),
    )
}

/// The proof of a domain claim: a link for someone at the domain to open.
pub fn domain_claim(
    s: &(impl Time + Settings),
    to: &str,
    admin: &str,
    team: &str,
    domain: &str,
    token: &str,
) -> Result<OutgoingMail> {
    let link = format!("{}/domain#{token}", s.config().public_url);
    let body = format!(
        "{admin} 様（keiyaku のチーム「{team}」の管理者）が、メールドメイン {domain} をチームのものとして登録しようとしています。\n\
         登録すると、{domain} のアドレスでは、このチームの招待を受けた場合にしか keiyaku のアカウントを作れなくなります。\n\
         このドメインが確かに貴社のものであれば、次のリンクを開いて確認してください（24 時間有効）。\n\n\
         {link}\n\n\
         お心当たりのない場合は、このメールを破棄してください。\n\n\
         ----\n\
         {admin}, an admin of the keiyaku team \"{team}\", asks to claim the mail domain {domain} for the team.\n\
         Once claimed, addresses at {domain} can make keiyaku accounts only by the team's invitation.\n\
         If the domain is indeed your organisation's, open the link above to confirm (valid 24 hours).\n\
         If you did not expect this, ignore this mail.\n"
    );
    compose(
        s,
        to,
        "【keiyaku】メールドメインの確認 / Confirm a mail domain",
        &body,
        &fresh_message_id(s.now()),
    )
}

/// Tells an admin which mail domains the team holds now.
pub fn domains_changed(
    s: &(impl Time + Settings),
    to: &crate::domain::user::User,
    domains: &[&str],
) -> Result<OutgoingMail> {
    let name = &to.name;
    let list = if domains.is_empty() {
        "-".to_owned()
    } else {
        domains.join(", ")
    };
    let link = format!("{}/team", s.config().public_url);
    let body = format!(
        "{name} 様\n\n\
         チームのアカウント登録制限が変わりました。登録済みのメールドメイン: {list}\n\n\
         {link}\n\n\
         ----\n\
         The team's registration restriction changed. Domains claimed: {list}\n"
    );
    compose(
        s,
        to.email.as_str(),
        "【keiyaku】チームの設定が変わりました / Team settings changed",
        &body,
        &fresh_message_id(s.now()),
    )
}

/// Tells a member that the documents of another member were handed to them.
pub fn documents_handed_over(
    s: &(impl Time + Settings),
    to: &crate::domain::user::User,
    from: &crate::domain::user::User,
    count: usize,
) -> Result<OutgoingMail> {
    let name = &to.name;
    let giver = format!("{}（{}）", from.name, from.email);
    let link = format!("{}/documents", s.config().public_url);
    let body = format!(
        "{name} 様\n\n\
         {giver} 様の書類 {count} 件が、チームの管理者によってあなたに引き継がれました。\n\
         これからは、あなたが送信者として下書きの編集や進行中の書類の対応を行えます。\n\n\
         {link}\n\n\
         ----\n\
         A team admin handed {count} document(s) of {giver} to you: you are now their sender.\n"
    );
    compose(
        s,
        to.email.as_str(),
        "【keiyaku】書類が引き継がれました / Documents handed to you",
        &body,
        &fresh_message_id(s.now()),
    )
}

/// `【keiyaku】` or, for a reminder, `【keiyaku・リマインド】`.
fn tag(reminder: bool) -> &'static str {
    if reminder {
        "【keiyaku・リマインド】"
    } else {
        "【keiyaku】"
    }
}

/// An approver is asked to approve a document before it goes out (again, as a reminder);
/// someone without a confirmed account at this address (`registered` false) is invited to
/// make one first.
#[allow(clippy::too_many_arguments)]
pub fn approval_request(
    s: &(impl Time + Settings),
    to: &str,
    approver: &str,
    registered: bool,
    sender: &str,
    title: &str,
    document_id: &str,
    message_id: &str,
    reminder: bool,
) -> Result<OutgoingMail> {
    let base = &s.config().public_url;
    let link = format!("{base}/documents/{document_id}");
    let (invite_ja, invite_en) = if registered {
        (String::new(), String::new())
    } else {
        (
            format!(
                "keiyaku のアカウントをお持ちでない場合は、このメールアドレス（{to}）で\n\
                 登録し、アドレスを確認してから開いてください: {base}/signup\n"
            ),
            format!(
                "No account yet? Sign up with this address ({to}) and confirm it first: \
                 {base}/signup\n"
            ),
        )
    };
    let body = format!(
        "{approver} 様\n\n\
         {sender} 様から、次の文書の承認が依頼されました。\n\
         ログインして、承認または差し戻しをしてください。\n\
         {invite_ja}\n\
         文書: {title}\n\
         {link}\n\n\
         ----\n\
         {sender} asks you to approve this document before it is sent.\n\
         Log in to approve or reject it: {link}\n\
         {invite_en}"
    );
    compose(
        s,
        to,
        &format!(
            "{}承認のお願い: {title} / Approval requested",
            tag(reminder)
        ),
        &body,
        message_id,
    )
}

/// What a recipient's request mail says.
pub struct AgreementRequest<'a> {
    /// The recipient's name.
    pub recipient: &'a str,
    /// The sender's name (and company, when given).
    pub sender: &'a str,
    /// The document's title.
    pub title: &'a str,
    /// The sender's message, if any.
    pub message: Option<&'a str>,
    /// The link's secret (goes in the URL fragment, never to a server).
    pub link_token: &'a str,
    /// The deadline, as shown.
    pub deadline: &'a str,
    /// Whether an access code is needed (the sender tells it another way).
    pub access_code: bool,
    /// Whether this is a reminder.
    pub reminder: bool,
}

/// A recipient is asked to review and agree: the link carries our opaque token in its
/// fragment, so it never reaches a server or CDN log.
pub fn agreement_request(
    s: &(impl Time + Settings),
    to: &str,
    request: &AgreementRequest<'_>,
    message_id: &str,
) -> Result<OutgoingMail> {
    let AgreementRequest {
        recipient,
        sender,
        title,
        message,
        link_token,
        deadline,
        access_code,
        reminder,
    } = request;
    let link = format!("{}/r/#{link_token}", s.config().public_url);
    let message = message
        .map(|m| format!("\nメッセージ / Message:\n{m}\n"))
        .unwrap_or_default();
    let code = if *access_code {
        "\nこの文書を開くにはアクセスコードが必要です。送信者から別途お知らせします。\n\
         An access code is needed to open it; the sender will tell you.\n"
    } else {
        ""
    };
    let body = format!(
        "{recipient} 様\n\n\
         {sender} 様から、次の文書の確認と同意のお願いが届いています。\n\
         リンクを開いて内容を確認し、同意または辞退してください（期限: {deadline}）。\n\n\
         文書: {title}\n\
         {link}\n{message}{code}\n\
         ----\n\
         {sender} asks you to review and agree to this document by {deadline}.\n\
         Open the link above to read it, then agree or decline.\n"
    );
    compose(
        s,
        to,
        &format!(
            "{}{title} の確認のお願い / Please review and agree",
            tag(*reminder)
        ),
        &body,
        message_id,
    )
}

/// How a document ended, for the mail that says so.
pub struct EndingNotice<'a> {
    /// The addressee's name.
    pub name: &'a str,
    /// The document's title.
    pub title: &'a str,
    /// What happened.
    pub ending: crate::domain::answer::Ending,
    /// Who did it (the approver or recipient), when a party did.
    pub by: Option<&'a str>,
    /// The reason they gave.
    pub reason: Option<&'a str>,
}

/// Tells a party that a document ended without being concluded.
pub fn ending_notice(
    s: &(impl Time + Settings),
    to: &str,
    notice: &EndingNotice<'_>,
    message_id: &str,
) -> Result<OutgoingMail> {
    use crate::domain::answer::Ending;
    let EndingNotice {
        name,
        title,
        ending,
        by,
        reason,
    } = notice;
    let by = by.unwrap_or("");
    let (subject_ja, subject_en, ja, en) = match ending {
        Ending::Rejected => (
            "差し戻されました",
            "Rejected",
            format!("{by} 様が承認せず、差し戻しました。文書は送信されていません。"),
            format!("{by} rejected it; it was not sent."),
        ),
        Ending::Declined => (
            "辞退されました",
            "Declined",
            format!("{by} 様が同意を辞退しました。この文書は締結されません。"),
            format!("{by} declined; the document will not be concluded."),
        ),
        Ending::Cancelled => (
            "取り消されました",
            "Cancelled",
            "送信者がこの文書を取り消しました。対応は不要です。".to_owned(),
            "The sender cancelled this document; nothing more is needed from you.".to_owned(),
        ),
        Ending::Expired => (
            "期限切れになりました",
            "Expired",
            "期限までにすべての回答がそろわなかったため、この文書は期限切れになりました。"
                .to_owned(),
            "Not every answer came before the deadline; the document has expired.".to_owned(),
        ),
    };
    let reason = reason
        .map(|r| format!("\n理由 / Reason:\n{r}\n"))
        .unwrap_or_default();
    let body = format!(
        "{name} 様\n\n\
         文書: {title}\n\
         {ja}\n{reason}\n\
         ----\n\
         {title}: {en}\n"
    );
    compose(
        s,
        to,
        &format!("【keiyaku】{title} は{subject_ja} / {subject_en}"),
        &body,
        message_id,
    )
}

/// What the completion mail lists.
pub struct Completion<'a> {
    /// The addressee's name.
    pub name: &'a str,
    /// The document's title.
    pub title: &'a str,
    /// One line per party (sender, approvers, recipients).
    pub parties: &'a [String],
    /// One line per agreement: who, when.
    pub agreements: &'a [String],
    /// One line per timestamp in the file: what, when.
    pub timestamps: &'a [String],
    /// Where to open the file (always given; the file is attached too when it fits).
    pub link: &'a str,
}

/// Largest message with the PDF attached; beyond it the mail carries only the link.
pub const MAX_MAIL_BYTES: usize = 7_000_000;

/// Every party is told that the document is concluded, with the sealed PDF attached when
/// the whole message stays under [`MAX_MAIL_BYTES`] (else only the link).
pub fn completed(
    s: &(impl Time + Settings),
    to: &str,
    summary: &Completion<'_>,
    attachment: Option<(&str, &[u8])>,
    message_id: &str,
) -> Result<OutgoingMail> {
    if let Some(file) = attachment {
        let with_file = completion_message(s, to, summary, Some(file), message_id)?;
        if with_file.raw.len() < MAX_MAIL_BYTES {
            return Ok(with_file);
        }
    }
    completion_message(s, to, summary, None, message_id)
}

fn completion_message(
    s: &(impl Time + Settings),
    to: &str,
    summary: &Completion<'_>,
    attachment: Option<(&str, &[u8])>,
    message_id: &str,
) -> Result<OutgoingMail> {
    use lettre::message::{Attachment, MultiPart, SinglePart};
    let Completion {
        name,
        title,
        parties,
        agreements,
        timestamps,
        link,
    } = summary;
    let lines = |l: &[String]| l.iter().map(|x| format!("  {x}\n")).collect::<String>();
    let file_note = if attachment.is_some() {
        "締結済みの PDF を添付します。次のリンクからも開けます。\n\
         The sealed PDF is attached; it also opens from this link."
    } else {
        "締結済みの PDF は次のリンクから開けます（メールに添付するには大きすぎます）。\n\
         The sealed PDF opens from this link (too large to attach)."
    };
    let body = format!(
        "{name} 様\n\n\
         次の文書は、すべての当事者の同意により締結されました。\n\
         This document is concluded: every party agreed.\n\n\
         文書 / Document: {title}\n\n\
         当事者 / Parties:\n{}\n\
         同意 / Agreements:\n{}\n\
         タイムスタンプ / Timestamps:\n{}\n\
         {file_note}\n{link}\n\n\
         ファイルの署名とタイムスタンプは Adobe Acrobat Reader などで検証できます。\n\
         Its seals and timestamps can be verified in Adobe Acrobat Reader or any PDF validator.\n",
        lines(parties),
        lines(agreements),
        lines(timestamps),
    )
    .replace('\n', "\r\n");
    let builder = headers(
        s,
        to,
        &format!("【keiyaku】{title} が締結されました / Concluded"),
        message_id,
    )?;
    let text = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .body(body);
    let message = match attachment {
        Some((filename, pdf)) => builder.multipart(MultiPart::mixed().singlepart(text).singlepart(
            Attachment::new(filename.to_owned()).body(
                pdf.to_vec(),
                ContentType::parse("application/pdf").map_err(Error::internal)?,
            ),
        )),
        None => builder.singlepart(text),
    }
    .map_err(Error::internal)?;
    Ok(outgoing(to, message_id, message))
}

/// The sender is told that a recipient's link was suspended after too many wrong access
/// codes, and how to reissue it.
pub fn link_suspended(
    s: &(impl Time + Settings),
    to: &str,
    sender: &str,
    recipient: &str,
    title: &str,
    document_id: &str,
    message_id: &str,
) -> Result<OutgoingMail> {
    let link = format!("{}/documents/{document_id}", s.config().public_url);
    let body = format!(
        "{sender} 様\n\n\
         文書「{title}」の {recipient} 様あてのリンクで、アクセスコードが 10 回続けて誤って入力されたため、\n\
         リンクを停止しました。ご本人に確認のうえ、文書の画面からリンクを再発行してください。\n\n\
         {link}\n\n\
         ----\n\
         The link of {recipient} for \"{title}\" was suspended after 10 wrong access codes.\n\
         Check with them, then reissue the link from the document's page.\n"
    );
    compose(
        s,
        to,
        &format!("【keiyaku】リンクを停止しました: {title} / A recipient link was suspended"),
        &body,
        message_id,
    )
}

/// The sender is told that a document still waiting for answers expires soon.
pub fn expiry_notice(
    s: &(impl Time + Settings),
    to: &str,
    sender: &str,
    title: &str,
    document_id: &str,
    deadline: &str,
    message_id: &str,
) -> Result<OutgoingMail> {
    let link = format!("{}/documents/{document_id}", s.config().public_url);
    let body = format!(
        "{sender} 様\n\n\
         文書「{title}」は、まだすべての回答がそろっていません。期限は {deadline} です。\n\
         必要に応じて、相手方に確認してください。\n\n\
         {link}\n\n\
         ----\n\
         \"{title}\" is still waiting for answers; it expires at {deadline}.\n"
    );
    compose(
        s,
        to,
        &format!("【keiyaku】期限が近づいています: {title} / Expires soon"),
        &body,
        message_id,
    )
}

/// A time as shown in mails: Japan time.
pub(crate) fn jst(at: OffsetDateTime) -> String {
    at.to_offset(time::macros::offset!(+9))
        .format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute] JST"
        ))
        .unwrap_or_default()
}
