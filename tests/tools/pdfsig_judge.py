#!/usr/bin/env python3
"""poppler's pdfsig (NSS, as in Evince and Okular) on a sealed file.

    pdfsig_judge.py FILE.pdf --trust ROOT.pem --seals N     (run with the pyHanko venv)

With ROOT trusted in a fresh NSS database, every one of the N seals (ETSI.CAdES.detached)
must read "Signature is Valid." and "Certificate is Trusted."; with an empty database no
seal may read trusted (so the judge can fail). Document timestamps (ETSI.RFC3161) are
skipped: poppler 22 does not validate that type and says so.

poppler 22.12 validates the certificate of only the first signature of a run: every later
one reads "Unknown issue with Certificate" (pyHanko's own two-signature files too). So each
seal's certificate is judged in a copy whose form lists that seal first (an incremental
update reordering /AcroForm /Fields, which touches no signed byte).
"""

import argparse
import io
import os
import re
import subprocess
import sys
import tempfile


def blocks(pdf: str, nssdir: str) -> list[dict]:
    out = subprocess.run(["pdfsig", "-nssdir", f"sql:{nssdir}", pdf],
                         capture_output=True, text=True, timeout=120)
    text = out.stdout + out.stderr
    found = []
    for chunk in re.split(r"^Signature #\d+:\s*$", text, flags=re.M)[1:]:
        fields = dict(re.findall(r"^[ \t]+- ([^:\n]+): (.*)$", chunk, flags=re.M))
        found.append(fields)
    return found


def listing_first(pdf: str, k: int) -> str:
    """A copy of `pdf` whose form lists its k-th field first."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    w = IncrementalPdfFileWriter(io.BytesIO(open(pdf, "rb").read()), strict=False)
    form = w.root["/AcroForm"]
    fields = form["/Fields"]
    order = [fields.raw_get(k)] + [fields.raw_get(i) for i in range(len(fields)) if i != k]
    form[generic.NameObject("/Fields")] = generic.ArrayObject(order)
    w.update_container(form)
    path = os.path.join(tempfile.mkdtemp(), f"first-{k}.pdf")
    with open(path, "wb") as out:
        w.write(out)
    return path


def nss_db(root: str | None) -> str:
    d = tempfile.mkdtemp()
    subprocess.run(["certutil", "-N", "-d", f"sql:{d}", "--empty-password"], check=True)
    if root:
        subprocess.run(["certutil", "-A", "-d", f"sql:{d}", "-n", "keiyaku-root",
                        "-t", "CT,C,C", "-i", root], check=True)
    return d


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("pdf")
    ap.add_argument("--trust", required=True)
    ap.add_argument("--seals", type=int, required=True)
    args = ap.parse_args()
    problems = []
    trusted_db = nss_db(args.trust)
    everything = blocks(args.pdf, trusted_db)
    seals = [(k, b) for k, b in enumerate(everything) if b.get("Signature Type") == "ETSI.CAdES.detached"]
    if len(seals) != args.seals:
        problems.append(f"{len(seals)} seals found, not {args.seals}")
    for i, (k, b) in enumerate(seals, 1):
        if b.get("Signature Validation") != "Signature is Valid.":
            problems.append(f"seal {i}: {b.get('Signature Validation')}")
        first = blocks(listing_first(args.pdf, k), trusted_db)[0]
        if first.get("Signature Field Name") != b.get("Signature Field Name"):
            problems.append(f"seal {i}: the reordered copy does not list it first")
        elif first.get("Certificate Validation") != "Certificate is Trusted.":
            problems.append(f"seal {i}: {first.get('Certificate Validation')}")
    untrusted = blocks(args.pdf, nss_db(None))
    for i, b in enumerate((b for b in untrusted if b.get("Signature Type") == "ETSI.CAdES.detached"), 1):
        if b.get("Certificate Validation") == "Certificate is Trusted.":
            problems.append(f"seal {i}: trusted without the root (the judge cannot fail)")
    for p in problems:
        print("pdfsig:", p)
    print(f"pdfsig: {len(seals)} seals, {len(everything) - len(seals)} other signatures skipped,",
          "ok" if not problems else "FAILED")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
