#!/usr/bin/env python3
"""External judge's raw view: pyHanko's verdict on every signature of a PDF, as JSON.

    pyhanko_report.py FILE.pdf [--no-strict-syntax]

Prints one JSON object:

    {"file": ..., "pyhanko": "0.38.0", "strict": true, "error": null,
     "revisions": N, "listing": "pyhanko" | "per_field" | "object_scan", "signatures": [
        {"index": 1, "field": "Sig1", "kind": "signature" | "doc_timestamp",
         "signed_revision": 0, "intact": bool|null, "valid": bool|null,
         "coverage": "ENTIRE_FILE" | "ENTIRE_REVISION" | "CONTIGUOUS_BLOCK_FROM_START"
                     | "UNCLEAR" | null,
         "modification_level": "NONE" | "LTA_UPDATES" | "FORM_FILLING" | "ANNOTATIONS"
                               | "OTHER" | null,
         "modification_detail": str|null, "docmdp_ok": bool|null, "error": str|null}, ...]}

Signatures (incl. document timestamps) are listed in pyHanko's order (by signed
revision, i.e. file order); "listing" says how they were found. "error" at the top
level means pyHanko refused the file: either it cannot read it at all ("signatures"
is then empty), or it cannot list its signatures (reader.embedded_signatures
raises). In the latter case the signed fields are still listed, so that the others
can be judged: field by field from the form ("listing": "per_field"; e.g. one
unparseable /Contents makes pyHanko's list raise), or, when even the form tree
cannot be walked (e.g. it is circular), by scanning every object for a /Sig field
dictionary with a /V ("listing": "object_scan"; fields inheriting /FT are missed).
A per-signature "error" means pyHanko could not parse or validate that signature
(e.g. an algorithm it does not support): intact/valid are then null, but
coverage/modification_level still come from pyHanko's integrity check when that
part could run.

No trust anchor: the trust list is empty, so every signer is untrusted, which does
not matter here (we compare integrity, coverage and modifications). Offline:
nothing is ever fetched. Exit status 0 whenever a report was printed (even for
a refused file), 2 on usage errors.

Written against pyHanko 0.38.0 / pyhanko-certvalidator 0.33.0.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from importlib.metadata import version

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import DiffResult
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation import (
    EmbeddedPdfSignature,
    validate_pdf_signature,
    validate_pdf_timestamp,
)
from pyhanko.sign.validation.status import ModificationInfo
from pyhanko_certvalidator import ValidationContext

KINDS = {"/Sig": "signature", "/DocTimeStamp": "doc_timestamp"}


class Unreadable:
    """A filled signature field whose signature pyHanko cannot parse."""

    def __init__(self, reader, fq_name: str, sig_field, error: str):
        self.field_name = fq_name
        self.error = error
        self.sig_object_type = "/Sig"
        self.signed_revision = None
        try:
            sig_ref = sig_field.get_object().raw_get("/V")
            self.sig_object_type = str(sig_ref.get_object().get("/Type", "/Sig"))
            self.signed_revision = reader.xrefs.get_last_change(sig_ref.reference)
        except Exception:  # a direct /V, or worse: order it last
            pass


def _scan_sig_fields(reader) -> list:
    """Every field dictionary with /FT /Sig and a /V, found object by object."""
    refs = {}
    for revision in range(reader.xrefs.total_revisions):
        for ref in reader.xrefs.explicit_refs_in_revision(revision):
            refs[ref.idnum] = ref
    items = []
    for idnum in sorted(refs):
        try:
            obj = reader.get_object(refs[idnum])
        except Exception:
            continue
        if not isinstance(obj, generic.DictionaryObject) or obj.get("/FT") != "/Sig" or "/V" not in obj:
            continue
        name = str(obj.get("/T", f"<object {idnum}>"))
        try:
            items.append(EmbeddedPdfSignature(reader, obj, name))
        except Exception as e:
            items.append(Unreadable(reader, name, obj, _err(e)))
    return items


def collect(reader) -> tuple[list, str | None, str]:
    """The file's signatures in signing order, pyHanko's error if it refused to list
    them, and how they were listed (see the module doc)."""
    try:
        return list(reader.embedded_signatures), None, "pyhanko"
    except Exception as e:
        error = _err(e)
    items = []
    try:
        for fq_name, _sig_obj, sig_field in enumerate_sig_fields(reader, filled_status=True):
            try:
                items.append(EmbeddedPdfSignature(reader, sig_field, fq_name))
            except Exception as e:
                items.append(Unreadable(reader, fq_name, sig_field, _err(e)))
        listing = "per_field"
    except Exception:
        items, listing = _scan_sig_fields(reader), "object_scan"
    big = reader.xrefs.total_revisions
    items.sort(key=lambda s: big if s.signed_revision is None else s.signed_revision)
    return items, error, listing


def untrusted_context() -> ValidationContext:
    # trust_roots=[] (not None: None would fall back to the OS trust list).
    return ValidationContext(trust_roots=[], allow_fetching=False, revocation_mode="soft-fail")


def _err(e: Exception) -> str:
    return f"{type(e).__name__}: {e}"


def _modification(coverage, diff_result) -> tuple[str | None, str | None]:
    """pyHanko's modification level (as its status objects derive it) and, when the
    diff analysis flagged something, its reason."""
    level = ModificationInfo(coverage=coverage, diff_result=diff_result).modification_level
    detail = None
    if diff_result is not None and not isinstance(diff_result, DiffResult):
        detail = _err(diff_result)
    return (level.name if level is not None else None), detail


def _integrity_only(emb, entry: dict) -> None:
    """Coverage and modification analysis without the CMS crypto (fallback when
    validation raised, e.g. on an unsupported algorithm)."""
    try:
        emb.compute_integrity_info()
        summary = emb.summarise_integrity_info()
    except Exception as e:
        entry["error"] += f"; integrity check raised {_err(e)}"
        return
    coverage = summary["coverage"]
    entry["coverage"] = coverage.name if coverage is not None else None
    entry["modification_level"], entry["modification_detail"] = _modification(
        coverage, summary["diff_result"]
    )
    entry["docmdp_ok"] = summary["docmdp_ok"]


def report_signature(index: int, emb) -> dict:
    kind_name = str(emb.sig_object_type)
    entry = {
        "index": index,
        "field": emb.field_name,
        "kind": KINDS.get(kind_name, kind_name),
        "signed_revision": None,
        "intact": None,
        "valid": None,
        "coverage": None,
        "modification_level": None,
        "modification_detail": None,
        "docmdp_ok": None,
        "error": None,
    }
    if isinstance(emb, Unreadable):
        entry["signed_revision"] = emb.signed_revision
        entry["error"] = f"pyHanko cannot parse the signature: {emb.error}"
        return entry
    try:
        entry["signed_revision"] = emb.signed_revision
        if kind_name == "/DocTimeStamp":
            status = validate_pdf_timestamp(emb, validation_context=untrusted_context())
        else:
            status = validate_pdf_signature(emb, signer_validation_context=untrusted_context())
    except Exception as e:  # pyHanko raises on what it cannot validate
        entry["error"] = f"validation raised {_err(e)}"
        _integrity_only(emb, entry)
        return entry
    entry["intact"] = bool(status.intact)
    entry["valid"] = bool(status.valid)
    entry["coverage"] = status.coverage.name if status.coverage is not None else None
    entry["modification_level"], entry["modification_detail"] = _modification(
        status.coverage, status.diff_result
    )
    # pyHanko leaves docmdp_ok unset on document timestamps (no DocMDP there).
    entry["docmdp_ok"] = getattr(status, "docmdp_ok", None)
    return entry


def report(path: str, strict: bool = True) -> dict:
    out = {
        "file": path,
        "pyhanko": version("pyhanko"),
        "strict": strict,
        "error": None,
        "revisions": None,
        "listing": None,
        "signatures": [],
    }
    try:
        f = open(path, "rb")
    except OSError as e:
        out["error"] = _err(e)
        return out
    with f:
        try:
            reader = PdfFileReader(f, strict=strict)
            out["revisions"] = reader.xrefs.total_revisions
        except Exception as e:  # a refused file is a verdict, not a crash
            out["error"] = _err(e)
            return out
        sigs, out["error"], out["listing"] = collect(reader)
        out["signatures"] = [report_signature(i, emb) for i, emb in enumerate(sigs, start=1)]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pdf")
    ap.add_argument(
        "--no-strict-syntax",
        action="store_true",
        help="read leniently, e.g. hybrid-reference files (as pyHanko's CLI flag)",
    )
    ap.add_argument("-v", "--verbose", action="store_true", help="show pyHanko's own log on stderr")
    args = ap.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.CRITICAL,
        format="pyhanko-log %(levelname)s %(name)s: %(message)s",
    )
    print(json.dumps(report(args.pdf, strict=not args.no_strict_syntax), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
