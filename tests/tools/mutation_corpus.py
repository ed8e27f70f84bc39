#!/usr/bin/env python3
"""The mutation corpus: signed files altered after signing, and the verdicts on them.

    mutation_corpus.py KEIYAKU TRUST_PEM BASE.pdf... [--corpus DIR] [--corpus-max N]
                       [--url URL]

Every BASE (keiyaku's own seals at each level) and the signed files of pyHanko's test
corpus (DIR: those whose every signature pyHanko finds intact and unchanged) are altered
with pyHanko's IncrementalPdfFileWriter, in the ways of the forgeries below: page content
replaced, then disguised as /Info, DSS, VRI, Certs/CRLs/OCSPs, /Metadata, /Extensions, a
form field or a signature's appearance, written through an xref stream or an object
stream, over a reused object number, through a freed and re-created object; an annotation
or JavaScript added; an overlay signature field over the page; a countersignature on a
DocMDP P=1 certification. Benign changes are controls: new /Info text, a DSS added, an
indirect /Extensions updated in place, a second signer rewriting the appearance stream of
the empty field it signs (the last two are allowed by pyHanko and must be by keiyaku).

For every signature of every mutant, `keiyaku verify --json` (and, with --url, the
server's POST /api/v1/verify, for as many as its per-address limit lets through) must be as strict as pyHanko or stricter: a signature keiyaku
accepts while pyHanko does not fails the run. Every forgery must make keiyaku refuse every
signature made before it (status invalid), whatever pyHanko says; every control must leave
the verdict of a base keiyaku accepted unchanged (so the analysis cannot pass by refusing
everything). Prints the table (mutation x base: keiyaku/pyHanko, A accepts, R refuses,
. not applicable) and exits non-zero on any failure. Run with the pyHanko venv's python.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import subprocess
import sys
import tempfile
import urllib.request

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "fixtures", "signed"))
import make as make_signed  # noqa: E402
import pyhanko_report  # noqa: E402

FORGED = b"BT /F1 24 Tf 72 700 Td (FORGED: pay 10,000,000 yen) Tj ET"
N = generic.NameObject


class NotApplicable(Exception):
    """The base has nothing this mutation alters."""


def stream(data: bytes, **entries) -> generic.StreamObject:
    return generic.StreamObject(
        generic.DictionaryObject({N(k): v for k, v in entries.items()}), stream_data=data
    )


def first_page(w) -> generic.IndirectObject:
    node = w.root.raw_get("/Pages")
    for _ in range(32):
        obj = node.get_object()
        if obj.get("/Type") == "/Page":
            return node
        kids = obj["/Kids"]
        if not kids:
            raise NotApplicable("no page")
        node = kids.raw_get(0)
    raise NotApplicable("page tree too deep")


def content_ref(w) -> generic.IndirectObject:
    page = first_page(w).get_object()
    contents = page.raw_get("/Contents")
    if isinstance(contents, generic.IndirectObject) and isinstance(
        contents.get_object(), generic.ArrayObject
    ):
        contents = contents.get_object().raw_get(0)
    elif isinstance(contents, generic.ArrayObject):
        contents = contents.raw_get(0)
    if not isinstance(contents, generic.IndirectObject):
        raise NotApplicable("no indirect content stream")
    return contents


def replace_content(w) -> generic.IndirectObject:
    """Page 1 shows other text: its /Contents names a new stream. Returns the page."""
    page_ref = first_page(w)
    page = page_ref.get_object()
    page[N("/Contents")] = w.add_object(stream(FORGED))
    w.update_container(page)
    return page_ref


def overwrite_content(w) -> generic.IndirectObject:
    """Page 1's content stream object itself now holds other text. Returns its reference."""
    ref = content_ref(w)
    w.objects[(ref.generation, ref.idnum)] = stream(FORGED)
    return ref


def ensure_dss(w) -> generic.DictionaryObject:
    dss = generic.DictionaryObject()
    w.root[N("/DSS")] = w.add_object(dss)
    w.update_root()
    return dss


def get(d: generic.DictionaryObject, key: str):
    """`d[key]` dereferenced, or None."""
    return d[key] if key in d else None


def acroform(w) -> generic.DictionaryObject:
    form = get(w.root, "/AcroForm")
    if form is None:
        form = generic.DictionaryObject({N("/Fields"): generic.ArrayObject()})
        w.root[N("/AcroForm")] = w.add_object(form)
        w.update_root()
        return form
    w.update_container(form)
    fields_ = get(form, "/Fields")
    if fields_ is None:
        form[N("/Fields")] = generic.ArrayObject()
    elif isinstance(form.raw_get("/Fields"), generic.IndirectObject):
        w.update_container(fields_)
    return form


def add_widget(w, field: generic.DictionaryObject) -> generic.IndirectObject:
    """Adds a new field (merged with its widget) to the form and to page 1."""
    page_ref = first_page(w)
    field[N("/P")] = page_ref
    ref = w.add_object(field)
    acroform(w)["/Fields"].append(ref)
    add_annotation(w, page_ref, ref)
    return ref


def add_annotation(w, page_ref, ref) -> None:
    page = page_ref.get_object()
    annots = get(page, "/Annots")
    if annots is None:
        page[N("/Annots")] = generic.ArrayObject([ref])
        w.update_container(page)
    else:
        annots.append(ref)
        if isinstance(page.raw_get("/Annots"), generic.IndirectObject):
            w.update_container(annots)
        else:
            w.update_container(page)


def media_box(w) -> list:
    node = first_page(w).get_object()
    for _ in range(32):
        if "/MediaBox" in node:
            return [float(x) for x in node["/MediaBox"]]
        node = node["/Parent"]
    return [0.0, 0.0, 612.0, 792.0]


def sig_field(name: str, rect, appearance=None) -> generic.DictionaryObject:
    field = generic.DictionaryObject(
        {
            N("/FT"): N("/Sig"),
            N("/T"): generic.TextStringObject(name),
            N("/Type"): N("/Annot"),
            N("/Subtype"): N("/Widget"),
            N("/F"): generic.NumberObject(4),
            N("/Rect"): generic.ArrayObject(generic.FloatObject(x) for x in rect),
        }
    )
    if appearance is not None:
        field[N("/AP")] = generic.DictionaryObject({N("/N"): appearance})
    return field


# Each mutation alters a writer open on the base (or raises NotApplicable).
def m_content_replaced(w):
    replace_content(w)


def m_content_overwritten(w):
    overwrite_content(w)


def m_as_info(w):
    w.trailer[N("/Info")] = replace_content(w)


def m_as_info_stream(w):
    w.trailer[N("/Info")] = overwrite_content(w)


def m_as_vri(w):
    page = replace_content(w)
    ensure_dss(w)[N("/VRI")] = page


def m_as_vri_entry(w):
    ref = overwrite_content(w)
    vri = generic.DictionaryObject(
        {N("/" + "AB" * 20): generic.DictionaryObject({N("/Cert"): generic.ArrayObject([ref])})}
    )
    ensure_dss(w)[N("/VRI")] = vri


def _as_dss_array(key):
    def mutate(w):
        ref = overwrite_content(w)
        ensure_dss(w)[N(key)] = generic.ArrayObject([ref])

    return mutate


def m_as_metadata(w):
    w.root[N("/Metadata")] = overwrite_content(w)
    w.update_root()


def m_as_extensions(w):
    w.root[N("/Extensions")] = replace_content(w)
    w.update_root()


def m_as_form_field(w):
    page = replace_content(w)
    acroform(w)["/Fields"].append(page)


def m_as_signature_appearance(w):
    add_widget(w, sig_field("Appearance", [0, 0, 0, 0], overwrite_content(w)))


def m_via_xref_stream(w):
    w.stream_xrefs = True
    overwrite_content(w)


def m_via_object_stream(w):
    w.stream_xrefs = True
    page_ref = first_page(w)
    if page_ref.generation != 0:
        raise NotApplicable("page generation is not 0")
    page = page_ref.get_object()
    page[N("/Contents")] = w.add_object(stream(FORGED))
    objstm = w.prepare_object_stream()
    objstm.add_object(page_ref.idnum, page)
    w.objs_in_streams[page_ref.idnum] = page


def m_reused_number(w):
    """An object the page uses (its fonts, or its resources) rewritten under its number."""
    resources = get(first_page(w).get_object(), "/Resources")
    if resources is None:
        raise NotApplicable("no resources")
    fonts = get(resources, "/Font") or {}
    for key in fonts:
        raw = fonts.raw_get(key)
        if isinstance(raw, generic.IndirectObject):
            courier = generic.DictionaryObject(
                {
                    N("/Type"): N("/Font"),
                    N("/Subtype"): N("/Type1"),
                    N("/BaseFont"): N("/Courier-Oblique"),
                }
            )
            w.objects[(raw.generation, raw.idnum)] = courier
            return
    raw = first_page(w).get_object().raw_get("/Resources")
    if not isinstance(raw, generic.IndirectObject):
        raise NotApplicable("no indirect font or resources")
    changed = generic.DictionaryObject(dict(resources))
    changed[N("/XObject")] = generic.DictionaryObject(
        {N("/Forged"): w.add_object(stream(FORGED, **{"/Subtype": N("/Form"), "/BBox": generic.ArrayObject(generic.NumberObject(x) for x in (0, 0, 612, 792))}))}
    )
    w.objects[(raw.generation, raw.idnum)] = changed


def m_annotation_added(w):
    page_ref = first_page(w)
    annot = generic.DictionaryObject(
        {
            N("/Type"): N("/Annot"),
            N("/Subtype"): N("/FreeText"),
            N("/Rect"): generic.ArrayObject(generic.NumberObject(x) for x in (72, 600, 400, 650)),
            N("/Contents"): generic.TextStringObject("FORGED: void"),
            N("/DA"): generic.TextStringObject("/Helv 18 Tf 0 g"),
        }
    )
    add_annotation(w, page_ref, w.add_object(annot))


def m_javascript_added(w):
    w.root[N("/OpenAction")] = generic.DictionaryObject(
        {N("/S"): N("/JavaScript"), N("/JS"): generic.TextStringObject("app.alert('forged')")}
    )
    w.update_root()


def m_overlay_field(w):
    box = media_box(w)
    draw = (
        b"1 g 0 0 %d %d re f 0 g BT /Helv 24 Tf 72 700 Td (FORGED) Tj ET"
        % (int(box[2] - box[0]), int(box[3] - box[1]))
    )
    appearance = w.add_object(
        stream(
            draw,
            **{
                "/Type": N("/XObject"),
                "/Subtype": N("/Form"),
                "/BBox": generic.ArrayObject(generic.FloatObject(x) for x in (0, 0, box[2] - box[0], box[3] - box[1])),
            },
        )
    )
    add_widget(w, sig_field("Overlay", box, appearance))


def c_info_text(w):
    w.trailer[N("/Info")] = w.add_object(
        generic.DictionaryObject({N("/Title"): generic.TextStringObject("Contract (archived)")})
    )


def c_dss_added(w):
    if "/DSS" in w.root:
        raise NotApplicable("already has a DSS")
    cert_der = signer().signing_cert.dump()
    ensure_dss(w)[N("/Certs")] = generic.ArrayObject([w.add_object(stream(cert_der))])


def c_extensions_in_place(w):
    """An indirect /Extensions dictionary updated in place (pyHanko allows it)."""
    ref = w.root.raw_get("/Extensions") if "/Extensions" in w.root else None
    if not isinstance(ref, generic.IndirectObject):
        raise NotApplicable("no indirect /Extensions")
    ref.get_object()[N("/ADBE")] = generic.DictionaryObject(
        {N("/BaseVersion"): N("/1.7"), N("/ExtensionLevel"): generic.NumberObject(8)}
    )
    w.mark_update(ref)


def with_extensions(data: bytes) -> bytes:
    """The unsigned base with an indirect /Extensions dictionary, signed."""
    w = IncrementalPdfFileWriter(io.BytesIO(data))
    w.root[N("/Extensions")] = w.add_object(
        generic.DictionaryObject(
            {N("/ADBE"): generic.DictionaryObject(
                {N("/BaseVersion"): N("/1.7"), N("/ExtensionLevel"): generic.NumberObject(3)}
            )}
        )
    )
    w.update_root()
    out = io.BytesIO()
    w.write(out)
    return sign(out.getvalue(), "Signature1")


def with_empty_field(data: bytes) -> bytes:
    """The unsigned base with an empty visible signature field "Second" (its appearance an
    indirect stream), then signed in a new field "First"."""
    w = IncrementalPdfFileWriter(io.BytesIO(data))
    fields.append_signature_field(w, fields.SigFieldSpec("Second", box=(300, 50, 500, 120)))
    out = io.BytesIO()
    w.write(out)
    return sign(out.getvalue(), "First")


def second_signer_rewrites_appearance(data: bytes) -> bytes:
    """A second signer signs the empty field and rewrites that field's own appearance stream
    in place, in the same revision (pyHanko allows it)."""
    w = IncrementalPdfFileWriter(io.BytesIO(data))
    second = next(
        f.get_object() for f in w.root["/AcroForm"]["/Fields"] if f.get_object()["/T"] == "Second"
    )
    ref = second["/AP"].raw_get("/N")
    w.objects[(ref.generation, ref.idnum)] = stream(
        b"q 0.2 g 0 0 200 70 re f Q", **{
            "/Type": N("/XObject"), "/Subtype": N("/Form"),
            "/BBox": generic.ArrayObject(generic.NumberObject(x) for x in (0, 0, 200, 70)),
        }
    )
    # pyHanko's own signer would point /AP at a new stream instead; this one keeps it.
    from pyhanko.sign.signers import cms_embedder

    real = cms_embedder.SigAppearanceSetup.apply
    cms_embedder.SigAppearanceSetup.apply = lambda self, annot, writer: None
    try:
        out = signers.sign_pdf(w, signers.PdfSignatureMetadata(field_name="Second"), signer=signer())
    finally:
        cms_embedder.SigAppearanceSetup.apply = real
    return out.getvalue()


MUTATIONS = [
    ("content_replaced", m_content_replaced, True),
    ("content_overwritten", m_content_overwritten, True),
    ("as_info", m_as_info, True),
    ("as_info_stream", m_as_info_stream, True),
    ("as_dss_vri", m_as_vri, True),
    ("as_vri_entry", m_as_vri_entry, True),
    ("as_dss_certs", _as_dss_array("/Certs"), True),
    ("as_dss_crls", _as_dss_array("/CRLs"), True),
    ("as_dss_ocsps", _as_dss_array("/OCSPs"), True),
    ("as_metadata", m_as_metadata, True),
    ("as_extensions", m_as_extensions, True),
    ("as_form_field", m_as_form_field, True),
    ("as_sig_appearance", m_as_signature_appearance, True),
    ("via_xref_stream", m_via_xref_stream, True),
    ("via_object_stream", m_via_object_stream, True),
    ("reused_number", m_reused_number, True),
    ("annotation_added", m_annotation_added, True),
    ("javascript_added", m_javascript_added, True),
    ("overlay_field", m_overlay_field, True),
    ("control_info_text", c_info_text, False),
    ("control_dss_added", c_dss_added, False),
    ("control_extensions_in_place", c_extensions_in_place, False),
]

_SIGNER = None


def signer() -> signers.SimpleSigner:
    """One fresh self-signed signer per run (trust does not matter: verdicts on changes do)."""
    global _SIGNER
    if _SIGNER is None:
        _SIGNER = make_signed.foreign_signer()
    return _SIGNER


def sign(data: bytes, field: str, **meta) -> bytes:
    w = IncrementalPdfFileWriter(io.BytesIO(data))
    out = signers.sign_pdf(w, signers.PdfSignatureMetadata(field_name=field, **meta), signer=signer())
    return out.getvalue()


def countersign(data: bytes) -> bytes:
    """A second signature over a P=1 certification: what an attacker's signer does (pyHanko
    itself refuses, so its check is bypassed for this one call)."""
    from pyhanko.sign.signers import pdf_signer

    real = pdf_signer.PdfSigner._enforce_certification_constraints
    pdf_signer.PdfSigner._enforce_certification_constraints = lambda self, reader: None
    try:
        return sign(data, "Counter")
    finally:
        pdf_signer.PdfSigner._enforce_certification_constraints = real


def mutate(data: bytes, fn) -> bytes:
    w = IncrementalPdfFileWriter(io.BytesIO(data))
    fn(w)
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def freed_and_recreated(data: bytes) -> bytes:
    """Two raw revisions: the page's content stream object freed (generation + 1), then
    re-created under the next generation with other text. The page still says `N 0 R`: a
    reader that ignores generations shows the new text."""
    w = IncrementalPdfFileWriter(io.BytesIO(data))
    reader = w.prev
    ref = content_ref(w)
    if reader.xrefs.get_xref_container_info(reader.xrefs.total_revisions - 1).stream_ref is not None:
        raise NotApplicable("raw table sections after an xref stream")
    root = reader.trailer.raw_get("/Root")

    def trailer(prev: int, at: int) -> bytes:
        return b"trailer\n<< /Size %d /Root %d %d R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (
            int(reader.trailer["/Size"]), root.idnum, root.generation, prev, at)

    out = bytearray(data)
    if not out.endswith(b"\n"):
        out += b"\n"
    freed_at = len(out)
    gen = ref.generation + 1
    out += b"xref\n0 1\n0000000000 65535 f \n%d 1\n0000000000 %05d f \n" % (ref.idnum, gen)
    out += trailer(reader.last_startxref, freed_at)
    obj_at = len(out)
    out += b"%d %d obj\n<< /Length %d >>\nstream\n%s\nendstream\nendobj\n" % (
        ref.idnum, gen, len(FORGED), FORGED)
    at = len(out)
    out += b"xref\n%d 1\n%010d %05d n \n" % (ref.idnum, obj_at, gen)
    out += trailer(freed_at, at)
    return bytes(out)


def keiyaku_verdicts(keiyaku: str, trust: str, path: str, url: str | None, token: str | None = None) -> dict:
    out = subprocess.run(
        [keiyaku, "verify", path, "--json", "--trust", trust],
        capture_output=True, text=True, timeout=300,
    )
    if not out.stdout.strip():
        return {"status": "unreadable", "signatures": [], "error": out.stderr.strip()[-300:]}
    report = json.loads(out.stdout)
    if url:
        with open(path, "rb") as f:
            body = f.read()
        req = urllib.request.Request(
            url + "/api/v1/verify", data=body, method="POST",
            headers={"content-type": "application/pdf", "origin": url}
            | ({"authorization": f"Bearer {token}"} if token else {}),
        )
        try:
            with urllib.request.urlopen(req, timeout=300) as resp:
                api = json.loads(resp.read())
        except urllib.error.HTTPError as e:
            api = {"http_error": e.code}
        if api.get("http_error") == 413:
            pass  # over the route's 4 MB: keiyaku verify alone judges it
        elif "http_error" in api:
            report["api"] = f"answered HTTP {api['http_error']}"
        elif [s["later_changes"] for s in api.get("signatures", [])] != [
            s["later_changes"] for s in report["signatures"]
        ] or api.get("status") != report["status"]:
            report["api"] = f"differs: {api.get('status')} vs {report['status']}"
    return report


def keiyaku_ok(sig: dict) -> bool:
    return sig["intact"] and sig["coverage"] != "partial" and sig["later_changes"] in ("none", "allowed")


def pyhanko_ok(sig: dict) -> bool:
    return (
        sig["intact"] is not False
        and sig["coverage"] in ("ENTIRE_FILE", "ENTIRE_REVISION")
        and sig["modification_level"] not in (None, "OTHER")
        and sig["docmdp_ok"] is not False
    )


def corpus_bases(corpus: str, limit: int) -> list[str]:
    """pyHanko's signed test files whose every signature it finds intact and unchanged."""
    found = []
    for dirpath, _, files in sorted(os.walk(corpus)):
        for name in sorted(files):
            if not name.endswith(".pdf"):
                continue
            path = os.path.join(dirpath, name)
            rep = pyhanko_report.report(path)
            sigs = rep["signatures"]
            if rep["error"] or not sigs:
                continue
            if all(s["intact"] and pyhanko_ok(s) for s in sigs):
                found.append(path)
    return found[:limit]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("keiyaku")
    ap.add_argument("trust")
    ap.add_argument("bases", nargs="+")
    ap.add_argument("--corpus")
    ap.add_argument("--corpus-max", type=int, default=12)
    ap.add_argument("--url")
    # POST /api/v1/verify answers 60 files per client address in 15 minutes, and 600 an
    # hour per signed-in account: with --token every mutant goes through it.
    ap.add_argument("--url-max", type=int, default=50)
    ap.add_argument("--token")
    args = ap.parse_args()
    logging.basicConfig(level=logging.CRITICAL)

    bases = [(os.path.basename(b), open(b, "rb").read()) for b in args.bases]
    if args.corpus:
        for path in corpus_bases(args.corpus, args.corpus_max):
            bases.append(("pyhanko:" + os.path.relpath(path, args.corpus), open(path, "rb").read()))
    # A DocMDP P=1 certification (keiyaku refuses such uploads, but verifies them) and a
    # countersignature over it: a forgery of the certification's terms.
    unsigned = make_signed.BASE
    certified = sign(open(unsigned, "rb").read(), "Certification", certify=True, docmdp_permissions=fields.MDPPerm.NO_CHANGES)
    extra = [("countersign_p1", "certified-p1", certified, countersign, True)]
    # What pyHanko rightly allows, keiyaku must allow too: an indirect /Extensions updated in
    # place (a control run on every base), and a second signer rewriting the empty field's
    # own appearance stream.
    base_pdf = open(unsigned, "rb").read()
    bases.append(("extensions-indirect", with_extensions(base_pdf)))
    bases.append(("empty-field", with_empty_field(base_pdf)))
    extra.append(("control_second_signer_ap", "empty-field", bases[-1][1],
                  second_signer_rewrites_appearance, False))

    failures = []
    table = {}
    work = tempfile.mkdtemp()
    baseline = {}
    for base_name, data in bases + [("certified-p1", certified)]:
        path = os.path.join(work, "base.pdf")
        open(path, "wb").write(data)
        baseline[base_name] = keiyaku_verdicts(args.keiyaku, args.trust, path, None)

    jobs = []
    for base_name, data in bases:
        for name, fn, forgery in MUTATIONS:
            jobs.append((name, base_name, data, (lambda d, fn=fn: mutate(d, fn)), forgery))
        jobs.append(("freed_recreated", base_name, data, freed_and_recreated, True))
    jobs += extra

    posted = 0
    for name, base_name, data, make, forgery in jobs:
        try:
            mutant = make(data)
        except NotApplicable:
            table[(name, base_name)] = "."
            continue
        except Exception as e:  # pyHanko's writer refuses some bases: not applicable
            table[(name, base_name)] = "."
            print(f"  ({name} on {base_name}: not written: {type(e).__name__}: {str(e)[:120]})")
            continue
        path = os.path.join(work, "mutant.pdf")
        open(path, "wb").write(mutant)
        url = args.url if args.token or posted < args.url_max else None
        posted += url is not None
        ours = keiyaku_verdicts(args.keiyaku, args.trust, path, url, args.token)
        theirs = pyhanko_report.report(path, strict=False)
        base_count = len(baseline[base_name]["signatures"])
        problems = []
        if ours.get("api"):
            problems.append(f"POST /api/v1/verify {ours['api']}")
        k = [keiyaku_ok(s) for s in ours["signatures"]]
        p = [pyhanko_ok(s) for s in theirs["signatures"]]
        for i, (ko, po) in enumerate(zip(k, p)):
            if ko and not po:
                problems.append(f"signature {i + 1}: keiyaku accepts what pyHanko refuses")
        if forgery:
            if any(k[:base_count]):
                problems.append(f"forgery accepted for signature(s) {[i + 1 for i, x in enumerate(k[:base_count]) if x]}")
            if ours["status"] != "invalid":
                problems.append(f"forgery: status {ours['status']}")
        else:
            before = [keiyaku_ok(s) for s in baseline[base_name]["signatures"]]
            if k[:base_count] != before:
                problems.append(f"control changed the verdicts {before} -> {k[:base_count]}")
        cell = ("A" if all(k[:base_count]) else "R") + "/" + ("A" if all(p[:base_count]) else "R")
        table[(name, base_name)] = cell + ("!" if problems else "")
        for why in problems:
            failures.append(f"{name} on {base_name}: {why}")

    names = [n for n, _, _ in MUTATIONS] + ["freed_recreated"] + [n for n, *_ in extra]
    columns = [b for b, _ in bases] + ["certified-p1"]
    print("mutation corpus: keiyaku/pyHanko per base (A accepts every earlier signature, R refuses, . n/a, ! failure)")
    for i, c in enumerate(columns):
        print(f"  [{i}] {c}")
    print(f"{'mutation':22}" + "".join(f"{'[' + str(i) + ']':>6}" for i in range(len(columns))))
    for n in names:
        print(f"{n:22}" + "".join(f"{table.get((n, c), ''):>6}" for c in columns))
    for f in failures:
        print("FAIL:", f)
    judged = [v for v in table.values() if v != "."]
    failed = sum(1 for v in judged if v.endswith("!"))
    if args.url:
        print(f"({posted} mutants also through POST /api/v1/verify{'' if args.token else ', within its per-address limit'})")
    print(f"mutation corpus: {len(judged) - failed} passed, {failed} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
