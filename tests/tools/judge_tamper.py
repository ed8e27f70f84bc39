#!/usr/bin/env python3
"""Our verifier and pyHanko must agree on pyHanko's tampering fixtures.

    judge_tamper.py KEIYAKU CORPUS_DIR TABLE TRUST_PEM

TABLE is tests/fixtures/pyhanko-tamper.tsv (pyHanko 0.38's verdicts, made by
pyhanko_tamper_table.py). For each signature it lists, `keiyaku verify --json` must say the
same thing in its own terms:
  intact null (pyHanko cannot parse the CMS) -> signature_malformed;
  intact true                                -> intact;
  coverage ENTIRE_FILE / ENTIRE_REVISION     -> entire_file / entire_revision;
  coverage UNCLEAR / CONTIGUOUS_BLOCK_...    -> partial (and invalid);
  modification NONE                          -> later_changes none;
  modification FORM_FILLING / LTA_UPDATES    -> allowed;
  modification OTHER                         -> not_allowed, or partial coverage (invalid).
Exit 0 when every row agrees.
"""

import csv
import json
import subprocess
import sys


def main() -> int:
    keiyaku, corpus, table, trust = sys.argv[1:5]
    rows = [r for r in csv.DictReader(
        (line for line in open(table, encoding="utf-8") if not line.startswith("#")),
        delimiter="\t")]
    reports = {}
    failed = passed = 0
    for row in rows:
        name = row["file"]
        if name not in reports:
            out = subprocess.run([keiyaku, "verify", f"{corpus}/{name}", "--json", "--trust", trust],
                                 capture_output=True, text=True, timeout=120)
            reports[name] = json.loads(out.stdout) if out.stdout.strip() else None
        report = reports[name]
        index = int(row["index"]) - 1
        problems = []
        sig = report["signatures"][index] if report and index < len(report["signatures"]) else None
        if sig is None:
            problems.append("no such signature in our report")
        else:
            codes = {p["code"] for p in sig["problems"]}
            if row["intact"] == "null":
                if "signature_malformed" not in codes or sig["status"] != "invalid":
                    problems.append(f"pyHanko cannot parse it; we say {sig['status']} {sorted(codes)}")
            else:
                if (row["intact"] == "true") != sig["intact"]:
                    problems.append(f"intact {row['intact']} vs {sig['intact']}")
                coverage = {"ENTIRE_FILE": "entire_file", "ENTIRE_REVISION": "entire_revision"}.get(
                    row["coverage"], "partial")
                if coverage != sig["coverage"]:
                    problems.append(f"coverage {row['coverage']} vs {sig['coverage']}")
                level = row["modification_level"]
                ours = sig["later_changes"]
                if level == "NONE" and ours != "none":
                    problems.append(f"pyHanko sees no change; we say {ours}")
                elif level in ("FORM_FILLING", "LTA_UPDATES") and ours != "allowed":
                    problems.append(f"pyHanko allows the changes; we say {ours}")
                elif level == "OTHER" and not (ours == "not_allowed" or sig["coverage"] == "partial"):
                    problems.append(f"pyHanko refuses the changes; we say {ours}")
                if level == "OTHER" and sig["status"] != "invalid":
                    problems.append(f"pyHanko refuses it; our status is {sig['status']}")
        verdict = "ok" if not problems else "DISAGREE: " + "; ".join(problems)
        print(f"{name} #{row['index']}: {verdict}")
        if problems:
            failed += 1
        else:
            passed += 1
    print(f"tamper agreement: {passed} agree, {failed} disagree")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
