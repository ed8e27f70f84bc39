//! The file's structure: the header's version, `startxref`, and cross-reference tables
//! and streams (their entries, widths and index), each read strictly.

use super::*;

/// Reads a classic `xref` table and its `trailer` dictionary.
pub(super) fn read_table(
    buf: &[u8],
    offset: usize,
) -> Result<(Vec<(u32, XrefEntry)>, Dictionary), PdfError> {
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
pub(super) fn table_entry(buf: &[u8], pos: usize) -> Option<(XrefEntry, usize)> {
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
pub(super) fn xref_widths(dict: &Dictionary) -> Option<[usize; 3]> {
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
pub(super) fn xref_index(dict: &Dictionary, size: usize) -> Option<Vec<(u32, u32)>> {
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

/// Most object numbers a file of `len` bytes may use: the spec's limit, and one per eight
/// bytes (real objects are far bigger), so that a small file cannot make us hold millions of
/// cross-reference entries.
pub(super) fn entry_cap(len: usize) -> usize {
    (MAX_OBJECT_NUMBER as usize + 1).min(len / 8 + 4096)
}

pub(super) fn non_negative(dict: &Dictionary, key: &[u8]) -> Option<usize> {
    usize::try_from(dict.get(key).ok()?.as_i64().ok()?).ok()
}

/// A big-endian unsigned field of at most 8 bytes.
pub(super) fn be(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |v, &b| (v << 8) | u64::from(b))
}

/// `%PDF-x.y` at offset 0: the version `x.y`.
pub(super) fn header_version(bytes: &[u8]) -> Option<String> {
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
pub(super) fn find_startxref(bytes: &[u8]) -> Result<usize, PdfError> {
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
