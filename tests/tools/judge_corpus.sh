#!/usr/bin/env bash
# pyHanko's ~130 tricky test PDFs (MIT; from its source distribution on PyPI, fetched once
# into tests/.cache): our upload check must give each the outcome in
# tests/fixtures/pyhanko-corpus.tsv; every accepted file must seal (B-T) as an incremental
# update that our reader and qpdf accept; and pyHanko must validate the seal: where the file
# had no signature before, with pyhanko_judge.py; where it had (inspect says `signed: true`),
# with pyhanko_judge_signed.py, which also holds every earlier signature to be no worse than
# before and changed by at most form filling. The already-signed inputs of
# tests/fixtures/signed (foreign signatures, see make.py there) go through the same. Last,
# tests/fixtures/pyhanko-tamper.tsv must still be what pyHanko says.
# Usage: judge_corpus.sh KEIYAKU INSPECT PYTHON
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
# Signed inputs with a quirk that pyhanko_judge_signed.py allows only when told; it checks
# that each file really has its quirk, and at the end every entry must have been used.
# - pyHanko refuses to list the original's signatures: base.pdf's /Contents is an all-zero
#   placeholder (no CMS at all); form-tree-circular-ref-input.pdf's form tree is circular
#   (and it has no signed field). Our seal is still found and judged; an unreadable earlier
#   signature must stay just as unreadable.
ORIGINAL_REFUSED="coverage-anomalies/base.pdf form-tree-circular-ref-input.pdf"
# - pyHanko flags an earlier signature already in the original: nonstandard /ByteRange
#   coverage (coverage-anomalies/), or a later revision that rewrites an object the signed
#   revision also reaches another way (*sneaky*: via /Root/FooBar or trailer /FooBar;
#   not-all-paths: via /Root/DontOverrideMe). pyHanko's tests assert exactly these verdicts.
#   The verdict must stay the same, and our update on its own must be at most form filling.
PREEXISTING_TAMPER="coverage-anomalies/one-byterange.pdf coverage-anomalies/signature-gap-too-big.pdf
  coverage-anomalies/tail-uncovered.pdf coverage-anomalies/weird-byterange.pdf
  form-update-ap-indirect-sneaky-trailer.pdf
  form-update-no-override-appearance-stream-ap-indirect-sneaky.pdf
  form-update-override-appearance-stream-ap-indirect-sneaky.pdf
  form-update-override-appearance-stream-sneaky.pdf extensions-indirect-not-all-paths.pdf"
listed() { [[ " $(echo $1) " == *" $2 "* ]]; }
used=" "
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
passed=0
failed=0
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

# judge NAME PATH EXPECT: the upload check, the seal, and pyHanko on the sealed file.
judge() {
  local file=$1 in=$2 expect=$3 got code sealed out="$WORK/sealed.pdf" lenient=() quirks=()
  got=$("$INSPECT" "$in" | cut -f2,4)
  code=${got%%$'\t'*}
  if [ "$code" != "$expect" ]; then
    fail "$file: expected $expect, got $code"; return
  fi
  passed=$((passed + 1))
  [ "$code" = ok ] || return 0
  if ! "$KEIYAKU" seal "$in" "$out" --data-dir "$WORK/data" >"$WORK/err" 2>&1; then
    fail "$file: seal: $(cat "$WORK/err")"; return
  fi
  if ! cmp -s -n "$(stat -c %s "$in")" "$in" "$out"; then
    fail "$file: the original is not a prefix of the sealed file"; return
  fi
  sealed=$("$INSPECT" "$out" | cut -f2)
  [ "$sealed" = ok ] || { fail "$file: the sealed file reads as $sealed"; return; }
  # qpdf may warn about what the original already had; only an error fails.
  qpdf --check "$out" >"$WORK/qpdf" 2>&1 || [ $? = 3 ] || { fail "$file: qpdf: $(tail -2 "$WORK/qpdf")"; return; }
  passed=$((passed + 1))
  [[ "$got" == *"xref_kind: Hybrid"* ]] && lenient=(--no-strict-syntax)
  if [[ "$got" == *"signed: true"* ]]; then
    listed "$ORIGINAL_REFUSED" "$file" && quirks+=(--original-refused) && used+="$file "
    listed "$PREEXISTING_TAMPER" "$file" && quirks+=(--preexisting-tamper) && used+="$file "
    if "$PYTHON" "$ROOT/tests/tools/pyhanko_judge_signed.py" "$in" "$out" "${lenient[@]}" "${quirks[@]}" \
        --trust "$WORK/data/pki/root.pem" --expect b-t >"$WORK/judge" 2>&1; then
      passed=$((passed + 1))
    else
      fail "$file: pyHanko (signed input): $(tail -1 "$WORK/judge")"
      sed 's/^/    /' "$WORK/judge"
    fi
  elif "$PYTHON" "$ROOT/tests/tools/pyhanko_judge.py" "$out" "${lenient[@]}" \
      --trust "$WORK/data/pki/root.pem" --expect b-t --signatures 1 >"$WORK/judge" 2>&1; then
    passed=$((passed + 1))
  elif listed "$STRICT_REFUSED" "$file" && strict_refuses "$in"; then
    # pyHanko's strict reader refuses the original itself: not a defect of the seal.
    passed=$((passed + 1))
  else
    fail "$file: pyHanko: $(tail -1 "$WORK/judge")"
  fi
}

# strict_refuses FILE: pyHanko's strict reader refuses FILE with its own strict-read error
# (exit 3), not with any other failure (a crash or a missing module exits otherwise).
strict_refuses() {
  local got=0
  "$PYTHON" -c '
import sys
from pyhanko.pdf_utils.misc import PdfStrictReadError
from pyhanko.pdf_utils.reader import PdfFileReader
try:
    PdfFileReader(open(sys.argv[1], "rb")).root
except PdfStrictReadError:
    sys.exit(3)
' "$1" >/dev/null 2>&1 || got=$?
  [ "$got" = 3 ]
}

while IFS=$'\t' read -r file expect; do
  [ "$file" = file ] && continue
  judge "$file" "$CORPUS/$file" "$expect"
done < "$ROOT/tests/fixtures/pyhanko-corpus.tsv"
for in in "$ROOT"/tests/fixtures/signed/*.pdf; do
  judge "signed/$(basename "$in")" "$in" ok
done
for file in $ORIGINAL_REFUSED $PREEXISTING_TAMPER; do
  [[ "$used" == *" $file "* ]] || fail "$file: listed as a quirk of a signed input, but it was not judged as one"
done
# pyHanko's verdicts on the tamper fixtures, which our verifier must agree with, are still
# the checked-in ones (tests/fixtures/pyhanko-tamper.tsv).
if "$PYTHON" "$ROOT/tests/tools/pyhanko_tamper_table.py" --check --corpus "$CORPUS" >"$WORK/tamper" 2>&1; then
  passed=$((passed + 1))
else
  fail "tests/fixtures/pyhanko-tamper.tsv: pyHanko now says otherwise: $(cat "$WORK/tamper")"
fi

echo "corpus judges: $passed passed, $failed failed"
[ "$failed" = 0 ]
