//! The reader's own tests.

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
