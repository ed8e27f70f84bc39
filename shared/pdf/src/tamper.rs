//! Changes appended after a seal that a verifier must catch — for tests and the external
//! judges (`examples/tamper.rs`): an annotation added to a page, a page's content edited, a
//! page added, and edits disguised as validation data by a new DSS, each as an incremental
//! update with a classic table or a cross-reference stream (an object overridden through an
//! xref stream); and a file built to cost a verifier as much as one can (many revisions,
//! each a signature over the whole file).

use lopdf::{Dictionary, Object, ObjectId};

use crate::PdfError;
use crate::reader::PdfReader;

/// An object as PDF text.
pub fn object_text(object: &Object) -> String {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = lopdf::Writer::write_object(&mut out, object);
    String::from_utf8_lossy(&out).into_owned()
}

/// Appends a revision redefining `objects` (number, PDF text, generation 0), indexed by a
/// classic table or, with `xref_stream`, by a cross-reference stream.
pub fn append_revision(
    pdf: &[u8],
    objects: &[(u32, String)],
    xref_stream: bool,
) -> Result<Vec<u8>, PdfError> {
    append_revision_with_info(pdf, objects, xref_stream, None)
}

/// [`append_revision`] whose trailer names object `info` as the document's `/Info`.
pub fn append_revision_with_info(
    pdf: &[u8],
    objects: &[(u32, String)],
    xref_stream: bool,
    info: Option<u32>,
) -> Result<Vec<u8>, PdfError> {
    let info = info.map(|n| format!(" /Info {n} 0 R")).unwrap_or_default();
    let reader = PdfReader::open(pdf)?;
    let root = reader
        .trailer()
        .get(b"Root")
        .and_then(Object::as_reference)
        .map_err(|_| PdfError::xref("trailer has no /Root reference"))?;
    let size = reader
        .size()
        .max(objects.iter().map(|o| o.0 + 1).max().unwrap_or(0));
    let prev = reader.startxref();
    let mut out = pdf.to_vec();
    out.push(b'\n');
    let mut offsets = Vec::new();
    for (number, text) in objects {
        offsets.push((*number, out.len()));
        out.extend_from_slice(format!("{number} 0 obj\n{text}\nendobj\n").as_bytes());
    }
    let at = out.len();
    if xref_stream {
        let xref_number = size;
        offsets.push((xref_number, at));
        offsets.sort();
        let mut data = Vec::new();
        let mut index = String::new();
        for (number, offset) in &offsets {
            index.push_str(&format!("{number} 1 "));
            data.push(1u8);
            let offset =
                u32::try_from(*offset).map_err(|_| PdfError::limit("offset over 4 GiB"))?;
            data.extend_from_slice(&offset.to_be_bytes());
            data.extend_from_slice(&[0, 0]);
        }
        out.extend_from_slice(
            format!(
                "{xref_number} 0 obj\n<< /Type /XRef /Size {} /W [1 4 2] /Index [{index}] \
                 /Root {} 0 R{info} /Prev {prev} /Length {} >>\nstream\n",
                xref_number + 1,
                root.0,
                data.len()
            )
            .as_bytes(),
        );
        out.extend_from_slice(&data);
        out.extend_from_slice(b"\nendstream\nendobj\n");
    } else {
        offsets.sort();
        out.extend_from_slice(b"xref\n");
        for (number, offset) in &offsets {
            out.extend_from_slice(format!("{number} 1\n{offset:010} 00000 n \n").as_bytes());
        }
        out.extend_from_slice(
            format!(
                "trailer\n<< /Size {size} /Root {} 0 R{info} /Prev {prev} >>\n",
                root.0
            )
            .as_bytes(),
        );
    }
    out.extend_from_slice(format!("startxref\n{at}\n%%EOF\n").as_bytes());
    Ok(out)
}

/// The page tree root and the first page: ids and dictionaries.
fn first_page(
    reader: &PdfReader<'_>,
) -> Result<(ObjectId, Dictionary, ObjectId, Dictionary), PdfError> {
    let catalog = reader.catalog()?;
    let tree_id = catalog
        .get(b"Pages")
        .and_then(Object::as_reference)
        .map_err(|_| PdfError::tree("the catalog has no /Pages"))?;
    let tree = reader
        .get(tree_id)?
        .as_dict()
        .cloned()
        .map_err(|_| PdfError::tree("/Pages"))?;
    let first = crate::validate::pages(reader, &catalog)?
        .first()
        .copied()
        .ok_or(PdfError::NoPages)?;
    let page = reader
        .get(first)?
        .as_dict()
        .cloned()
        .map_err(|_| PdfError::tree("page"))?;
    Ok((tree_id, tree, first, page))
}

/// The variants: (name, file). With `xref_stream`, every appended revision is indexed by a
/// cross-reference stream.
pub fn variants(
    sealed: &[u8],
    xref_stream: bool,
) -> Result<Vec<(&'static str, Vec<u8>)>, PdfError> {
    let reader = PdfReader::open(sealed)?;
    let size = reader.size();
    let (tree_id, tree, page_id, page) = first_page(&reader)?;

    let mut annotated = page.clone();
    let mut annots = match page.get(b"Annots") {
        Ok(a) => match reader.resolve(a)? {
            Object::Array(items) => items,
            _ => Vec::new(),
        },
        Err(_) => Vec::new(),
    };
    annots.push(Object::Reference((size, 0)));
    annotated.set("Annots", Object::Array(annots));
    let added_annotation = append_revision(
        sealed,
        &[
            (page_id.0, object_text(&Object::Dictionary(annotated))),
            (
                size,
                "<< /Type /Annot /Subtype /Text /Rect [10 10 30 30] /Contents (added later) >>"
                    .into(),
            ),
        ],
        xref_stream,
    )?;

    let content = page
        .get(b"Contents")
        .and_then(Object::as_reference)
        .map_err(|_| PdfError::tree("the first page's /Contents is not one stream"))?;
    let body = "BT /F1 24 Tf 72 700 Td (VOID) Tj ET";
    let edited_content = append_revision(
        sealed,
        &[(
            content.0,
            format!("<< /Length {} >>\nstream\n{body}\nendstream", body.len()),
        )],
        xref_stream,
    )?;

    let mut grown = tree.clone();
    let mut kids = match tree.get(b"Kids") {
        Ok(k) => match reader.resolve(k)? {
            Object::Array(items) => items,
            _ => Vec::new(),
        },
        Err(_) => Vec::new(),
    };
    kids.push(Object::Reference((size, 0)));
    grown.set("Count", Object::Integer(kids.len() as i64));
    grown.set("Kids", Object::Array(kids));
    let added_page = append_revision(
        sealed,
        &[
            (tree_id.0, object_text(&Object::Dictionary(grown))),
            (
                size,
                format!(
                    "<< /Type /Page /Parent {} 0 R /MediaBox [0 0 612 792] >>",
                    tree_id.0
                ),
            ),
        ],
        xref_stream,
    )?;
    // The same edits named as validation data by a new DSS: a later revision says what
    // refers to an object, so what it says may not decide what the object may become.
    let root = reader
        .trailer()
        .get(b"Root")
        .and_then(Object::as_reference)
        .map_err(|_| PdfError::xref("trailer has no /Root reference"))?;
    let with_dss = |key: &str, value: Object| -> Result<String, PdfError> {
        let mut catalog = reader.catalog()?;
        let mut dss = Dictionary::new();
        dss.set(key, value);
        catalog.set("DSS", Object::Dictionary(dss));
        Ok(object_text(&Object::Dictionary(catalog)))
    };
    let content_as_certs = append_revision(
        sealed,
        &[
            (
                content.0,
                format!("<< /Length {} >>\nstream\n{body}\nendstream", body.len()),
            ),
            (
                root.0,
                with_dss("Certs", Object::Array(vec![Object::Reference(content)]))?,
            ),
        ],
        xref_stream,
    )?;
    let mut replaced = page.clone();
    replaced.set("Contents", Object::Reference((size, 0)));
    let page_as_vri = append_revision(
        sealed,
        &[
            (page_id.0, object_text(&Object::Dictionary(replaced))),
            (
                size,
                format!("<< /Length {} >>\nstream\n{body}\nendstream", body.len()),
            ),
            (root.0, with_dss("VRI", Object::Reference(page_id))?),
        ],
        xref_stream,
    )?;
    Ok(vec![
        ("added-annotation", added_annotation),
        ("edited-content", edited_content),
        ("added-page", added_page),
        ("edited-content-named-as-dss-certs", content_as_certs),
        ("replaced-content-page-named-as-vri", page_as_vri),
    ])
}

/// `pdf` with `count` more revisions, each adding a signature field whose byte range covers
/// its whole revision and whose `/Contents` is `cms` (one that parses and names a digest, so
/// a verifier hashes every revision and compares it with each later one): the costliest
/// file to verify per byte sent.
pub fn many_signature_revisions(
    pdf: &[u8],
    cms: &[u8],
    count: usize,
) -> Result<Vec<u8>, crate::seal::SealError> {
    let mut out = pdf.to_vec();
    for n in 0..count {
        let options = crate::seal::SealOptions {
            reason: format!("revision {n}"),
            name: "many revisions".into(),
            time: time::OffsetDateTime::UNIX_EPOCH,
            reserved: cms.len(),
        };
        out = crate::seal::prepare(&out, &options)?.finish(cms)?;
    }
    Ok(out)
}
