//! What verification reads of the document itself: its signature fields, the ends of its
//! revisions, a revision's DSS, and PDF text strings, dates and hex strings.

use super::*;

/// A signature field found in the AcroForm, with its value and its `/Lock`.
pub(super) struct Found {
    pub(super) field: String,
    pub(super) value: Dictionary,
    pub(super) lock: Option<Dictionary>,
}

/// Every signature field of the AcroForm (walked to a bounded depth and count) that holds a
/// value.
pub(super) fn signature_fields(reader: &PdfReader<'_>) -> Result<Vec<Found>, PdfError> {
    let catalog = reader.catalog()?;
    let Ok(form) = catalog.get(b"AcroForm") else {
        return Ok(Vec::new());
    };
    let Ok(form) = reader.resolve(form)?.as_dict().cloned() else {
        return Ok(Vec::new());
    };
    let Ok(fields) = form.get(b"Fields") else {
        return Ok(Vec::new());
    };
    let Object::Array(fields) = reader.resolve(fields)? else {
        return Ok(Vec::new());
    };
    // (object, parent's qualified name, inherited /FT, depth)
    let mut stack: Vec<(Object, String, Option<Vec<u8>>, usize)> = fields
        .into_iter()
        .rev()
        .map(|f| (f, String::new(), None, 0))
        .collect();
    let mut seen = HashSet::new();
    let mut found = Vec::new();
    let mut visited = 0;
    while let Some((item, parent, inherited, depth)) = stack.pop() {
        visited += 1;
        if visited > MAX_FIELDS || depth > MAX_FIELD_DEPTH {
            return Err(PdfError::limit("too many or too deeply nested form fields"));
        }
        if let Object::Reference(id) = item
            && !seen.insert(id)
        {
            continue;
        }
        let Ok(field) = reader.resolve(&item)?.as_dict().cloned() else {
            continue;
        };
        let partial = match field.get(b"T") {
            Ok(Object::String(t, _)) => Some(text(t)),
            _ => None,
        };
        let name = match (&partial, parent.is_empty()) {
            (Some(p), true) => p.clone(),
            (Some(p), false) => format!("{parent}.{p}"),
            (None, _) => parent.clone(),
        };
        let kind = field
            .get(b"FT")
            .ok()
            .and_then(|t| t.as_name().ok())
            .map(<[u8]>::to_vec)
            .or(inherited);
        if let Ok(Object::Array(kids)) =
            field.get(b"Kids").map(|k| reader.resolve(k)).transpose_ok()
        {
            for kid in kids.into_iter().rev() {
                stack.push((kid, name.clone(), kind.clone(), depth + 1));
            }
        }
        if kind.as_deref() != Some(b"Sig") {
            continue;
        }
        let Ok(value) = field.get(b"V") else {
            continue;
        };
        if let Ok(value) = reader.resolve(value)?.as_dict() {
            let lock = match field.get(b"Lock") {
                Ok(lock) => reader.resolve(lock)?.as_dict().ok().cloned(),
                Err(_) => None,
            };
            found.push(Found {
                field: name,
                value: value.clone(),
                lock,
            });
        }
    }
    Ok(found)
}

/// `Result<Result<T>>` flattening for `get(..).map(resolve)`.
pub(super) trait TransposeOk<T> {
    fn transpose_ok(self) -> Result<T, ()>;
}

impl<T, E1, E2> TransposeOk<T> for Result<Result<T, E2>, E1> {
    fn transpose_ok(self) -> Result<T, ()> {
        match self {
            Ok(Ok(v)) => Ok(v),
            _ => Err(()),
        }
    }
}

/// A PDF text string: UTF-16BE with a BOM, UTF-8 with a BOM, or PDFDocEncoding (read as
/// Latin-1, which agrees with it on the printable range).
pub(super) fn text(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16_lossy(&units)
    } else if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        String::from_utf8_lossy(rest).into_owned()
    } else {
        bytes.iter().map(|&b| char::from(b)).collect()
    }
}

pub(super) fn text_entry(dict: &Dictionary, key: &[u8]) -> Option<String> {
    match dict.get(key).ok()? {
        Object::String(s, _) => Some(text(s)),
        _ => None,
    }
}

/// Parses a PDF date (`D:YYYYMMDDHHmmSSOHH'mm'`, later parts optional).
pub(super) fn pdf_date(s: &str) -> Option<OffsetDateTime> {
    let s = s.strip_prefix("D:").unwrap_or(s);
    let digits = |from: usize, len: usize, default: u32| -> Option<u32> {
        match s.get(from..from + len) {
            Some(part) if part.bytes().all(|b| b.is_ascii_digit()) => part.parse().ok(),
            Some(_) => None,
            None => Some(default),
        }
    };
    let year = i32::try_from(digits(0, 4, 0)?).ok()?;
    if s.len() < 4 {
        return None;
    }
    let month = u8::try_from(digits(4, 2, 1)?).ok()?;
    let day = u8::try_from(digits(6, 2, 1)?).ok()?;
    let hour = u8::try_from(digits(8, 2, 0)?).ok()?;
    let minute = u8::try_from(digits(10, 2, 0)?).ok()?;
    let second = u8::try_from(digits(12, 2, 0)?).ok()?;
    let date =
        time::Date::from_calendar_date(year, time::Month::try_from(month).ok()?, day).ok()?;
    let local = date.with_hms(hour, minute, second).ok()?;
    let offset = match s.get(14..15) {
        Some("+") | Some("-") => {
            let sign = if &s[14..15] == "-" { -1 } else { 1 };
            let h = i8::try_from(digits(15, 2, 0)?).ok()?;
            let m = i8::try_from(digits(18, 2, 0).or_else(|| digits(17, 2, 0))?).ok()?;
            time::UtcOffset::from_hms(sign * h, sign * m, 0).ok()?
        }
        _ => time::UtcOffset::UTC,
    };
    Some(local.assume_offset(offset).to_offset(time::UtcOffset::UTC))
}

/// Where each revision ends: after each section's `%%EOF` and its end-of-line. The file
/// is scanned once (a file may have thousands of sections).
pub(super) fn revision_ends(reader: &PdfReader<'_>) -> Vec<usize> {
    let bytes = reader.bytes();
    let markers: Vec<usize> = memchr::memmem::find_iter(bytes, b"%%EOF").collect();
    let mut ends: Vec<usize> = reader
        .sections()
        .iter()
        .filter_map(|section| {
            let first = markers.partition_point(|&m| m < section.offset);
            let at = markers.get(first)? + 5;
            let eol = match bytes.get(at..at + 2) {
                Some(b"\r\n") => 2,
                _ if matches!(bytes.get(at), Some(b'\n' | b'\r')) => 1,
                _ => 0,
            };
            Some(at + eol)
        })
        .collect();
    ends.sort_unstable();
    ends.dedup();
    ends
}

/// The validation material a revision's DSS holds.
#[derive(Default)]
pub(super) struct Dss {
    pub(super) certs: Vec<Certificate>,
    pub(super) crls: Vec<CertificateList>,
}

pub(super) fn dss(reader: &PdfReader<'_>) -> Result<Dss, PdfError> {
    let mut out = Dss::default();
    let catalog = reader.catalog()?;
    let Ok(dss) = catalog.get(b"DSS") else {
        return Ok(out);
    };
    let Ok(dss) = reader.resolve(dss)?.as_dict().cloned() else {
        return Ok(out);
    };
    for key in [b"Certs".as_slice(), b"CRLs"] {
        let Ok(items) = dss.get(key) else { continue };
        let Object::Array(items) = reader.resolve(items)? else {
            continue;
        };
        for item in items.iter().take(MAX_DSS_ITEMS) {
            let Ok(id) = item.as_reference() else {
                continue;
            };
            let Ok((_, data)) = reader.decoded_stream(id) else {
                continue;
            };
            if key == b"Certs" {
                if let Ok(cert) = Certificate::from_der(&data) {
                    out.certs.push(cert);
                }
            } else if let Ok(crl) = CertificateList::from_der(&data) {
                out.crls.push(crl);
            }
        }
    }
    Ok(out)
}

pub(super) fn decode_hex(hex: &[u8]) -> Option<Vec<u8>> {
    let digits: Vec<u8> = hex
        .iter()
        .filter(|b| !b.is_ascii_whitespace())
        .map(|&b| match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        })
        .collect::<Option<_>>()?;
    // An odd count ends with an implied 0 (ISO 32000-1, 7.3.4.3).
    Some(
        digits
            .chunks(2)
            .map(|pair| pair[0] << 4 | pair.get(1).copied().unwrap_or(0))
            .collect(),
    )
}
