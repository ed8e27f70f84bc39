//! The signed revision as the rules of later changes see it: which objects were its pages,
//! form fields, annotations, DSS and metadata, and every way (usage) the revision refers to
//! each object that a later revision changed. What an object may become is decided from
//! these, read from the *signed* bytes, never from what a later revision says refers to it.

use std::collections::{BTreeSet, HashMap, HashSet};

use lopdf::{Dictionary, Object, ObjectId};

use crate::PdfError;
use crate::reader::{PdfReader, ReadBudget};

/// Most form fields and widgets followed in the signed revision's form tree.
const MAX_FORM_NODES: usize = 10_000;
/// Deepest direct nesting scanned inside one object.
const MAX_NESTING: usize = 32;

/// Objects read so far for one verification's change analysis, against a cap, and the
/// readers' shared budget (decoded bytes, deadline): a hostile file with many revisions and
/// objects gets an undecided verdict, not a long wait.
#[derive(Debug)]
pub(crate) struct Budget {
    left: usize,
    /// What every reader the analysis opens decodes within.
    pub(crate) read: ReadBudget,
}

impl Budget {
    /// A budget of `objects` reads, the readers within `read`.
    pub(crate) fn new(objects: usize, read: ReadBudget) -> Self {
        Budget {
            left: objects,
            read,
        }
    }

    /// Takes one read, or fails when none is left.
    pub(crate) fn take(&mut self) -> Result<(), PdfError> {
        self.left = self
            .left
            .checked_sub(1)
            .ok_or_else(|| PdfError::limit("too many objects to analyse the later changes"))?;
        Ok(())
    }
}

/// How the signed revision used an object (the structure holding the reference, and where).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Use {
    /// A back pointer (`/Parent`, an annotation's `/P`): says nothing about the object.
    Backlink,
    /// The trailer's `/Info`.
    Info,
    /// The catalog's `/DSS`.
    Dss,
    /// A `/Certs`, `/CRLs` or `/OCSPs` array of the DSS.
    DssArray,
    /// The DSS's `/VRI`.
    Vri,
    /// The catalog's `/Metadata` (XMP).
    Metadata,
    /// The catalog's `/Extensions`.
    Extensions,
    /// The catalog's `/AcroForm`.
    AcroForm,
    /// The AcroForm's `/Fields`.
    Fields,
    /// A page's `/Annots` (the page).
    Annots(ObjectId),
    /// The `/AP` of a field or widget (the owner), or an appearance stream in it.
    Appearance(ObjectId),
    /// Anything else: content, resources, fonts, values, actions, another trailer entry.
    Locked,
}

/// One usage: how, by which object (`None`: the trailer) and at which path inside it.
#[derive(Debug, Clone)]
pub(crate) struct Usage {
    pub kind: Use,
    pub by: Option<ObjectId>,
    pub path: String,
}

impl Usage {
    /// "/Contents of object 5 0", "the trailer's /Info".
    pub(crate) fn describe(&self) -> String {
        match self.by {
            Some(id) => format!("{} of object {} {}", self.path, id.0, id.1),
            None => format!("the trailer's {}", self.path),
        }
    }
}

/// The signed revision, read once for every later revision it is compared with.
pub(crate) struct Signed<'r, 'a> {
    pub reader: &'r PdfReader<'a>,
    pub catalog: Dictionary,
    pub root: ObjectId,
    /// Page objects (`/Type /Page`, found by walking the page tree).
    pub pages: HashSet<ObjectId>,
    /// Form fields and widget annotations of the form tree, and every page's annotations.
    pub widgets: HashSet<ObjectId>,
    dss: Option<ObjectId>,
    acroform: Option<ObjectId>,
    /// Indirect `/AP` dictionaries and their owners.
    pub appearances: HashMap<ObjectId, ObjectId>,
    /// Every usage of each watched object.
    pub usages: HashMap<ObjectId, Vec<Usage>>,
}

#[derive(Clone, Copy)]
enum Seg<'o> {
    Key(&'o [u8]),
    Index,
}

fn path_text(path: &[Seg<'_>]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                out.push('/');
                out.push_str(&String::from_utf8_lossy(k));
            }
            Seg::Index => out.push_str("[]"),
        }
    }
    out
}

impl<'r, 'a> Signed<'r, 'a> {
    /// Reads the signed revision's structure and the usages of `watched` (object numbers
    /// some later revision changes).
    pub(crate) fn read(
        reader: &'r PdfReader<'a>,
        watched: &BTreeSet<u32>,
        budget: &mut Budget,
    ) -> Result<Self, PdfError> {
        let catalog = reader.catalog()?;
        let root = reader
            .trailer()
            .get(b"Root")
            .and_then(Object::as_reference)
            .map_err(|_| PdfError::xref("trailer has no /Root reference"))?;
        let reference = |dict: &Dictionary, key: &[u8]| dict.get(key).ok()?.as_reference().ok();
        let mut signed = Signed {
            reader,
            dss: reference(&catalog, b"DSS"),
            acroform: reference(&catalog, b"AcroForm"),
            // A page tree that cannot be walked has no pages that may gain annotations.
            pages: crate::validate::pages(reader, &catalog)
                .unwrap_or_default()
                .into_iter()
                .collect(),
            widgets: HashSet::new(),
            appearances: HashMap::new(),
            usages: HashMap::new(),
            catalog,
            root,
        };
        signed.read_form(budget)?;
        signed.read_annotations(budget)?;
        // An appearance may change only where its dictionary is the field's alone: the
        // usages of indirect appearance dictionaries are recorded too.
        let mut watched = watched.clone();
        watched.extend(signed.appearances.keys().map(|id| id.0));
        signed.read_usages(&watched, budget)?;
        Ok(signed)
    }

    /// The form tree: fields, widgets, the indirect `/Fields` array, appearance dictionaries.
    fn read_form(&mut self, budget: &mut Budget) -> Result<(), PdfError> {
        let Ok(form) = self.catalog.get(b"AcroForm") else {
            return Ok(());
        };
        budget.take()?;
        let Ok(form) = self.reader.resolve(form)?.as_dict().cloned() else {
            return Ok(());
        };
        let Ok(fields) = form.get(b"Fields") else {
            return Ok(());
        };
        let Object::Array(fields) = self.reader.resolve(fields)? else {
            return Ok(());
        };
        let mut stack: Vec<Object> = fields;
        while let Some(item) = stack.pop() {
            let Object::Reference(id) = item else {
                continue;
            };
            if !self.widgets.insert(id) {
                continue;
            }
            if self.widgets.len() > MAX_FORM_NODES {
                return Err(PdfError::limit("too many form fields"));
            }
            budget.take()?;
            let Ok(field) = self.reader.get(id)?.as_dict().cloned() else {
                continue;
            };
            self.note_appearance(id, &field);
            if let Ok(kids) = field.get(b"Kids")
                && let Object::Array(kids) = self.reader.resolve(kids)?
            {
                stack.extend(kids);
            }
        }
        Ok(())
    }

    /// Every page's annotations.
    fn read_annotations(&mut self, budget: &mut Budget) -> Result<(), PdfError> {
        let pages: Vec<ObjectId> = self.pages.iter().copied().collect();
        for page in pages {
            budget.take()?;
            let Ok(dict) = self.reader.get(page)?.as_dict().cloned() else {
                continue;
            };
            let Ok(annots) = dict.get(b"Annots") else {
                continue;
            };
            let Object::Array(items) = self.reader.resolve(annots)? else {
                continue;
            };
            for id in items.iter().filter_map(|i| i.as_reference().ok()) {
                if self.widgets.len() > MAX_FORM_NODES {
                    return Err(PdfError::limit("too many annotations"));
                }
                if self.widgets.insert(id) {
                    budget.take()?;
                    if let Ok(annot) = self.reader.get(id)?.as_dict() {
                        self.note_appearance(id, annot);
                    }
                }
            }
        }
        Ok(())
    }

    fn note_appearance(&mut self, owner: ObjectId, dict: &Dictionary) {
        if let Ok(ap) = dict.get(b"AP").and_then(Object::as_reference) {
            self.appearances.insert(ap, owner);
        }
    }

    /// Walks everything the signed revision reaches from its trailer and records how each
    /// watched object is referred to.
    fn read_usages(
        &mut self,
        watched: &BTreeSet<u32>,
        budget: &mut Budget,
    ) -> Result<(), PdfError> {
        if watched.is_empty() {
            return Ok(());
        }
        let mut seen: HashSet<ObjectId> = HashSet::new();
        let mut queue: Vec<ObjectId> = Vec::new();
        let trailer = Object::Dictionary(self.reader.trailer().clone());
        let mut reached = Vec::new();
        self.scan(None, &trailer, &mut Vec::new(), watched, &mut reached);
        loop {
            queue.extend(reached.drain(..).filter(|&id| seen.insert(id)));
            let Some(id) = queue.pop() else {
                return Ok(());
            };
            budget.take()?;
            let object = self.reader.get_without_data(id)?;
            self.scan(Some(id), &object, &mut Vec::new(), watched, &mut reached);
        }
    }

    /// Adds to `reached` every reference directly inside `object` (held by `by`), and
    /// records the usage of the watched ones.
    fn scan<'o>(
        &mut self,
        by: Option<ObjectId>,
        object: &'o Object,
        path: &mut Vec<Seg<'o>>,
        watched: &BTreeSet<u32>,
        reached: &mut Vec<ObjectId>,
    ) {
        match object {
            Object::Reference(id) => {
                if watched.contains(&id.0) {
                    let usage = Usage {
                        kind: if path.len() > MAX_NESTING {
                            Use::Locked
                        } else {
                            self.classify(by, path)
                        },
                        by,
                        path: path_text(path),
                    };
                    self.usages.entry(*id).or_default().push(usage);
                }
                reached.push(*id);
            }
            Object::Array(items) => {
                for item in items {
                    path.push(Seg::Index);
                    self.scan(by, item, path, watched, reached);
                    path.pop();
                }
            }
            Object::Dictionary(dict) => self.scan_dict(by, dict, path, watched, reached),
            Object::Stream(stream) => self.scan_dict(by, &stream.dict, path, watched, reached),
            _ => {}
        }
    }

    fn scan_dict<'o>(
        &mut self,
        by: Option<ObjectId>,
        dict: &'o Dictionary,
        path: &mut Vec<Seg<'o>>,
        watched: &BTreeSet<u32>,
        reached: &mut Vec<ObjectId>,
    ) {
        for (key, value) in dict.iter() {
            path.push(Seg::Key(key));
            self.scan(by, value, path, watched, reached);
            path.pop();
        }
    }

    /// What a reference at `path` inside `by` makes of its target.
    fn classify(&self, by: Option<ObjectId>, path: &[Seg<'_>]) -> Use {
        use Seg::Key;
        let Some(by) = by else {
            return match path {
                [Key(b"Info")] => Use::Info,
                _ => Use::Locked,
            };
        };
        if by == self.root {
            return match path {
                [Key(b"DSS")] => Use::Dss,
                [Key(b"DSS"), Key(b"Certs" | b"CRLs" | b"OCSPs")] => Use::DssArray,
                [Key(b"DSS"), Key(b"VRI")] => Use::Vri,
                [Key(b"Metadata")] => Use::Metadata,
                [Key(b"Extensions")] => Use::Extensions,
                [Key(b"AcroForm")] => Use::AcroForm,
                [Key(b"AcroForm"), Key(b"Fields")] => Use::Fields,
                _ => Use::Locked,
            };
        }
        if Some(by) == self.dss {
            return match path {
                [Key(b"Certs" | b"CRLs" | b"OCSPs")] => Use::DssArray,
                [Key(b"VRI")] => Use::Vri,
                _ => Use::Locked,
            };
        }
        if Some(by) == self.acroform {
            return match path {
                [Key(b"Fields")] => Use::Fields,
                _ => Use::Locked,
            };
        }
        if self.pages.contains(&by) {
            return match path {
                [Key(b"Annots")] => Use::Annots(by),
                [Key(b"Parent")] => Use::Backlink,
                _ => Use::Locked,
            };
        }
        if self.widgets.contains(&by) {
            return match path {
                [Key(b"Parent" | b"P")] => Use::Backlink,
                [Key(b"AP"), ..] => Use::Appearance(by),
                _ => Use::Locked,
            };
        }
        if let Some(&owner) = self.appearances.get(&by) {
            return Use::Appearance(owner);
        }
        // Field and annotation lists refer to fields and annotations, which are judged on
        // their own (see `Signed::widgets`).
        Use::Locked
    }
}
