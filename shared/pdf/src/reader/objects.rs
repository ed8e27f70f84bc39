//! Reading one object: lopdf's parser on bytes the lexer delimited, an indirect object
//! at its offset, a member of an object stream, a stream's decoded data.

use super::*;

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
pub(super) fn object_at(buf: &[u8], pos: usize, ctx: Ctx) -> Result<(Object, usize), PdfError> {
    let start = skip_space(buf, pos);
    let end = lexer::scan_object(buf, start).map_err(|e| ctx.scan(e))?;
    let object = parse_direct(&buf[start..end]).ok_or_else(|| ctx.err("object does not parse"))?;
    Ok((object, end))
}

/// `N G obj` at `offset`: the id and the position after `obj`.
pub(super) fn object_header(buf: &[u8], offset: usize) -> Option<(ObjectId, usize)> {
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
pub(super) fn read_indirect<'a>(
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

/// Parses an object stream's index: `n` pairs of object number and increasing offset.
pub(super) fn objstm_index(header: &[u8], n: usize, body_len: usize) -> Option<Vec<(u32, usize)>> {
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
pub(super) fn objstm_member(objstm: &ObjStm, id: ObjectId, index: u32) -> Result<Object, PdfError> {
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
pub(super) fn decode_stream(
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
