//! PAdES sealing by incremental update. No crate does this, so it is written here on top of
//! the bounded reader and lopdf's object model and writer: the original bytes stay an exact
//! prefix of the result, and the appended revision holds new versions of only the catalog,
//! the AcroForm (when it is an object of its own) and one page, plus the signature field
//! (an invisible widget) and the signature dictionary. The CMS (ETSI EN 319 142-1 baseline:
//! content-type, message-digest, signing-certificate-v2; no signing-time) is assembled from
//! `cms` types rather than with its builder, so the signature can come from an asynchronous
//! signer (KMS) and the signature timestamp (B-T) can be added after it.

use std::io::Write as _;

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5911::{ID_CONTENT_TYPE, ID_DATA, ID_MESSAGE_DIGEST, ID_SIGNED_DATA};
use const_oid::db::rfc5912::{ECDSA_WITH_SHA_256, ID_SHA_256};
use der::asn1::{Any, OctetString, SetOfVec};
use der::{Decode, Encode};
use lopdf::{Dictionary, Object, ObjectId, StringFormat};
use sha2::{Digest, Sha256};
use spki::AlgorithmIdentifierOwned;
use time::OffsetDateTime;
use x509_cert::Certificate;
use x509_cert::attr::Attribute;

use crate::PdfError;
use crate::reader::{PdfReader, XrefEntry, XrefKind};

/// id-aa-signatureTimeStampToken (RFC 3161 appendix A): the B-T unsigned attribute.
pub const ID_AA_SIGNATURE_TIME_STAMP_TOKEN: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");

/// What sealing can fail with.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The PDF cannot be read strictly (see [`PdfError`]).
    #[error(transparent)]
    Pdf(#[from] PdfError),
    /// The PDF forbids the change (certified with no changes allowed, encrypted).
    #[error("the PDF cannot be sealed: {0}")]
    NotSealable(String),
    /// The CMS did not fit the space reserved for it; seal again with at least this much.
    #[error("the signature needs {needed} bytes but {reserved} were reserved")]
    ContentsOverflow {
        /// Bytes needed.
        needed: usize,
        /// Bytes reserved.
        reserved: usize,
    },
    /// Signing or time-stamping failed (retryable: nothing was written).
    #[error("signing failed: {0}")]
    Signer(String),
    /// A structure could not be encoded.
    #[error("encoding failed: {0}")]
    Encoding(String),
}

impl SealError {
    /// A stable code for clients and logs.
    pub fn code(&self) -> &'static str {
        match self {
            SealError::Pdf(e) => e.code(),
            SealError::NotSealable(_) => "not_sealable",
            SealError::ContentsOverflow { .. } => "contents_overflow",
            SealError::Signer(_) => "signer_failed",
            SealError::Encoding(_) => "encoding_failed",
        }
    }
}

fn encoding(e: impl std::fmt::Display) -> SealError {
    SealError::Encoding(e.to_string())
}

/// How the seal describes itself.
#[derive(Clone, Debug)]
pub struct SealOptions {
    /// `/Reason`: the party and the act, e.g. 「山田 花子 様が同意」.
    pub reason: String,
    /// `/Name`: who seals (the service).
    pub name: String,
    /// `/M`: when (the timestamp is the evidence; `/M` only claims).
    pub time: OffsetDateTime,
    /// Bytes reserved for the CMS in `/Contents`.
    pub reserved: usize,
}

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
pub struct FileHash(Sha256);

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

/// The signed attributes of a PAdES baseline signature over `digest` by `cert`, and their
/// DER (a SET OF, as signed).
pub struct SignedAttributes {
    attributes: SetOfVec<Attribute>,
    /// What the signer signs.
    pub der: Vec<u8>,
}

/// content-type id-data, message-digest, signing-certificate-v2; no signing-time (PAdES).
/// `digest` is of the signed bytes with the SignerInfo's digest algorithm.
pub fn signed_attributes(digest: &[u8], cert: &Certificate) -> Result<SignedAttributes, SealError> {
    let single = |oid, value: Any| -> Result<Attribute, SealError> {
        let mut values = SetOfVec::new();
        values.insert(value).map_err(encoding)?;
        Ok(Attribute { oid, values })
    };
    let mut attributes = SetOfVec::new();
    attributes
        .insert(single(
            ID_CONTENT_TYPE,
            Any::encode_from(&ID_DATA).map_err(encoding)?,
        )?)
        .map_err(encoding)?;
    attributes
        .insert(single(
            ID_MESSAGE_DIGEST,
            Any::encode_from(&OctetString::new(digest.to_vec()).map_err(encoding)?)
                .map_err(encoding)?,
        )?)
        .map_err(encoding)?;
    attributes
        .insert(crate::timestamp::signing_certificate_v2_attribute(cert).map_err(encoding)?)
        .map_err(encoding)?;
    let der = attributes.to_der().map_err(encoding)?;
    Ok(SignedAttributes { attributes, der })
}

/// The detached CMS SignedData of a seal: the signer's certificate and chain, one
/// SignerInfo with `signature` (DER ECDSA over [`SignedAttributes::der`]) and, for B-T,
/// the timestamp token over that signature as an unsigned attribute.
pub fn assemble_cms(
    attributes: SignedAttributes,
    signature: &[u8],
    cert: &Certificate,
    chain: &[Certificate],
    timestamp_token: Option<&[u8]>,
) -> Result<Vec<u8>, SealError> {
    let sha256 = AlgorithmIdentifierOwned {
        oid: ID_SHA_256,
        parameters: None,
    };
    let unsigned_attrs = match timestamp_token {
        None => None,
        Some(token) => {
            let mut values = SetOfVec::new();
            values
                .insert(Any::from_der(token).map_err(encoding)?)
                .map_err(encoding)?;
            let mut attrs = SetOfVec::new();
            attrs
                .insert(Attribute {
                    oid: ID_AA_SIGNATURE_TIME_STAMP_TOKEN,
                    values,
                })
                .map_err(encoding)?;
            Some(attrs)
        }
    };
    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: cert.tbs_certificate.issuer.clone(),
            serial_number: cert.tbs_certificate.serial_number.clone(),
        }),
        digest_alg: sha256.clone(),
        signed_attrs: Some(attributes.attributes),
        signature_algorithm: AlgorithmIdentifierOwned {
            oid: ECDSA_WITH_SHA_256,
            parameters: None,
        },
        signature: OctetString::new(signature.to_vec()).map_err(encoding)?,
        unsigned_attrs,
    };
    let mut certificates = SetOfVec::new();
    for c in std::iter::once(cert).chain(chain) {
        // A SET OF may not hold the same element twice.
        let choice = CertificateChoices::Certificate(c.clone());
        if !certificates.iter().any(|existing| existing == &choice) {
            certificates.insert(choice).map_err(encoding)?;
        }
    }
    let mut digest_algorithms = SetOfVec::new();
    digest_algorithms.insert(sha256).map_err(encoding)?;
    let mut signer_infos = SetOfVec::new();
    signer_infos.insert(signer_info).map_err(encoding)?;
    let signed_data = SignedData {
        version: CmsVersion::V1,
        digest_algorithms,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: ID_DATA,
            econtent: None,
        },
        certificates: Some(CertificateSet(certificates)),
        crls: None,
        signer_infos: SignerInfos(signer_infos),
    };
    ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(&signed_data).map_err(encoding)?,
    }
    .to_der()
    .map_err(encoding)
}

/// The seal's level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Signature only.
    BB,
    /// Signature and signature timestamp.
    BT,
}

/// Bytes a CMS needs beyond its certificates and timestamp: attributes, algorithm ids,
/// an ECDSA signature, framing.
const CMS_OVERHEAD: usize = 2048;

/// What a seal is made with: the signer's certificate and chain, how to sign and how to get
/// a timestamp.
pub struct Sealer<'a, S, T> {
    /// The signing certificate.
    pub cert: &'a Certificate,
    /// Its chain up to the root (embedded so validators need nothing else).
    pub chain: &'a [Certificate],
    /// Signs DER signed attributes with the key of `cert` (DER ECDSA P-256 / SHA-256).
    pub sign: S,
    /// A timestamp token over a SHA-256 digest.
    pub timestamp: T,
    /// Size of a token from that TSA (a dry run's), to reserve room for it.
    pub token_estimate: usize,
}

// `sign` and `timestamp` take their input by value: a future that borrows it would be
// higher-ranked over that borrow, and a caller could then not prove it `Send`.
impl<S, SF, T, TF> Sealer<'_, S, T>
where
    S: Fn(Vec<u8>) -> SF,
    SF: Future<Output = Result<Vec<u8>, String>>,
    T: Fn([u8; 32]) -> TF,
    TF: Future<Output = Result<Vec<u8>, String>>,
{
    /// Seals `pdf` at `level`. If the CMS outgrows the reserved room it is redone once with
    /// room for what it needed.
    pub async fn seal(
        &self,
        pdf: &[u8],
        level: Level,
        reason: &str,
        name: &str,
        time: OffsetDateTime,
    ) -> Result<Vec<u8>, SealError> {
        let (revision, _) = self.seal_revision(pdf, level, reason, name, time).await?;
        Ok([pdf, &revision].concat())
    }

    /// [`Sealer::seal`] without the copy of `pdf`: only the revision to append to it, and
    /// the hash of the whole sealed file for the next revision.
    pub async fn seal_revision(
        &self,
        pdf: &[u8],
        level: Level,
        reason: &str,
        name: &str,
        time: OffsetDateTime,
    ) -> Result<(Vec<u8>, FileHash), SealError> {
        let certs: usize = std::iter::once(self.cert)
            .chain(self.chain)
            .map(|c| {
                c.encoded_len()
                    .map(|l| u32::from(l) as usize)
                    .unwrap_or(4096)
            })
            .sum();
        let token = if level == Level::BT {
            self.token_estimate
        } else {
            0
        };
        let mut options = SealOptions {
            reason: reason.to_owned(),
            name: name.to_owned(),
            time,
            reserved: certs + token + CMS_OVERHEAD,
        };
        match self.seal_once(pdf, level, &options).await {
            Err(SealError::ContentsOverflow { needed, .. }) => {
                options.reserved = needed + CMS_OVERHEAD;
                self.seal_once(pdf, level, &options).await
            }
            other => other,
        }
    }

    async fn seal_once(
        &self,
        pdf: &[u8],
        level: Level,
        options: &SealOptions,
    ) -> Result<(Vec<u8>, FileHash), SealError> {
        let prepared = prepare(pdf, options)?;
        let attributes = signed_attributes(&prepared.digest, self.cert)?;
        let signature = (self.sign)(attributes.der.clone())
            .await
            .map_err(SealError::Signer)?;
        let token = match level {
            Level::BB => None,
            Level::BT => Some(
                (self.timestamp)(Sha256::digest(&signature).into())
                    .await
                    .map_err(SealError::Signer)?,
            ),
        };
        let cms = assemble_cms(
            attributes,
            &signature,
            self.cert,
            self.chain,
            token.as_deref(),
        )?;
        prepared.finish_revision(&cms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample;
    use cms::signed_data::SignedData;
    use p256::ecdsa::{DerSignature, SigningKey};
    use signature::Signer;
    use std::str::FromStr;
    use x509_cert::builder::{Builder, CertificateBuilder, Profile};

    fn signer() -> (SigningKey, Certificate) {
        let key = SigningKey::random(&mut rand::rngs::OsRng);
        let spki = spki::SubjectPublicKeyInfoOwned::from_key(*key.verifying_key()).unwrap();
        let cert = CertificateBuilder::new(
            Profile::Root,
            x509_cert::serial_number::SerialNumber::from(7u32),
            x509_cert::time::Validity::from_now(std::time::Duration::from_secs(3600)).unwrap(),
            x509_cert::name::Name::from_str("CN=seal test,O=keiyaku").unwrap(),
            spki,
            &key,
        )
        .unwrap()
        .build::<DerSignature>()
        .unwrap();
        (key, cert)
    }

    async fn seal_with(pdf: &[u8], key: &SigningKey, cert: &Certificate, reason: &str) -> Vec<u8> {
        let sealer = Sealer {
            cert,
            chain: &[],
            sign: |msg: Vec<u8>| {
                let sig: DerSignature = key.sign(&msg);
                std::future::ready(Ok(sig.as_bytes().to_vec()))
            },
            timestamp: |_: [u8; 32]| std::future::ready(Err("no TSA in this test".into())),
            token_estimate: 0,
        };
        sealer
            .seal(pdf, Level::BB, reason, "keiyaku", OffsetDateTime::now_utc())
            .await
            .unwrap()
    }

    /// The last signature's byte range, contents and CMS, checked: the range covers the
    /// whole file but the contents, and the CMS signs the range's digest with `cert`.
    fn check_last_signature(sealed: &[u8], cert: &Certificate) {
        let at = sealed
            .windows(12)
            .rposition(|w| w == b"/ByteRange [")
            .expect("a signature dictionary");
        let rest = &sealed[at + 12..];
        let close = rest.iter().position(|&b| b == b']').unwrap();
        let nums: Vec<usize> = std::str::from_utf8(&rest[..close])
            .unwrap()
            .split_whitespace()
            .map(|n| n.parse().unwrap())
            .collect();
        assert_eq!(nums.len(), 4);
        assert_eq!(nums[0], 0);
        assert_eq!(
            nums[2] + nums[3],
            sealed.len(),
            "the range reaches the end of the file"
        );
        assert_eq!(sealed[nums[1]], b'<');
        assert_eq!(sealed[nums[2] - 1], b'>');
        let hex = std::str::from_utf8(&sealed[nums[1] + 1..nums[2] - 1]).unwrap();
        let der: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let info = ContentInfo::from_der(der_prefix(&der)).unwrap();
        assert_eq!(info.content_type, ID_SIGNED_DATA);
        let signed_der = info.content.to_der().unwrap();
        let signed = SignedData::from_der(&signed_der).unwrap();
        let si = signed.signer_infos.0.iter().next().unwrap();
        let mut content = sealed[..nums[1]].to_vec();
        content.extend_from_slice(&sealed[nums[2]..]);
        crate::timestamp::verify_signer_info(
            &signed_der,
            si,
            &Sha256::digest(&content),
            ID_DATA,
            cert,
        )
        .expect("the CMS signs the byte range");
        let attrs = si.signed_attrs.as_ref().unwrap();
        let oids: Vec<String> = attrs.iter().map(|a| a.oid.to_string()).collect();
        assert!(
            !oids.contains(&"1.2.840.113549.1.9.5".to_string()),
            "no signing-time in PAdES"
        );
        assert!(
            oids.contains(&"1.2.840.113549.1.9.16.2.47".to_string()),
            "signing-certificate-v2"
        );
    }

    /// The DER of the CMS without the zero padding after it.
    fn der_prefix(padded: &[u8]) -> &[u8] {
        let mut reader = der::SliceReader::new(padded).unwrap();
        let header = <der::Header as der::Decode>::decode(&mut reader).unwrap();
        let len = usize::try_from(header.encoded_len().unwrap()).unwrap()
            + usize::try_from(header.length).unwrap();
        &padded[..len]
    }

    #[tokio::test]
    async fn a_seal_is_an_incremental_update_that_verifies() {
        let (key, cert) = signer();
        for original in [sample::pdf_with_pages(3), sample::pdf_with_xref_stream(2)] {
            let sealed = seal_with(&original, &key, &cert, "送信").await;
            assert!(
                sealed.starts_with(&original),
                "the original is an exact prefix"
            );
            check_last_signature(&sealed, &cert);
            let reader = PdfReader::open(&sealed).expect("the sealed file reads strictly");
            assert_eq!(reader.sections().len(), 2, "one revision appended");
            assert_eq!(
                reader.xref_kind(),
                PdfReader::open(&original).unwrap().xref_kind(),
                "the xref section is of the file's kind"
            );
            let catalog = reader.catalog().unwrap();
            let form = catalog.get(b"AcroForm").unwrap().as_dict().unwrap();
            assert_eq!(form.get(b"SigFlags").unwrap().as_i64().unwrap(), 3);
            assert!(
                catalog
                    .get(b"Extensions")
                    .unwrap()
                    .as_dict()
                    .unwrap()
                    .has(b"ESIC")
            );
            crate::inspect(&sealed).expect("still a valid PDF");
            if let Some(report) = qpdf_check(&sealed) {
                assert!(report.0, "qpdf --check: {}", report.1);
            }

            // A second seal keeps the first one's field and appends again.
            let twice = seal_with(&sealed, &key, &cert, "山田 花子 様が同意").await;
            assert!(twice.starts_with(&sealed));
            check_last_signature(&twice, &cert);
            let reader = PdfReader::open(&twice).unwrap();
            let catalog = reader.catalog().unwrap();
            let fields = catalog
                .get(b"AcroForm")
                .unwrap()
                .as_dict()
                .unwrap()
                .get(b"Fields")
                .unwrap();
            assert_eq!(
                fields.as_array().unwrap().len(),
                2,
                "existing fields are kept"
            );
            if let Some(report) = qpdf_check(&twice) {
                assert!(report.0, "qpdf --check: {}", report.1);
            }
        }
    }

    #[tokio::test]
    async fn a_dss_revision_keeps_earlier_data_and_names_every_signature() {
        let (key, cert) = signer();
        let once = seal_with(&sample::pdf_with_pages(1), &key, &cert, "送信").await;
        let twice = seal_with(&once, &key, &cert, "同意").await;
        let cert_der = cert.to_der().unwrap();
        let first = add_dss(
            &twice,
            &ValidationData {
                certs: vec![cert_der.clone(), cert_der.clone()],
                crls: vec![vec![0x30, 0]],
                ocsps: vec![],
            },
        )
        .unwrap();
        assert!(first.starts_with(&twice));
        let second = add_dss(
            &first,
            &ValidationData {
                certs: vec![vec![0x30, 1]],
                ..Default::default()
            },
        )
        .unwrap();
        let reader = PdfReader::open(&second).unwrap();
        let catalog = reader.catalog().unwrap();
        let dss = reader.resolve(catalog.get(b"DSS").unwrap()).unwrap();
        let dss = dss.as_dict().unwrap();
        assert_eq!(
            dss.get(b"Certs").unwrap().as_array().unwrap().len(),
            2,
            "duplicates once, earlier kept"
        );
        assert_eq!(dss.get(b"CRLs").unwrap().as_array().unwrap().len(), 1);
        let vri = dss.get(b"VRI").unwrap().as_dict().unwrap();
        assert_eq!(vri.len(), 2, "one VRI entry per signature");
        for (name, _) in vri.iter() {
            assert_eq!(name.len(), 40, "uppercase hex SHA-1");
            assert!(
                name.iter()
                    .all(|c| c.is_ascii_digit() || (b'A'..=b'F').contains(c))
            );
        }
        let stamped = prepare_long_term(&second, &ValidationData::default(), 64, None).unwrap();
        let digest = stamped.digest;
        assert_ne!(digest, [0; 32]);
        let done = stamped.finish(&[0x30, 0x00]).unwrap();
        assert!(done.windows(25).any(|w| w == b"/Type /DocTimeStamp /Filt"));
        assert!(done.windows(14).any(|w| w == b"/ETSI.RFC3161 "));
        crate::inspect(&done).unwrap();
    }

    #[tokio::test]
    async fn a_known_file_hash_gives_the_same_digest_as_hashing_everything() {
        let (key, cert) = signer();
        let sealer = Sealer {
            cert: &cert,
            chain: &[],
            sign: |msg: Vec<u8>| {
                let sig: DerSignature = key.sign(&msg);
                std::future::ready(Ok(sig.as_bytes().to_vec()))
            },
            timestamp: |_: [u8; 32]| std::future::ready(Err("unused".into())),
            token_estimate: 0,
        };
        for pdf in [sample::pdf_with_pages(2), sample::pdf_with_xref_stream(1)] {
            let (revision, hash) = sealer
                .seal_revision(
                    &pdf,
                    Level::BB,
                    "送信",
                    "keiyaku",
                    OffsetDateTime::now_utc(),
                )
                .await
                .unwrap();
            let sealed = [&pdf[..], &revision].concat();
            let whole: [u8; 32] = Sha256::digest(&sealed).into();
            assert_eq!(
                hash.0.clone().finalize().as_slice(),
                whole.as_slice(),
                "the hash is of the whole sealed file"
            );
            let data = ValidationData {
                crls: vec![vec![0x30, 0]],
                ..Default::default()
            };
            let cheap = prepare_long_term(&sealed, &data, 64, Some(&hash)).unwrap();
            let full = prepare_long_term(&sealed, &data, 64, None).unwrap();
            assert_eq!(cheap.digest, full.digest);
        }
    }

    #[tokio::test]
    async fn an_overflowing_cms_is_redone_with_more_room_never_truncated() {
        let (key, cert) = signer();
        let pdf = sample::pdf_with_pages(1);
        let big_token = vec![0u8; 0];
        // A "timestamp" far larger than the estimate: the first attempt overflows.
        let token = {
            let mut any = der::asn1::OctetString::new(vec![7u8; 9000])
                .unwrap()
                .to_der()
                .unwrap();
            any.extend_from_slice(&big_token);
            any
        };
        let sealer = Sealer {
            cert: &cert,
            chain: &[],
            sign: |msg: Vec<u8>| {
                let sig: DerSignature = key.sign(&msg);
                std::future::ready(Ok(sig.as_bytes().to_vec()))
            },
            timestamp: |_: [u8; 32]| std::future::ready(Ok(token.clone())),
            token_estimate: 100,
        };
        let sealed = sealer
            .seal(
                &pdf,
                Level::BT,
                "送信",
                "keiyaku",
                OffsetDateTime::now_utc(),
            )
            .await
            .unwrap();
        check_last_signature(&sealed, &cert);
        let prepared = prepare(
            &pdf,
            &SealOptions {
                reason: "x".into(),
                name: "y".into(),
                time: OffsetDateTime::now_utc(),
                reserved: 10,
            },
        )
        .unwrap();
        assert!(matches!(
            prepared.finish(&[0u8; 11]),
            Err(SealError::ContentsOverflow {
                needed: 11,
                reserved: 10
            })
        ));
    }

    #[test]
    fn certified_no_changes_and_encrypted_files_are_refused() {
        let fixture = |name: &str| {
            std::fs::read(format!(
                "{}/../../tests/fixtures/pdf/{name}",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap()
        };
        let options = SealOptions {
            reason: "x".into(),
            name: "y".into(),
            time: OffsetDateTime::now_utc(),
            reserved: 100,
        };
        let code = |name: &str| prepare(&fixture(name), &options).err().map(|e| e.code());
        assert_eq!(code("encrypted.pdf"), Some("encrypted_pdf"));
        assert_eq!(
            code("certified_no_changes.pdf"),
            Some("certified_no_changes")
        );
        assert_eq!(
            code("certified_form_filling.pdf"),
            None,
            "P=2 allows signing"
        );
    }
    fn qpdf_check(pdf: &[u8]) -> Option<(bool, String)> {
        let dir = tempfile::tempdir().ok()?;
        let path = dir.path().join("sealed.pdf");
        std::fs::write(&path, pdf).ok()?;
        let out = std::process::Command::new("qpdf")
            .arg("--check")
            .arg(&path)
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        Some((out.status.success() && !text.contains("WARNING"), text))
    }
}
