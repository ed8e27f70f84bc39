//! What changed in a PDF after a signature, and whether each change is one a signed document
//! may receive: a Document Security Store, document timestamps, further signatures with
//! their fields, and document metadata. Everything else (a page, its content, an
//! annotation, a form value, an object freed or overridden) is reported as not allowed.
//!
//! The comparison is between the revision the signature signs and the file as a whole, object
//! by object: every object whose cross-reference entry moved (or whose object stream did) is
//! read in both versions and compared by value, so rewriting an object unchanged is no change.

use std::collections::{BTreeSet, HashSet};

use lopdf::{Dictionary, Object, ObjectId};

use crate::PdfError;
use crate::reader::{PdfReader, XrefEntry};

/// Most changed objects examined before the rest is reported as one change (not allowed:
/// no signing step of this kind rewrites so much).
const MAX_CHANGED: usize = 10_000;

/// What was appended after a signature.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Changes {
    /// Allowed kinds seen: `dss`, `document_timestamp`, `signature`, `metadata`.
    pub allowed: BTreeSet<&'static str>,
    /// Changes that are not allowed, described.
    pub not_allowed: Vec<String>,
}

/// Compares `old` (the signed revision) with `new` (the whole file).
pub(crate) fn compare(old: &PdfReader<'_>, new: &PdfReader<'_>) -> Result<Changes, PdfError> {
    let mut changes = Changes::default();
    let changed = changed_objects(old, new);
    if changed.len() > MAX_CHANGED {
        changes
            .not_allowed
            .push(format!("{} objects changed", changed.len()));
        return Ok(changes);
    }
    let old_root = root(old)?;
    let new_root = root(new)?;
    let old_catalog = old.catalog()?;
    let new_catalog = new.catalog()?;
    let context = Context::new(old, new, &old_catalog, &new_catalog)?;

    // The catalog is compared whatever its object number (a new /Root is a new catalog).
    context.catalog(&mut changes)?;
    let info_ids: HashSet<ObjectId> = [old, new]
        .iter()
        .filter_map(|r| r.trailer().get(b"Info").ok()?.as_reference().ok())
        .collect();

    for number in changed {
        let Some(id) = object_id(old, new, number) else {
            continue;
        };
        if id == old_root || id == new_root || context.form_ids.contains(&id) {
            continue; // compared above
        }
        let before = old.get(id)?;
        let after = new.get(id)?;
        if equal(&before, &after) {
            continue;
        }
        if matches!(before, Object::Null) {
            continue; // a new object: judged where something refers to it
        }
        if matches!(after, Object::Null) {
            changes
                .not_allowed
                .push(format!("object {} {} removed", id.0, id.1));
            continue;
        }
        if info_ids.contains(&id) {
            changes.allowed.insert("metadata");
            continue;
        }
        context.existing_object(id, &before, &after, &mut changes)?;
    }
    Ok(changes)
}

fn root(reader: &PdfReader<'_>) -> Result<ObjectId, PdfError> {
    reader
        .trailer()
        .get(b"Root")
        .and_then(Object::as_reference)
        .map_err(|_| PdfError::xref("trailer has no /Root reference"))
}

/// Object numbers whose entry differs, plus those stored in an object stream that did.
fn changed_objects(old: &PdfReader<'_>, new: &PdfReader<'_>) -> BTreeSet<u32> {
    let mut changed: BTreeSet<u32> = new
        .entries()
        .filter(|&(number, entry)| old.entry(number) != Some(entry))
        .map(|(number, _)| number)
        .collect();
    changed.extend(
        old.entries()
            .filter(|&(number, _)| new.entry(number).is_none())
            .map(|(number, _)| number),
    );
    let moved_streams: HashSet<u32> = changed.clone().into_iter().collect();
    changed.extend(new.entries().filter_map(|(number, entry)| match entry {
        XrefEntry::Compressed { stream, .. } if moved_streams.contains(&stream) => Some(number),
        _ => None,
    }));
    changed
}

fn generation(entry: Option<XrefEntry>) -> Option<u16> {
    match entry? {
        XrefEntry::InUse { generation, .. } => Some(generation),
        XrefEntry::Compressed { .. } => Some(0),
        XrefEntry::Free => None,
    }
}

fn object_id(old: &PdfReader<'_>, new: &PdfReader<'_>, number: u32) -> Option<ObjectId> {
    let generation = generation(old.entry(number)).or(generation(new.entry(number)))?;
    Some((number, generation))
}

/// Compares by value; streams by dictionary and data (not where they were read from).
fn equal(a: &Object, b: &Object) -> bool {
    match (a, b) {
        (Object::Stream(x), Object::Stream(y)) => x.dict == y.dict && x.content == y.content,
        _ => a == b,
    }
}

/// Every reference directly inside `object` (not following them).
fn collect_references(object: &Object, out: &mut HashSet<ObjectId>) {
    let mut stack = vec![object];
    while let Some(object) = stack.pop() {
        match object {
            Object::Reference(id) => {
                out.insert(*id);
            }
            Object::Array(items) => stack.extend(items.iter()),
            Object::Dictionary(dict) => stack.extend(dict.iter().map(|(_, v)| v)),
            Object::Stream(stream) => stack.extend(stream.dict.iter().map(|(_, v)| v)),
            _ => {}
        }
    }
}

fn name<'a>(dict: &'a Dictionary, key: &[u8]) -> Option<&'a [u8]> {
    dict.get(key).ok()?.as_name().ok()
}

/// The old and new documents, and what the rules need from both.
struct Context<'r, 'a> {
    old: &'r PdfReader<'a>,
    new: &'r PdfReader<'a>,
    old_catalog: &'r Dictionary,
    new_catalog: &'r Dictionary,
    /// Indirect AcroForm dictionaries (old and new), compared with the catalog.
    form_ids: HashSet<ObjectId>,
}

impl<'r, 'a> Context<'r, 'a> {
    fn new(
        old: &'r PdfReader<'a>,
        new: &'r PdfReader<'a>,
        old_catalog: &'r Dictionary,
        new_catalog: &'r Dictionary,
    ) -> Result<Self, PdfError> {
        let form_ids = [old_catalog, new_catalog]
            .iter()
            .filter_map(|c| c.get(b"AcroForm").ok()?.as_reference().ok())
            .collect();
        Ok(Context {
            old,
            new,
            old_catalog,
            new_catalog,
            form_ids,
        })
    }

    fn catalog(&self, changes: &mut Changes) -> Result<(), PdfError> {
        let keys: BTreeSet<&Vec<u8>> = self
            .old_catalog
            .iter()
            .chain(self.new_catalog.iter())
            .map(|(k, _)| k)
            .collect();
        for key in keys {
            let before = self.old_catalog.get(key).ok();
            let after = self.new_catalog.get(key).ok();
            if before == after {
                continue;
            }
            match key.as_slice() {
                b"DSS" => {
                    changes.allowed.insert("dss");
                }
                // Developer extensions and the version they raise (PAdES adds ESIC).
                b"Extensions" | b"Version" => {}
                b"Metadata" => {
                    changes.allowed.insert("metadata");
                }
                b"AcroForm" => self.acroform(before, after, changes)?,
                other => changes.not_allowed.push(format!(
                    "the catalog's /{} changed",
                    String::from_utf8_lossy(other)
                )),
            }
        }
        // An indirect AcroForm may change without the catalog's reference changing.
        if let (Some(before), Some(after)) = (
            self.old_catalog.get(b"AcroForm").ok(),
            self.new_catalog.get(b"AcroForm").ok(),
        ) && before == after
            && before.as_reference().is_ok()
        {
            self.acroform(Some(before), Some(after), changes)?;
        }
        Ok(())
    }

    fn acroform(
        &self,
        before: Option<&Object>,
        after: Option<&Object>,
        changes: &mut Changes,
    ) -> Result<(), PdfError> {
        let old_form = match before {
            Some(object) => self
                .old
                .resolve(object)?
                .as_dict()
                .cloned()
                .unwrap_or_default(),
            None => Dictionary::new(),
        };
        let Some(after) = after else {
            changes.not_allowed.push("the AcroForm was removed".into());
            return Ok(());
        };
        let new_form = self
            .new
            .resolve(after)?
            .as_dict()
            .cloned()
            .unwrap_or_default();
        let keys: BTreeSet<&Vec<u8>> = old_form
            .iter()
            .chain(new_form.iter())
            .map(|(k, _)| k)
            .collect();
        for key in keys {
            match key.as_slice() {
                b"Fields" => {
                    let old_fields = self.array(self.old, &old_form, b"Fields")?;
                    let new_fields = self.array(self.new, &new_form, b"Fields")?;
                    self.added_signature_fields(&old_fields, &new_fields, "field", changes)?;
                }
                // A signature's appearance may add default resources. /SigFlags are set by
                // the first signature; changing them later is held against earlier ones.
                b"DR" => {}
                b"DA" if old_form.get(key).is_err() => {}
                other => {
                    if old_form.get(key).ok() != new_form.get(key).ok() {
                        changes.not_allowed.push(format!(
                            "the AcroForm's /{} changed",
                            String::from_utf8_lossy(other)
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    fn array(
        &self,
        reader: &PdfReader<'_>,
        dict: &Dictionary,
        key: &[u8],
    ) -> Result<Vec<Object>, PdfError> {
        match dict.get(key) {
            Ok(value) => match reader.resolve(value)? {
                Object::Array(items) => Ok(items),
                _ => Ok(Vec::new()),
            },
            Err(_) => Ok(Vec::new()),
        }
    }

    /// Every old entry must remain; every added entry must be a new signature field (or
    /// its widget), which may carry a signature or a document timestamp.
    fn added_signature_fields(
        &self,
        old: &[Object],
        new: &[Object],
        what: &str,
        changes: &mut Changes,
    ) -> Result<(), PdfError> {
        for item in old {
            if !new.contains(item) {
                changes.not_allowed.push(format!("a {what} was removed"));
            }
        }
        for item in new.iter().filter(|item| !old.contains(item)) {
            let is_new = match item {
                Object::Reference(id) => matches!(self.old.get(*id)?, Object::Null),
                _ => true,
            };
            match self.signature_field(item)? {
                Some(kind) if is_new => {
                    changes.allowed.insert(kind);
                }
                _ => changes.not_allowed.push(format!(
                    "a {what} that is not a new signature field was added"
                )),
            }
        }
        Ok(())
    }

    /// Whether `item` (in the new document) is a signature field or its widget; the kind of
    /// what it holds.
    fn signature_field(&self, item: &Object) -> Result<Option<&'static str>, PdfError> {
        let Ok(dict) = self.new.resolve(item)?.as_dict().cloned() else {
            return Ok(None);
        };
        let field = if dict.get(b"FT").is_ok() {
            dict
        } else {
            match dict.get(b"Parent") {
                Ok(parent) => self
                    .new
                    .resolve(parent)?
                    .as_dict()
                    .cloned()
                    .unwrap_or_default(),
                Err(_) => return Ok(None),
            }
        };
        if name(&field, b"FT") != Some(b"Sig") {
            return Ok(None);
        }
        let value = match field.get(b"V") {
            Ok(v) => self.new.resolve(v)?,
            Err(_) => return Ok(Some("signature")),
        };
        let is_timestamp = value
            .as_dict()
            .is_ok_and(|v| name(v, b"Type") == Some(b"DocTimeStamp"));
        Ok(Some(if is_timestamp {
            "document_timestamp"
        } else {
            "signature"
        }))
    }

    /// An object that existed when the document was signed and is different now.
    fn existing_object(
        &self,
        id: ObjectId,
        before: &Object,
        after: &Object,
        changes: &mut Changes,
    ) -> Result<(), PdfError> {
        let describe = |what: &str| format!("object {} {} ({what}) changed", id.0, id.1);
        match (before, after) {
            (Object::Dictionary(old), Object::Dictionary(new)) => {
                let kind = name(old, b"Type");
                if kind == Some(b"DSS") || kind == Some(b"VRI") || self.is_dss_part(id)? {
                    changes.allowed.insert("dss");
                } else if kind == Some(b"Page") {
                    self.page(old, new, changes, &describe)?;
                } else if name(old, b"FT") == Some(b"Sig") && old.get(b"V").is_err() {
                    // An empty signature field being signed: its value, appearance and flags.
                    let others_same = old
                        .iter()
                        .chain(new.iter())
                        .filter(|(k, _)| !matches!(k.as_slice(), b"V" | b"AP" | b"F"))
                        .all(|(k, _)| old.get(k).ok() == new.get(k).ok());
                    if !others_same {
                        changes.not_allowed.push(describe("signature field"));
                    } else if old.get(b"AP").ok() != new.get(b"AP").ok()
                        && self.appearance_shared(id, old)?
                    {
                        // Its old appearance is also reachable another way: changing the
                        // field's appearance may change what that other way shows.
                        changes
                            .not_allowed
                            .push(describe("signature field whose appearance is shared"));
                    } else {
                        changes.allowed.insert(
                            self.signature_field(&Object::Reference(id))?
                                .unwrap_or("signature"),
                        );
                    }
                } else {
                    let what = kind.map_or_else(
                        || "dictionary".to_owned(),
                        |k| String::from_utf8_lossy(k).into_owned(),
                    );
                    changes.not_allowed.push(describe(&what));
                }
            }
            (Object::Array(old), Object::Array(new)) => {
                if self.is_dss_part(id)? {
                    changes.allowed.insert("dss");
                } else if self.is_annots_or_fields(id)? {
                    self.added_signature_fields(old, new, "form field or annotation", changes)?;
                } else {
                    changes.not_allowed.push(describe("array"));
                }
            }
            (Object::Stream(old), Object::Stream(new))
                if name(&old.dict, b"Type") == name(&new.dict, b"Type")
                    && matches!(name(&old.dict, b"Type"), Some(b"XRef" | b"ObjStm")) =>
            {
                // Structure: the objects they hold are compared one by one.
            }
            (Object::Stream(old), Object::Stream(_))
                if name(&old.dict, b"Type") == Some(b"Metadata") =>
            {
                changes.allowed.insert("metadata");
            }
            _ => changes.not_allowed.push(describe("object")),
        }
        Ok(())
    }

    /// Whether an indirect object of `field`'s old `/AP` (the dictionary or a stream in it)
    /// is reachable in the signed revision other than through the field itself.
    fn appearance_shared(&self, field_id: ObjectId, field: &Dictionary) -> Result<bool, PdfError> {
        let mut targets = HashSet::new();
        let Ok(ap) = field.get(b"AP") else {
            return Ok(false);
        };
        if let Ok(id) = ap.as_reference() {
            targets.insert(id);
        }
        if let Ok(ap) = self.old.resolve(ap)?.as_dict() {
            for (_, v) in ap.iter() {
                collect_references(v, &mut targets);
            }
        }
        if targets.is_empty() {
            return Ok(false);
        }
        // Walk the signed revision from its trailer, not entering the field.
        let mut seen = HashSet::from([field_id]);
        let mut stack: Vec<Object> = self.old.trailer().iter().map(|(_, v)| v.clone()).collect();
        let mut visited = 0usize;
        while let Some(object) = stack.pop() {
            visited += 1;
            if visited > MAX_CHANGED {
                return Ok(true); // too large to tell: assume the worst
            }
            let mut refs = HashSet::new();
            collect_references(&object, &mut refs);
            for id in refs {
                if targets.contains(&id) {
                    return Ok(true);
                }
                if seen.insert(id) {
                    stack.push(self.old.get(id)?);
                }
            }
        }
        Ok(false)
    }

    fn page(
        &self,
        old: &Dictionary,
        new: &Dictionary,
        changes: &mut Changes,
        describe: &dyn Fn(&str) -> String,
    ) -> Result<(), PdfError> {
        let others_same = old
            .iter()
            .chain(new.iter())
            .filter(|(k, _)| k.as_slice() != b"Annots")
            .all(|(k, _)| old.get(k).ok() == new.get(k).ok());
        if !others_same {
            changes.not_allowed.push(describe("page"));
            return Ok(());
        }
        let old_annots = self.array(self.old, old, b"Annots")?;
        let new_annots = self.array(self.new, new, b"Annots")?;
        self.added_signature_fields(&old_annots, &new_annots, "annotation", changes)
    }

    /// Whether `id` is the DSS or one of its arrays or VRI dictionaries (in the new file).
    fn is_dss_part(&self, id: ObjectId) -> Result<bool, PdfError> {
        let Ok(dss) = self.new_catalog.get(b"DSS") else {
            return Ok(false);
        };
        if dss.as_reference().ok() == Some(id) {
            return Ok(true);
        }
        let Ok(dss) = self.new.resolve(dss)?.as_dict().cloned() else {
            return Ok(false);
        };
        for key in [b"Certs".as_slice(), b"CRLs", b"OCSPs", b"VRI"] {
            if dss.get(key).ok().and_then(|v| v.as_reference().ok()) == Some(id) {
                return Ok(true);
            }
        }
        if let Ok(vri) = dss.get(b"VRI") {
            let vri = self.new.resolve(vri)?;
            if let Ok(vri) = vri.as_dict() {
                return Ok(vri.iter().any(|(_, v)| v.as_reference().ok() == Some(id)));
            }
        }
        Ok(false)
    }

    /// Whether `id` is an indirect `/Annots` array of a page or the AcroForm's `/Fields`.
    fn is_annots_or_fields(&self, id: ObjectId) -> Result<bool, PdfError> {
        let target = Object::Reference(id);
        if let Ok(form) = self.new_catalog.get(b"AcroForm")
            && let Ok(form) = self.new.resolve(form)?.as_dict()
            && form.get(b"Fields").ok() == Some(&target)
        {
            return Ok(true);
        }
        // Pages that refer to it: the old document's pages are the ones that were signed.
        Ok(crate::validate::pages(self.old, self.old_catalog)?
            .into_iter()
            .filter_map(|page| self.old.get(page).ok())
            .any(|page| {
                page.as_dict()
                    .is_ok_and(|p| p.get(b"Annots").ok() == Some(&target))
            }))
    }
}
