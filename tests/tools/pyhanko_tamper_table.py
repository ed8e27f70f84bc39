#!/usr/bin/env python3
"""Writes (or checks) tests/fixtures/pyhanko-tamper.tsv: pyHanko's verdict on each
signature of the tamper fixtures in its test corpus (every file whose name contains
"sneaky", and every file under coverage-anomalies/), for our verifier to agree with.

    pyhanko_tamper_table.py [--check] [--corpus DIR]

One row per (file, signature index), the index in pyHanko's signing order (1-based),
values as pyhanko_report.py prints them (`pyhanko_report.py CORPUS/FILE`, strict
syntax); a file pyHanko refuses to list has its rows from the per-field fallback,
null where pyHanko gives no verdict. --check compares with the checked-in table
instead of writing it (exit 1 on any difference, e.g. another pyHanko version).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from importlib.metadata import version

from pyhanko_report import report

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CORPUS = os.path.join(ROOT, "tests", ".cache", "pyhanko-0.38.0", "pyhanko_testing_commons",
                      "test_data", "data", "pdf")
TABLE = os.path.join(ROOT, "tests", "fixtures", "pyhanko-tamper.tsv")
COLUMNS = ("file", "index", "intact", "coverage", "modification_level")


def tamper_files(corpus: str) -> list[str]:
    found = []
    for dirpath, _dirs, files in os.walk(corpus):
        for name in files:
            rel = os.path.relpath(os.path.join(dirpath, name), corpus)
            if name.endswith(".pdf") and ("sneaky" in name or rel.startswith("coverage-anomalies" + os.sep)):
                found.append(rel)
    return sorted(found)


def cell(v) -> str:
    return "null" if v is None else str(v).lower() if isinstance(v, bool) else str(v)


def table(corpus: str) -> str:
    lines = [
        f"# pyHanko {version('pyhanko')} (pyhanko-certvalidator {version('pyhanko-certvalidator')}) on its own "
        "test corpus (pyhanko-0.38.0 sdist, pyhanko_testing_commons/test_data/data/pdf): "
        "`tests/.cache/venv-pyhanko/bin/python tests/tools/pyhanko_report.py CORPUS/FILE` (strict syntax, "
        "no trust anchor), one row per signature in pyHanko's signing order; written by "
        "tests/tools/pyhanko_tamper_table.py. null: pyHanko gives no verdict (it cannot parse that signature).",
        "\t".join(COLUMNS),
    ]
    for rel in tamper_files(corpus):
        r = report(os.path.join(corpus, rel))
        if not r["signatures"]:
            lines.append("\t".join([rel, "0", "null", "null", "null"]))
        for s in r["signatures"]:
            lines.append("\t".join([rel, str(s["index"])] + [cell(s[k]) for k in COLUMNS[2:]]))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare with the checked-in table, write nothing")
    ap.add_argument("--corpus", default=CORPUS)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.CRITICAL)
    text = table(args.corpus)
    if args.check:
        with open(TABLE, encoding="utf-8") as f:
            old = f.read()
        if old != text:
            sys.stdout.writelines(
                f"differs: {line}\n" for line in sorted(set(text.splitlines()) ^ set(old.splitlines()))
            )
            return 1
        print(f"{os.path.relpath(TABLE, ROOT)}: up to date")
        return 0
    with open(TABLE, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {os.path.relpath(TABLE, ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
