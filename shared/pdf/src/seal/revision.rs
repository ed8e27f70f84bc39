//! The revision writer: an incremental update appended to the original bytes (which stay
//! an exact prefix), holding new versions of only the catalog, the AcroForm, one page, the
//! signature field and its dictionary — or, for long-term form, the DSS — with a byte range
//! and a zeroed /Contents for the CMS that `Prepared::finish_revision` writes in.

use std::io::Write as _;

use lopdf::{Dictionary, Object, ObjectId, StringFormat};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::{SealError, SealOptions, encoding};
use crate::PdfError;
use crate::reader::{PdfReader, XrefEntry, XrefKind};

/// A file with its seal's revision appended and `/Contents` still empty: the original
/// borrowed, the revision apart, so the original is never copied unless a caller asks
/// for the whole file.
pub struct Prepared<'a> {
    original: &'a [u8],
    /// What is appended to `original` (from a separating newline, when it needs one).
    revision: Vec<u8>,
    /// Offset in the whole file of the `<` that opens `/Contents`.
    contents_at: usize,
    reserved: usize,
    /// The hash state after the bytes before `/Contents`, to hash the finished file cheaply.
    prefix: Sha256,
    /// SHA-256 over the `/ByteRange`: what the signature's message-digest attribute names.
    pub digest: [u8; 32],
}

/// A signature dictionary's `/Contents` placeholder and `/ByteRange` placeholder.
const BYTE_RANGE_WIDTH: usize = 10;

/// The SHA-256 state over a whole finished file, so the next revision's digest hashes only
/// what it appends (a 20 MB file is then hashed once for seal and long-term form together).
#[derive(Clone)]
pub struct FileHash(pub(super) Sha256);

impl FileHash {
    /// The SHA-256 of the whole file, lower-case hex.
    pub fn hex(&self) -> String {
        self.0
            .clone()
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

fn text_string(s: &str) -> Object {
    // UTF-16BE with a BOM: Japanese reasons and names survive in every reader.
    let mut bytes = vec![0xFE, 0xFF];
    for unit in s.encode_utf16() {
        bytes.extend_from_slice(&unit.to_be_bytes());
    }
    Object::String(bytes, StringFormat::Hexadecimal)
}

fn pdf_date(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "D:{:04}{:02}{:02}{:02}{:02}{:02}+00'00'",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn write_object(out: &mut Vec<u8>, object: &Object) -> Result<(), SealError> {
    lopdf::Writer::write_object(out, object).map_err(encoding)
}

fn reference(object: &Object) -> Option<ObjectId> {
    object.as_reference().ok()
}

/// The first leaf of the page tree, found iteratively with a bound.
fn first_page(reader: &PdfReader<'_>, catalog: &Dictionary) -> Result<ObjectId, SealError> {
    let mut id = catalog
        .get(b"Pages")
        .ok()
        .and_then(reference)
        .ok_or_else(|| PdfError::BrokenPageTree("no /Pages reference".into()))?;
    for _ in 0..64 {
        let node = reader.get(id)?;
        let node = node
            .as_dict()
            .map_err(|_| PdfError::BrokenPageTree("page tree node is not a dictionary".into()))?;
        match node.get(b"Type").ok().and_then(|t| t.as_name().ok()) {
            Some(b"Page") => return Ok(id),
            _ => {
                let kids = reader.resolve(node.get(b"Kids").map_err(|_| {
                    PdfError::BrokenPageTree("page tree node has no /Kids".into())
                })?)?;
                id = kids
                    .as_array()
                    .ok()
                    .and_then(|k| k.first())
                    .and_then(reference)
                    .ok_or_else(|| PdfError::BrokenPageTree("empty /Kids".into()))?;
            }
        }
    }
    Err(PdfError::LimitExceeded("page tree deeper than 64".into()).into())
}

/// A dictionary entry that may be a reference: resolved to its value.
fn resolved_array(
    reader: &PdfReader<'_>,
    dict: &Dictionary,
    key: &[u8],
) -> Result<Vec<Object>, SealError> {
    let Ok(value) = dict.get(key) else {
        return Ok(Vec::new());
    };
    match reader.resolve(value)? {
        Object::Array(items) => Ok(items),
        // A null value is the same as an absent entry (ISO 32000-1, 7.3.7).
        Object::Null => Ok(Vec::new()),
        _ => Err(SealError::NotSealable(format!(
            "/{} is not an array",
            String::from_utf8_lossy(key)
        ))),
    }
}

/// Refuses what a seal must not touch: encryption, and certification (DocMDP) that permits
/// no changes.
pub fn check_sealable(reader: &PdfReader<'_>) -> Result<(), SealError> {
    if reader.trailer().has(b"Encrypt") {
        return Err(PdfError::Encrypted.into());
    }
    if crate::validate::docmdp_permission(reader, &reader.catalog()?)? == Some(1) {
        return Err(PdfError::CertifiedNoChanges.into());
    }
    Ok(())
}

/// What the appended signature dictionary is.
enum SignatureKind<'a> {
    /// A seal: `/Type /Sig`, CAdES detached, with `/M`, `/Reason`, `/Name`.
    Seal(&'a SealOptions),
    /// A document timestamp: `/Type /DocTimeStamp`, `/SubFilter /ETSI.RFC3161`.
    DocumentTimestamp,
}

/// One appended revision: new versions of existing objects and new objects, written after
/// the original bytes with a cross-reference section of the file's kind.
struct Update<'a> {
    reader: PdfReader<'a>,
    root_id: ObjectId,
    catalog: Dictionary,
    next: u32,
    objects: Vec<(ObjectId, Object)>,
}

impl<'a> Update<'a> {
    fn new(pdf: &'a [u8]) -> Result<Self, SealError> {
        let reader = PdfReader::open(pdf)?;
        check_sealable(&reader)?;
        let root_id = reader
            .trailer()
            .get(b"Root")
            .ok()
            .and_then(reference)
            .ok_or_else(|| PdfError::BrokenXref("trailer has no /Root reference".into()))?;
        let catalog = reader.catalog()?;
        let next = reader.size();
        Ok(Update {
            reader,
            root_id,
            catalog,
            next,
            objects: Vec::new(),
        })
    }

    fn allocate(&mut self) -> ObjectId {
        let id = (self.next, 0);
        self.next += 1;
        id
    }

    /// A new version of an existing object (same number and generation).
    fn revise(&mut self, id: ObjectId, object: Object) {
        let generation = match self.reader.entry(id.0) {
            Some(XrefEntry::InUse { generation, .. }) => generation,
            _ => 0,
        };
        self.objects.push(((id.0, generation), object));
    }

    /// Adds a signature field (an invisible widget on the first page) whose value is
    /// `sig_id`, to the AcroForm; declares the ETSI extension below PDF 2.0.
    fn add_signature_field(&mut self, sig_id: ObjectId) -> Result<(), SealError> {
        let page_id = first_page(&self.reader, &self.catalog)?;
        let mut page = self
            .reader
            .get(page_id)?
            .as_dict()
            .map_err(|_| PdfError::BrokenPageTree("page is not a dictionary".into()))?
            .clone();
        let field_id = self.allocate();
        // The AcroForm: revised in place when it is an object of its own, otherwise inline in
        // the catalog's new revision (or made new).
        let (acroform_id, mut acroform) = match self.catalog.get(b"AcroForm") {
            Ok(Object::Reference(id)) => {
                let form = self.reader.get(*id)?;
                let form = form
                    .as_dict()
                    .map_err(|_| SealError::NotSealable("/AcroForm is not a dictionary".into()))?
                    .clone();
                (Some(*id), form)
            }
            Ok(Object::Dictionary(d)) => (None, d.clone()),
            Ok(_) => {
                return Err(SealError::NotSealable(
                    "/AcroForm is not a dictionary".into(),
                ));
            }
            Err(_) => (None, Dictionary::new()),
        };
        let mut fields = resolved_array(&self.reader, &acroform, b"Fields")?;
        let name = format!("keiyaku-seal-{}", fields.len() + 1);
        fields.push(Object::Reference(field_id));
        acroform.set("Fields", Object::Array(fields));
        // SignaturesExist | AppendOnly on a first signature. When the file is signed already,
        // its /SigFlags stay as they are: changing them is a change validators hold against
        // the earlier signatures (pyHanko rates it OTHER).
        if signature_contents(&self.reader, &self.catalog)?.is_empty() {
            acroform.set("SigFlags", Object::Integer(3));
        }
        match acroform_id {
            Some(id) => self.revise(id, Object::Dictionary(acroform)),
            None => self.catalog.set("AcroForm", Object::Dictionary(acroform)),
        }

        let version = self
            .catalog
            .get(b"Version")
            .ok()
            .and_then(|v| v.as_name().ok())
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_else(|| self.reader.version().to_owned());
        if version.as_str() < "2.0" {
            let mut extensions = match self.catalog.get(b"Extensions") {
                Ok(e) => self
                    .reader
                    .resolve(e)?
                    .as_dict()
                    .cloned()
                    .unwrap_or_default(),
                Err(_) => Dictionary::new(),
            };
            if !extensions.has(b"ESIC") {
                let mut esic = Dictionary::new();
                esic.set("BaseVersion", Object::Name(b"1.7".to_vec()));
                esic.set("ExtensionLevel", Object::Integer(2));
                extensions.set("ESIC", Object::Dictionary(esic));
            }
            self.catalog
                .set("Extensions", Object::Dictionary(extensions));
        }

        let mut annots = resolved_array(&self.reader, &page, b"Annots")?;
        annots.push(Object::Reference(field_id));
        page.set("Annots", Object::Array(annots));
        self.revise(page_id, Object::Dictionary(page));

        let mut field = Dictionary::new();
        field.set("Type", Object::Name(b"Annot".to_vec()));
        field.set("Subtype", Object::Name(b"Widget".to_vec()));
        field.set("FT", Object::Name(b"Sig".to_vec()));
        field.set(
            "T",
            Object::String(name.into_bytes(), StringFormat::Literal),
        );
        field.set("V", Object::Reference(sig_id));
        field.set("F", Object::Integer(132));
        field.set(
            "Rect",
            Object::Array(vec![0.into(), 0.into(), 0.into(), 0.into()]),
        );
        field.set("P", Object::Reference(page_id));
        self.objects.push((field_id, Object::Dictionary(field)));
        Ok(())
    }

    /// Writes the revision after `pdf`. With a signature, its dictionary is written by hand
    /// so the placeholders sit at known offsets; the byte range is filled in and hashed.
    fn write<'p>(
        mut self,
        pdf: &'p [u8],
        signature: Option<(ObjectId, SignatureKind<'_>, usize)>,
        known: Option<&FileHash>,
    ) -> Result<Prepared<'p>, SealError> {
        let root = (
            self.root_id,
            Object::Dictionary(std::mem::take(&mut self.catalog)),
        );
        self.revise(root.0, root.1);
        let reserved = signature.as_ref().map(|s| s.2).unwrap_or(0);
        // `out` is the revision; offsets in the file are `base + out.len()`.
        let base = pdf.len();
        let mut out = Vec::with_capacity(reserved * 2 + 8192);
        if !pdf.ends_with(b"\n") && !pdf.ends_with(b"\r") {
            out.push(b'\n');
        }
        let mut offsets: Vec<(ObjectId, usize)> = Vec::new();
        for (id, object) in &self.objects {
            offsets.push((*id, base + out.len()));
            writeln!(out, "{} {} obj", id.0, id.1).map_err(encoding)?;
            write_object(&mut out, object)?;
            out.extend_from_slice(b"\nendobj\n");
        }
        let mut placeholders = None;
        if let Some((sig_id, kind, reserved)) = &signature {
            offsets.push((*sig_id, base + out.len()));
            let (kind_name, sub_filter) = match kind {
                SignatureKind::Seal(_) => ("Sig", "ETSI.CAdES.detached"),
                SignatureKind::DocumentTimestamp => ("DocTimeStamp", "ETSI.RFC3161"),
            };
            write!(
                out,
                "{} 0 obj\n<< /Type /{kind_name} /Filter /Adobe.PPKLite /SubFilter /{sub_filter} /ByteRange [0 ",
                sig_id.0
            )
            .map_err(encoding)?;
            let byte_range_at = out.len();
            out.extend_from_slice(&[b' '; 3 * (BYTE_RANGE_WIDTH + 1)]);
            out.extend_from_slice(b"] /Contents ");
            let contents_at = out.len();
            out.push(b'<');
            out.resize(out.len() + reserved * 2, b'0');
            out.push(b'>');
            let contents_end = out.len();
            if let SignatureKind::Seal(options) = kind {
                write!(out, " /M ({})", pdf_date(options.time)).map_err(encoding)?;
                out.extend_from_slice(b" /Reason ");
                write_object(&mut out, &text_string(&options.reason))?;
                out.extend_from_slice(b" /Name ");
                write_object(&mut out, &text_string(&options.name))?;
            }
            out.extend_from_slice(b" >>\nendobj\n");
            placeholders = Some((byte_range_at, contents_at, contents_end));
        }
        self.write_xref(&mut out, base, offsets)?;

        let Some((byte_range_at, contents_at, contents_end)) = placeholders else {
            return Ok(Prepared {
                original: pdf,
                revision: out,
                contents_at: 0,
                reserved: 0,
                prefix: Sha256::new(),
                digest: [0; 32],
            });
        };
        // Now the byte range is known: fill it in and hash it.
        let range = [
            base + contents_at,
            base + contents_end,
            out.len() - contents_end,
        ];
        let mut text = String::new();
        for n in range {
            let s = n.to_string();
            if s.len() > BYTE_RANGE_WIDTH {
                return Err(SealError::Encoding("file too large for /ByteRange".into()));
            }
            text.push_str(&format!("{s:<width$} ", width = BYTE_RANGE_WIDTH));
        }
        out[byte_range_at..byte_range_at + text.len()].copy_from_slice(text.as_bytes());
        let mut hasher = match known {
            // The original bytes were hashed already: continue after them.
            Some(FileHash(state)) => state.clone(),
            None => Sha256::new().chain_update(pdf),
        };
        hasher.update(&out[..contents_at]);
        let prefix = hasher.clone();
        hasher.update(&out[contents_end..]);
        Ok(Prepared {
            original: pdf,
            revision: out,
            contents_at: base + contents_at,
            reserved,
            prefix,
            digest: hasher.finalize().into(),
        })
    }

    /// The cross-reference section, of the kind the file already uses, and the trailer.
    fn write_xref(
        &self,
        out: &mut Vec<u8>,
        base: usize,
        mut offsets: Vec<(ObjectId, usize)>,
    ) -> Result<(), SealError> {
        let trailer = self.reader.trailer();
        let prev = self.reader.startxref();
        let mut size = self.next.max(self.reader.size());
        let carried = |dict: &mut Dictionary| {
            for key in [&b"Info"[..], b"ID"] {
                if let Ok(v) = trailer.get(key) {
                    dict.set(key.to_vec(), v.clone());
                }
            }
        };
        let xref_at = base + out.len();
        match self.reader.xref_kind() {
            XrefKind::Table | XrefKind::Hybrid => {
                offsets.sort();
                out.extend_from_slice(b"xref\n");
                for run in runs(&offsets) {
                    writeln!(out, "{} {}", run[0].0.0, run.len()).map_err(encoding)?;
                    for (id, offset) in run {
                        write!(out, "{offset:010} {:05} n\r\n", id.1).map_err(encoding)?;
                    }
                }
                let mut new_trailer = Dictionary::new();
                new_trailer.set("Size", Object::Integer(i64::from(size)));
                new_trailer.set("Root", Object::Reference(self.root_id));
                new_trailer.set("Prev", Object::Integer(prev as i64));
                carried(&mut new_trailer);
                out.extend_from_slice(b"trailer\n");
                write_object(out, &Object::Dictionary(new_trailer))?;
                out.push(b'\n');
            }
            XrefKind::Stream => {
                let xref_id = (size, 0u16);
                size += 1;
                offsets.push((xref_id, xref_at));
                offsets.sort();
                let mut data = Vec::new();
                let mut index = Vec::new();
                for run in runs(&offsets) {
                    index.push(Object::Integer(i64::from(run[0].0.0)));
                    index.push(Object::Integer(run.len() as i64));
                    for (id, offset) in run {
                        data.push(1u8);
                        data.extend_from_slice(
                            &u32::try_from(*offset).map_err(encoding)?.to_be_bytes(),
                        );
                        data.extend_from_slice(&id.1.to_be_bytes());
                    }
                }
                let mut dict = Dictionary::new();
                dict.set("Type", Object::Name(b"XRef".to_vec()));
                dict.set("Size", Object::Integer(i64::from(size)));
                dict.set("W", Object::Array(vec![1.into(), 4.into(), 2.into()]));
                dict.set("Index", Object::Array(index));
                dict.set("Root", Object::Reference(self.root_id));
                dict.set("Prev", Object::Integer(prev as i64));
                carried(&mut dict);
                dict.set("Length", Object::Integer(data.len() as i64));
                writeln!(out, "{} 0 obj", xref_id.0).map_err(encoding)?;
                write_object(out, &Object::Dictionary(dict))?;
                out.extend_from_slice(b"\nstream\n");
                out.extend_from_slice(&data);
                out.extend_from_slice(b"\nendstream\nendobj\n");
            }
        }
        write!(out, "startxref\n{xref_at}\n%%EOF\n").map_err(encoding)?;
        Ok(())
    }
}

/// Appends the seal's revision to `pdf`, with `/Contents` reserved and the digest over the
/// byte range computed.
pub fn prepare<'p>(pdf: &'p [u8], options: &SealOptions) -> Result<Prepared<'p>, SealError> {
    let mut update = Update::new(pdf)?;
    let sig_id = update.allocate();
    update.add_signature_field(sig_id)?;
    update.write(
        pdf,
        Some((sig_id, SignatureKind::Seal(options), options.reserved)),
        None,
    )
}

/// Validation data to embed: certificates, CRLs and OCSP responses, DER.
#[derive(Clone, Debug, Default)]
pub struct ValidationData {
    /// Certificates (every chain of every signature and timestamp).
    pub certs: Vec<Vec<u8>>,
    /// CRLs.
    pub crls: Vec<Vec<u8>>,
    /// OCSP responses.
    pub ocsps: Vec<Vec<u8>>,
}

/// Appends a revision with the Document Security Store (`/DSS`: `/Certs`, `/CRLs`,
/// `/OCSPs`, and a `/VRI` entry for every signature in the file), keeping what an earlier
/// DSS held.
pub fn add_dss(pdf: &[u8], data: &ValidationData) -> Result<Vec<u8>, SealError> {
    let mut update = Update::new(pdf)?;
    update.add_dss(data)?;
    let revision = update.write(pdf, None, None)?.revision;
    Ok([pdf, &revision].concat())
}

/// Appends the long-term revision in one update: the DSS with `data`, and a document
/// timestamp over everything (the DSS included) with `reserved` bytes for its token. One
/// revision instead of two: the file is copied once, and with `known` (the hash of `pdf`
/// from [`Prepared::finish_revision`]) only the new revision is hashed.
pub fn prepare_long_term<'p>(
    pdf: &'p [u8],
    data: &ValidationData,
    reserved: usize,
    known: Option<&FileHash>,
) -> Result<Prepared<'p>, SealError> {
    let mut update = Update::new(pdf)?;
    update.add_dss(data)?;
    let sig_id = update.allocate();
    update.add_signature_field(sig_id)?;
    update.write(
        pdf,
        Some((sig_id, SignatureKind::DocumentTimestamp, reserved)),
        known,
    )
}

impl Update<'_> {
    fn add_dss(&mut self, data: &ValidationData) -> Result<(), SealError> {
        let (dss_id, mut dss) = match self.catalog.get(b"DSS") {
            Ok(Object::Reference(id)) => (
                Some(*id),
                self.reader.get(*id)?.as_dict().cloned().unwrap_or_default(),
            ),
            Ok(Object::Dictionary(d)) => (None, d.clone()),
            _ => (None, Dictionary::new()),
        };
        let mut added: Vec<Vec<Object>> = Vec::new();
        for (key, items) in [
            ("Certs", &data.certs),
            ("CRLs", &data.crls),
            ("OCSPs", &data.ocsps),
        ] {
            let mut refs = resolved_array(&self.reader, &dss, key.as_bytes())?;
            let mut new_refs = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for item in items {
                if !seen.insert(Sha256::digest(item)) {
                    continue;
                }
                let id = self.allocate();
                let mut stream_dict = Dictionary::new();
                stream_dict.set("Length", Object::Integer(item.len() as i64));
                self.objects.push((
                    id,
                    Object::Stream(lopdf::Stream::new(stream_dict, item.clone())),
                ));
                refs.push(Object::Reference(id));
                new_refs.push(Object::Reference(id));
            }
            if !refs.is_empty() {
                dss.set(key, Object::Array(refs));
            }
            added.push(new_refs);
        }
        // /VRI: per signature, keyed by the SHA-1 of its /Contents (ETSI EN 319 142-1),
        // naming the validation data added here.
        let mut vri = match dss.get(b"VRI") {
            Ok(v) => self
                .reader
                .resolve(v)?
                .as_dict()
                .cloned()
                .unwrap_or_default(),
            Err(_) => Dictionary::new(),
        };
        for contents in signature_contents(&self.reader, &self.catalog)? {
            let mut entry = Dictionary::new();
            for (name, refs) in ["Cert", "CRL", "OCSP"].into_iter().zip(&added) {
                if !refs.is_empty() {
                    entry.set(name, Object::Array(refs.clone()));
                }
            }
            // An entry an earlier DSS wrote stays as it is: validators hold a changed VRI
            // entry against the signatures before it.
            let key = sha1_hex_upper(&contents).into_bytes();
            if !vri.has(&key) {
                vri.set(key, Object::Dictionary(entry));
            }
        }
        dss.set("VRI", Object::Dictionary(vri));
        match dss_id {
            Some(id) => self.revise(id, Object::Dictionary(dss)),
            None => {
                let id = self.allocate();
                self.objects.push((id, Object::Dictionary(dss)));
                self.catalog.set("DSS", Object::Reference(id));
            }
        }
        Ok(())
    }
}

fn sha1_hex_upper(bytes: &[u8]) -> String {
    use sha1::Digest as _;
    sha1::Sha1::digest(bytes)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

/// The `/Contents` of every signature and document timestamp of the form.
fn signature_contents(
    reader: &PdfReader<'_>,
    catalog: &Dictionary,
) -> Result<Vec<Vec<u8>>, SealError> {
    let Ok(form) = catalog.get(b"AcroForm") else {
        return Ok(Vec::new());
    };
    let form = reader.resolve(form)?;
    let Ok(form) = form.as_dict() else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for field in resolved_array(reader, form, b"Fields")?.iter().take(10_000) {
        let field = reader.resolve(field)?;
        let Ok(field) = field.as_dict() else { continue };
        if field.get(b"FT").ok().and_then(|t| t.as_name().ok()) != Some(b"Sig".as_slice()) {
            continue;
        }
        let Ok(value) = field.get(b"V") else { continue };
        let value = reader.resolve(value)?;
        if let Some(Object::String(contents, _)) =
            value.as_dict().ok().and_then(|v| v.get(b"Contents").ok())
        {
            out.push(contents.clone());
        }
    }
    Ok(out)
}

/// Consecutive object numbers, for xref subsections.
fn runs(sorted: &[(ObjectId, usize)]) -> Vec<&[(ObjectId, usize)]> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=sorted.len() {
        if i == sorted.len() || sorted[i].0.0 != sorted[i - 1].0.0 + 1 {
            out.push(&sorted[start..i]);
            start = i;
        }
    }
    out
}

impl Prepared<'_> {
    /// The bytes the `/ByteRange` covers, in order: what a signer signs directly when it
    /// signs the content itself (no signed attributes) or hashes it with another digest.
    pub fn signed_parts(&self) -> [&[u8]; 3] {
        let at = self.contents_at - self.original.len();
        let end = (at + 2 * self.reserved + 2).min(self.revision.len());
        [self.original, &self.revision[..at], &self.revision[end..]]
    }

    /// Puts the CMS into `/Contents`: the sealed file. Never truncates: a CMS larger than
    /// the reservation is [`SealError::ContentsOverflow`].
    pub fn finish(self, cms: &[u8]) -> Result<Vec<u8>, SealError> {
        let original = self.original;
        let (revision, _) = self.finish_revision(cms)?;
        Ok([original, &revision].concat())
    }

    /// Puts the CMS into `/Contents` and hands back only the revision (what follows the
    /// original in the sealed file), with the hash of the whole sealed file: a caller that
    /// holds the original elsewhere (a file on disk) appends this instead of copying it.
    pub fn finish_revision(mut self, cms: &[u8]) -> Result<(Vec<u8>, FileHash), SealError> {
        if cms.len() > self.reserved {
            return Err(SealError::ContentsOverflow {
                needed: cms.len(),
                reserved: self.reserved,
            });
        }
        let hex = hex_upper(cms);
        let at = self.contents_at - self.original.len();
        self.revision[at + 1..at + 1 + hex.len()].copy_from_slice(hex.as_bytes());
        self.prefix.update(&self.revision[at..]);
        Ok((self.revision, FileHash(self.prefix)))
    }
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}
