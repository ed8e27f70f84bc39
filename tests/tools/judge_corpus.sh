#!/usr/bin/env bash
# pyHanko's ~130 tricky test PDFs (MIT; from its source distribution on PyPI, fetched once
# into tests/.cache): our upload check must give each the outcome in
# tests/fixtures/pyhanko-corpus.tsv; every accepted file must seal (B-T) as an incremental
# update that our reader and qpdf accept; and where the file had no signature before,
# pyHanko must validate the seal. Usage: judge_corpus.sh KEIYAKU INSPECT PYTHON
set -euo pipefail
KEIYAKU=$1
INSPECT=$2
PYTHON=$3
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CACHE="$ROOT/tests/.cache"
SDIST="$CACHE/pyhanko-0.38.0"
if [ ! -d "$SDIST/pyhanko_testing_commons/test_data/data/pdf" ]; then
  "$PYTHON" -m pip download --quiet --disable-pip-version-check --no-binary :all: --no-deps \
    pyhanko==0.38.0 -d "$CACHE"
  tar xzf "$CACHE/pyhanko-0.38.0.tar.gz" -C "$CACHE"
fi
CORPUS="$SDIST/pyhanko_testing_commons/test_data/data/pdf"
# Files our reader accepts but pyHanko's strict reader refuses as they are (a generation not
# preceded by a free entry). Checked below: pyHanko must still refuse the originals, so the
# seal is not to blame.
STRICT_REFUSED="minimal-with-orphaned-xrefs.pdf"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
passed=0
failed=0
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

while IFS=$'\t' read -r file expect; do
  [ "$file" = file ] && continue
  got=$("$INSPECT" "$CORPUS/$file" | cut -f2,4)
  code=${got%%$'\t'*}
  if [ "$code" != "$expect" ]; then
    fail "$file: expected $expect, got $code"; continue
  fi
  passed=$((passed + 1))
  [ "$code" = ok ] || continue
  out="$WORK/sealed.pdf"
  if ! "$KEIYAKU" seal "$CORPUS/$file" "$out" --data-dir "$WORK/data" >"$WORK/err" 2>&1; then
    fail "$file: seal: $(cat "$WORK/err")"; continue
  fi
  if ! cmp -s -n "$(stat -c %s "$CORPUS/$file")" "$CORPUS/$file" "$out"; then
    fail "$file: the original is not a prefix of the sealed file"; continue
  fi
  sealed=$("$INSPECT" "$out" | cut -f2)
  [ "$sealed" = ok ] || { fail "$file: the sealed file reads as $sealed"; continue; }
  # qpdf may warn about what the original already had; only an error fails.
  qpdf --check "$out" >"$WORK/qpdf" 2>&1 || [ $? = 3 ] || { fail "$file: qpdf: $(tail -2 "$WORK/qpdf")"; continue; }
  passed=$((passed + 1))
  if [[ "$got" == *"signed: false"* ]]; then
    lenient=()
    [[ "$got" == *"xref_kind: Hybrid"* ]] && lenient=(--no-strict-syntax)
    if "$PYTHON" "$ROOT/tests/tools/pyhanko_judge.py" "$out" "${lenient[@]}" \
        --trust "$WORK/data/pki/root.pem" --expect b-t --signatures 1 >"$WORK/judge" 2>&1; then
      passed=$((passed + 1))
    elif [[ " $STRICT_REFUSED " == *" $file "* ]] && ! "$PYTHON" -c \
        'import sys; from pyhanko.pdf_utils.reader import PdfFileReader; PdfFileReader(open(sys.argv[1], "rb")).root' \
        "$CORPUS/$file" >/dev/null 2>&1; then
      # pyHanko's strict reader refuses the original itself: not a defect of the seal.
      passed=$((passed + 1))
    else
      fail "$file: pyHanko: $(tail -1 "$WORK/judge")"
    fi
  fi
done < "$ROOT/tests/fixtures/pyhanko-corpus.tsv"

echo "corpus judges: $passed passed, $failed failed"
[ "$failed" = 0 ]
