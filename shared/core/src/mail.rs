//! The service's mails, Japanese first with English below, built here as finished MIME so
//! every shape sends the same bytes.

use lettre::message::{Mailbox, Message, header::ContentType};
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::ports::OutgoingMail;
use crate::services::Services;

/// Builds a plain-text UTF-8 message.
pub fn compose(
    services: &Services,
    to: &str,
    subject: &str,
    body: &str,
    message_id: &str,
) -> Result<OutgoingMail> {
    let from: Mailbox = services.config.mail_from.parse().map_err(Error::internal)?;
    let to_box: Mailbox = to.parse().map_err(Error::internal)?;
    let date: std::time::SystemTime = services.now().into();
    let message = Message::builder()
        .from(from)
        .to(to_box)
        .subject(subject)
        .date(date)
        .message_id(Some(format!("<{message_id}>")))
        .header(ContentType::TEXT_PLAIN)
        .body(body.replace('\n', "\r\n"))
        .map_err(Error::internal)?;
    Ok(OutgoingMail {
        to: vec![to.to_owned()],
        message_id: message_id.to_owned(),
        raw: message.formatted(),
    })
}

/// A Message-ID unique to this mail.
pub fn fresh_message_id(now: OffsetDateTime) -> String {
    format!("{}@keiyaku", crate::ids::new_id(now))
}

/// The address-confirmation mail after sign-up.
pub fn verify_email(
    services: &Services,
    to: &str,
    name: &str,
    token: &str,
) -> Result<OutgoingMail> {
    let link = format!("{}/verify-email#{token}", services.config.public_url);
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
        services,
        to,
        "【keiyaku】メールアドレスの確認 / Confirm your e-mail address",
        &body,
        &fresh_message_id(services.now()),
    )
}

/// Sent when someone signs up with an address that already has an account (the API answers
/// the same either way, so sign-up does not reveal which addresses are registered).
pub fn already_registered(services: &Services, to: &str) -> Result<OutgoingMail> {
    let link = format!("{}/reset", services.config.public_url);
    let body = format!(
        "このメールアドレスで keiyaku の新規登録が試みられましたが、すでにアカウントがあります。\n\
         パスワードをお忘れの場合は、次のページから再設定してください。\n\n\
         {link}\n\n\
         ----\n\
         Someone tried to sign up for keiyaku with this address, which already has an account.\n\
         If you forgot your password, reset it on the page above.\n"
    );
    compose(
        services,
        to,
        "【keiyaku】アカウントはすでに登録されています / You already have an account",
        &body,
        &fresh_message_id(services.now()),
    )
}

/// The password-reset mail.
pub fn password_reset(
    services: &Services,
    to: &str,
    name: &str,
    token: &str,
) -> Result<OutgoingMail> {
    let link = format!("{}/reset#{token}", services.config.public_url);
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
        services,
        to,
        "【keiyaku】パスワードの再設定 / Reset your password",
        &body,
        &fresh_message_id(services.now()),
    )
}

/// An approver is asked to approve a document before it goes out.
pub fn approval_request(
    services: &Services,
    to: &str,
    approver: &str,
    sender: &str,
    title: &str,
    document_id: &str,
    message_id: &str,
) -> Result<OutgoingMail> {
    let link = format!("{}/documents/{document_id}", services.config.public_url);
    let body = format!(
        "{approver} 様\n\n\
         {sender} 様から、次の文書の承認が依頼されました。\n\
         ログインして、承認または差し戻しをしてください。\n\n\
         文書: {title}\n\
         {link}\n\n\
         ----\n\
         {sender} asks you to approve this document before it is sent.\n\
         Log in to approve or reject it: {link}\n"
    );
    compose(
        services,
        to,
        &format!("【keiyaku】承認のお願い: {title} / Approval requested"),
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
}

/// A recipient is asked to review and agree: the link carries our opaque token in its
/// fragment, so it never reaches a server or CDN log.
pub fn agreement_request(
    services: &Services,
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
    } = request;
    let link = format!("{}/r/#{link_token}", services.config.public_url);
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
        services,
        to,
        &format!("【keiyaku】{title} の確認のお願い / Please review and agree"),
        &body,
        message_id,
    )
}
