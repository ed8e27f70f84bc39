//! A document's pages as images, for the browser client on every phone and in-app browser
//! (no PDF viewer needed): the current file, read and checked segment by segment, drawn on
//! the CPU pool (the file came from outside) and never stored; the caller sends it with
//! `Cache-Control: private, no-store`.

use futures::TryStreamExt;
use keiyaku_pdf::render::{self, RenderError};

use crate::app::recipients::RecipientCaller;
use crate::app::{documents, recipients};
use crate::domain::document::Document;
use crate::domain::user::Caller;
use crate::error::{Error, Result};
use crate::ports::ByteStream;
use crate::services::needs::{Blobs, Cpu, Decrypt, Items, Settings};

/// The width drawn when none is asked for, in pixels.
pub const DEFAULT_WIDTH: u32 = 1000;

/// Page `n` (1-based) of document `id`, `width` pixels wide, as PNG, for someone who may
/// read the document.
pub async fn document_page(
    s: &(impl Items + Blobs + Decrypt + Cpu + Settings),
    caller: &Caller,
    id: &str,
    n: u32,
    width: Option<u32>,
) -> Result<Vec<u8>> {
    let width = checked_width(width)?;
    let (doc, file) = documents::open_file(s, caller, id).await?;
    draw(s, &doc, file, n, width).await
}

/// Page `n` of the recipient's document, as [`document_page`].
pub async fn recipient_page(
    s: &(impl Items + Blobs + Decrypt + Cpu + Settings),
    caller: &RecipientCaller,
    n: u32,
    width: Option<u32>,
) -> Result<Vec<u8>> {
    let width = checked_width(width)?;
    let (doc, file) = recipients::open_file(s, caller).await?;
    draw(s, &doc, file, n, width).await
}

fn checked_width(width: Option<u32>) -> Result<u32> {
    let width = width.unwrap_or(DEFAULT_WIDTH);
    if (render::MIN_WIDTH..=render::MAX_WIDTH).contains(&width) {
        Ok(width)
    } else {
        Err(width_out_of_range())
    }
}

fn width_out_of_range() -> Error {
    Error::invalid(
        "width_out_of_range",
        "width",
        format!(
            "width must be from {} to {} pixels",
            render::MIN_WIDTH,
            render::MAX_WIDTH
        ),
    )
}

async fn draw(
    s: &(impl Cpu + Settings),
    doc: &Document,
    file: ByteStream,
    n: u32,
    width: u32,
) -> Result<Vec<u8>> {
    if n == 0 || n > doc.pages {
        return Err(Error::NotFound);
    }
    // The whole file: the rasteriser reads objects from anywhere in it. Its size was
    // bounded when it was accepted.
    let pdf: Vec<u8> = file
        .map_ok(|chunk| chunk.to_vec())
        .try_concat()
        .await
        .map_err(|e| Error::Integrity(e.to_string()))?;
    let fonts = s.config().fonts.clone();
    let drawn = s
        .cpu()
        .run(move || render::page_png(&pdf, n, width, &fonts))
        .await?;
    drawn.map_err(|e| match e {
        RenderError::NoSuchPage { .. } => Error::NotFound,
        RenderError::Width => width_out_of_range(),
        RenderError::TooLarge => Error::Unprocessable {
            code: "page_too_large".into(),
            message: "this page is too large to show as an image; download the PDF".into(),
        },
        RenderError::Unreadable(why) | RenderError::Encoding(why) => Error::Unprocessable {
            code: "page_not_drawable".into(),
            message: format!("this page cannot be shown as an image ({why}); download the PDF"),
        },
    })
}
