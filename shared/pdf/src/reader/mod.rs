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

mod budget;
mod objects;
#[cfg(test)]
mod tests;
mod xref;

pub use budget::ReadBudget;
use objects::*;
use xref::*;

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
        let decoded_total = self.shared.decoded();
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
