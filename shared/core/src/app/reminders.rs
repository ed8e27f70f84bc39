//! Reminders outside the state machine, through the Scheduler port: three days and one day
//! before a document's deadline the party it waits for is reminded, and a day before, the
//! sender is told that it is about to expire. Each mail has a fixed Message-ID (one per
//! party and slot), so a job that runs twice sends it once; a job for a document that has
//! moved on, ended or been sent again does nothing.

use crate::domain::document::Ids;
use crate::error::Result;
use crate::services::needs::{Items, LinkMacs, Mail, Settings, Time};

pub(crate) async fn expiry_reminder(
    s: &(impl Items + Mail + Time + Settings + LinkMacs),
    ids: &Ids,
    days: i64,
) -> Result<()> {
    let (doc, _) = crate::store::documents::load(s, ids).await?;
    if doc.send != ids.send {
        return Ok(());
    }
    let Some((phase, party)) = crate::store::waits::current_party(s, &doc).await? else {
        return Ok(());
    };
    let message_id = format!(
        "expiry-reminder-{}-{}-{party}-{days}d@keiyaku",
        doc.id, ids.send
    );
    crate::app::notify::ask_again(s, &doc, phase, &party, &message_id).await?;
    if days == 1 {
        let sender = crate::store::users::sender(s, &doc).await?;
        let mail = crate::app::mail::expiry_notice(
            s,
            sender.email.as_str(),
            &sender.name,
            &doc.title,
            doc.id.as_str(),
            &doc.expires_at
                .map(crate::app::mail::jst)
                .unwrap_or_default(),
            &format!("expiry-notice-{}-{}@keiyaku", doc.id, ids.send),
        )?;
        s.mailer().send(&mail).await?;
    }
    Ok(())
}
