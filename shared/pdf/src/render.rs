//! Pages as images, so that every browser, phone and in-app browser shows a document
//! without a PDF viewer: rasterised by `hayro` (pure Rust, with the 14 standard fonts and
//! the predefined CJK CMaps built in) and encoded as PNG. Japanese text set in a font the
//! file does not embed (common in files from Japanese word processors) needs a Japanese
//! font of the machine's: [`Fonts`] holds it. The file is untrusted: callers run this on
//! the bounded CPU pool, and the image's size is capped here.

use std::sync::{Arc, OnceLock};

use hayro::hayro_interpret::InterpreterSettings;
use hayro::hayro_interpret::font::{FontData, FontQuery};
use hayro::hayro_syntax::Pdf;
use hayro::vello_cpu::color::palette::css::WHITE;
use hayro::{PixmapSettings, RenderCache, RenderSettings};

/// Narrowest image asked for, in pixels.
pub const MIN_WIDTH: u32 = 100;
/// Widest image asked for, in pixels.
pub const MAX_WIDTH: u32 = 2400;
/// Most pixels one page image may have (a page far taller than wide is refused).
pub const MAX_PIXELS: u64 = 16_000_000;

/// Why a page could not be rendered.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RenderError {
    /// The file could not be opened by the rasteriser.
    #[error("the file cannot be rendered: {0}")]
    Unreadable(String),
    /// The document has no page of that number.
    #[error("the document has {pages} pages; there is no page {asked}")]
    NoSuchPage {
        /// Pages the document has.
        pages: usize,
        /// The page asked for (1-based).
        asked: u32,
    },
    /// The width asked for is outside [`MIN_WIDTH`]..=[`MAX_WIDTH`].
    #[error("the width must be from {MIN_WIDTH} to {MAX_WIDTH} pixels")]
    Width,
    /// The page's shape would make an image larger than [`MAX_PIXELS`].
    #[error("the page is too large to show as an image")]
    TooLarge,
    /// The image could not be encoded.
    #[error("the image could not be encoded: {0}")]
    Encoding(String),
}

/// The fonts pages are drawn with when a file relies on the reader's own: a Japanese
/// font (TrueType/OpenType, or one face of a collection) for CJK text; without it such
/// text falls back to a Latin font and shows no Japanese glyphs. The machine's font is read
/// when first needed, once, and shared by clones.
#[derive(Clone)]
pub struct Fonts {
    japanese: Arc<OnceLock<Option<(FontData, u32)>>>,
    from_system: bool,
}

impl std::fmt::Debug for Fonts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fonts")
            .field("from_system", &self.from_system)
            .field("japanese_loaded", &self.japanese.get().map(Option::is_some))
            .finish()
    }
}

impl Default for Fonts {
    fn default() -> Fonts {
        Fonts::none()
    }
}

/// Where Japanese fonts are commonly installed (Debian's and Amazon Linux's packages).
pub const JAPANESE_FONT_PATHS: [&str; 5] = [
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    // The Lambda layer of the page functions (infra/layers/japanese-font).
    "/opt/fonts/ipag.ttf",
    "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
    "/usr/share/fonts/opentype/ipafont-mincho/ipam.ttf",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
];

impl Fonts {
    /// No font of the machine's: the standard fonts only.
    pub fn none() -> Fonts {
        Fonts {
            japanese: Arc::new(OnceLock::from(None)),
            from_system: false,
        }
    }

    /// The Japanese font in `data` (face `index` of a collection).
    pub fn with_japanese(data: Vec<u8>, index: u32) -> Fonts {
        Fonts {
            japanese: Arc::new(OnceLock::from(Some((Arc::new(data) as FontData, index)))),
            from_system: false,
        }
    }

    /// The first of [`JAPANESE_FONT_PATHS`] this machine has, if any (read when first needed).
    pub fn from_system() -> Fonts {
        Fonts {
            japanese: Arc::new(OnceLock::new()),
            from_system: true,
        }
    }

    fn japanese(&self) -> Option<(FontData, u32)> {
        self.japanese
            .get_or_init(|| {
                if !self.from_system {
                    return None;
                }
                JAPANESE_FONT_PATHS
                    .iter()
                    .find_map(|path| std::fs::read(path).ok())
                    .map(|data| (Arc::new(data) as FontData, 0))
            })
            .clone()
    }

    /// Whether a Japanese font is held.
    pub fn has_japanese(&self) -> bool {
        self.japanese().is_some()
    }

    fn interpreter_settings(&self) -> InterpreterSettings {
        let japanese = self.japanese();
        InterpreterSettings {
            font_resolver: Arc::new(move |query| match query {
                FontQuery::Standard(font) => Some(font.get_font_data()),
                FontQuery::Fallback(f) => match (&f.character_collection, &japanese) {
                    (Some(_), Some(font)) => Some(font.clone()),
                    _ => Some(f.pick_standard_font().get_font_data()),
                },
            }),
            ..InterpreterSettings::default()
        }
    }
}

/// Page `page` (1-based) of `pdf`, `width` pixels wide, on white, as PNG.
pub fn page_png(pdf: &[u8], page: u32, width: u32, fonts: &Fonts) -> Result<Vec<u8>, RenderError> {
    if !(MIN_WIDTH..=MAX_WIDTH).contains(&width) {
        return Err(RenderError::Width);
    }
    let file = Pdf::new(pdf.to_vec()).map_err(|e| RenderError::Unreadable(format!("{e:?}")))?;
    let pages = file.pages();
    let index = (page as usize).checked_sub(1);
    let Some(shown) = index.and_then(|i| pages.get(i)) else {
        return Err(RenderError::NoSuchPage {
            pages: pages.len(),
            asked: page,
        });
    };
    let (w, h) = shown.render_dimensions();
    if !(w.is_finite() && h.is_finite() && w >= 1.0 && h >= 1.0) {
        return Err(RenderError::TooLarge);
    }
    let scale = width as f32 / w;
    let height = (h * scale).ceil() as u64;
    if height > u64::from(u16::MAX) || u64::from(width) * height > MAX_PIXELS {
        return Err(RenderError::TooLarge);
    }
    let pixmap = hayro::render(
        shown,
        &RenderCache::new(),
        &fonts.interpreter_settings(),
        &RenderSettings::default(),
        &PixmapSettings {
            x_scale: scale,
            y_scale: scale,
            bg_color: WHITE,
        },
    );
    pixmap
        .into_png()
        .map_err(|e| RenderError::Encoding(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample;

    /// Width, height and the share of pixels that are not white, of a PNG.
    fn look(png: &[u8]) -> (u32, u32, f64) {
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        let channels = info.color_type.samples();
        let pixels = &buf[..info.buffer_size()];
        let inked = pixels
            .chunks(channels)
            .filter(|p| p.iter().take(3).any(|c| *c < 200))
            .count();
        (
            info.width,
            info.height,
            inked as f64 / (info.width * info.height) as f64,
        )
    }

    #[test]
    fn a_page_is_drawn_at_the_width_asked_in_its_proportions() {
        let pdf = sample::pdf_with_pages(3);
        let png = page_png(&pdf, 2, 612, &Fonts::none()).unwrap();
        let (w, h, inked) = look(&png);
        assert_eq!((w, h), (612, 792));
        assert!(inked > 0.001 && inked < 0.2, "{inked}: text on white");
        let (w, h, _) = look(&page_png(&pdf, 1, 306, &Fonts::none()).unwrap());
        assert_eq!((w, h), (306, 396));
    }

    #[test]
    fn pages_and_widths_outside_the_document_are_refused() {
        let pdf = sample::pdf_with_pages(2);
        let none = Fonts::none();
        assert_eq!(
            page_png(&pdf, 3, 600, &none),
            Err(RenderError::NoSuchPage { pages: 2, asked: 3 })
        );
        assert_eq!(
            page_png(&pdf, 0, 600, &none),
            Err(RenderError::NoSuchPage { pages: 2, asked: 0 })
        );
        assert_eq!(page_png(&pdf, 1, 99, &none), Err(RenderError::Width));
        assert_eq!(page_png(&pdf, 1, 2401, &none), Err(RenderError::Width));
        assert!(matches!(
            page_png(b"not a pdf", 1, 600, &none),
            Err(RenderError::Unreadable(_))
        ));
    }

    #[test]
    fn a_page_far_taller_than_wide_is_refused_not_drawn() {
        // The same length, so the cross-reference offsets stay right.
        let pdf = sample::pdf_with_pages(1);
        let (from, to) = (b"/MediaBox [0 0 612 792]", b"/MediaBox [0 0 1 14400]");
        let at = pdf.windows(from.len()).position(|w| w == from).unwrap();
        let mut tall = pdf.clone();
        tall[at..at + to.len()].copy_from_slice(to);
        assert_eq!(
            page_png(&tall, 1, 2000, &Fonts::none()),
            Err(RenderError::TooLarge)
        );
    }

    #[test]
    fn japanese_text_in_a_font_not_embedded_is_drawn_with_the_machine_s_japanese_font() {
        let pdf = sample::japanese_pdf();
        let fonts = Fonts::from_system();
        assert!(
            fonts.has_japanese(),
            "a Japanese font is installed (tests/run installs fonts-ipafont-gothic)"
        );
        let (_, _, with) = look(&page_png(&pdf, 1, 612, &fonts).unwrap());
        let (_, _, without) = look(&page_png(&pdf, 1, 612, &Fonts::none()).unwrap());
        assert!(with > 0.002, "the title is drawn: {with}");
        assert!(
            with > without * 2.0,
            "with the Japanese font far more is drawn: {with} against {without}"
        );
    }
}
