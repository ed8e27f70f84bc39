//! Verification of a PDF's signatures and timestamps for `POST /verify`, against this
//! installation's trust anchors (the local CA's root).

use crate::domain::user::Caller;
use crate::error::{Error, Result};
use crate::ratelimit;
use crate::services::needs::{Authority, Cpu, Items, Settings, Time};

/// Largest report kept or returned: beyond it the file holds more signatures than any
/// contract does.
const MAX_REPORT_BYTES: usize = 256 * 1024;

/// The trust anchors: the local CA's root when this installation has one, and the roots
/// configured besides.
pub(crate) fn anchors(
    s: &(impl Authority + Settings),
) -> Result<Vec<keiyaku_pdf::verify::Certificate>> {
    let mut anchors = s.config().trust_anchors.clone();
    if let Some(authority) = s.authority() {
        let pem = authority.root_pem().map_err(Error::internal)?;
        anchors.extend(keiyaku_pdf::verify::load_anchors(pem.as_bytes()).map_err(Error::internal)?);
    }
    Ok(anchors)
}

/// Verifies `pdf` on the CPU pool; the report as JSON (the schema of `keiyaku verify
/// --json`). A file that cannot be read as a PDF is refused with the reader's code.
pub async fn verify<B>(
    s: &(impl Time + Cpu + Authority + Settings),
    pdf: B,
) -> Result<serde_json::Value>
where
    B: AsRef<[u8]> + Send + 'static,
{
    let anchors = anchors(s)?;
    let now = s.now();
    let report = s
        .cpu()
        .run(move || keiyaku_pdf::verify::verify(pdf.as_ref(), &anchors, now))
        .await?
        .map_err(|e| Error::Unprocessable {
            code: e.code().to_owned(),
            message: e.to_string(),
        })?;
    let json = serde_json::to_value(&report).map_err(Error::internal)?;
    if json.to_string().len() > MAX_REPORT_BYTES {
        return Err(Error::Unprocessable {
            code: "too_many_signatures".into(),
            message: "the file holds too many signatures to report".into(),
        });
    }
    Ok(json)
}

/// The report on a file this service sealed (checked before it is mailed or renewed): on
/// the CPU pool, waiting its turn.
pub(crate) async fn report_on_own<B>(
    s: &(impl Time + Cpu + Authority + Settings),
    pdf: B,
) -> Result<keiyaku_pdf::verify::Report>
where
    B: AsRef<[u8]> + Send + 'static,
{
    let anchors = anchors(s)?;
    let now = s.now();
    s.cpu()
        .run_queued(move || keiyaku_pdf::verify::verify(pdf.as_ref(), &anchors, now))
        .await?
        .map_err(|e| Error::internal(format!("the sealed file does not verify: {e}")))
}

/// [`verify`] for a file sent in the request itself: counted per account when the caller is
/// signed in, else per client address.
pub async fn verify_sent(
    s: &(impl Items + Time + Cpu + Authority + Settings),
    pdf: bytes::Bytes,
    ip: std::net::IpAddr,
    caller: Option<&Caller>,
) -> Result<serde_json::Value> {
    match caller {
        Some(caller) => count_for_account(s, caller).await?,
        None => {
            ratelimit::hit(
                s.items(),
                s.now(),
                ratelimit::VERIFY_PER_ADDRESS,
                &ratelimit::address_subject(ip),
            )
            .await?
        }
    }
    verify(s, pdf).await
}

/// Counts one verification against a signed-in account's budget.
pub(crate) async fn count_for_account(s: &(impl Items + Time), caller: &Caller) -> Result<()> {
    ratelimit::hit(
        s.items(),
        s.now(),
        ratelimit::VERIFY_PER_ACCOUNT,
        caller.user_id().as_str(),
    )
    .await
}
