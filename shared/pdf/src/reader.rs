//! A strict, bounded, lazy PDF reader.
//!
//! Why not `lopdf::Document::load` / `lopdf::Reader`: they parse every object up front and
//! silently repair what they cannot read (rebuilding a broken cross-reference table by
//! scanning the file, guessing stream lengths). We must refuse exactly those files, because
//! a viewer that has to repair a file before it can show it may treat our later incremental
//! update (the seal) as damage. So this module walks the cross-reference chain itself, refuses
//! anything inconsistent, reads objects only when asked, and bounds every count, depth and
//! decoded size by constants rather than by numbers found in the file. lopdf is still used for
//! what it does well: its object parser (reached through `ObjectStream::new_with_limit`, see
//! [`parse_direct`]), its `Object` model and its bounded stream decoders.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use lopdf::{Dictionary, Object, ObjectId, Stream};

use crate::error::PdfError;
use crate::lexer::{self, ScanError, keyword, read_uint, skip_space, skip_whitespace};

/// Highest object number a PDF may use (ISO 32000-1, Annex C).
pub const MAX_OBJECT_NUMBER: u32 = 8_388_607;
/// Most cross-reference sections followed through `/Prev`.
pub const MAX_SECTIONS: usize = 10_000;
/// Most bytes one stream (object stream, cross-reference stream) may decode to.
pub const MAX_DECODED_STREAM: usize = 16 << 20;
/// Most bytes all decoding done by one reader (or the readers sharing one [`ReadBudget`])
/// may produce in total.
pub const MAX_DECODED_TOTAL: usize = 256 << 20;
/// Most decoded object-stream bytes kept in the cache before it is emptied.
const OBJSTM_CACHE_BYTES: usize = 64 << 20;
/// Most nested reads (a `/Length` in an object stream, references to references).
const MAX_READ_DEPTH: usize = 16;
/// The `startxref` keyword must be within this many bytes of the end of the file.
const TAIL: usize = 1024;

/// Where one object lives, as the merged cross-reference table says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XrefEntry {
    /// Free (or a type the spec says to read as the null object).
    Free,
    /// An uncompressed object at a byte offset.
    InUse {
        /// Byte offset of `N G obj`.
        offset: usize,
        /// Generation number.
        generation: u16,
    },
    /// An object inside an object stream.
    Compressed {
        /// Object number of the object stream.
        stream: u32,
        /// Index of the object within that stream.
        index: u32,
    },
}

/// How one cross-reference section is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectionKind {
    /// A classic `xref` table followed by `trailer`.
    Table,
    /// A cross-reference stream (`/Type /XRef`).
    Stream,
}

/// How the newest revision's cross-reference data is written (what a seal must continue).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XrefKind {
    /// A classic table.
    Table,
    /// A cross-reference stream.
    Stream,
    /// A classic table whose trailer names an `/XRefStm` as well.
    Hybrid,
}

/// One cross-reference section of the `/Prev` chain (one revision of the file).
#[derive(Debug, Clone, PartialEq)]
pub struct XrefSection {
    /// Byte offset of the section (`xref` keyword or the stream object).
    pub offset: usize,
    /// Table or stream.
    pub kind: SectionKind,
    /// For a hybrid table: the offset of its `/XRefStm` stream.
    pub xref_stm: Option<usize>,
    /// The section's trailer (for a stream: its dictionary).
    pub trailer: Dictionary,
}

/// A decoded object stream: its data and the (object number, offset) index.
struct ObjStm {
    data: Vec<u8>,
    first: usize,
    members: Vec<(u32, usize)>,
}

/// What every reader of one request shares (a verification opens the file once per
/// revision it compares): one budget of decoded bytes, one deadline, and the object streams
/// decoded so far, so that a stream read by each revision's reader is decoded once.
#[derive(Clone)]
pub struct ReadBudget(Arc<SharedRead>);

impl std::fmt::Debug for ReadBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadBudget")
            .field("decoded", &self.0.decoded)
            .field("deadline", &self.0.deadline)
            .finish_non_exhaustive()
    }
}

struct SharedRead {
    decoded: AtomicUsize,
    deadline: Option<Instant>,
    /// Decoded object streams by (offset, raw length), with the dictionary they were decoded
    /// with: the same bytes with the same dictionary decode the same in any revision.
    objstms: Mutex<ObjStmCache>,
    /// Parsed objects (not streams) by (start of the file, offset), with the length of the
    /// file that parsed them: an object that fit in one prefix of a file parses the same in
    /// every longer one (a verification reads each revision of one file).
    parsed: Mutex<ParsedCache>,
    /// Whether objects are kept in `parsed` (only for readers that share the budget).
    keep_objects: bool,
}

/// Parsed objects by (start of the file, offset): the length of the file that parsed each,
/// its id, and the object.
type ParsedCache = HashMap<(usize, usize), (usize, ObjectId, Object)>;

/// Most parsed objects kept before the cache is emptied.
const PARSED_CACHE_OBJECTS: usize = 100_000;

/// Bytes held, and the decoded object streams by (offset, raw length).
type ObjStmCache = (usize, HashMap<(usize, usize), (Dictionary, Arc<ObjStm>)>);

impl ReadBudget {
    /// A budget of [`MAX_DECODED_TOTAL`] bytes, until `deadline` if given.
    pub fn new(deadline: Option<Instant>) -> Self {
        Self::with(deadline, false)
    }

    /// [`ReadBudget::new`] for readers of the revisions of one file, which also share the
    /// objects they parse.
    pub fn for_revisions(deadline: Option<Instant>) -> Self {
        Self::with(deadline, true)
    }

    fn with(deadline: Option<Instant>, keep_objects: bool) -> Self {
        ReadBudget(Arc::new(SharedRead {
            decoded: AtomicUsize::new(0),
            deadline,
            objstms: Mutex::new((0, HashMap::new())),
            parsed: Mutex::new(HashMap::new()),
            keep_objects,
        }))
    }

    fn parsed(&self, bytes: &[u8], offset: usize, id: ObjectId) -> Option<Object> {
        if !self.0.keep_objects {
            return None;
        }
        let cache = self.0.parsed.lock().unwrap_or_else(|e| e.into_inner());
        match cache.get(&(bytes.as_ptr() as usize, offset)) {
            Some((len, found, object)) if *len <= bytes.len() && *found == id => {
                Some(object.clone())
            }
            _ => None,
        }
    }

    fn keep_parsed(&self, bytes: &[u8], offset: usize, id: ObjectId, object: &Object) {
        // Large objects are parsed again rather than held twice.
        let small = match object {
            Object::Array(items) => items.len() <= 1_000,
            Object::Dictionary(dict) => dict.len() <= 1_000,
            Object::String(s, _) => s.len() <= 64 * 1024,
            _ => true,
        };
        if !self.0.keep_objects || !small {
            return;
        }
        let mut cache = self.0.parsed.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= PARSED_CACHE_OBJECTS {
            cache.clear();
        }
        cache.insert(
            (bytes.as_ptr() as usize, offset),
            (bytes.len(), id, object.clone()),
        );
    }

    /// Whether the deadline has passed.
    pub fn expired(&self) -> bool {
        self.0.deadline.is_some_and(|d| Instant::now() >= d)
    }

    fn check_time(&self) -> Result<(), PdfError> {
        match self.expired() {
            true => Err(PdfError::limit(
                "the time allowed for reading the file ran out",
            )),
            false => Ok(()),
        }
    }

    fn cached(&self, key: (usize, usize), dict: &Dictionary) -> Option<Arc<ObjStm>> {
        let cache = self.0.objstms.lock().unwrap_or_else(|e| e.into_inner());
        match cache.1.get(&key) {
            Some((seen, objstm)) if seen == dict => Some(Arc::clone(objstm)),
            _ => None,
        }
    }

    fn keep(&self, key: (usize, usize), dict: Dictionary, objstm: &Arc<ObjStm>) {
        let mut cache = self.0.objstms.lock().unwrap_or_else(|e| e.into_inner());
        if cache.0 + objstm.data.len() > OBJSTM_CACHE_BYTES {
            cache.1.clear();
            cache.0 = 0;
        }
        cache.0 += objstm.data.len();
        cache.1.insert(key, (dict, Arc::clone(objstm)));
    }
}

/// The body of an indirect object as read from the file.
enum Body<'a> {
    Object(Object),
    Stream {
        dict: Dictionary,
        data: &'a [u8],
        data_offset: usize,
    },
}

/// Which error a malformed byte sequence becomes, by where it was found.
#[derive(Clone, Copy)]
enum Ctx {
    Xref,
    Object(ObjectId),
}

impl Ctx {
    fn err(self, reason: impl Into<String>) -> PdfError {
        match self {
            Ctx::Xref => PdfError::xref(reason),
            Ctx::Object(id) => PdfError::object(id, reason),
        }
    }

    fn scan(self, error: ScanError) -> PdfError {
        match error {
            ScanError::Malformed(why) => self.err(why),
            ScanError::Limit(why) => PdfError::limit(why),
        }
    }
}

/// A strict, lazy view of a PDF held in memory: the cross-reference chain is read by
/// [`PdfReader::open`]; objects are parsed only when [`PdfReader::get`] asks for them.
/// `Send` but not `Sync` (it caches decoded object streams behind a `RefCell`).
pub struct PdfReader<'a> {
    bytes: &'a [u8],
    version: String,
    startxref: usize,
    sections: Vec<XrefSection>,
    entries: HashMap<u32, XrefEntry>,
    shared: ReadBudget,
    objstms: RefCell<HashMap<u32, Arc<ObjStm>>>,
    objstm_bytes: Cell<usize>,
    /// Objects being read right now, to turn a self-reference into an error.
    reading: RefCell<Vec<ObjectId>>,
}

impl std::fmt::Debug for PdfReader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PdfReader")
            .field("len", &self.bytes.len())
            .field("version", &self.version)
            .field("startxref", &self.startxref)
            .field("sections", &self.sections.len())
            .field("entries", &self.entries.len())
            .finish()
    }
}

impl<'a> PdfReader<'a> {
    /// Checks the header and reads the whole cross-reference chain (no object is parsed yet).
    pub fn open(bytes: &'a [u8]) -> Result<Self, PdfError> {
        Self::open_within(bytes, &ReadBudget::new(None))
    }

    /// [`PdfReader::open`], decoding within `budget` (shared with other readers).
    pub fn open_within(bytes: &'a [u8], budget: &ReadBudget) -> Result<Self, PdfError> {
        budget.check_time()?;
        if bytes.is_empty() {
            return Err(PdfError::Empty);
        }
        let version = header_version(bytes).ok_or(PdfError::NotPdf)?;
        let startxref = find_startxref(bytes)?;
        let mut reader = PdfReader {
            bytes,
            version,
            startxref,
            sections: Vec::new(),
            entries: HashMap::new(),
            shared: budget.clone(),
            objstms: RefCell::new(HashMap::new()),
            objstm_bytes: Cell::new(0),
            reading: RefCell::new(Vec::new()),
        };
        reader.read_chain()?;
        Ok(reader)
    }

    /// The version in the header (`"1.7"`); the catalog's `/Version` may raise it.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The offset that the final `startxref` names (the newest section).
    pub fn startxref(&self) -> usize {
        self.startxref
    }

    /// The cross-reference sections, newest first.
    pub fn sections(&self) -> &[XrefSection] {
        &self.sections
    }

    /// Whether any revision's trailer names an `/Encrypt` dictionary.
    pub fn is_encrypted(&self) -> bool {
        self.sections
            .iter()
            .any(|section| section.trailer.has(b"Encrypt"))
    }

    /// The newest trailer (for a hybrid file, the table's trailer).
    pub fn trailer(&self) -> &Dictionary {
        &self.sections[0].trailer
    }

    /// How the newest section is written.
    pub fn xref_kind(&self) -> XrefKind {
        let newest = &self.sections[0];
        match (newest.kind, newest.xref_stm) {
            (SectionKind::Stream, _) => XrefKind::Stream,
            (SectionKind::Table, Some(_)) => XrefKind::Hybrid,
            (SectionKind::Table, None) => XrefKind::Table,
        }
    }

    /// The bytes the reader was opened on.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Number of object numbers in the merged cross-reference table (free ones included).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the merged cross-reference table is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The `/Size` a new revision must declare at least: one past the highest object number.
    pub fn size(&self) -> u32 {
        let declared = self
            .trailer()
            .get(b"Size")
            .and_then(Object::as_i64)
            .ok()
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0);
        let highest = self.entries.keys().max().map_or(0, |&n| n + 1);
        declared.max(highest)
    }

    /// The merged cross-reference entry for an object number (newest revision wins).
    pub fn entry(&self, number: u32) -> Option<XrefEntry> {
        self.entries.get(&number).copied()
    }

    /// The document catalog: the trailer's `/Root`, which must be a `/Type /Catalog` dictionary.
    pub fn catalog(&self) -> Result<Dictionary, PdfError> {
        let id = self
            .trailer()
            .get(b"Root")
            .and_then(Object::as_reference)
            .map_err(|_| PdfError::xref("trailer has no /Root reference"))?;
        match self.get(id)? {
            Object::Dictionary(dict) if dict.has_type(b"Catalog") => Ok(dict),
            _ => Err(PdfError::object(
                id,
                "/Root is not a /Type /Catalog dictionary",
            )),
        }
    }

    /// Reads one indirect object. A free or unknown object, or a generation that does not
    /// match, is the null object (as the spec says); a damaged one is an error.
    pub fn get(&self, id: ObjectId) -> Result<Object, PdfError> {
        self.get_at(id, 0, true)
    }

    /// Reads one indirect object as [`PdfReader::get`] does, but a stream comes without its
    /// data: for walks that only follow references (a stream's data holds none).
    pub fn get_without_data(&self, id: ObjectId) -> Result<Object, PdfError> {
        self.get_at(id, 0, false)
    }

    /// Follows references (a bounded chain) until a direct object.
    pub fn resolve(&self, object: &Object) -> Result<Object, PdfError> {
        let &Object::Reference(mut id) = object else {
            return Ok(object.clone());
        };
        for _ in 0..MAX_READ_DEPTH {
            match self.get(id)? {
                Object::Reference(next) => id = next,
                other => return Ok(other),
            }
        }
        Err(PdfError::limit("reference chain too long"))
    }

    /// A stream's dictionary and its raw (still encoded) data, without copying the data.
    pub fn stream(&self, id: ObjectId) -> Result<(Dictionary, &'a [u8]), PdfError> {
        match self.entries.get(&id.0) {
            Some(&XrefEntry::InUse { offset, generation }) if generation == id.1 => {
                match self.read_body(id, offset, 0)? {
                    Body::Stream { dict, data, .. } => Ok((dict, data)),
                    Body::Object(_) => Err(PdfError::object(id, "not a stream")),
                }
            }
            _ => Err(PdfError::object(id, "not an uncompressed stream object")),
        }
    }

    /// Every entry of the merged cross-reference table, in no particular order.
    pub fn entries(&self) -> impl Iterator<Item = (u32, XrefEntry)> + '_ {
        self.entries.iter().map(|(&number, &entry)| (number, entry))
    }

    /// A stream's dictionary and its decoded data, within the reader's decoding budget.
    pub fn decoded_stream(&self, id: ObjectId) -> Result<(Dictionary, Vec<u8>), PdfError> {
        let (dict, data) = self.stream(id)?;
        let decoded = self.decode(&dict, data, Ctx::Object(id))?;
        Ok((dict, decoded))
    }

    /// Checks that every in-use entry points at its own `N G obj` header and that every
    /// compressed entry names an uncompressed stream object. Cheap (a few bytes per object,
    /// no stream data), and it catches the wrong offsets that make viewers rebuild the table.
    pub fn check_offsets(&self) -> Result<(), PdfError> {
        for (&number, entry) in &self.entries {
            match *entry {
                XrefEntry::Free => {}
                XrefEntry::InUse { offset, generation } => {
                    let (found, _) = object_header(self.bytes, offset).ok_or_else(|| {
                        PdfError::xref(format!(
                            "entry for object {number} does not point at an object"
                        ))
                    })?;
                    if found != (number, generation) {
                        return Err(PdfError::xref(format!(
                            "entry for object {number} {generation} points at object {} {}",
                            found.0, found.1
                        )));
                    }
                }
                XrefEntry::Compressed { stream, .. } => {
                    if !matches!(self.entries.get(&stream), Some(XrefEntry::InUse { .. })) {
                        return Err(PdfError::xref(format!(
                            "object {number} is in object stream {stream}, which is not an uncompressed object"
                        )));
                    }
                }
            }
        }
        Ok(())
    }

    /// Reads `id`; a stream's data is copied only `with_data`.
    fn get_at(&self, id: ObjectId, depth: usize, with_data: bool) -> Result<Object, PdfError> {
        if depth > MAX_READ_DEPTH {
            return Err(PdfError::limit("objects refer to each other too deeply"));
        }
        self.shared.check_time()?;
        match self.entries.get(&id.0).copied() {
            None | Some(XrefEntry::Free) => Ok(Object::Null),
            Some(XrefEntry::InUse { offset, generation }) => {
                if generation != id.1 {
                    return Ok(Object::Null);
                }
                Ok(match self.read_body(id, offset, depth)? {
                    Body::Object(object) => object,
                    Body::Stream {
                        dict,
                        data,
                        data_offset,
                    } => Object::Stream(Stream {
                        dict,
                        content: if with_data { data.to_vec() } else { Vec::new() },
                        allows_compression: true,
                        start_position: Some(data_offset),
                    }),
                })
            }
            Some(XrefEntry::Compressed { stream, index }) => {
                if id.1 != 0 {
                    return Ok(Object::Null);
                }
                let objstm = self.object_stream(stream, depth + 1)?;
                objstm_member(&objstm, id, index)
            }
        }
    }

    /// Reads the indirect object `id` at `offset`, guarding against an object whose reading
    /// needs itself (a `/Length` that is, or lives in, the object being read).
    fn read_body(&self, id: ObjectId, offset: usize, depth: usize) -> Result<Body<'a>, PdfError> {
        if let Some(object) = self.shared.parsed(self.bytes, offset, id) {
            return Ok(Body::Object(object));
        }
        if self.reading.borrow().contains(&id) {
            return Err(PdfError::object(
                id,
                "object refers to itself while being read",
            ));
        }
        self.reading.borrow_mut().push(id);
        let result = read_indirect(self.bytes, offset, Ctx::Object(id), &mut |length| {
            self.length_value(length, depth)
        });
        self.reading.borrow_mut().pop();
        let (found, body) = result?;
        if found != id {
            return Err(PdfError::xref(format!(
                "entry for object {} {} points at object {} {}",
                id.0, id.1, found.0, found.1
            )));
        }
        if let Body::Object(object) = &body {
            self.shared.keep_parsed(self.bytes, offset, id, object);
        }
        Ok(body)
    }

    fn length_value(&self, length: &Object, depth: usize) -> Result<Option<i64>, PdfError> {
        match length {
            Object::Reference(id) => Ok(self.get_at(*id, depth + 1, true)?.as_i64().ok()),
            other => Ok(other.as_i64().ok()),
        }
    }

    /// The decoded object stream `number`, from the cache or read now.
    fn object_stream(&self, number: u32, depth: usize) -> Result<Arc<ObjStm>, PdfError> {
        if let Some(found) = self.objstms.borrow().get(&number) {
            return Ok(Arc::clone(found));
        }
        let Some(XrefEntry::InUse { offset, generation }) = self.entries.get(&number).copied()
        else {
            return Err(PdfError::xref(format!(
                "object stream {number} is not an uncompressed object"
            )));
        };
        let id = (number, generation);
        let (dict, data) = match self.read_body(id, offset, depth)? {
            Body::Stream { dict, data, .. } => (dict, data),
            Body::Object(_) => return Err(PdfError::object(id, "object stream is not a stream")),
        };
        if !dict.has_type(b"ObjStm") {
            return Err(PdfError::object(id, "object stream lacks /Type /ObjStm"));
        }
        let key = (offset, data.len());
        if let Some(objstm) = self.shared.cached(key, &dict) {
            self.objstms
                .borrow_mut()
                .insert(number, Arc::clone(&objstm));
            return Ok(objstm);
        }
        let n = non_negative(&dict, b"N").ok_or_else(|| PdfError::object(id, "bad /N"))?;
        let first =
            non_negative(&dict, b"First").ok_or_else(|| PdfError::object(id, "bad /First"))?;
        let data = self.decode(&dict, data, Ctx::Object(id))?;
        if first > data.len() {
            return Err(PdfError::object(id, "/First lies beyond the data"));
        }
        let members = objstm_index(&data[..first], n, data.len() - first)
            .ok_or_else(|| PdfError::object(id, "object stream index is malformed"))?;
        let objstm = Arc::new(ObjStm {
            data,
            first,
            members,
        });
        self.shared.keep(key, dict, &objstm);
        // Keep the cache bounded: empty it rather than let a file hold many 16 MiB streams.
        if self.objstm_bytes.get() + objstm.data.len() > OBJSTM_CACHE_BYTES {
            self.objstms.borrow_mut().clear();
            self.objstm_bytes.set(0);
        }
        self.objstm_bytes
            .set(self.objstm_bytes.get() + objstm.data.len());
        self.objstms
            .borrow_mut()
            .insert(number, Arc::clone(&objstm));
        Ok(objstm)
    }

    /// Decodes a stream's data with lopdf's bounded decoders, within the per-stream cap and
    /// the reader's total budget (shared with the other readers of its [`ReadBudget`]).
    fn decode(&self, dict: &Dictionary, data: &[u8], ctx: Ctx) -> Result<Vec<u8>, PdfError> {
        self.shared.check_time()?;
        let decoded_total = &self.shared.0.decoded;
        let left = MAX_DECODED_TOTAL.saturating_sub(decoded_total.load(Ordering::Relaxed));
        let decoded = decode_stream(dict, data, MAX_DECODED_STREAM.min(left), ctx)?;
        decoded_total.fetch_add(decoded.len(), Ordering::Relaxed);
        Ok(decoded)
    }

    /// Follows `startxref` and every `/Prev`, merging entries newest first.
    fn read_chain(&mut self) -> Result<(), PdfError> {
        let len = self.bytes.len();
        let size_cap = entry_cap(len);
        let mut visited = HashSet::new();
        let mut newer_size: Option<i64> = None;
        let mut next = Some(self.startxref);
        while let Some(offset) = next {
            if self.sections.len() >= MAX_SECTIONS {
                return Err(PdfError::limit("too many cross-reference sections"));
            }
            if offset >= len {
                return Err(PdfError::xref(format!(
                    "cross-reference offset {offset} lies outside the file"
                )));
            }
            if !visited.insert(offset) {
                return Err(PdfError::xref("the /Prev chain loops"));
            }
            let section = if keyword(self.bytes, offset, b"xref").is_some() {
                self.read_table_section(offset)?
            } else {
                let (trailer, entries) = self.read_xref_stream(offset)?;
                self.merge(entries.into_iter(), size_cap)?;
                XrefSection {
                    offset,
                    kind: SectionKind::Stream,
                    xref_stm: None,
                    trailer,
                }
            };
            let size = match section.trailer.get(b"Size").and_then(Object::as_i64) {
                Ok(size) if size >= 1 && size as u64 <= size_cap as u64 => size,
                _ => {
                    return Err(PdfError::xref(
                        "trailer /Size is missing or beyond what the file can hold",
                    ));
                }
            };
            // Sections are read newest first; a revision never has fewer objects than the
            // one it updates (pyHanko's strict reader refuses such files too).
            if newer_size.is_some_and(|newer| size > newer) {
                return Err(PdfError::xref(
                    "a later revision's trailer /Size is smaller than an earlier one's",
                ));
            }
            newer_size = Some(size);
            next = match section.trailer.get(b"Prev") {
                Err(_) => None,
                Ok(prev) => match prev.as_i64().ok().and_then(|p| usize::try_from(p).ok()) {
                    Some(p) => Some(p),
                    None => return Err(PdfError::xref("/Prev is not an offset")),
                },
            };
            self.sections.push(section);
        }
        Ok(())
    }

    /// Reads a classic table (and, for a hybrid file, its `/XRefStm`) and merges it.
    fn read_table_section(&mut self, offset: usize) -> Result<XrefSection, PdfError> {
        let len = self.bytes.len();
        let size_cap = entry_cap(len);
        let (entries, trailer) = read_table(self.bytes, offset)?;
        let xref_stm = match trailer.get(b"XRefStm") {
            Err(_) => None,
            Ok(value) => match value.as_i64().ok().and_then(|v| usize::try_from(v).ok()) {
                Some(at) if at < len => Some(at),
                _ => return Err(PdfError::xref("/XRefStm is not an offset inside the file")),
            },
        };
        // A hybrid table's own in-use entries come first, then the stream's, then the
        // table's free entries (which hide compressed objects from pre-1.5 readers).
        let (free, used): (Vec<_>, Vec<_>) = entries
            .into_iter()
            .partition(|(_, entry)| *entry == XrefEntry::Free);
        self.merge(used.into_iter(), size_cap)?;
        if let Some(at) = xref_stm {
            let (_, stream_entries) = self.read_xref_stream(at)?;
            self.merge(stream_entries.into_iter(), size_cap)?;
        }
        self.merge(free.into_iter(), size_cap)?;
        Ok(XrefSection {
            offset,
            kind: SectionKind::Table,
            xref_stm,
            trailer,
        })
    }

    fn merge(
        &mut self,
        entries: impl Iterator<Item = (u32, XrefEntry)>,
        cap: usize,
    ) -> Result<(), PdfError> {
        for (number, entry) in entries {
            self.entries.entry(number).or_insert(entry);
        }
        if self.entries.len() > cap {
            return Err(PdfError::xref(
                "more cross-reference entries than the file can hold",
            ));
        }
        Ok(())
    }

    /// Reads the cross-reference stream at `offset`: its dictionary and its entries.
    fn read_xref_stream(
        &self,
        offset: usize,
    ) -> Result<(Dictionary, Vec<(u32, XrefEntry)>), PdfError> {
        let ctx = Ctx::Xref;
        // The table is not known yet, so this stream's /Length must be direct.
        let (_, body) = read_indirect(self.bytes, offset, ctx, &mut |length| match length {
            Object::Reference(_) => Err(PdfError::xref(
                "cross-reference stream /Length is an indirect reference",
            )),
            other => Ok(other.as_i64().ok()),
        })?;
        let Body::Stream { dict, data, .. } = body else {
            return Err(ctx.err("cross-reference offset does not point at a table or stream"));
        };
        if !dict.has_type(b"XRef") {
            return Err(ctx.err("cross-reference stream lacks /Type /XRef"));
        }
        let widths = xref_widths(&dict).ok_or_else(|| ctx.err("bad /W"))?;
        let row: usize = widths.iter().sum();
        let size = non_negative(&dict, b"Size").ok_or_else(|| ctx.err("bad /Size"))?;
        let ranges = xref_index(&dict, size).ok_or_else(|| ctx.err("bad /Index"))?;
        let count: u64 = ranges.iter().map(|&(_, n)| u64::from(n)).sum();
        if count > entry_cap(self.bytes.len()) as u64 {
            return Err(ctx.err("/Index names more entries than the file can hold"));
        }
        let needed = count
            .checked_mul(row as u64)
            .filter(|&n| n <= MAX_DECODED_STREAM as u64)
            .ok_or_else(|| ctx.err("/Index names more entries than a stream may hold"))?
            as usize;
        let decoded = self.decode(&dict, data, ctx)?;
        if decoded.len() < needed {
            return Err(ctx.err("cross-reference stream data is shorter than /Index says"));
        }
        let mut entries = Vec::with_capacity(count as usize);
        let mut rows = decoded.chunks_exact(row);
        for (start, n) in ranges {
            for number in start..start + n {
                let Some(bytes) = rows.next() else {
                    return Err(ctx.err("cross-reference stream data ends early"));
                };
                let (f1, rest) = bytes.split_at(widths[0]);
                let (f2, f3) = rest.split_at(widths[1]);
                let kind = if widths[0] == 0 { 1 } else { be(f1) };
                let entry = match kind {
                    1 => {
                        let offset = usize::try_from(be(f2)).unwrap_or(usize::MAX);
                        if offset >= self.bytes.len() {
                            return Err(
                                ctx.err(format!("object {number} has an offset outside the file"))
                            );
                        }
                        let generation = u16::try_from(be(f3))
                            .map_err(|_| ctx.err("generation number out of range"))?;
                        XrefEntry::InUse { offset, generation }
                    }
                    2 => {
                        let stream = u32::try_from(be(f2))
                            .ok()
                            .filter(|&s| s <= MAX_OBJECT_NUMBER)
                            .ok_or_else(|| ctx.err("object stream number out of range"))?;
                        let index = u32::try_from(be(f3))
                            .map_err(|_| ctx.err("object stream index out of range"))?;
                        XrefEntry::Compressed { stream, index }
                    }
                    // Type 0 is free; any other type reads as the null object.
                    _ => XrefEntry::Free,
                };
                entries.push((number, entry));
            }
        }
        Ok((dict, entries))
    }
}

/// Parses one direct object with lopdf's parser. lopdf 0.47 keeps its parser module
/// private; its object-stream reader is public, so we wrap the bytes as a one-object,
/// unfiltered object stream. The bytes must already be delimited by [`lexer::scan_object`].
pub(crate) fn parse_direct(bytes: &[u8]) -> Option<Object> {
    const INDEX: &[u8] = b"1 0 ";
    let mut content = Vec::with_capacity(INDEX.len() + bytes.len());
    content.extend_from_slice(INDEX);
    content.extend_from_slice(bytes);
    let mut dict = Dictionary::new();
    dict.set("N", 1);
    dict.set("First", INDEX.len() as i64);
    let limit = content.len();
    let stream = Stream {
        dict,
        content,
        allows_compression: false,
        start_position: None,
    };
    let mut parsed = lopdf::ObjectStream::new_with_limit(&stream, Some(limit)).ok()?;
    parsed.objects.remove(&(1, 0))
}

/// Delimits and parses the direct object at `pos`; returns it and the position after it.
fn object_at(buf: &[u8], pos: usize, ctx: Ctx) -> Result<(Object, usize), PdfError> {
    let start = skip_space(buf, pos);
    let end = lexer::scan_object(buf, start).map_err(|e| ctx.scan(e))?;
    let object = parse_direct(&buf[start..end]).ok_or_else(|| ctx.err("object does not parse"))?;
    Ok((object, end))
}

/// `N G obj` at `offset`: the id and the position after `obj`.
fn object_header(buf: &[u8], offset: usize) -> Option<(ObjectId, usize)> {
    let (number, p) = read_uint(buf, offset, 10)?;
    let q = skip_whitespace(buf, p);
    if q == p {
        return None;
    }
    let (generation, p) = read_uint(buf, q, 5)?;
    let q = skip_whitespace(buf, p);
    if q == p {
        return None;
    }
    let end = keyword(buf, q, b"obj")?;
    let number = u32::try_from(number)
        .ok()
        .filter(|&n| n <= MAX_OBJECT_NUMBER)?;
    Some(((number, u16::try_from(generation).ok()?), end))
}

/// Reads the indirect object at `offset`: `N G obj`, a direct object, then `endobj`, or a
/// dictionary, `stream`, exactly `/Length` bytes, `endstream`, `endobj`.
fn read_indirect<'a>(
    buf: &'a [u8],
    offset: usize,
    ctx: Ctx,
    length_of: &mut dyn FnMut(&Object) -> Result<Option<i64>, PdfError>,
) -> Result<(ObjectId, Body<'a>), PdfError> {
    let (id, pos) =
        object_header(buf, offset).ok_or_else(|| ctx.err("no `N G obj` at the offset"))?;
    let (object, pos) = object_at(buf, pos, ctx)?;
    let pos = skip_space(buf, pos);
    if keyword(buf, pos, b"endobj").is_some() {
        return Ok((id, Body::Object(object)));
    }
    if buf[pos..].starts_with(b"stream") {
        let Object::Dictionary(dict) = object else {
            return Err(ctx.err("`stream` after something other than a dictionary"));
        };
        let data_offset = match &buf[pos + 6..] {
            [b'\r', b'\n', ..] => pos + 8,
            [b'\n', ..] | [b'\r', ..] => pos + 7,
            _ => return Err(ctx.err("`stream` is not followed by an end of line")),
        };
        let length_entry = dict
            .get(b"Length")
            .map_err(|_| ctx.err("stream has no /Length"))?;
        let length = length_of(length_entry)?
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| ctx.err("stream /Length is not a non-negative integer"))?;
        let data_end = data_offset
            .checked_add(length)
            .filter(|&end| end <= buf.len())
            .ok_or_else(|| ctx.err("stream data runs past the end of the file"))?;
        let mut p = data_end;
        match &buf[p..] {
            [b'\r', b'\n', ..] => p += 2,
            [b'\n', ..] | [b'\r', ..] => p += 1,
            _ => {}
        }
        let p = keyword(buf, p, b"endstream")
            .ok_or_else(|| ctx.err("`endstream` does not follow /Length bytes of data"))?;
        keyword(buf, skip_space(buf, p), b"endobj")
            .ok_or_else(|| ctx.err("`endobj` does not follow `endstream`"))?;
        return Ok((
            id,
            Body::Stream {
                dict,
                data: &buf[data_offset..data_end],
                data_offset,
            },
        ));
    }
    Err(ctx.err("object is not followed by `endobj`"))
}

/// Reads a classic `xref` table and its `trailer` dictionary.
fn read_table(buf: &[u8], offset: usize) -> Result<(Vec<(u32, XrefEntry)>, Dictionary), PdfError> {
    const ENTRY_MIN: usize = 19; // 20 by the spec; some writers end entries with one byte.
    let bad = |why: &str| PdfError::xref(format!("cross-reference table at {offset}: {why}"));
    let mut pos = offset + 4;
    let mut entries = Vec::new();
    loop {
        pos = skip_whitespace(buf, pos);
        if let Some(after) = keyword(buf, pos, b"trailer") {
            pos = after;
            break;
        }
        let (start, p) = read_uint(buf, pos, 10).ok_or_else(|| bad("bad subsection header"))?;
        let q = skip_whitespace(buf, p);
        let (count, p) = read_uint(buf, q, 10)
            .filter(|_| q > p)
            .ok_or_else(|| bad("bad subsection header"))?;
        if start + count > u64::from(MAX_OBJECT_NUMBER) + 1 {
            return Err(bad("object numbers beyond the PDF limit"));
        }
        pos = skip_whitespace(buf, p);
        // Checked before the loop so a huge count fails at once, not after a long parse.
        if (count as usize).saturating_mul(ENTRY_MIN) > buf.len() - pos.min(buf.len()) {
            return Err(bad("subsection runs past the end of the file"));
        }
        for number in start..start + count {
            let (entry, next) = table_entry(buf, pos).ok_or_else(|| bad("malformed entry"))?;
            if let XrefEntry::InUse { offset, .. } = entry
                && offset >= buf.len()
            {
                return Err(bad("an entry points outside the file"));
            }
            entries.push((number as u32, entry));
            pos = next;
        }
    }
    let (trailer, _) = object_at(buf, pos, Ctx::Xref)?;
    match trailer {
        Object::Dictionary(dict) => Ok((entries, dict)),
        _ => Err(bad("trailer is not a dictionary")),
    }
}

/// One `oooooooooo ggggg n` entry and its end of line.
fn table_entry(buf: &[u8], pos: usize) -> Option<(XrefEntry, usize)> {
    let field = |from: usize, digits: usize| {
        let (value, end) = read_uint(buf, from, digits)?;
        (end == from + digits).then_some(value)
    };
    let offset = field(pos, 10)?;
    (buf.get(pos + 10) == Some(&b' ')).then_some(())?;
    let generation = field(pos + 11, 5)?;
    (buf.get(pos + 16) == Some(&b' ')).then_some(())?;
    let kind = *buf.get(pos + 17)?;
    let first = *buf.get(pos + 18)?;
    if !lexer::is_whitespace(first) {
        return None;
    }
    let mut end = pos + 19;
    if matches!(first, b' ' | b'\r') && matches!(buf.get(end), Some(b'\r' | b'\n')) {
        end += 1;
    }
    let entry = match kind {
        b'n' => XrefEntry::InUse {
            offset: usize::try_from(offset).ok()?,
            generation: u16::try_from(generation).ok()?,
        },
        b'f' => XrefEntry::Free,
        _ => return None,
    };
    Some((entry, end))
}

/// The three `/W` field widths (each at most 8 bytes; the offset field at least 1).
fn xref_widths(dict: &Dictionary) -> Option<[usize; 3]> {
    let w = dict.get(b"W").ok()?.as_array().ok()?;
    if w.len() != 3 {
        return None;
    }
    let mut widths = [0usize; 3];
    for (slot, value) in widths.iter_mut().zip(w) {
        *slot = usize::try_from(value.as_i64().ok()?)
            .ok()
            .filter(|&n| n <= 8)?;
    }
    (widths[1] >= 1).then_some(widths)
}

/// The `/Index` ranges (default `[0 Size]`), each within the object-number limit.
fn xref_index(dict: &Dictionary, size: usize) -> Option<Vec<(u32, u32)>> {
    let pairs: Vec<i64> = match dict.get(b"Index") {
        Err(_) => vec![0, i64::try_from(size).ok()?],
        Ok(index) => {
            let index = index.as_array().ok()?;
            if index.len() % 2 != 0 || index.len() > 2 * 65_536 {
                return None;
            }
            index
                .iter()
                .map(|v| v.as_i64().ok())
                .collect::<Option<_>>()?
        }
    };
    pairs
        .chunks(2)
        .map(|pair| {
            let start = u32::try_from(pair[0]).ok()?;
            let count = u32::try_from(pair[1]).ok()?;
            (u64::from(start) + u64::from(count) <= u64::from(MAX_OBJECT_NUMBER) + 1)
                .then_some((start, count))
        })
        .collect()
}

/// Parses an object stream's index: `n` pairs of object number and increasing offset.
fn objstm_index(header: &[u8], n: usize, body_len: usize) -> Option<Vec<(u32, usize)>> {
    // Each pair takes at least four bytes, so `n` is checked before anything is reserved.
    if n > header.len() / 4 + 1 {
        return None;
    }
    let mut members = Vec::with_capacity(n);
    let mut pos = 0;
    for _ in 0..n {
        let (number, p) = read_uint(header, skip_space(header, pos), 10)?;
        let (offset, p) = read_uint(header, skip_space(header, p), 10)?;
        pos = p;
        let number = u32::try_from(number)
            .ok()
            .filter(|&n| n <= MAX_OBJECT_NUMBER)?;
        let offset = usize::try_from(offset).ok().filter(|&o| o < body_len)?;
        if members
            .last()
            .is_some_and(|&(_, previous)| previous >= offset)
        {
            return None;
        }
        members.push((number, offset));
    }
    (skip_space(header, pos) == header.len()).then_some(members)
}

/// Member `index` of a decoded object stream, which must be object `id`.
fn objstm_member(objstm: &ObjStm, id: ObjectId, index: u32) -> Result<Object, PdfError> {
    let ctx = Ctx::Object(id);
    let index = index as usize;
    let &(number, offset) = objstm
        .members
        .get(index)
        .ok_or_else(|| ctx.err("object stream has no such index"))?;
    if number != id.0 {
        return Err(PdfError::xref(format!(
            "object {} is listed at index {index} of an object stream that holds object {number} there",
            id.0
        )));
    }
    let end = objstm
        .members
        .get(index + 1)
        .map_or(objstm.data.len(), |&(_, next)| objstm.first + next);
    let data = &objstm.data[..end];
    let (object, after) = object_at(data, objstm.first + offset, ctx)?;
    if skip_space(data, after) != end {
        return Err(ctx.err("junk after an object in an object stream"));
    }
    Ok(object)
}

/// Decodes with lopdf's bounded decoders, mapping its errors onto ours.
fn decode_stream(
    dict: &Dictionary,
    data: &[u8],
    limit: usize,
    ctx: Ctx,
) -> Result<Vec<u8>, PdfError> {
    let stream = Stream {
        dict: dict.clone(),
        content: data.to_vec(),
        allows_compression: false,
        start_position: None,
    };
    stream
        .get_plain_content_with_limit(limit)
        .map_err(|error| match error {
            lopdf::Error::Decompress(lopdf::DecompressError::MemoryLimitExceeded { .. }) => {
                PdfError::limit("a stream decodes to more than the limit")
            }
            other => ctx.err(format!("stream does not decode: {other}")),
        })
}

/// Most object numbers a file of `len` bytes may use: the spec's limit, and one per eight
/// bytes (real objects are far bigger), so that a small file cannot make us hold millions of
/// cross-reference entries.
fn entry_cap(len: usize) -> usize {
    (MAX_OBJECT_NUMBER as usize + 1).min(len / 8 + 4096)
}

fn non_negative(dict: &Dictionary, key: &[u8]) -> Option<usize> {
    usize::try_from(dict.get(key).ok()?.as_i64().ok()?).ok()
}

/// A big-endian unsigned field of at most 8 bytes.
fn be(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |v, &b| (v << 8) | u64::from(b))
}

/// `%PDF-x.y` at offset 0: the version `x.y`.
fn header_version(bytes: &[u8]) -> Option<String> {
    match bytes.get(..8)? {
        [b'%', b'P', b'D', b'F', b'-', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            Some(format!("{}.{}", *major as char, *minor as char))
        }
        _ => None,
    }
}

/// The offset after the last `startxref` in the final 1024 bytes, which `%%EOF` and then
/// nothing but white space (or comments) must follow. Anything else after `%%EOF` is most likely the start
/// of a newer revision that was cut off, which must not pass for the older one.
fn find_startxref(bytes: &[u8]) -> Result<usize, PdfError> {
    const WORD: &[u8] = b"startxref";
    let tail_start = bytes.len().saturating_sub(TAIL);
    let tail = &bytes[tail_start..];
    let at = tail
        .windows(WORD.len())
        .rposition(|w| w == WORD)
        .ok_or(PdfError::Truncated)?;
    let pos = skip_whitespace(tail, at + WORD.len());
    let (offset, pos) =
        read_uint(tail, pos, 20).ok_or_else(|| PdfError::xref("startxref has no offset"))?;
    let pos = skip_whitespace(tail, pos);
    if !tail[pos..].starts_with(b"%%EOF") || skip_space(tail, pos + 5) != tail.len() {
        return Err(PdfError::Truncated);
    }
    usize::try_from(offset).map_err(|_| PdfError::xref("startxref offset out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_direct_reads_one_object_of_each_kind() {
        assert_eq!(parse_direct(b"42"), Some(Object::Integer(42)));
        assert_eq!(parse_direct(b"3 0 R"), Some(Object::Reference((3, 0))));
        assert_eq!(parse_direct(b"/Page"), Some(Object::Name(b"Page".to_vec())));
        let dict = parse_direct(b"<< /Type /Pages /Kids [1 0 R] /Count 1 >>").unwrap();
        assert!(dict.as_dict().unwrap().has_type(b"Pages"));
        assert_eq!(parse_direct(b""), None);
        assert_eq!(parse_direct(b"<< /A >>"), None);
    }

    #[test]
    fn the_reader_can_move_between_threads() {
        fn send<T: Send>() {}
        send::<PdfReader<'static>>();
    }

    #[test]
    fn header_and_tail() {
        assert_eq!(header_version(b"%PDF-1.7\n"), Some("1.7".into()));
        assert_eq!(header_version(b"%PDF-2.0"), Some("2.0".into()));
        assert_eq!(header_version(b" %PDF-1.7"), None);
        assert_eq!(header_version(b"%PDF-x.7"), None);
        assert_eq!(find_startxref(b"...startxref\n123\n%%EOF\n"), Ok(123));
        assert_eq!(
            find_startxref(b"...startxref\n123\n"),
            Err(PdfError::Truncated)
        );
        assert_eq!(find_startxref(b"no keyword"), Err(PdfError::Truncated));
        assert_eq!(find_startxref(b"startxref 1\n%%EOF\r\n\0"), Ok(1));
        assert_eq!(find_startxref(b"startxref 1\n%%EOF\n%%EOF\n"), Ok(1));
        assert_eq!(
            find_startxref(b"startxref 1\n%%EOF\n2 0 obj"),
            Err(PdfError::Truncated)
        );
    }

    #[test]
    fn table_entries_accept_both_end_of_line_forms() {
        let (entry, end) = table_entry(b"0000000017 00000 n\r\nX", 0).unwrap();
        assert_eq!(
            entry,
            XrefEntry::InUse {
                offset: 17,
                generation: 0
            }
        );
        assert_eq!(end, 20);
        let (entry, end) = table_entry(b"0000000000 65535 f\nX", 0).unwrap();
        assert_eq!(entry, XrefEntry::Free);
        assert_eq!(end, 19);
        assert!(table_entry(b"000000017 00000 n \n", 0).is_none());
        assert!(table_entry(b"0000000017 99999 n \n", 0).is_none());
    }

    const CATALOG: &[u8] = b"<< /Type /Catalog /Pages 2 0 R >>";
    const PAGES: &[u8] = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>";
    const PAGE: &[u8] = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>";

    fn doc(extra: &[(usize, &[u8])]) -> Vec<u8> {
        let mut objects: Vec<(usize, &[u8])> = vec![(1, CATALOG), (2, PAGES), (3, PAGE)];
        objects.extend_from_slice(extra);
        crate::sample::assemble(&objects, "")
    }

    #[test]
    fn streams_are_sliced_by_length_and_a_wrong_length_is_refused() {
        let pdf = doc(&[
            (4, b"<< /Length 5 >>\nstream\nhello\nendstream"),
            (5, b"<< /Length 4 >>\nstream\nhello\nendstream"),
            (6, b"<< /Length 6 0 R >>\nstream\nhello\nendstream"),
            (7, b"<< /Length 8 0 R >>\nstream\nhello\nendstream"),
            (8, b"5"),
            (9, b"<< /Length 99999 >>\nstream\nhello\nendstream"),
        ]);
        let reader = PdfReader::open(&pdf).unwrap();
        let Object::Stream(stream) = reader.get((4, 0)).unwrap() else {
            panic!("not a stream")
        };
        assert_eq!(stream.content, b"hello");
        let (_, raw) = reader.stream((7, 0)).unwrap();
        assert_eq!(raw, b"hello");
        for (id, code) in [
            (5, "broken_object"),
            (6, "broken_object"),
            (9, "broken_object"),
        ] {
            let error = reader.get((id, 0)).unwrap_err();
            assert_eq!(error.code(), code, "{id}: {}", error.detail());
        }
        assert!(reader.get((6, 0)).unwrap_err().detail().contains("itself"));
    }

    #[test]
    fn free_unknown_and_wrong_generation_objects_read_as_null() {
        let pdf = doc(&[(5, b"42")]);
        let reader = PdfReader::open(&pdf).unwrap();
        assert_eq!(reader.get((5, 0)), Ok(Object::Integer(42)));
        assert_eq!(reader.get((5, 1)), Ok(Object::Null));
        assert_eq!(reader.get((4, 0)), Ok(Object::Null)); // free in the table
        assert_eq!(reader.get((77, 0)), Ok(Object::Null)); // not in the table
        assert_eq!(reader.entry(4), Some(XrefEntry::Free));
        assert_eq!(reader.size(), 6);
        assert_eq!(reader.len(), 6);
        assert_eq!(reader.xref_kind(), XrefKind::Table);
        assert_eq!(reader.sections().len(), 1);
        assert_eq!(reader.startxref(), reader.sections()[0].offset);
    }

    #[test]
    fn objects_must_end_with_endobj_and_parse_whole() {
        let pdf = doc(&[(4, b"42 43"), (5, b"<< /A 1 >> junk"), (6, b"12abc")]);
        let reader = PdfReader::open(&pdf).unwrap();
        for id in [4, 5, 6] {
            assert_eq!(
                reader.get((id, 0)).unwrap_err().code(),
                "broken_object",
                "{id}"
            );
        }
    }

    #[test]
    fn resolve_follows_a_bounded_chain() {
        let pdf = doc(&[
            (4, b"5 0 R"),
            (5, b"6 0 R"),
            (6, b"(end)"),
            (7, b"8 0 R"),
            (8, b"7 0 R"),
        ]);
        let reader = PdfReader::open(&pdf).unwrap();
        let end = reader.resolve(&Object::Reference((4, 0))).unwrap();
        assert_eq!(end, Object::string_literal("end"));
        assert_eq!(reader.resolve(&Object::Integer(3)), Ok(Object::Integer(3)));
        let looped = reader.resolve(&Object::Reference((7, 0))).unwrap_err();
        assert_eq!(looped.code(), "pdf_limit_exceeded");
    }

    #[test]
    fn the_deepest_allowed_objects_parse_on_a_small_stack() {
        // lopdf's recursive parser needs ~7 KiB a level unoptimised, ~1 KiB optimised.
        let stack = if cfg!(debug_assertions) {
            512 << 10
        } else {
            128 << 10
        };
        let depth = lexer::MAX_DEPTH - 1;
        let arrays = format!("<< /Deep {}{} >>", "[".repeat(depth), "]".repeat(depth));
        let dicts = "<< /A ".repeat(lexer::MAX_DEPTH) + "1" + &" >>".repeat(lexer::MAX_DEPTH);
        let parens = format!("<< /S {}{} >>", "(".repeat(depth), ")".repeat(depth));
        let pdf = doc(&[
            (4, arrays.as_bytes()),
            (5, dicts.as_bytes()),
            (6, parens.as_bytes()),
        ]);
        let too_deep =
            "<< /A ".repeat(lexer::MAX_DEPTH + 1) + "1" + &" >>".repeat(lexer::MAX_DEPTH + 1);
        let pdf_too_deep = doc(&[(4, too_deep.as_bytes())]);
        let results = std::thread::Builder::new()
            .stack_size(stack)
            .spawn(move || {
                let reader = PdfReader::open(&pdf).unwrap();
                let parsed: Vec<bool> = (4..=6)
                    .map(|n| reader.get((n, 0)).is_ok_and(|o| o.as_dict().is_ok()))
                    .collect();
                let refused = PdfReader::open(&pdf_too_deep).unwrap().get((4, 0));
                (parsed, refused.map_err(|e| e.code()))
            })
            .unwrap()
            .join()
            .expect("no stack overflow");
        assert_eq!(results, (vec![true, true, true], Err("pdf_limit_exceeded")));
    }

    #[test]
    fn stream_data_never_reaches_lopdf_inflate_when_not_asked() {
        // A stream whose data is not valid zlib: reading the page tree never touches it.
        let pdf = doc(&[(
            4,
            b"<< /Length 3 /Filter /FlateDecode >>\nstream\nxyz\nendstream",
        )]);
        assert!(crate::inspect(&pdf).is_ok());
    }

    #[test]
    fn objstm_index_is_strict() {
        assert_eq!(
            objstm_index(b"4 0 5 10 ", 2, 20),
            Some(vec![(4, 0), (5, 10)])
        );
        assert_eq!(objstm_index(b"4 0 5 10 ", 3, 20), None);
        assert_eq!(objstm_index(b"4 10 5 0 ", 2, 20), None);
        assert_eq!(objstm_index(b"4 0 5 30 ", 2, 20), None);
        assert_eq!(objstm_index(b"4 0 x", 1, 20), None);
        assert_eq!(objstm_index(b"", 2_000_000_000, 20), None);
    }
}
