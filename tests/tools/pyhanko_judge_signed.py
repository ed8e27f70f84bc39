#!/usr/bin/env python3
"""External judge for sealing an already-signed PDF: pyHanko on the input and on our output.

    pyhanko_judge_signed.py ORIGINAL.pdf SEALED.pdf --trust ROOT.pem [--expect b-t]
        [--no-strict-syntax] [--original-refused] [--preexisting-tamper]

SEALED must be ORIGINAL with our seal appended as one incremental update. Checks:

  (a) our seal, the last signature: a new /Sig field in the new revision, PAdES
      (/ETSI.CAdES.detached, ESS signing-certificate, no signing-time), intact, valid,
      trusted against ROOT, with a valid trusted signature timestamp (b-t), covering
      the entire file, docmdp_ok (pyhanko_judge.py's own checks);
  (b) each earlier (foreign) signature is no worse than pyHanko found it in ORIGINAL:
      intact and valid stay true (true > unknown > false: "unknown" is pyHanko being
      unable to validate it, e.g. an algorithm it does not support, which must then
      stay so), its coverage is the same (ENTIRE_FILE becomes ENTIRE_REVISION);
      trust is not judged (foreign signers are untrusted here);
  (c) pyHanko's modification level for each earlier signature is at most
      FORM_FILLING (NONE and LTA_UPDATES too) and docmdp_ok holds; and our update on
      its own, diffed against the last revision of ORIGINAL, is at most FORM_FILLING
      (judged only when ORIGINAL has a signature; otherwise just shown).

Two quirks of inputs are allowed only when named, and each flag is itself checked
(the judge fails if the input does not have the quirk):

  --original-refused    pyHanko refuses to list ORIGINAL's signatures (e.g. an
                        unparseable /Contents, a circular form tree); SEALED's are
                        then listed field by field or by an object scan (see
                        pyhanko_report.py), an unreadable one must stay so.
  --preexisting-tamper  pyHanko already flags an earlier signature of ORIGINAL
                        (modification level above FORM_FILLING, or nonstandard
                        coverage); its verdict must then be unchanged, and our own
                        update must still be at most FORM_FILLING.

Prints one line per signature and a final PASS/FAIL line; exits 0 on PASS, 1 on
FAIL, 2 on usage errors. Offline, written against pyHanko 0.38.0.
"""

from __future__ import annotations

import argparse
import logging
import sys

from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY, DiffResult, ModificationLevel

from pyhanko_judge import Verdict, check_pades_cms, cn, judge_basic
from pyhanko_report import Unreadable, collect, report, report_signature

ALLOWED_MODS = {m.name for m in ModificationLevel if m <= ModificationLevel.FORM_FILLING}
STANDARD_COVERAGE = ("ENTIRE_FILE", "ENTIRE_REVISION")


def rank_bool(x: bool | None) -> int:
    return {True: 2, None: 1, False: 0}[x]


def rank_mod(name: str | None) -> int:
    # None (no diff analysis result) counts as the worst.
    return ModificationLevel[name].value if name is not None else len(ModificationLevel)


def flagged(sig: dict) -> bool:
    """pyHanko already objects to this signature's coverage or the changes after it."""
    return sig["coverage"] not in STANDARD_COVERAGE or sig["modification_level"] not in ALLOWED_MODS


def compare(b: dict, a: dict, *, allow_flagged: bool) -> tuple[list[str], list[str]]:
    """(failures, notes) for one earlier signature: before (b) vs after (a) our seal."""
    fails: list[str] = []
    notes: list[str] = []
    if (a["field"], a["kind"]) != (b["field"], b["kind"]):
        fails.append(f"is {a['kind']} {a['field']!r} after the seal, was {b['kind']} {b['field']!r}")
        return fails, notes
    for key in ("intact", "valid"):
        if rank_bool(a[key]) < rank_bool(b[key]):
            fails.append(f"{key}={a[key]} after the seal, was {b[key]} ({a['error'] or 'no error'})")
    if b["error"] is not None:
        notes.append(f"pyHanko could not validate it before the seal either: {b['error']}")
    want_cov = "ENTIRE_REVISION" if b["coverage"] == "ENTIRE_FILE" else b["coverage"]
    if a["coverage"] != want_cov:
        fails.append(f"coverage={a['coverage']} after the seal, expected {want_cov} (was {b['coverage']})")

    mod, was = a["modification_level"], b["modification_level"]
    if mod not in ALLOWED_MODS:
        if allow_flagged and flagged(b) and rank_mod(mod) <= rank_mod(was):
            notes.append(f"modification_level={mod} as before the seal (pre-existing)")
        else:
            fails.append(
                f"modification_level={mod} after the seal (was {was}), expected at most FORM_FILLING"
                + (f": {a['modification_detail']}" if a["modification_detail"] else "")
            )
    if a["kind"] == "signature" and a["docmdp_ok"] is not True:
        if not (allow_flagged and b["docmdp_ok"] is not True):
            fails.append(f"docmdp_ok={a['docmdp_ok']} after the seal (was {b['docmdp_ok']})")
    return fails, notes


def own_update_level(reader, base_revision: int) -> tuple[str, str | None]:
    """pyHanko's diff policy on our revision alone (base: the original's last revision)."""
    try:
        result = DEFAULT_DIFF_POLICY.review_file(reader, base_revision)
    except Exception as e:
        return "OTHER", f"review raised {type(e).__name__}: {e}"
    if isinstance(result, DiffResult):
        return result.modification_level.name, None
    return "OTHER", f"{type(result).__name__}: {result}"


def judge(original: str, sealed: str, root, level: str, *, strict: bool,
          original_refused: bool, preexisting_tamper: bool) -> bool:
    failures: list[str] = []
    tag = f"{level} {sealed}"
    before = report(original, strict=strict)
    if before["revisions"] is None:
        print(f"pyhanko-judge-signed: FAIL {tag}: pyHanko cannot read the original: {before['error']}")
        return False
    earlier = before["signatures"]
    try:
        f = open(sealed, "rb")
    except OSError as e:
        print(f"pyhanko-judge-signed: FAIL {tag}: {e}")
        return False
    with f:
        try:
            reader = PdfFileReader(f, strict=strict)
            total = reader.xrefs.total_revisions
        except Exception as e:
            print(f"pyhanko-judge-signed: FAIL {tag}: cannot read: {type(e).__name__}: {e}")
            return False
        sigs, error, listing = collect(reader)
        print(
            f"pyhanko-judge-signed: {sealed}: expect {level} over {len(earlier)} earlier signature(s); "
            f"{len(sigs)} signature(s), {total} revision(s) (original: {before['revisions']})"
            + ("" if strict else ", NON-STRICT syntax")
            + ("" if listing == "pyhanko" else f", signatures listed by {listing}")
        )

        # The named quirks, each checked.
        if original_refused:
            if before["error"] is None:
                failures.append("--original-refused, but pyHanko lists the original's signatures")
            else:
                print(f"  (pyHanko refuses the original's signatures, as listed: {before['error']})")
        elif error is not None:
            failures.append(f"pyHanko cannot list the signatures: {error}")
        if preexisting_tamper:
            if not any(flagged(s) for s in earlier):
                failures.append("--preexisting-tamper, but pyHanko flags no signature of the original")
            allow_flagged = True
        else:
            allow_flagged = original_refused

        if total != before["revisions"] + 1:
            failures.append(f"{total} revisions, expected {before['revisions'] + 1} (one appended)")
        if len(sigs) != len(earlier) + 1:
            failures.append(f"{len(sigs)} signatures, expected {len(earlier) + 1} (the original's and ours)")
        else:
            # (b), (c): earlier signatures, before vs after.
            for i, (b, emb) in enumerate(zip(earlier, sigs), start=1):
                a = report_signature(i, emb)
                fails, notes = compare(b, a, allow_flagged=allow_flagged)
                facts = " ".join(
                    f"{k}={b[k]}->{a[k]}" for k in ("intact", "valid", "coverage", "modification_level", "docmdp_ok")
                )
                head = f"sig {i}/{len(sigs)} earlier {a['kind']} field={a['field']!r} {facts}"
                print(head + (" -> FAIL: " + "; ".join(fails) if fails else " -> OK")
                      + "".join(f" [{n}]" for n in notes))
                failures += [f"sig {i} {a['field']!r}: {m}" for m in fails]

            # (a): our seal.
            emb = sigs[-1]
            n = len(sigs)
            v = Verdict(n, emb.field_name, str(emb.sig_object_type))
            if isinstance(emb, Unreadable):
                v.failures.append(f"pyHanko cannot parse it: {emb.error}")
            else:
                v.expect(v.kind == "/Sig", f"is a {v.kind}, expected /Sig")
                v.expect(emb.signed_revision == total - 1,
                         f"signed revision {emb.signed_revision}, expected the new one ({total - 1})")
                v.expect(emb.field_name not in {s["field"] for s in earlier},
                         "signs a field the original had signed already")
                try:
                    v.info["signer"] = cn(emb.signer_cert)
                    check_pades_cms(v, emb)
                    judge_basic(v, emb, root, is_last=True, need_ts=level == "b-t")
                except Exception as e:
                    v.failures.append(f"validation raised {type(e).__name__}: {e}")
            print(v.line(n).replace(f"sig {n}/{n} ", f"sig {n}/{n} ours ", 1))
            failures += [f"sig {n} {emb.field_name!r} (ours): {m}" for m in v.failures]

        # (c): our update on its own. It matters only to earlier signatures: with none,
        # it is shown but not judged (e.g. a changed /SigFlags harms no one then).
        mod, detail = own_update_level(reader, before["revisions"] - 1)
        ok = mod in ALLOWED_MODS or not earlier
        print(f"our update (revision {before['revisions']}) alone: modification_level={mod}"
              + (f" ({detail})" if detail else "")
              + (" -> OK" if mod in ALLOWED_MODS else " -> FAIL" if earlier else " -> not judged (no earlier signature)"))
        if not ok:
            failures.append(f"our update alone: modification_level={mod}, expected at most FORM_FILLING"
                            + (f": {detail}" if detail else ""))

    if failures:
        print(f"pyhanko-judge-signed: FAIL {tag}: " + " | ".join(failures))
        return False
    print(f"pyhanko-judge-signed: PASS {tag}")
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("original")
    ap.add_argument("sealed")
    ap.add_argument("--trust", required=True, help="PEM/DER root certificate, the only trust anchor for our seal")
    ap.add_argument("--expect", default="b-t", choices=("b-b", "b-t"), help="PAdES level of our seal")
    ap.add_argument("--no-strict-syntax", action="store_true",
                    help="read both files leniently, e.g. hybrid-reference files (as pyHanko's CLI flag)")
    ap.add_argument("--original-refused", action="store_true",
                    help="the input is known to be refused by pyHanko (checked)")
    ap.add_argument("--preexisting-tamper", action="store_true",
                    help="pyHanko is known to flag an earlier signature of the input already (checked)")
    ap.add_argument("-v", "--verbose", action="store_true", help="show pyHanko's own log")
    args = ap.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.CRITICAL,
        format="pyhanko-log %(levelname)s %(name)s: %(message)s",
    )
    try:
        root = load_cert_from_pemder(args.trust)
    except (OSError, ValueError) as e:
        ap.error(f"--trust {args.trust}: {e}")
    ok = judge(args.original, args.sealed, root, args.expect, strict=not args.no_strict_syntax,
               original_refused=args.original_refused, preexisting_tamper=args.preexisting_tamper)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
