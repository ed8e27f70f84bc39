//! Generators of valid PDFs for tests and benchmarks (of this crate and the others).
//! Every file they make passes `qpdf --check` and [`crate::inspect`].

use std::collections::BTreeMap;
use std::io::Write;

use flate2::Compression;
use flate2::write::ZlibEncoder;

/// Largest image (in bytes of samples) that [`pdf_of_size`] puts on one page.
const IMAGE_CHUNK: usize = 1 << 20;
/// Width in pixels of [`pdf_of_size`]'s images; a row is three bytes per pixel.
const IMAGE_WIDTH: usize = 256;

/// A valid PDF 1.7 with `pages` pages (at least one), each showing a line of text, and a
/// classic cross-reference table.
pub fn pdf_with_pages(pages: u32) -> Vec<u8> {
    let pages = pages.max(1) as usize;
    let mut pdf = Writer::new();
    // 1 catalog, 2 page tree, 3 font, then a page and its content per page.
    pdf.object(1, b"<< /Type /Catalog /Pages 2 0 R >>");
    pdf.object(2, page_tree(pages, |i| 4 + 2 * i).as_bytes());
    pdf.object(3, FONT);
    for i in 0..pages {
        let page = 4 + 2 * i;
        pdf.object(
            page,
            page_dict(page + 1, "/Font << /F1 3 0 R >>").as_bytes(),
        );
        pdf.stream(page + 1, "", text_content(i).as_bytes());
    }
    pdf.finish_table(4 + 2 * pages)
}

/// A one-page contract title in Japanese, 業務委託契約書, set in a CID font that is not
/// embedded (Kozuka Mincho, Adobe-Japan1, `UniJIS-UCS2-H`): as Japanese word processors
/// often write them, relying on the reader's own Japanese font and CMaps.
pub fn japanese_pdf() -> Vec<u8> {
    let mut pdf = Writer::new();
    pdf.object(1, b"<< /Type /Catalog /Pages 2 0 R >>");
    pdf.object(2, page_tree(1, |_| 4).as_bytes());
    pdf.object(
        3,
        b"<< /Type /Font /Subtype /Type0 /BaseFont /KozMinPr6N-Regular \
          /Encoding /UniJIS-UCS2-H /DescendantFonts [6 0 R] >>",
    );
    pdf.object(4, page_dict(5, "/Font << /F1 3 0 R >>").as_bytes());
    let title: String = "業務委託契約書"
        .encode_utf16()
        .map(|u| format!("{u:04X}"))
        .collect();
    pdf.stream(
        5,
        "",
        format!("BT /F1 36 Tf 72 680 Td <{title}> Tj ET").as_bytes(),
    );
    pdf.object(
        6,
        b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /KozMinPr6N-Regular \
          /CIDSystemInfo << /Registry (Adobe) /Ordering (Japan1) /Supplement 6 >> \
          /FontDescriptor 7 0 R /DW 1000 >>",
    );
    pdf.object(
        7,
        b"<< /Type /FontDescriptor /FontName /KozMinPr6N-Regular /Flags 6 \
          /FontBBox [-437 -340 1147 1317] /ItalicAngle 0 /Ascent 1317 /Descent -349 \
          /CapHeight 742 /StemV 80 >>",
    );
    pdf.finish_table(8)
}

/// A valid PDF 1.7 with `pages` pages whose dictionaries sit in a compressed object stream,
/// indexed by a FlateDecode cross-reference stream with a PNG predictor (as Acrobat writes).
pub fn pdf_with_xref_stream(pages: u32) -> Vec<u8> {
    let pages = pages.max(1) as usize;
    // 1 catalog, 2 page tree, 3 font, 4.. pages (all in the object stream), then contents,
    // the object stream and the cross-reference stream.
    let page_num = |i: usize| 4 + i;
    let content_num = |i: usize| 4 + pages + i;
    let objstm = 4 + 2 * pages;
    let xref = objstm + 1;

    let mut members: Vec<(usize, String)> = vec![
        (1, "<< /Type /Catalog /Pages 2 0 R >>".into()),
        (2, page_tree(pages, page_num)),
        (3, String::from_utf8_lossy(FONT).into_owned()),
    ];
    for i in 0..pages {
        members.push((
            page_num(i),
            page_dict(content_num(i), "/Font << /F1 3 0 R >>"),
        ));
    }
    let mut index = String::new();
    let mut body = String::new();
    for (number, text) in &members {
        index.push_str(&format!("{number} {} ", body.len()));
        body.push_str(text);
        body.push('\n');
    }
    let plain = format!("{index}\n{body}");

    let mut pdf = Writer::new();
    for i in 0..pages {
        pdf.stream(
            content_num(i),
            "/Filter /FlateDecode",
            &deflate(text_content(i).as_bytes()),
        );
    }
    pdf.stream(
        objstm,
        &format!(
            "/Type /ObjStm /N {} /First {} /Filter /FlateDecode",
            members.len(),
            index.len() + 1
        ),
        &deflate(plain.as_bytes()),
    );

    // Rows of type (1 byte), offset or stream (4), generation or index (2).
    let size = xref + 1;
    let xref_offset = pdf.out.len();
    let mut rows = vec![[0u8, 0, 0, 0, 0, 0xff, 0xff]];
    for number in 1..size {
        // Members are objects 1 to 3 + pages, in order, so object n is member n - 1.
        let row = if number <= members.len() {
            entry_row(2, objstm, number - 1)
        } else if number == xref {
            entry_row(1, xref_offset, 0)
        } else {
            entry_row(1, pdf.offset_of(number), 0)
        };
        rows.push(row);
    }
    let data = deflate(&png_up(&rows));
    pdf.stream(
        xref,
        &format!(
            "/Type /XRef /Size {size} /W [1 4 2] /Root 1 0 R \
             /Filter /FlateDecode /DecodeParms << /Columns 7 /Predictor 12 >>"
        ),
        &data,
    );
    pdf.out
        .extend_from_slice(format!("startxref\n{xref_offset}\n%%EOF\n").as_bytes());
    pdf.out
}

/// A valid PDF of about `target_bytes` bytes: pages carrying uncompressed 8-bit RGB images
/// of pseudo-random (incompressible) samples, the same for the same `seed`.
pub fn pdf_of_size(target_bytes: usize, seed: u64) -> Vec<u8> {
    const PER_PAGE_OVERHEAD: usize = 700;
    const BASE_OVERHEAD: usize = 400;
    let row = IMAGE_WIDTH * 3;
    let pages = target_bytes.div_ceil(IMAGE_CHUNK).max(1);
    let budget = target_bytes.saturating_sub(BASE_OVERHEAD + pages * PER_PAGE_OVERHEAD);
    let rows_per_page = (budget / pages / row).max(1);

    let mut random = XorShift::new(seed);
    let mut pdf = Writer::new();
    // 1 catalog, 2 page tree, then a page, its content and its image per page.
    pdf.object(1, b"<< /Type /Catalog /Pages 2 0 R >>");
    pdf.object(2, page_tree(pages, |i| 3 + 3 * i).as_bytes());
    let mut pixels = vec![0u8; rows_per_page * row];
    for i in 0..pages {
        let page = 3 + 3 * i;
        pdf.object(
            page,
            page_dict(page + 1, &format!("/XObject << /Im0 {} 0 R >>", page + 2)).as_bytes(),
        );
        pdf.stream(page + 1, "", b"q 512 0 0 512 50 140 cm /Im0 Do Q");
        random.fill(&mut pixels);
        pdf.stream(
            page + 2,
            &format!(
                "/Type /XObject /Subtype /Image /Width {IMAGE_WIDTH} /Height {rows_per_page} \
                 /ColorSpace /DeviceRGB /BitsPerComponent 8"
            ),
            &pixels,
        );
    }
    pdf.finish_table(3 + 3 * pages)
}

const FONT: &[u8] = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>";

fn page_tree(pages: usize, page_number: impl Fn(usize) -> usize) -> String {
    let kids: Vec<String> = (0..pages)
        .map(|i| format!("{} 0 R", page_number(i)))
        .collect();
    format!(
        "<< /Type /Pages /Kids [{}] /Count {pages} >>",
        kids.join(" ")
    )
}

fn page_dict(content: usize, resources: &str) -> String {
    format!(
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] \
         /Resources << {resources} >> /Contents {content} 0 R >>"
    )
}

fn text_content(page: usize) -> String {
    format!(
        "BT /F1 24 Tf 72 700 Td (keiyaku sample page {}) Tj ET",
        page + 1
    )
}

fn entry_row(kind: u8, field2: usize, field3: usize) -> [u8; 7] {
    let f2 = u32::try_from(field2).unwrap_or(u32::MAX).to_be_bytes();
    let f3 = u16::try_from(field3).unwrap_or(u16::MAX).to_be_bytes();
    [kind, f2[0], f2[1], f2[2], f2[3], f3[0], f3[1]]
}

/// PNG "Up" prediction of each row (predictor 12), as cross-reference streams often use.
fn png_up(rows: &[[u8; 7]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rows.len() * 8);
    let mut previous = [0u8; 7];
    for row in rows {
        out.push(2);
        out.extend(row.iter().zip(previous).map(|(b, p)| b.wrapping_sub(p)));
        previous = *row;
    }
    out
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
    // Writing to a Vec cannot fail.
    encoder.write_all(data).expect("in-memory write");
    encoder.finish().expect("in-memory write")
}

/// Writes objects and remembers their offsets for the cross-reference table.
struct Writer {
    out: Vec<u8>,
    offsets: BTreeMap<usize, usize>,
}

impl Writer {
    fn new() -> Self {
        // The comment's high bytes tell transfer tools the file is binary.
        Writer {
            out: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec(),
            offsets: BTreeMap::new(),
        }
    }

    fn offset_of(&self, number: usize) -> usize {
        self.offsets.get(&number).copied().unwrap_or(0)
    }

    fn object(&mut self, number: usize, body: &[u8]) {
        self.offsets.insert(number, self.out.len());
        self.out
            .extend_from_slice(format!("{number} 0 obj\n").as_bytes());
        self.out.extend_from_slice(body);
        self.out.extend_from_slice(b"\nendobj\n");
    }

    fn stream(&mut self, number: usize, dict: &str, data: &[u8]) {
        self.offsets.insert(number, self.out.len());
        self.out.extend_from_slice(
            format!(
                "{number} 0 obj\n<< /Length {} {dict} >>\nstream\n",
                data.len()
            )
            .as_bytes(),
        );
        self.out.extend_from_slice(data);
        self.out.extend_from_slice(b"\nendstream\nendobj\n");
    }

    /// Appends a classic table for objects `0..size` and the trailer.
    fn finish_table(self, size: usize) -> Vec<u8> {
        self.finish_table_with(size, "")
    }

    fn finish_table_with(mut self, size: usize, trailer_extra: &str) -> Vec<u8> {
        let xref = self.out.len();
        let mut table = format!("xref\n0 {size}\n");
        for number in 0..size {
            match self.offsets.get(&number) {
                Some(offset) => table.push_str(&format!("{offset:010} 00000 n \n")),
                None if number == 0 => table.push_str("0000000000 65535 f \n"),
                None => table.push_str("0000000000 00000 f \n"),
            }
        }
        table.push_str(&format!(
            "trailer\n<< /Size {size} /Root 1 0 R {trailer_extra}>>\nstartxref\n{xref}\n%%EOF\n"
        ));
        self.out.extend_from_slice(table.as_bytes());
        self.out
    }
}

/// Test helper: a PDF of raw object bodies (numbered; object 1 is the root) and a classic
/// table, with `trailer_extra` added to the trailer.
#[cfg(test)]
pub(crate) fn assemble(objects: &[(usize, &[u8])], trailer_extra: &str) -> Vec<u8> {
    let mut pdf = Writer::new();
    for (number, body) in objects {
        pdf.object(*number, body);
    }
    let size = objects.iter().map(|(n, _)| n + 1).max().unwrap_or(1);
    pdf.finish_table_with(size, trailer_extra)
}

/// xorshift64*: tiny, fast, and good enough to make image samples incompressible.
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        XorShift((seed ^ 0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            let mut x = self.0;
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            self.0 = x;
            let value = x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
            chunk.copy_from_slice(&value[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PdfReader, inspect};

    #[test]
    fn pdf_of_size_is_near_its_target_and_valid() {
        for target in [1_000, 300_000, 2_500_000] {
            let pdf = pdf_of_size(target, 7);
            let info = inspect(&pdf).unwrap();
            assert!(info.page_count >= 1);
            let slack = IMAGE_WIDTH * 3 * info.page_count as usize + 4096;
            assert!(
                pdf.len().abs_diff(target) <= slack,
                "{target}: {}",
                pdf.len()
            );
        }
        assert_eq!(pdf_of_size(50_000, 1), pdf_of_size(50_000, 1));
        assert_ne!(pdf_of_size(50_000, 1), pdf_of_size(50_000, 2));
    }

    #[test]
    fn image_data_is_incompressible() {
        let pdf = pdf_of_size(500_000, 3);
        assert!(deflate(&pdf).len() > pdf.len() * 9 / 10);
    }

    #[test]
    fn many_pages_and_lazy_streams() {
        let pdf = pdf_with_pages(1_000);
        assert_eq!(inspect(&pdf).unwrap().page_count, 1_000);
        let reader = PdfReader::open(&pdf).unwrap();
        let (dict, data) = reader.stream((5, 0)).unwrap();
        assert_eq!(
            dict.get(b"Length").unwrap().as_i64().unwrap(),
            data.len() as i64
        );
        assert!(data.starts_with(b"BT /F1"));
        assert_eq!(inspect(&pdf_with_xref_stream(300)).unwrap().page_count, 300);
    }
}
