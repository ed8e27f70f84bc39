//! What the parties and the sender are told, in one place every use case calls: an
//! approver asked to approve, a recipient mailed their link (or reminded), everyone told
//! how a document ended or mailed the completed file. Each mail has a fixed Message-ID per
//! party and occasion, so a retried step mails nobody twice.

use crate::app::mail::jst;
use crate::domain::answer::{Decision, Ending};
use crate::domain::document::{Document, Ids, Phase, Status};
use crate::domain::party::Recipient;
use crate::error::{Error, Result};
use crate::services::needs::{
    Authority, Blobs, Cpu, Decrypt, Items, LinkMacs, Mail, Settings, Time,
};
use crate::store::links;
use crate::store::users::sender;
use crate::store::waits::OPS_PARTY;

/// Writes the recipient's link (for their current generation) and mails it: their turn has
/// come, or (`reminder` with a fresh Message-ID) the sender reminds them. The first mail of
/// a generation has a fixed Message-ID, so a retried task sends it once.
pub(crate) async fn issue_link(
    s: &(impl Items + Mail + Time + Settings + LinkMacs),
    doc: &Document,
    ids: &Ids,
    recipient: &Recipient,
    reminder: Option<&str>,
) -> Result<()> {
    let generation = recipient.link_generation;
    let token = links::create(s, ids, recipient).await?;
    let sender = sender(s, doc).await?;
    let deadline = doc.expires_at.map(jst).unwrap_or_default();
    let suffix = if generation == 0 {
        String::new()
    } else {
        format!("-g{generation}")
    };
    let first_id = format!(
        "agreement-{}-{}-{}{suffix}@keiyaku",
        doc.id, ids.send, recipient.id
    );
    let mail = crate::app::mail::agreement_request(
        s,
        recipient.email.as_str(),
        &crate::app::mail::AgreementRequest {
            recipient: &recipient.name,
            sender: &sender.name,
            title: &doc.title,
            message: doc.message.as_deref(),
            link_token: &token,
            deadline: &deadline,
            access_code: recipient.access_code_hash.is_some(),
            reminder: reminder.is_some(),
        },
        reminder.unwrap_or(&first_id),
    )?;
    s.mailer().send(&mail).await?;
    Ok(())
}

/// Asks the party again, marked as a reminder, under `message_id`.
pub(crate) async fn ask_again(
    s: &(impl Items + Mail + Time + Settings + LinkMacs),
    doc: &Document,
    phase: Phase,
    party: &str,
    message_id: &str,
) -> Result<()> {
    let ids = doc.current_send();
    match phase {
        Phase::Approval => ask_approver(s, doc, &ids, party, Some(message_id)).await,
        Phase::Agreement => {
            let recipient = doc
                .recipients
                .iter()
                .find(|r| r.id == party)
                .ok_or_else(|| Error::internal("the current recipient vanished"))?;
            crate::app::notify::issue_link(s, doc, &ids, recipient, Some(message_id)).await
        }
    }
}

/// Mails an approver the request to approve (`reminder`: with this fresh Message-ID).
pub(crate) async fn ask_approver(
    s: &(impl Items + Mail + Time + Settings),
    doc: &Document,
    ids: &Ids,
    party: &str,
    reminder: Option<&str>,
) -> Result<()> {
    let approver = doc
        .approvers
        .iter()
        .find(|a| a.id == party)
        .ok_or_else(|| Error::internal(format!("no approver {party}")))?;
    let sender = sender(s, doc).await?;
    // The mail goes to this address alone, so it may greet a registered holder by their own
    // name; anyone else is invited to register with it first.
    let holder = crate::store::users::user_by_email(s, &approver.email)
        .await?
        .map(|(u, _)| u)
        .filter(|u| u.email_verified);
    let greeting = holder
        .as_ref()
        .map_or_else(|| approver_greeting(approver), |u| u.name.clone());
    let first_id = format!("approval-{}-{}-{party}@keiyaku", doc.id, ids.send);
    let mail = crate::app::mail::approval_request(
        s,
        approver.email.as_str(),
        &greeting,
        holder.is_some(),
        &sender.name,
        &doc.title,
        doc.id.as_str(),
        reminder.unwrap_or(&first_id),
        reminder.is_some(),
    )?;
    s.mailer().send(&mail).await?;
    Ok(())
}

/// How a mail to an approver greets them: the name the sender gave, else their address
/// (the mail goes to that address alone).
fn approver_greeting(a: &crate::domain::party::Approver) -> String {
    a.name.clone().unwrap_or_else(|| a.email.to_string())
}

/// Someone to mail: party id (`sender` for the sender), name, address.
struct Addressee {
    party: String,
    name: String,
    email: String,
}

/// The parties asked in this send (a wait was recorded for them), in order.
async fn asked(s: &impl Items, doc: &Document, ids: &Ids) -> Result<Vec<Addressee>> {
    let asked: Vec<String> = crate::store::waits::waits(s, ids)
        .await?
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| p != OPS_PARTY)
        .collect();
    let approvers = doc.approvers.iter().map(|a| Addressee {
        party: a.id.clone(),
        name: approver_greeting(a),
        email: a.email.to_string(),
    });
    let recipients = doc.recipients.iter().map(|r| Addressee {
        party: r.id.clone(),
        name: r.name.clone(),
        email: r.email.to_string(),
    });
    Ok(approvers
        .chain(recipients)
        .filter(|a| asked.contains(&a.party))
        .collect())
}

/// Tells everyone concerned how the document ended: the sender (unless they cancelled it)
/// and every party asked so far, except the one who ended it. One mail per party and
/// ending (fixed Message-IDs).
pub(crate) async fn tell_ending(
    s: &(impl Items + Mail + Time + Settings),
    doc: &Document,
    ids: &Ids,
    ending: Ending,
) -> Result<()> {
    let actor = match ending {
        Ending::Rejected => Some(Decision::Rejected),
        Ending::Declined => Some(Decision::Declined),
        Ending::Cancelled | Ending::Expired => None,
    }
    .and_then(|d| {
        doc.answers
            .iter()
            .find(|a| a.send == ids.send && a.decision == d)
    });
    let by = actor.and_then(|a| {
        doc.approvers
            .iter()
            .map(|p| (&p.id, p.label()))
            .chain(doc.recipients.iter().map(|r| (&r.id, r.name.as_str())))
            .find(|(id, _)| **id == a.party_id)
            .map(|(_, name)| name.to_owned())
    });
    let mut to = asked(s, doc, ids).await?;
    to.retain(|a| actor.is_none_or(|x| x.party_id != a.party));
    if ending != Ending::Cancelled {
        let sender = sender(s, doc).await?;
        to.insert(
            0,
            Addressee {
                party: "sender".into(),
                name: sender.name,
                email: sender.email.to_string(),
            },
        );
    }
    let word = match ending {
        Ending::Rejected => Status::Rejected,
        Ending::Declined => Status::Declined,
        Ending::Cancelled => Status::Cancelled,
        Ending::Expired => Status::Expired,
    }
    .name();
    for a in to {
        let mail = crate::app::mail::ending_notice(
            s,
            &a.email,
            &crate::app::mail::EndingNotice {
                name: &a.name,
                title: &doc.title,
                ending,
                by: by.as_deref(),
                reason: actor.and_then(|x| x.reason.as_deref()),
            },
            &format!("{word}-{}-{}-{}@keiyaku", doc.id, ids.send, a.party),
        )?;
        s.mailer().send(&mail).await?;
    }
    Ok(())
}

/// Mails every party the completion summary with the sealed file (attached when it fits,
/// else a link: a recipient's own link, the app for the others).
pub(crate) async fn tell_completed(
    s: &(impl Items + Blobs + Mail + Time + Settings + Cpu + Authority + LinkMacs + Decrypt),
    doc: &Document,
    ids: &Ids,
) -> Result<()> {
    let pdf = bytes::Bytes::from(crate::store::documents::read_current(s, doc).await?);
    let report = crate::app::verification::report_on_own(s, pdf.clone()).await?;
    let jst_of = |rfc: &str| {
        time::OffsetDateTime::parse(rfc, &time::format_description::well_known::Rfc3339)
            .map(crate::app::mail::jst)
            .unwrap_or_else(|_| rfc.to_owned())
    };
    let timestamps: Vec<String> = report
        .signatures
        .iter()
        .filter_map(|sig| {
            let time = sig.timestamp.as_ref()?.time.as_deref()?;
            let what = match sig.kind {
                keiyaku_pdf::verify::Kind::Signature => {
                    sig.reason.clone().unwrap_or_else(|| "署名 / seal".into())
                }
                keiyaku_pdf::verify::Kind::DocumentTimestamp => {
                    "文書タイムスタンプ（長期署名） / document timestamp (B-LTA)".into()
                }
            };
            Some(format!("{what} — {}", jst_of(time)))
        })
        .collect();
    let sender = sender(s, doc).await?;
    let with_company = |name: &str, company: &Option<String>, department: &Option<String>| {
        let org: Vec<&str> = [company, department]
            .into_iter()
            .filter_map(|x| x.as_deref())
            .collect();
        if org.is_empty() {
            name.to_owned()
        } else {
            format!("{name}（{}）", org.join(" "))
        }
    };
    let mut parties = vec![format!("送信者 / Sender: {}", sender.name)];
    parties.extend(
        doc.approvers
            .iter()
            .map(|a| format!("承認者 / Approver: {}", a.label())),
    );
    parties.extend(doc.recipients.iter().map(|r| {
        format!(
            "受信者 / Recipient: {}",
            with_company(&r.name, &r.company, &r.department)
        )
    }));
    let agreements: Vec<String> = doc
        .recipients
        .iter()
        .filter_map(|r| {
            let a = doc.answer_of(ids.send, &r.id)?;
            Some(format!("{} — {}", r.name, crate::app::mail::jst(a.at)))
        })
        .collect();
    let app_link = format!("{}/documents/{}", s.config().public_url, doc.id);
    let mut to: Vec<(Addressee, String)> = vec![(
        Addressee {
            party: "sender".into(),
            name: sender.name.clone(),
            email: sender.email.to_string(),
        },
        app_link.clone(),
    )];
    for a in &doc.approvers {
        to.push((
            Addressee {
                party: a.id.clone(),
                name: approver_greeting(a),
                email: a.email.to_string(),
            },
            app_link.clone(),
        ));
    }
    for r in &doc.recipients {
        let token = crate::store::links::link_token(s, ids, &r.id, r.link_generation).await?;
        to.push((
            Addressee {
                party: r.id.clone(),
                name: r.name.clone(),
                email: r.email.to_string(),
            },
            format!("{}/r/#{token}", s.config().public_url),
        ));
    }
    for (a, link) in to {
        let mail = crate::app::mail::completed(
            s,
            &a.email,
            &crate::app::mail::Completion {
                name: &a.name,
                title: &doc.title,
                parties: &parties,
                agreements: &agreements,
                timestamps: &timestamps,
                link: &link,
            },
            // A 親展 document's file never travels by mail: the link opens it.
            (!doc.confidential).then_some((doc.filename.as_str(), &pdf[..])),
            &format!("completed-{}-{}-{}@keiyaku", doc.id, ids.send, a.party),
        )?;
        s.mailer().send(&mail).await?;
        crate::failpoint::failpoint("completion.mailed_one");
    }
    Ok(())
}
