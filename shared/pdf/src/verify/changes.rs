//! What changed in a PDF after a signature, and whether each change is one a signed document
//! may receive. Written here because no Rust crate analyses PDF revisions; pyHanko's
//! difference analysis is the model, and its verdicts judge ours (`tests/tools`).
//!
//! The signed revision is compared with every later revision in turn (an intermediate one
//! may do what a later one hides). An object that existed when the document was signed may
//! change only as the structures that referred to it *in the signed revision* allow
//! ([`structure`]): a page may gain signature widgets and nothing else; the catalog may
//! gain a DSS, metadata, extensions and signature fields; the trailer's `/Info` may hold
//! new text; the DSS may gain validation data; an empty signature field may be signed (its
//! value, flags and own appearance). Anything reachable any other way — content,
//! resources, fonts, annotations, values — may not change, whatever a later revision names
//! it. New objects matter only through what refers to them, and each rule checks the shape
//! of what it lets in: validation data are streams, metadata is XMP, new fields are
//! signature fields without actions whose widgets do not cover a page.

use std::collections::{BTreeSet, HashSet};

use lopdf::{Dictionary, Object, ObjectId};

use super::structure::{Budget, Signed, Use};
use crate::PdfError;
use crate::reader::{PdfReader, XrefEntry};

/// Most changed objects examined before the rest is reported as one change (not allowed:
/// no signing step of this kind rewrites so much).
const MAX_CHANGED: usize = 10_000;
/// Most items of a DSS array or VRI dictionary checked.
const MAX_DSS_ITEMS: usize = 10_000;
/// A new widget covering more than this share of its page hides what the page shows.
const MAX_WIDGET_SHARE: f64 = 0.25;
/// Keys of an empty signature field (or its widget) that signing it may change (pyHanko's
/// list: value, appearance and its state, flags, default appearance, quadding, type).
const SIGNING_KEYS: [&[u8]; 8] = [b"V", b"AP", b"AS", b"F", b"DA", b"Q", b"Ff", b"Type"];
/// Trailer keys that only describe the file's structure.
const TRAILER_STRUCTURE: [&[u8]; 12] = [
    b"Size",
    b"Prev",
    b"ID",
    b"Root",
    b"Info",
    b"XRefStm",
    b"Type",
    b"W",
    b"Index",
    b"Filter",
    b"DecodeParms",
    b"Length",
];

/// How far later changes go, in the order of ISO 32000's DocMDP permissions (pyHanko's
/// modification levels).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Level {
    /// Nothing.
    #[default]
    None,
    /// Validation data, document timestamps, metadata: allowed even by DocMDP P=1.
    LongTerm,
    /// Signature fields added or signed: allowed by P=2 and P=3.
    Signing,
}

/// What was appended after a signature.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Changes {
    /// Allowed kinds seen: `dss`, `document_timestamp`, `signature`, `metadata`.
    pub allowed: BTreeSet<&'static str>,
    /// Changes that are not allowed, described.
    pub not_allowed: Vec<String>,
    /// How far the allowed changes go.
    pub level: Level,
    /// Fields added or signed (qualified names), each with whether a field lock still
    /// allows it (a new invisible field does not change a locked one).
    pub fields: Vec<(String, bool)>,
}

impl Changes {
    fn allow(&mut self, kind: Option<&'static str>, level: Level) {
        if let Some(kind) = kind {
            self.allowed.insert(kind);
        }
        self.level = self.level.max(level);
    }

    fn refuse(&mut self, why: String) {
        if !self.not_allowed.contains(&why) {
            self.not_allowed.push(why);
        }
    }
}

/// Compares the revision ending at `signed_end` with each revision ending at `later_ends`
/// (the last is the whole file).
pub(crate) fn analyse(
    pdf: &[u8],
    signed_end: usize,
    later_ends: &[usize],
    budget: &mut Budget,
) -> Result<Changes, PdfError> {
    let old = PdfReader::open_within(&pdf[..signed_end], &budget.read)?;
    let mut later = Vec::new();
    let mut watched = BTreeSet::new();
    for &end in later_ends {
        budget.take()?;
        let new = PdfReader::open_within(&pdf[..end], &budget.read)?;
        let changed = changed_objects(&old, &new);
        watched.extend(changed.iter().copied());
        later.push((new, changed));
    }
    let mut changes = Changes::default();
    if watched.len() > MAX_CHANGED {
        changes.refuse(format!("{} objects changed", watched.len()));
        return Ok(changes);
    }
    let signed = Signed::read(&old, &watched, budget)?;
    for (new, changed) in &later {
        Comparison::new(&signed, new)?.run(changed, &mut changes, budget)?;
    }
    Ok(changes)
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
    let moved_streams: HashSet<u32> = changed.iter().copied().collect();
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

/// Compares by value; streams by dictionary and data (not where they were read from).
fn equal(a: &Object, b: &Object) -> bool {
    match (a, b) {
        (Object::Stream(x), Object::Stream(y)) => x.dict == y.dict && x.content == y.content,
        _ => a == b,
    }
}

fn name<'a>(dict: &'a Dictionary, key: &[u8]) -> Option<&'a [u8]> {
    dict.get(key).ok()?.as_name().ok()
}

fn describe(id: ObjectId) -> String {
    format!("object {} {}", id.0, id.1)
}

/// Whether `object` holds no reference at any depth.
fn all_direct(object: &Object) -> bool {
    match object {
        Object::Reference(_) | Object::Stream(_) => false,
        Object::Array(items) => items.iter().all(all_direct),
        Object::Dictionary(dict) => dict.iter().all(|(_, v)| all_direct(v)),
        _ => true,
    }
}

/// A signature field a later revision added.
struct NewField {
    kind: &'static str,
    level: Level,
    /// Its qualified name.
    name: String,
    /// Whether its widget has an area.
    visible: bool,
}

/// The kind and level of a field's value: a document timestamp in an invisible field is
/// long-term data (allowed by DocMDP P=1); a signature, or anything visible, is signing.
fn signed_as(timestamp: bool, visible: bool) -> (&'static str, Level) {
    match (timestamp, visible) {
        (true, false) => ("document_timestamp", Level::LongTerm),
        (true, true) => ("document_timestamp", Level::Signing),
        (false, _) => ("signature", Level::Signing),
    }
}

/// A signed revision against one later revision.
struct Comparison<'s, 'r, 'a> {
    signed: &'s Signed<'r, 'a>,
    old: &'r PdfReader<'a>,
    new: &'s PdfReader<'a>,
    new_root: ObjectId,
    new_catalog: Dictionary,
}

impl<'s, 'r, 'a> Comparison<'s, 'r, 'a> {
    fn new(signed: &'s Signed<'r, 'a>, new: &'s PdfReader<'a>) -> Result<Self, PdfError> {
        let new_root = new
            .trailer()
            .get(b"Root")
            .and_then(Object::as_reference)
            .map_err(|_| PdfError::xref("trailer has no /Root reference"))?;
        Ok(Comparison {
            signed,
            old: signed.reader,
            new,
            new_root,
            new_catalog: new.catalog()?,
        })
    }

    /// Judges the objects numbered `changed` (see [`changed_objects`]), the trailer and the
    /// catalog.
    fn run(
        &self,
        changed: &BTreeSet<u32>,
        changes: &mut Changes,
        budget: &mut Budget,
    ) -> Result<(), PdfError> {
        self.trailer(changes)?;
        self.catalog(changes, budget)?;
        for &number in changed {
            let Some(generation) =
                generation(self.old.entry(number)).or(generation(self.new.entry(number)))
            else {
                continue;
            };
            let id = (number, generation);
            budget.take()?;
            let before = self.old.get(id)?;
            let after = self.new.get(id)?;
            if equal(&before, &after) || matches!(before, Object::Null) {
                continue; // unchanged, or new: judged where something refers to it
            }
            if matches!(after, Object::Null) {
                changes.refuse(format!("{} was removed", describe(id)));
                continue;
            }
            self.existing_object(id, &before, &after, changes, budget)?;
        }
        Ok(())
    }

    /// Trailer entries other than the structure's may not change; a new `/Info` holds text.
    fn trailer(&self, changes: &mut Changes) -> Result<(), PdfError> {
        let (old, new) = (self.old.trailer(), self.new.trailer());
        let keys: BTreeSet<&Vec<u8>> = old.iter().chain(new.iter()).map(|(k, _)| k).collect();
        for key in keys {
            if TRAILER_STRUCTURE.contains(&key.as_slice()) {
                continue;
            }
            if old.get(key).ok() != new.get(key).ok() {
                changes.refuse(format!(
                    "the trailer's /{} changed",
                    String::from_utf8_lossy(key)
                ));
            }
        }
        let new_info = new.get(b"Info").ok();
        if new_info.is_some() && old.get(b"Info").ok() != new_info {
            let info = self.new.resolve(new_info.unwrap_or(&Object::Null))?;
            match text_only(&info) {
                true => changes.allow(Some("metadata"), Level::LongTerm),
                false => changes.refuse("the new /Info holds more than text".into()),
            }
        }
        Ok(())
    }

    /// The catalog is compared whatever its object number (a new /Root is a new catalog).
    fn catalog(&self, changes: &mut Changes, budget: &mut Budget) -> Result<(), PdfError> {
        let (old, new) = (&self.signed.catalog, &self.new_catalog);
        let keys: BTreeSet<&Vec<u8>> = old.iter().chain(new.iter()).map(|(k, _)| k).collect();
        for key in keys {
            let before = old.get(key).ok();
            let after = new.get(key).ok();
            if before == after {
                continue;
            }
            let Some(after) = after else {
                changes.refuse(format!(
                    "the catalog's /{} was removed",
                    String::from_utf8_lossy(key)
                ));
                continue;
            };
            match key.as_slice() {
                b"DSS" => self.dss(after, changes, budget)?,
                b"Metadata" => self.metadata(after, changes)?,
                b"Extensions" => self.extensions(after, changes)?,
                b"Version" if after.as_name().is_ok() => changes.allow(None, Level::LongTerm),
                b"MarkInfo" if all_direct(after) => changes.allow(None, Level::LongTerm),
                b"AcroForm" => self.acroform(before, after, changes, budget)?,
                other => changes.refuse(format!(
                    "the catalog's /{} changed",
                    String::from_utf8_lossy(other)
                )),
            }
        }
        // An indirect AcroForm may change without the catalog's reference changing.
        if let (Ok(before), Ok(after)) = (old.get(b"AcroForm"), new.get(b"AcroForm"))
            && before == after
            && before.as_reference().is_ok()
        {
            self.acroform(Some(before), after, changes, budget)?;
        }
        Ok(())
    }

    fn acroform(
        &self,
        before: Option<&Object>,
        after: &Object,
        changes: &mut Changes,
        budget: &mut Budget,
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
        let Ok(new_form) = self.new.resolve(after)?.as_dict().cloned() else {
            changes.refuse("the AcroForm is not a dictionary".into());
            return Ok(());
        };
        let keys: BTreeSet<&Vec<u8>> = old_form
            .iter()
            .chain(new_form.iter())
            .map(|(k, _)| k)
            .collect();
        for key in keys {
            match key.as_slice() {
                b"Fields" => {
                    let old_fields = array(self.old, &old_form, b"Fields")?;
                    let new_fields = array(self.new, &new_form, b"Fields")?;
                    self.added_fields(&old_fields, &new_fields, None, changes, budget)?;
                }
                // A signature's appearance may add default resources. /SigFlags are set by
                // the first signature; changing them later is held against earlier ones.
                b"DR" => {}
                b"DA" if old_form.get(key).is_err() => {}
                other => {
                    if old_form.get(key).ok() != new_form.get(key).ok() {
                        changes.refuse(format!(
                            "the AcroForm's /{} changed",
                            String::from_utf8_lossy(other)
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Every old entry of a field or annotation list must remain; every added entry must be
    /// a new signature field or its widget (on `page`, when the list is a page's).
    fn added_fields(
        &self,
        old: &[Object],
        new: &[Object],
        page: Option<ObjectId>,
        changes: &mut Changes,
        budget: &mut Budget,
    ) -> Result<(), PdfError> {
        if new.len() > MAX_DSS_ITEMS {
            changes.refuse(format!("{} fields or annotations", new.len()));
            return Ok(());
        }
        for item in old {
            if !new.contains(item) {
                changes.refuse("a form field or annotation was removed".into());
            }
        }
        for item in new.iter().filter(|item| !old.contains(item)) {
            budget.take()?;
            match self.new_field(item, page)? {
                Ok(field) => {
                    changes.allow(Some(field.kind), field.level);
                    changes.fields.push((field.name, !field.visible));
                }
                Err(why) => changes.refuse(why),
            }
        }
        Ok(())
    }

    /// A new signature field (or a new widget of one), or why it is not one that may be added.
    fn new_field(
        &self,
        item: &Object,
        page: Option<ObjectId>,
    ) -> Result<Result<NewField, String>, PdfError> {
        let Object::Reference(id) = item else {
            return Ok(Err(
                "a direct object was added as a field or annotation".into()
            ));
        };
        if !matches!(self.old.get(*id)?, Object::Null) {
            return Ok(Err(format!(
                "{} was added as a field or annotation, but existed when signed",
                describe(*id)
            )));
        }
        let Ok(widget) = self.new.get(*id)?.as_dict().cloned() else {
            return Ok(Err(format!("{} added is not a dictionary", describe(*id))));
        };
        let (field_id, field) = if widget.has(b"FT") {
            (*id, widget.clone())
        } else {
            let parent = widget.get(b"Parent").and_then(Object::as_reference).ok();
            match parent {
                Some(parent) if matches!(self.old.get(parent)?, Object::Null) => (
                    parent,
                    self.new.get(parent)?.as_dict().cloned().unwrap_or_default(),
                ),
                _ => {
                    return Ok(Err(format!(
                        "{} added is not a new signature field",
                        describe(*id)
                    )));
                }
            }
        };
        if name(&field, b"FT") != Some(b"Sig") {
            return Ok(Err(format!(
                "{} added is not a signature field",
                describe(*id)
            )));
        }
        if [&widget, &field]
            .iter()
            .any(|d| d.has(b"A") || d.has(b"AA"))
        {
            return Ok(Err(format!(
                "the signature field {} added carries actions",
                describe(field_id)
            )));
        }
        let area = rect(&widget).map_or(0.0, |r| (r[2] - r[0]).abs() * (r[3] - r[1]).abs());
        let visible = area > 0.0;
        let page = page.or_else(|| widget.get(b"P").and_then(Object::as_reference).ok());
        if visible
            && let Some(page) = page
            && let Some(share) = self.share_of_page(&widget, page)?
            && share > MAX_WIDGET_SHARE
        {
            return Ok(Err(format!(
                "a new signature field's widget ({}) covers {:.0}% of a page: it changes what \
                 the page shows",
                describe(*id),
                share * 100.0
            )));
        }
        let (kind, level) = signed_as(self.holds_timestamp(&field)?, visible);
        Ok(Ok(NewField {
            kind,
            level,
            name: qualified_name(self.new, field_id)?,
            visible,
        }))
    }

    /// Whether `field` (in the new revision) holds a document timestamp.
    fn holds_timestamp(&self, field: &Dictionary) -> Result<bool, PdfError> {
        Ok(match field.get(b"V") {
            Ok(value) => self
                .new
                .resolve(value)?
                .as_dict()
                .is_ok_and(|v| name(v, b"Type") == Some(b"DocTimeStamp")),
            Err(_) => false,
        })
    }

    /// The share of `page`'s media box that `widget`'s rectangle covers.
    fn share_of_page(&self, widget: &Dictionary, page: ObjectId) -> Result<Option<f64>, PdfError> {
        let Some(r) = rect(widget) else {
            return Ok(None);
        };
        let mut node = self.new.get(page)?;
        for _ in 0..32 {
            let Ok(dict) = node.as_dict() else { break };
            if let Ok(media) = dict.get(b"MediaBox")
                && let Object::Array(items) = self.new.resolve(media)?
                && let Some(m) = numbers(&items)
            {
                let box_area = (m[2] - m[0]).abs() * (m[3] - m[1]).abs();
                if box_area <= 0.0 {
                    return Ok(None);
                }
                let w = (r[2].min(m[2]) - r[0].max(m[0])).max(0.0);
                let h = (r[3].min(m[3]) - r[1].max(m[1])).max(0.0);
                return Ok(Some(w * h / box_area));
            }
            let Ok(parent) = dict.get(b"Parent").and_then(Object::as_reference) else {
                break;
            };
            node = self.new.get(parent)?;
        }
        Ok(None)
    }

    /// An object that existed when the document was signed and is different now.
    fn existing_object(
        &self,
        id: ObjectId,
        before: &Object,
        after: &Object,
        changes: &mut Changes,
        budget: &mut Budget,
    ) -> Result<(), PdfError> {
        // Structure: the objects an object stream holds are compared one by one.
        if let (Object::Stream(old), Object::Stream(new)) = (before, after)
            && matches!(name(&old.dict, b"Type"), Some(b"XRef" | b"ObjStm"))
            && name(&old.dict, b"Type") == name(&new.dict, b"Type")
        {
            return Ok(());
        }
        if id == self.signed.root {
            if id != self.new_root {
                changes.refuse("the signed catalog was rewritten and replaced".into());
            }
            return Ok(()); // compared as the catalog
        }
        // Pages, fields and annotations are judged by what they hold, however else the
        // signed revision reached them (outlines, structure, actions refer to them too).
        if self.signed.pages.contains(&id) {
            return self.page(id, before, after, changes, budget);
        }
        if self.signed.widgets.contains(&id) {
            return self.widget(id, before, after, changes);
        }
        let usages = self
            .signed
            .usages
            .get(&id)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let mut judged = false;
        for usage in usages.iter().filter(|u| u.kind != Use::Backlink) {
            judged = true;
            let shared = match usage.by {
                Some(dict) if self.signed.appearances.contains_key(&dict) => {
                    self.appearance_shared(dict)
                }
                _ => false,
            };
            let verdict = match shared {
                true => Err("its appearance dictionary is also used elsewhere".into()),
                false => self.by_usage(id, usage.kind, before, after, changes, budget)?,
            };
            if let Err(why) = verdict {
                changes.refuse(format!(
                    "{} changed ({why}); the signed revision uses it as {}",
                    describe(id),
                    usage.describe()
                ));
            }
        }
        if !judged {
            changes.refuse(format!(
                "{} changed, which the signed revision does not use as anything that may \
                 change",
                describe(id)
            ));
        }
        Ok(())
    }

    /// Whether the indirect appearance dictionary `dict` is used other than as a field's or
    /// widget's `/AP`.
    fn appearance_shared(&self, dict: ObjectId) -> bool {
        self.signed.usages.get(&dict).is_some_and(|usages| {
            usages
                .iter()
                .any(|u| !matches!(u.kind, Use::Appearance(_) | Use::Backlink))
        })
    }

    /// Whether a change of `id` is allowed for one way the signed revision used it.
    fn by_usage(
        &self,
        id: ObjectId,
        usage: Use,
        before: &Object,
        after: &Object,
        changes: &mut Changes,
        budget: &mut Budget,
    ) -> Result<Result<(), String>, PdfError> {
        Ok(match usage {
            Use::Info if text_only(after) => {
                changes.allow(Some("metadata"), Level::LongTerm);
                Ok(())
            }
            Use::Info => Err("an /Info dictionary holds text only".into()),
            Use::Dss => {
                self.dss(&Object::Reference(id), changes, budget)?;
                Ok(())
            }
            Use::DssArray => match self.stream_refs(after, budget)? {
                true => {
                    changes.allow(Some("dss"), Level::LongTerm);
                    Ok(())
                }
                false => Err("a DSS array holds references to streams only".into()),
            },
            Use::Vri => self.vri(before, after, changes, budget)?,
            Use::Metadata => {
                self.metadata(&Object::Reference(id), changes)?;
                Ok(())
            }
            Use::Extensions => {
                self.extensions(after, changes)?;
                Ok(())
            }
            // Compared with the catalog, when it is still the form.
            Use::AcroForm
                if self.new_catalog.get(b"AcroForm").ok() == Some(&Object::Reference(id)) =>
            {
                Ok(())
            }
            Use::AcroForm => Err("the signed form is no longer the form".into()),
            Use::Fields | Use::Annots(_) => {
                let (Object::Array(old), Object::Array(new)) = (before, after) else {
                    return Ok(Err("a field or annotation list is an array".into()));
                };
                let page = match usage {
                    Use::Annots(page) => Some(page),
                    _ => None,
                };
                self.added_fields(old, new, page, changes, budget)?;
                Ok(())
            }
            Use::Appearance(owner) => match self.being_signed(owner)? {
                Some(_) => {
                    changes.allow(None, Level::Signing);
                    Ok(())
                }
                None => Err("the appearance of a field that is not being signed".into()),
            },
            Use::Backlink | Use::Locked => Err("it may not change".into()),
        })
    }

    /// A page may gain annotations (new signature widgets) and nothing else.
    fn page(
        &self,
        id: ObjectId,
        before: &Object,
        after: &Object,
        changes: &mut Changes,
        budget: &mut Budget,
    ) -> Result<(), PdfError> {
        let (Object::Dictionary(old), Object::Dictionary(new)) = (before, after) else {
            changes.refuse(format!("{} (a page) changed", describe(id)));
            return Ok(());
        };
        let others_same = old
            .iter()
            .chain(new.iter())
            .filter(|(k, _)| k.as_slice() != b"Annots")
            .all(|(k, _)| old.get(k).ok() == new.get(k).ok());
        if !others_same {
            changes.refuse(format!("{} (a page) changed", describe(id)));
            return Ok(());
        }
        let old_annots = array(self.old, old, b"Annots")?;
        let new_annots = array(self.new, new, b"Annots")?;
        self.added_fields(&old_annots, &new_annots, Some(id), changes, budget)
    }

    /// A field or annotation may change only as signing an empty signature field changes it.
    fn widget(
        &self,
        id: ObjectId,
        before: &Object,
        after: &Object,
        changes: &mut Changes,
    ) -> Result<(), PdfError> {
        let refuse = |changes: &mut Changes, what: &str| {
            changes.refuse(format!("{} ({what}) changed", describe(id)));
        };
        let (Object::Dictionary(old), Object::Dictionary(new)) = (before, after) else {
            refuse(changes, "a form field or annotation");
            return Ok(());
        };
        let Some((field, timestamp)) = self.being_signed(id)? else {
            let what = if old.has(b"FT") || old.has(b"Parent") {
                "a form field"
            } else {
                "an annotation"
            };
            refuse(changes, what);
            return Ok(());
        };
        let only_signing = old
            .iter()
            .chain(new.iter())
            .filter(|(k, _)| !SIGNING_KEYS.contains(&k.as_slice()))
            .all(|(k, _)| old.get(k).ok() == new.get(k).ok());
        if !only_signing {
            refuse(changes, "a signature field, beyond being signed");
            return Ok(());
        }
        // Its old appearance dictionary shown another way too: as pyHanko, a new appearance
        // is refused (what the other way shows is the field's, and it would now differ).
        if old.get(b"AP").ok() != new.get(b"AP").ok()
            && let Ok(Object::Reference(dict)) = old.get(b"AP")
            && self.appearance_shared(*dict)
        {
            refuse(changes, "a signature field whose appearance is shared");
            return Ok(());
        }
        let (kind, level) = signed_as(timestamp, false);
        changes.allow(Some(kind), level);
        changes
            .fields
            .push((qualified_name(self.old, field)?, false));
        Ok(())
    }

    /// When `owner` (a field or a widget) belongs to a signature field that was empty when
    /// signed and holds a value now: that field, and whether the value is a document
    /// timestamp.
    fn being_signed(&self, owner: ObjectId) -> Result<Option<(ObjectId, bool)>, PdfError> {
        let Ok(old) = self.old.get(owner)?.as_dict().cloned() else {
            return Ok(None);
        };
        let field = if old.has(b"FT") {
            owner
        } else {
            match old.get(b"Parent").and_then(Object::as_reference) {
                Ok(parent) => parent,
                Err(_) => return Ok(None),
            }
        };
        let Ok(old_field) = self.old.get(field)?.as_dict().cloned() else {
            return Ok(None);
        };
        if name(&old_field, b"FT") != Some(b"Sig") || old_field.has(b"V") {
            return Ok(None);
        }
        let Ok(new_field) = self.new.get(field)?.as_dict().cloned() else {
            return Ok(None);
        };
        if !new_field.has(b"V") {
            return Ok(None);
        }
        Ok(Some((field, self.holds_timestamp(&new_field)?)))
    }

    /// A DSS (`value`, in the new revision) of the shape PAdES gives it.
    fn dss(
        &self,
        value: &Object,
        changes: &mut Changes,
        budget: &mut Budget,
    ) -> Result<(), PdfError> {
        let Ok(dss) = self.new.resolve(value)?.as_dict().cloned() else {
            changes.refuse("the DSS is not a dictionary".into());
            return Ok(());
        };
        for (key, item) in dss.iter() {
            match key.as_slice() {
                b"Type" => {}
                b"Certs" | b"CRLs" | b"OCSPs" => {
                    let array = self.new.resolve(item)?;
                    if !self.stream_refs(&array, budget)? {
                        changes.refuse(format!(
                            "the DSS's /{} holds more than references to streams",
                            String::from_utf8_lossy(key)
                        ));
                    }
                }
                b"VRI" => {
                    let old_dss = self
                        .old
                        .resolve(self.signed.catalog.get(b"DSS").unwrap_or(&Object::Null))?;
                    let old_vri = match old_dss.as_dict().and_then(|d| d.get(b"VRI")) {
                        Ok(vri) => self.old.resolve(vri)?,
                        Err(_) => Object::Null,
                    };
                    let new_vri = self.new.resolve(item)?;
                    if let Err(why) = self.vri(&old_vri, &new_vri, changes, budget)? {
                        changes.refuse(format!("the DSS's /VRI: {why}"));
                    }
                }
                other => {
                    changes.refuse(format!("the DSS holds /{}", String::from_utf8_lossy(other)))
                }
            }
        }
        changes.allow(Some("dss"), Level::LongTerm);
        Ok(())
    }

    /// A VRI dictionary: earlier entries unchanged, new ones keyed by a SHA-1 in hex,
    /// holding validation data only.
    fn vri(
        &self,
        before: &Object,
        after: &Object,
        changes: &mut Changes,
        budget: &mut Budget,
    ) -> Result<Result<(), String>, PdfError> {
        let Ok(new) = after.as_dict() else {
            return Ok(Err("a VRI is a dictionary".into()));
        };
        let empty = Dictionary::new();
        let old = before.as_dict().unwrap_or(&empty);
        if new.len() > MAX_DSS_ITEMS {
            return Ok(Err("too many VRI entries".into()));
        }
        for (key, value) in old.iter() {
            if new.get(key).ok() != Some(value) {
                return Ok(Err("an earlier VRI entry was changed or removed".into()));
            }
        }
        for (key, value) in new.iter().filter(|(k, _)| !old.has(k)) {
            if key.len() != 40 || !key.iter().all(|b| b.is_ascii_hexdigit()) {
                return Ok(Err("a VRI key is not a SHA-1 in hex".into()));
            }
            budget.take()?;
            let Ok(entry) = self.new.resolve(value)?.as_dict().cloned() else {
                return Ok(Err("a VRI entry is not a dictionary".into()));
            };
            for (k, v) in entry.iter() {
                let fine = match k.as_slice() {
                    b"Type" | b"TU" => all_direct(v),
                    b"Cert" | b"CRL" | b"OCSP" => {
                        let array = self.new.resolve(v)?;
                        self.stream_refs(&array, budget)?
                    }
                    b"TS" => match v.as_reference() {
                        Ok(ts) => matches!(self.new.get_without_data(ts)?, Object::Stream(_)),
                        Err(_) => false,
                    },
                    _ => false,
                };
                if !fine {
                    return Ok(Err(format!(
                        "a VRI entry's /{} is not validation data",
                        String::from_utf8_lossy(k)
                    )));
                }
            }
        }
        changes.allow(Some("dss"), Level::LongTerm);
        Ok(Ok(()))
    }

    /// Whether `array` holds references to streams and nothing else.
    fn stream_refs(&self, array: &Object, budget: &mut Budget) -> Result<bool, PdfError> {
        let Object::Array(items) = array else {
            return Ok(false);
        };
        if items.len() > MAX_DSS_ITEMS {
            return Ok(false);
        }
        for item in items {
            let Ok(id) = item.as_reference() else {
                return Ok(false);
            };
            budget.take()?;
            if !matches!(self.new.get_without_data(id)?, Object::Stream(_)) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The catalog's `/Metadata` (a reference, in the new revision): an XMP stream.
    fn metadata(&self, value: &Object, changes: &mut Changes) -> Result<(), PdfError> {
        let xmp = match value.as_reference() {
            Ok(id) => match self.new.get_without_data(id)? {
                Object::Stream(s)
                    if name(&s.dict, b"Type") == Some(b"Metadata")
                        && name(&s.dict, b"Subtype") == Some(b"XML") =>
                {
                    self.new.decoded_stream(id).ok().map(|(_, data)| data)
                }
                _ => None,
            },
            Err(_) => None,
        };
        match xmp.as_deref().is_some_and(looks_like_xmp) {
            true => changes.allow(Some("metadata"), Level::LongTerm),
            false => changes.refuse("the catalog's /Metadata is not an XMP stream".into()),
        }
        Ok(())
    }

    /// Developer extensions: dictionaries (or arrays of them) of direct values.
    fn extensions(&self, value: &Object, changes: &mut Changes) -> Result<(), PdfError> {
        let resolved = self.new.resolve(value)?;
        let fine = resolved.as_dict().is_ok_and(|d| {
            d.iter().all(|(_, v)| match v {
                Object::Dictionary(_) => all_direct(v),
                Object::Array(items) => {
                    items.iter().all(|i| matches!(i, Object::Dictionary(_))) && all_direct(v)
                }
                _ => false,
            })
        });
        match fine {
            true => changes.allow(None, Level::LongTerm),
            false => changes.refuse("the catalog's /Extensions holds more than extensions".into()),
        }
        Ok(())
    }
}

/// Whether `object` is a dictionary of text strings, dates and names only (what `/Info`
/// holds).
fn text_only(object: &Object) -> bool {
    object.as_dict().is_ok_and(|d| {
        d.iter()
            .all(|(_, v)| matches!(v, Object::String(..) | Object::Name(_)))
    })
}

/// Well-formed enough to be XMP: UTF-8 text with an `x:xmpmeta` element and no document
/// type (whose entities a parser might expand).
fn looks_like_xmp(data: &[u8]) -> bool {
    let text = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    std::str::from_utf8(text).is_ok_and(|t| {
        t.contains("adobe:ns:meta/")
            && t.contains("xmpmeta")
            && !t.contains("<!DOCTYPE")
            && !t.contains("<!ENTITY")
    })
}

fn array(reader: &PdfReader<'_>, dict: &Dictionary, key: &[u8]) -> Result<Vec<Object>, PdfError> {
    match dict.get(key) {
        Ok(value) => match reader.resolve(value)? {
            Object::Array(items) => Ok(items),
            _ => Ok(Vec::new()),
        },
        Err(_) => Ok(Vec::new()),
    }
}

fn numbers(items: &[Object]) -> Option<[f64; 4]> {
    let values: Vec<f64> = items
        .iter()
        .map(|i| match i {
            Object::Integer(n) => Some(*n as f64),
            Object::Real(r) => Some(f64::from(*r)),
            _ => None,
        })
        .collect::<Option<_>>()?;
    let [a, b, c, d] = values.as_slice() else {
        return None;
    };
    Some([a.min(*c), b.min(*d), a.max(*c), b.max(*d)])
}

fn rect(dict: &Dictionary) -> Option<[f64; 4]> {
    numbers(dict.get(b"Rect").ok()?.as_array().ok()?)
}

/// A field's fully qualified name (its `/T` and its parents').
fn qualified_name(reader: &PdfReader<'_>, field: ObjectId) -> Result<String, PdfError> {
    let mut parts = Vec::new();
    let mut next = Some(field);
    for _ in 0..16 {
        let Some(id) = next else { break };
        let Ok(dict) = reader.get(id)?.as_dict().cloned() else {
            break;
        };
        if let Ok(Object::String(t, _)) = dict.get(b"T") {
            parts.push(super::text(t));
        }
        next = dict.get(b"Parent").and_then(Object::as_reference).ok();
    }
    parts.reverse();
    Ok(parts.join("."))
}
