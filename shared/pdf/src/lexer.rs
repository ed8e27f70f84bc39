//! A small iterative PDF tokenizer: it finds where one direct object ends, so the reader can
//! hand exactly those bytes to lopdf's parser, and it refuses nesting and sizes beyond our
//! limits before any recursive parser sees them. Nothing here recurses on input depth.

/// Deepest nesting of arrays and dictionaries (and of parentheses inside a literal string)
/// that an object may have. Real documents stay far below it. lopdf's parser recurses once
/// per level and stops at 100, but a level costs about 7 KiB of stack in a debug build (about
/// 1 KiB optimised), so we stop at 32: the deepest object we accept parses in ~230 KiB of
/// stack unoptimised, ~32 KiB optimised.
pub(crate) const MAX_DEPTH: usize = 32;

/// Most tokens one direct object may hold (a 100,000-page flat `/Kids` array is 300,000).
pub(crate) const MAX_TOKENS: usize = 1_000_000;

/// Most bytes one direct object may span.
pub(crate) const MAX_OBJECT_BYTES: usize = 16 << 20;

/// Why a direct object could not be delimited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ScanError {
    /// The bytes are not a well-formed object.
    Malformed(&'static str),
    /// The object is deeper or bigger than our limits.
    Limit(&'static str),
}

pub(crate) fn is_whitespace(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'\0' | b'\x0C')
}

pub(crate) fn is_delimiter(c: u8) -> bool {
    matches!(
        c,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

pub(crate) fn is_regular(c: u8) -> bool {
    !is_whitespace(c) && !is_delimiter(c)
}

/// Skips white space and comments.
pub(crate) fn skip_space(buf: &[u8], mut pos: usize) -> usize {
    while let Some(&c) = buf.get(pos) {
        if is_whitespace(c) {
            pos += 1;
        } else if c == b'%' {
            while buf.get(pos).is_some_and(|&c| c != b'\r' && c != b'\n') {
                pos += 1;
            }
        } else {
            break;
        }
    }
    pos
}

/// Skips white space only (no comments), as in cross-reference tables.
pub(crate) fn skip_whitespace(buf: &[u8], mut pos: usize) -> usize {
    while buf.get(pos).copied().is_some_and(is_whitespace) {
        pos += 1;
    }
    pos
}

/// An unsigned decimal integer of at most `max_digits` digits at `pos`, and the position after.
pub(crate) fn read_uint(buf: &[u8], pos: usize, max_digits: usize) -> Option<(u64, usize)> {
    let digits = buf
        .get(pos..)?
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .count();
    if digits == 0 || digits > max_digits {
        return None;
    }
    let value = buf[pos..pos + digits].iter().try_fold(0u64, |v, &d| {
        v.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })?;
    Some((value, pos + digits))
}

/// Whether the keyword `word` stands at `pos` as a whole token; returns the position after it.
pub(crate) fn keyword(buf: &[u8], pos: usize, word: &[u8]) -> Option<usize> {
    let end = pos.checked_add(word.len())?;
    if buf.get(pos..end)? != word {
        return None;
    }
    match buf.get(end) {
        Some(&c) if is_regular(c) => None,
        _ => Some(end),
    }
}

/// The end (exclusive) of the direct object that starts at `pos` (which must not be white
/// space). An integer at the top level followed by `G R` is taken as a reference.
pub(crate) fn scan_object(buf: &[u8], start: usize) -> Result<usize, ScanError> {
    use ScanError::{Limit, Malformed};

    // Open brackets: `[` or `<` (for `<<`). Bounded by MAX_DEPTH, so it stays tiny.
    let mut open: Vec<u8> = Vec::new();
    let mut tokens = 0usize;
    let mut pos = start;
    loop {
        pos = skip_space(buf, pos);
        let Some(&c) = buf.get(pos) else {
            return Err(Malformed("object ends early"));
        };
        tokens += 1;
        if tokens > MAX_TOKENS {
            return Err(Limit("object has too many tokens"));
        }
        let next = buf.get(pos + 1).copied();
        match c {
            b'[' | b'<' if c == b'[' || next == Some(b'<') => {
                if open.len() >= MAX_DEPTH {
                    return Err(Limit("objects nested too deeply"));
                }
                open.push(c);
                pos += if c == b'[' { 1 } else { 2 };
            }
            b']' => {
                if open.pop() != Some(b'[') {
                    return Err(Malformed("unbalanced ]"));
                }
                pos += 1;
            }
            b'>' if next == Some(b'>') => {
                if open.pop() != Some(b'<') {
                    return Err(Malformed("unbalanced >>"));
                }
                pos += 2;
            }
            b'<' => pos = scan_hex_string(buf, pos)?,
            b'(' => pos = scan_literal_string(buf, pos)?,
            b'/' => {
                pos += 1;
                while buf.get(pos).copied().is_some_and(is_regular) {
                    pos += 1;
                }
            }
            b')' | b'>' | b'{' | b'}' => return Err(Malformed("unexpected delimiter")),
            _ => {
                let end = pos + buf[pos..].iter().take_while(|&&c| is_regular(c)).count();
                let word = &buf[pos..end];
                if !is_value_word(word) {
                    return Err(Malformed("unexpected keyword"));
                }
                pos = if open.is_empty() && word.iter().all(u8::is_ascii_digit) {
                    reference_end(buf, end).unwrap_or(end)
                } else {
                    end
                };
            }
        }
        if open.is_empty() {
            if pos - start > MAX_OBJECT_BYTES {
                return Err(Limit("object too large"));
            }
            return Ok(pos);
        }
    }
}

/// Numbers, `true`, `false`, `null` and the `R` of references: the only bare words an object
/// may hold. Checked here so that lopdf cannot parse a prefix such as `12` of `12abc`.
fn is_value_word(word: &[u8]) -> bool {
    if matches!(word, b"true" | b"false" | b"null" | b"R") {
        return true;
    }
    let number = word
        .strip_prefix(b"+")
        .or_else(|| word.strip_prefix(b"-"))
        .unwrap_or(word);
    let (whole, fraction) = match number.iter().position(|&c| c == b'.') {
        Some(dot) => (&number[..dot], &number[dot + 1..]),
        None => (number, &b""[..]),
    };
    // lopdf also accepts a stray `-` inside the fraction (`0.00-4142502`), as pdf.js does.
    number.iter().any(u8::is_ascii_digit)
        && whole.iter().all(u8::is_ascii_digit)
        && fraction.iter().all(|&c| c.is_ascii_digit() || c == b'-')
}

/// After a top-level integer ending at `pos`: the end of ` G R`, if that follows.
fn reference_end(buf: &[u8], pos: usize) -> Option<usize> {
    let p = skip_space(buf, pos);
    if p == pos {
        return None;
    }
    let (_, p) = read_uint(buf, p, 5)?;
    let q = skip_space(buf, p);
    if q == p {
        return None;
    }
    keyword(buf, q, b"R")
}

fn scan_hex_string(buf: &[u8], pos: usize) -> Result<usize, ScanError> {
    let body = &buf[pos + 1..];
    let Some(close) = body.iter().position(|&c| c == b'>') else {
        return Err(ScanError::Malformed("hex string ends early"));
    };
    if !body[..close]
        .iter()
        .all(|&c| c.is_ascii_hexdigit() || is_whitespace(c))
    {
        return Err(ScanError::Malformed("bad hex string"));
    }
    Ok(pos + 1 + close + 1)
}

fn scan_literal_string(buf: &[u8], mut pos: usize) -> Result<usize, ScanError> {
    let mut depth = 0usize;
    while let Some(&c) = buf.get(pos) {
        match c {
            b'\\' => pos += 1,
            b'(' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(ScanError::Limit("string parentheses nested too deeply"));
                }
            }
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Ok(pos + 1);
                }
            }
            _ => {}
        }
        pos += 1;
    }
    Err(ScanError::Malformed("string ends early"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(s: &str) -> Result<usize, ScanError> {
        scan_object(s.as_bytes(), 0)
    }

    #[test]
    fn finds_the_end_of_each_kind_of_object() {
        assert_eq!(scan("42 endobj"), Ok(2));
        assert_eq!(scan("12 0 R endobj"), Ok(6));
        assert_eq!(scan("12 0 obj"), Ok(2));
        assert_eq!(scan("-3.5 x"), Ok(4));
        assert_eq!(scan("/Name/Other"), Ok(5));
        assert_eq!(scan("(a (nested) \\) string) rest"), Ok(22));
        assert_eq!(scan("<0A 1b> rest"), Ok(7));
        assert_eq!(
            scan("<< /A [1 2 (>>) <41>] /B << /C 3 0 R >> >>stream"),
            Ok(42)
        );
        assert_eq!(scan("[ % comment ] here\n 1 ] tail"), Ok(23));
        assert_eq!(scan("true]"), Ok(4));
        for number in ["1", "+1", "-1", "1.", ".5", "-.5", "+3.25", "0.00-4142502"] {
            assert_eq!(scan(number), Ok(number.len()), "{number}");
        }
    }

    #[test]
    fn refuses_malformed_objects() {
        for bad in [
            "",
            "   ",
            "[1 2",
            "<< /A 1 ]",
            "]",
            ">>",
            "(open",
            "<12",
            "<zz>",
            "12abc",
            "endobj",
            "{",
            "1-2",
            "1.2.3",
            "-",
            ".",
            "--1",
            "+-1",
        ] {
            assert!(matches!(scan(bad), Err(ScanError::Malformed(_))), "{bad:?}");
        }
    }

    #[test]
    fn deep_nesting_is_refused_without_recursion() {
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        assert_eq!(
            scan(&deep),
            Err(ScanError::Limit("objects nested too deeply"))
        );
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert_eq!(scan(&ok), Ok(2 * MAX_DEPTH));
        let parens = "(".repeat(100_000);
        assert!(matches!(scan(&parens), Err(ScanError::Limit(_))));
    }

    #[test]
    fn integers_and_keywords() {
        assert_eq!(read_uint(b"00123 x", 0, 10), Some((123, 5)));
        assert_eq!(read_uint(b"x", 0, 10), None);
        assert_eq!(read_uint(b"99999999999", 0, 10), None);
        assert_eq!(keyword(b"obj<<", 0, b"obj"), Some(3));
        assert_eq!(keyword(b"objx", 0, b"obj"), None);
        assert_eq!(skip_space(b"  % c\r\n x", 0), 8);
    }
}
