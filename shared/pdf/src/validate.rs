//! The upload check: is this a well-formed, unencrypted PDF with pages that we can seal later?
//! Only the cross-reference chain, the catalog, the page tree and (best effort) the form are
//! read; page contents and images are never parsed or inflated.

use std::collections::HashSet;

use lopdf::{Dictionary, Object, ObjectId};

use crate::error::PdfError;
use crate::reader::{PdfReader, XrefKind};

/// Most pages a document may have.
pub const MAX_PAGES: u32 = 100_000;
/// Most page tree nodes (pages and intermediate nodes, as referenced) walked.
pub const MAX_PAGE_TREE_NODES: usize = 1_000_000;
/// Most form fields looked at when deciding whether a file is signed.
const MAX_FORM_FIELDS: usize = 10_000;

/// What the upload check learned about a PDF it accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PdfInfo {
    /// The effective version: the header's, or the catalog's `/Version` if later.
    pub version: String,
    /// Pages counted by walking the page tree (never taken from `/Count`).
    pub page_count: u32,
    /// How the newest revision's cross-reference data is written.
    pub xref_kind: XrefKind,
    /// Number of cross-reference sections in the `/Prev` chain (revisions).
    pub revisions: usize,
    /// The catalog has `/Perms /DocMDP`: a certification signature restricts changes.
    pub certified: bool,
    /// The form has signature flags or a filled signature field (best effort).
    pub signed: bool,
}

/// The DocMDP permission (`/P`: 1 no changes, 2 form filling and signing, 3 also
/// annotating) of a certified document; `None` when it is not certified. A certification
/// without an explicit `/P` counts as 2, as ISO 32000 says.
pub(crate) fn docmdp_permission(
    reader: &PdfReader<'_>,
    catalog: &Dictionary,
) -> Result<Option<i64>, PdfError> {
    let Ok(perms) = catalog.get(b"Perms") else {
        return Ok(None);
    };
    let perms = reader.resolve(perms)?;
    let Some(docmdp) = perms.as_dict().ok().and_then(|p| p.get(b"DocMDP").ok()) else {
        return Ok(None);
    };
    let signature = reader.resolve(docmdp)?;
    let Ok(signature) = signature.as_dict() else {
        return Ok(Some(2));
    };
    let mut permission = 2;
    for (method, params) in transforms(reader, signature)? {
        if method == b"DocMDP"
            && let Ok(p) = params.get(b"P").and_then(Object::as_i64)
        {
            permission = p;
        }
    }
    Ok(Some(permission))
}

/// Most `/Reference` entries of a signature read.
const MAX_TRANSFORMS: usize = 16;

/// A signature dictionary's `/Reference` entries: each transform method (`DocMDP`,
/// `FieldMDP`, ...) with its `/TransformParams` (empty when absent).
pub(crate) fn transforms(
    reader: &PdfReader<'_>,
    signature: &Dictionary,
) -> Result<Vec<(Vec<u8>, Dictionary)>, PdfError> {
    let Ok(references) = signature.get(b"Reference") else {
        return Ok(Vec::new());
    };
    let references = reader.resolve(references)?;
    let mut found = Vec::new();
    for reference in references
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .take(MAX_TRANSFORMS)
    {
        let Ok(reference) = reader.resolve(reference)?.as_dict().cloned() else {
            continue;
        };
        let Ok(method) = reference.get(b"TransformMethod").and_then(Object::as_name) else {
            continue;
        };
        let params = match reference.get(b"TransformParams") {
            Ok(p) => reader.resolve(p)?.as_dict().cloned().unwrap_or_default(),
            Err(_) => Dictionary::new(),
        };
        found.push((method.to_vec(), params));
    }
    Ok(found)
}

/// Checks an uploaded file and describes it, or says why it is refused.
pub fn inspect(bytes: &[u8]) -> Result<PdfInfo, PdfError> {
    let reader = PdfReader::open(bytes)?;
    if reader.is_encrypted() {
        return Err(PdfError::Encrypted);
    }
    reader.check_offsets()?;
    let catalog = reader.catalog()?;
    let page_count = u32::try_from(pages(&reader, &catalog)?.len()).unwrap_or(MAX_PAGES);
    let permission = docmdp_permission(&reader, &catalog)?;
    if permission == Some(1) {
        return Err(PdfError::CertifiedNoChanges);
    }
    let certified = permission.is_some();
    Ok(PdfInfo {
        version: effective_version(reader.version(), &catalog),
        page_count,
        xref_kind: reader.xref_kind(),
        revisions: reader.sections().len(),
        certified,
        signed: is_signed(&reader, &catalog),
    })
}

/// Walks the page tree iteratively from the catalog's `/Pages`: the `/Type /Page` leaves, in
/// document order. A node seen twice (a cycle, or a page listed twice) is an error, as is any
/// node that is neither a page nor a page tree node.
pub(crate) fn pages(
    reader: &PdfReader<'_>,
    catalog: &Dictionary,
) -> Result<Vec<ObjectId>, PdfError> {
    let root = match catalog.get(b"Pages") {
        Ok(Object::Reference(id)) => *id,
        Ok(_) => return Err(PdfError::tree("/Pages is not an indirect reference")),
        Err(_) => return Err(PdfError::tree("the catalog has no /Pages")),
    };
    let mut stack: Vec<ObjectId> = vec![root];
    let mut seen: HashSet<ObjectId> = HashSet::new();
    let mut listed = 1usize;
    let mut pages = Vec::new();
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            return Err(PdfError::tree(format!(
                "page tree node {} {} is reached twice",
                id.0, id.1
            )));
        }
        let Object::Dictionary(node) = reader.get(id)? else {
            return Err(PdfError::tree(format!(
                "page tree node {} {} is not a dictionary",
                id.0, id.1
            )));
        };
        let kind = node.get(b"Type").and_then(Object::as_name).unwrap_or(b"");
        if id == root && kind != b"Pages" {
            return Err(PdfError::tree("the page tree root is not /Type /Pages"));
        }
        match kind {
            b"Page" => {
                pages.push(id);
                if pages.len() > MAX_PAGES as usize {
                    return Err(PdfError::limit("too many pages"));
                }
            }
            b"Pages" => {
                // /Count must be a sane integer, but the walk, not /Count, decides the number.
                match node.get(b"Count").and_then(Object::as_i64) {
                    Ok(count) if count >= 0 => {}
                    _ => return Err(PdfError::tree("page tree node has no valid /Count")),
                }
                let kids = match node.get(b"Kids") {
                    Ok(kids) => reader.resolve(kids)?,
                    Err(_) => return Err(PdfError::tree("page tree node has no /Kids")),
                };
                let Object::Array(kids) = kids else {
                    return Err(PdfError::tree("/Kids is not an array"));
                };
                listed += kids.len();
                if listed > MAX_PAGE_TREE_NODES {
                    return Err(PdfError::limit("page tree has too many nodes"));
                }
                // Reversed, so pages are visited in document order.
                for kid in kids.iter().rev() {
                    match kid {
                        Object::Reference(kid) => stack.push(*kid),
                        _ => return Err(PdfError::tree("a /Kids entry is not a reference")),
                    }
                }
            }
            _ => {
                return Err(PdfError::tree(format!(
                    "page tree node {} {} is neither /Page nor /Pages",
                    id.0, id.1
                )));
            }
        }
    }
    if pages.is_empty() {
        return Err(PdfError::NoPages);
    }
    Ok(pages)
}

/// The header version, raised by the catalog's `/Version` when that is later.
fn effective_version(header: &str, catalog: &Dictionary) -> String {
    let parse = |v: &str| {
        let (major, minor) = v.split_once('.')?;
        Some((major.parse::<u8>().ok()?, minor.parse::<u8>().ok()?))
    };
    let declared = catalog
        .get(b"Version")
        .and_then(Object::as_name)
        .ok()
        .and_then(|name| std::str::from_utf8(name).ok())
        .filter(|v| parse(v).is_some());
    match declared {
        Some(v) if parse(v) > parse(header) => v.to_owned(),
        _ => header.to_owned(),
    }
}

/// Best effort: the form says signatures exist (`/SigFlags` bit 1), or some signature field
/// has a value. A damaged form does not make the upload fail; it just reads as unsigned.
fn is_signed(reader: &PdfReader<'_>, catalog: &Dictionary) -> bool {
    let Ok(form) = catalog.get(b"AcroForm") else {
        return false;
    };
    let Ok(Object::Dictionary(form)) = reader.resolve(form) else {
        return false;
    };
    if form
        .get(b"SigFlags")
        .and_then(Object::as_i64)
        .is_ok_and(|flags| flags & 1 != 0)
    {
        return true;
    }
    let Ok(Object::Array(fields)) = form
        .get(b"Fields")
        .map_or(Ok(Object::Null), |f| reader.resolve(f))
    else {
        return false;
    };
    let mut stack: Vec<Object> = fields.into_iter().rev().collect();
    let mut seen = HashSet::new();
    let mut looked = 0usize;
    while let Some(field) = stack.pop() {
        looked += 1;
        if looked > MAX_FORM_FIELDS {
            return false;
        }
        if let Object::Reference(id) = field
            && !seen.insert(id)
        {
            continue;
        }
        let Ok(Object::Dictionary(field)) = reader.resolve(&field) else {
            continue;
        };
        let is_sig = field
            .get(b"FT")
            .and_then(Object::as_name)
            .is_ok_and(|ft| ft == b"Sig");
        if is_sig && field.get(b"V").is_ok_and(|v| !matches!(v, Object::Null)) {
            return true;
        }
        if let Ok(Object::Array(kids)) = field.get(b"Kids") {
            stack.extend(kids.iter().rev().cloned());
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample;

    #[test]
    fn samples_pass_and_report_what_they_are() {
        let info = inspect(&sample::pdf_with_pages(3)).unwrap();
        assert_eq!(info.page_count, 3);
        assert_eq!(info.xref_kind, XrefKind::Table);
        assert_eq!(info.version, "1.7");
        assert_eq!(info.revisions, 1);
        assert!(!info.certified && !info.signed);

        let info = inspect(&sample::pdf_with_xref_stream(5)).unwrap();
        assert_eq!(info.page_count, 5);
        assert_eq!(info.xref_kind, XrefKind::Stream);
    }

    #[test]
    fn a_deep_page_tree_is_walked_without_recursion() {
        // 2 -> 3 -> ... -> 20001 (each a /Pages node with one kid), then one page.
        const LEVELS: usize = 20_000;
        let mut bodies: Vec<(usize, Vec<u8>)> =
            vec![(1, b"<< /Type /Catalog /Pages 2 0 R >>".to_vec())];
        for n in 2..2 + LEVELS {
            let body = format!("<< /Type /Pages /Kids [{} 0 R] /Count 1 >>", n + 1);
            bodies.push((n, body.into_bytes()));
        }
        bodies.push((
            2 + LEVELS,
            b"<< /Type /Page /MediaBox [0 0 10 10] >>".to_vec(),
        ));
        let objects: Vec<(usize, &[u8])> = bodies.iter().map(|(n, b)| (*n, b.as_slice())).collect();
        let pdf = sample::assemble(&objects, "");
        let info = std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(move || inspect(&pdf))
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(info.map(|i| i.page_count), Ok(1));
    }

    #[test]
    fn certification_and_signatures_are_noticed() {
        let with = |catalog: &[u8], extra: &[(usize, &[u8])]| {
            let mut objects: Vec<(usize, &[u8])> = vec![
                (1, catalog),
                (2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
                (3, b"<< /Type /Page /MediaBox [0 0 10 10] >>"),
            ];
            objects.extend_from_slice(extra);
            inspect(&sample::assemble(&objects, "")).unwrap()
        };
        let plain = with(b"<< /Type /Catalog /Pages 2 0 R >>", &[]);
        assert!(!plain.certified && !plain.signed);

        let certified = with(
            b"<< /Type /Catalog /Pages 2 0 R /Perms << /DocMDP 4 0 R >> >>",
            &[(4, b"<< /Type /Sig >>")],
        );
        assert!(certified.certified);

        let flagged = with(
            b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [] /SigFlags 3 >> >>",
            &[],
        );
        assert!(flagged.signed);

        let filled = with(
            b"<< /Type /Catalog /Pages 2 0 R /AcroForm 4 0 R >>",
            &[
                (4, b"<< /Fields [5 0 R] >>"),
                (5, b"<< /T (group) /Kids [6 0 R] >>"),
                (6, b"<< /FT /Sig /T (s1) /V 7 0 R >>"),
                (7, b"<< /Type /Sig >>"),
            ],
        );
        assert!(filled.signed);

        let empty_field = with(
            b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [4 0 R] >> >>",
            &[(4, b"<< /FT /Sig /T (s1) >>")],
        );
        assert!(!empty_field.signed);

        // A form that is damaged (and a field list that loops) reads as unsigned, not as an error.
        let broken = with(
            b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [4 0 R 5 0 R] >> >>",
            &[(4, b"<< /Kids [4 0 R] >>"), (5, b"<< /FT /Sig /V [ >>")],
        );
        assert!(!broken.signed);
    }

    #[test]
    fn page_tree_nodes_must_be_typed_and_counted() {
        let tree = |pages: &[u8], page: &[u8]| {
            let objects: Vec<(usize, &[u8])> = vec![
                (1, b"<< /Type /Catalog /Pages 2 0 R >>"),
                (2, pages),
                (3, page),
            ];
            inspect(&sample::assemble(&objects, "")).map_err(|e| e.code())
        };
        let page: &[u8] = b"<< /Type /Page >>";
        assert!(tree(b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", page).is_ok());
        for (pages, page, code) in [
            (
                &b"<< /Type /Pages /Kids [3 0 R] >>"[..],
                page,
                "broken_page_tree",
            ),
            (
                b"<< /Type /Pages /Kids [3 0 R] /Count -1 >>",
                page,
                "broken_page_tree",
            ),
            (
                b"<< /Type /Pages /Kids 3 0 R /Count 1 >>",
                page,
                "broken_page_tree",
            ),
            (
                b"<< /Type /Pages /Kids [<< /Type /Page >>] /Count 1 >>",
                page,
                "broken_page_tree",
            ),
            (
                b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                b"<< /MediaBox [0 0 1 1] >>",
                "broken_page_tree",
            ),
            (
                b"<< /Type /Pages /Kids [9 0 R] /Count 1 >>",
                page,
                "broken_page_tree",
            ),
            (b"<< /Type /Page >>", page, "broken_page_tree"),
        ] {
            assert_eq!(
                tree(pages, page).unwrap_err(),
                code,
                "{}",
                String::from_utf8_lossy(pages)
            );
        }
    }

    #[test]
    fn effective_version_takes_the_later_one() {
        let mut catalog = Dictionary::new();
        assert_eq!(effective_version("1.4", &catalog), "1.4");
        catalog.set("Version", Object::Name(b"1.7".to_vec()));
        assert_eq!(effective_version("1.4", &catalog), "1.7");
        assert_eq!(effective_version("2.0", &catalog), "2.0");
        catalog.set("Version", Object::Name(b"junk".to_vec()));
        assert_eq!(effective_version("1.4", &catalog), "1.4");
    }
}
