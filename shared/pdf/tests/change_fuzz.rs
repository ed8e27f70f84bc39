//! The change analysis under random incremental updates (proptest): a sealed file gets up to
//! six revisions of random steps — new objects, objects of the signed revision rewritten
//! with their own value or with random ones, a page's content replaced, new `/Info`, DSS
//! data, and signed objects named as `/Info`, DSS, VRI, `/Metadata`, `/Extensions` or form
//! fields. Properties, checked after every revision:
//! - once a verdict is invalid, no later revision makes it valid;
//! - once an object reachable from the signed page tree holds another value, no verdict is
//!   valid again;
//! - revisions of benign steps only (new objects, `/Info` text, DSS data, identical
//!   rewrites) leave the file valid, so the first two cannot pass by refusing everything.
//!
//! `PROPTEST_CASES` sets how many sequences are tried (64 by default here) and
//! `PROPTEST_RNG_SEED` which (a fixed seed by default, so a run is repeatable).

mod common;

use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;

use keiyaku_pdf::seal::{self, SealOptions};
use keiyaku_pdf::tamper::{append_revision_with_info, object_text};
use keiyaku_pdf::verify::{self, Status};
use lopdf::{Dictionary, Object, ObjectId};
use p256::ecdsa::DerSignature;
use proptest::prelude::*;
use proptest::sample::Index;
use signature::Signer;
use x509_cert::Certificate;

/// A sealed file and what the steps need to know of its signed revision.
struct Base {
    pdf: Vec<u8>,
    anchor: Certificate,
    /// DER of a certificate, for benign DSS streams.
    cert_der: Vec<u8>,
    catalog: (u32, Dictionary),
    /// Every object of the signed revision, as PDF text.
    objects: Vec<(u32, String)>,
    /// Objects reachable from the page tree (what the pages show, and their annotations).
    shown: Vec<u32>,
    /// Each page's content stream.
    contents: Vec<u32>,
    size: u32,
}

fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| {
        let root = common::root();
        let key = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
        let cert = common::leaf(&root, common::p256_spki(&key));
        let original = keiyaku_pdf::sample::pdf_with_pages(2);
        let prepared = seal::prepare(
            &original,
            &SealOptions {
                reason: "fuzz".into(),
                name: "change fuzz".into(),
                time: time::OffsetDateTime::now_utc(),
                reserved: 4096,
            },
        )
        .unwrap();
        let attributes = seal::signed_attributes(&prepared.digest, &cert).unwrap();
        let signature: DerSignature = key.sign(&attributes.der);
        let cms = seal::assemble_cms(
            attributes,
            signature.as_bytes(),
            &cert,
            std::slice::from_ref(&root.cert),
            None,
        )
        .unwrap();
        let pdf = prepared.finish(&cms).unwrap();
        describe(pdf, root.cert, der::Encode::to_der(&cert).unwrap())
    })
}

fn describe(pdf: Vec<u8>, anchor: Certificate, cert_der: Vec<u8>) -> Base {
    let doc = lopdf::Document::load_mem(&pdf).unwrap();
    let catalog_id = doc.trailer.get(b"Root").unwrap().as_reference().unwrap();
    let catalog = doc.get_dictionary(catalog_id).unwrap().clone();
    let objects: Vec<(u32, String)> = doc
        .objects
        .iter()
        .map(|(id, object)| (id.0, object_text(object)))
        .collect();
    // Everything the page tree reaches, following references.
    let mut shown = BTreeSet::new();
    let mut todo = vec![catalog.get(b"Pages").unwrap().clone()];
    while let Some(object) = todo.pop() {
        match object {
            Object::Reference(id) => {
                if shown.insert(id.0)
                    && let Ok(target) = doc.get_object(id)
                {
                    todo.push(target.clone());
                }
            }
            Object::Array(items) => todo.extend(items),
            Object::Dictionary(dict) => todo.extend(dict.iter().map(|(_, v)| v.clone())),
            Object::Stream(stream) => todo.extend(stream.dict.iter().map(|(_, v)| v.clone())),
            _ => {}
        }
    }
    let contents = doc
        .get_pages()
        .values()
        .map(|&page| {
            let page = doc.get_dictionary(page).unwrap();
            page.get(b"Contents").unwrap().as_reference().unwrap().0
        })
        .collect();
    let size = doc.max_id + 1;
    Base {
        pdf,
        anchor,
        cert_der,
        catalog: (catalog_id.0, catalog),
        objects,
        shown: shown.into_iter().collect(),
        contents,
        size,
    }
}

/// Where a disguise names a signed object.
#[derive(Clone, Copy, Debug)]
enum Role {
    Info,
    DssCerts,
    Vri,
    Metadata,
    Extensions,
    Fields,
}

#[derive(Clone, Debug)]
enum Step {
    /// A new object nothing refers to.
    Orphan(String),
    /// A new `/Info` of text.
    Info(String),
    /// A new DSS holding a certificate stream.
    Dss,
    /// An object of the signed revision written again with its own value.
    Identical(Index),
    /// A page's content replaced.
    Content(Index, String),
    /// An object of the signed revision given a random value.
    Overwrite(Index, String),
    /// An object the page tree reaches, named in a role.
    Disguise(Index, Role),
}

impl Step {
    fn benign(&self) -> bool {
        matches!(
            self,
            Step::Orphan(_) | Step::Info(_) | Step::Dss | Step::Identical(_)
        )
    }
}

const NAMES: &[&str] = &[
    "Type",
    "Subtype",
    "Info",
    "DSS",
    "VRI",
    "Certs",
    "CRLs",
    "OCSPs",
    "Metadata",
    "Extensions",
    "Annots",
    "AP",
    "N",
    "Contents",
    "Resources",
    "Font",
    "Length",
    "Fields",
    "Kids",
    "Parent",
    "P",
    "Rect",
    "Page",
    "Pages",
    "Annot",
    "Widget",
    "XObject",
    "Catalog",
    "Title",
];

fn word() -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::char::range('a', 'z'), 1..10)
        .prop_map(|chars| chars.into_iter().collect())
}

/// A random PDF value whose references point at objects that exist (or will).
fn value(size: u32) -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        any::<i16>().prop_map(|n| n.to_string()),
        word().prop_map(|w| format!("({w})")),
        proptest::sample::select(NAMES).prop_map(|n| format!("/{n}")),
        (1..size + 4).prop_map(|n| format!("{n} 0 R")),
    ];
    let any_value = leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4)
                .prop_map(|items| format!("[{}]", items.join(" "))),
            proptest::collection::vec((proptest::sample::select(NAMES), inner), 0..4).prop_map(
                |entries| {
                    let body: Vec<String> =
                        entries.iter().map(|(k, v)| format!("/{k} {v}")).collect();
                    format!("<< {} >>", body.join(" "))
                }
            ),
        ]
    });
    prop_oneof![
        4 => any_value,
        1 => word().prop_map(|w| stream(&format!("BT ({w}) Tj ET"))),
    ]
}

fn stream(body: &str) -> String {
    format!("<< /Length {} >>\nstream\n{body}\nendstream", body.len())
}

fn step(size: u32) -> impl Strategy<Value = Step> {
    let role = prop_oneof![
        Just(Role::Info),
        Just(Role::DssCerts),
        Just(Role::Vri),
        Just(Role::Metadata),
        Just(Role::Extensions),
        Just(Role::Fields),
    ];
    prop_oneof![
        value(size).prop_map(Step::Orphan),
        word().prop_map(Step::Info),
        Just(Step::Dss),
        any::<Index>().prop_map(Step::Identical),
        (any::<Index>(), word()).prop_map(|(i, w)| Step::Content(i, w)),
        (any::<Index>(), value(size)).prop_map(|(i, v)| Step::Overwrite(i, v)),
        (any::<Index>(), role).prop_map(|(i, r)| Step::Disguise(i, r)),
    ]
}

/// The file as the steps leave it, revision by revision.
struct Writer {
    pdf: Vec<u8>,
    catalog: Dictionary,
    info: Option<u32>,
    next: u32,
    /// Current text of each signed object the steps rewrote.
    rewritten: HashMap<u32, String>,
}

impl Writer {
    fn new(base: &Base) -> Writer {
        Writer {
            pdf: base.pdf.clone(),
            catalog: base.catalog.1.clone(),
            info: None,
            next: base.size + 4,
            rewritten: HashMap::new(),
        }
    }

    fn fresh(&mut self) -> u32 {
        self.next += 1;
        self.next - 1
    }

    /// Appends one revision of `steps`.
    fn revision(&mut self, base: &Base, steps: &[Step], xref_stream: bool) {
        let mut objects: Vec<(u32, String)> = Vec::new();
        let mut catalog_changed = false;
        for step in steps {
            match step {
                Step::Orphan(value) => {
                    let n = self.fresh();
                    objects.push((n, value.clone()));
                }
                Step::Info(title) => {
                    let n = self.fresh();
                    objects.push((n, format!("<< /Title ({title}) /Producer (fuzz) >>")));
                    self.info = Some(n);
                }
                Step::Dss => {
                    let n = self.fresh();
                    let hex: String = base.cert_der.iter().map(|b| format!("{b:02X}")).collect();
                    objects.push((
                        n,
                        format!(
                            "<< /Length {} /Filter /ASCIIHexDecode >>\nstream\n{hex}>\nendstream",
                            hex.len() + 1
                        ),
                    ));
                    let mut dss = Dictionary::new();
                    dss.set("Certs", Object::Array(vec![Object::Reference((n, 0))]));
                    self.catalog.set("DSS", Object::Dictionary(dss));
                    catalog_changed = true;
                }
                Step::Identical(i) => {
                    let (n, text) = i.get(&base.objects);
                    objects.push((*n, text.clone()));
                }
                Step::Content(i, word) => {
                    let n = *i.get(&base.contents);
                    objects.push((n, stream(&format!("BT /F1 24 Tf 72 700 Td ({word}) Tj ET"))));
                }
                Step::Overwrite(i, value) => {
                    let (n, _) = i.get(&base.objects);
                    objects.push((*n, value.clone()));
                }
                Step::Disguise(i, role) => {
                    let target = Object::Reference((*i.get(&base.shown), 0));
                    match role {
                        Role::Info => self.info = Some(*i.get(&base.shown)),
                        Role::DssCerts | Role::Vri => {
                            let mut dss = Dictionary::new();
                            match role {
                                Role::Vri => dss.set("VRI", target),
                                _ => dss.set("Certs", Object::Array(vec![target])),
                            }
                            self.catalog.set("DSS", Object::Dictionary(dss));
                        }
                        Role::Metadata => self.catalog.set("Metadata", target),
                        Role::Extensions => self.catalog.set("Extensions", target),
                        Role::Fields => {
                            let mut form = Dictionary::new();
                            form.set("Fields", Object::Array(vec![target]));
                            self.catalog.set("AcroForm", Object::Dictionary(form));
                        }
                    }
                    catalog_changed |= !matches!(role, Role::Info);
                }
            }
        }
        if catalog_changed {
            objects.push((
                base.catalog.0,
                object_text(&Object::Dictionary(self.catalog.clone())),
            ));
        }
        // One definition per object in a revision: the last step's.
        let mut seen = BTreeSet::new();
        let mut unique: Vec<(u32, String)> = Vec::new();
        for (n, text) in objects.into_iter().rev() {
            if seen.insert(n) {
                unique.push((n, text));
            }
        }
        for (n, text) in &unique {
            self.rewritten.insert(*n, text.clone());
        }
        self.pdf = append_revision_with_info(&self.pdf, &unique, xref_stream, self.info).unwrap();
    }

    /// Whether an object the signed page tree reaches now holds another value than it was
    /// signed with (compared as parsed objects, not as text).
    fn shown_changed(&self, base: &Base) -> bool {
        let signed = lopdf::Document::load_mem(&base.pdf).unwrap();
        base.shown.iter().any(|n| {
            let Some(text) = self.rewritten.get(n) else {
                return false;
            };
            let id: ObjectId = (*n, 0);
            let parsed = lopdf::Document::load_mem(&single_object_pdf(*n, text))
                .ok()
                .and_then(|doc| doc.get_object(id).ok().cloned());
            parsed.as_ref() != signed.get_object(id).ok()
        })
    }
}

/// A minimal file holding object `n` as `text`, to parse it the way lopdf parses objects.
fn single_object_pdf(n: u32, text: &str) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n".to_vec();
    let at = out.len();
    out.extend_from_slice(format!("{n} 0 obj\n{text}\nendobj\n").as_bytes());
    let xref = out.len();
    out.extend_from_slice(
        format!(
            "xref\n0 1\n0000000000 65535 f \n{n} 1\n{at:010} 00000 n \ntrailer\n<< /Size {} >>\n\
             startxref\n{xref}\n%%EOF\n",
            n + 1
        )
        .as_bytes(),
    );
    out
}

fn verdict(pdf: &[u8], base: &Base) -> Option<Status> {
    verify::verify(
        pdf,
        std::slice::from_ref(&base.anchor),
        time::OffsetDateTime::now_utc(),
    )
    .ok()
    .map(|report| report.status)
}

fn revisions() -> impl Strategy<Value = Vec<(Vec<Step>, bool)>> {
    let size = base().size;
    proptest::collection::vec(
        (proptest::collection::vec(step(size), 1..4), any::<bool>()),
        1..7,
    )
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

/// A fixed seed, so `tests/run` judges the same sequences every time; `PROPTEST_RNG_SEED`
/// chooses another, to explore.
fn seed() -> proptest::test_runner::RngSeed {
    std::env::var("PROPTEST_RNG_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(proptest::test_runner::RngSeed::Fixed(20_261_203), |seed| {
            proptest::test_runner::RngSeed::Fixed(seed)
        })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        rng_seed: seed(),
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_updates_never_make_an_invalid_or_altered_file_valid(revisions in revisions()) {
        let base = base();
        prop_assert_eq!(verdict(&base.pdf, base), Some(Status::Valid));
        let mut writer = Writer::new(base);
        let mut was_invalid = false;
        let mut altered = false;
        let mut benign = true;
        for (steps, xref_stream) in &revisions {
            writer.revision(base, steps, *xref_stream);
            benign &= steps.iter().all(Step::benign);
            altered |= writer.shown_changed(base);
            let status = verdict(&writer.pdf, base);
            let valid = status == Some(Status::Valid);
            prop_assert!(!(was_invalid && valid), "an invalid file became valid");
            prop_assert!(!(altered && valid), "a change to what the pages show was called valid");
            if benign {
                prop_assert_eq!(status, Some(Status::Valid), "benign revisions were refused");
            }
            was_invalid |= status == Some(Status::Invalid);
        }
    }
}
