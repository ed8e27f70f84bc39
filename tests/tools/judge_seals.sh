#!/usr/bin/env bash
# External judges on keiyaku's seals: every valid fixture is sealed three times with
# `keiyaku seal` (the "sent" seal and two agreements, the last extended to B-LTA), and after
# each seal pyHanko validates every signature against the local root (offline, embedded
# validation data only), pdfsig (poppler/NSS) finds every seal valid and trusted, and qpdf
# checks the structure. A flipped
# byte in a signed range must make pyHanko fail. Usage: judge_seals.sh KEIYAKU_BINARY PYTHON
set -euo pipefail
KEIYAKU=$1
PYTHON=$2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
DATA="$WORK/data"
JUDGE="$ROOT/tests/tools/pyhanko_judge.py"
passed=0
failed=0
check() { # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@" >"$WORK/out.txt" 2>&1; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL: $what"; sed 's/^/    /' "$WORK/out.txt"
  fi
}
# refuses NEEDLE COMMAND...: the judge said FAIL (exit 1: not a crash, not a usage error,
# which exit otherwise) and named NEEDLE as the reason.
refuses() {
  local needle=$1 got=0 log
  shift
  log=$("$@" 2>&1) || got=$?
  echo "$log"
  [ "$got" = 1 ] && grep -qF -- "$needle" <<<"$log"
}
# verify_says FILE STATUS LEVEL: `keiyaku verify --json` against the local root.
verify_says() {
  local report
  report=$("$KEIYAKU" verify "$1" --json --trust "$DATA/pki/root.pem") || true
  python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print(r["status"], r["level"]); sys.exit(0 if (r["status"], r["level"]) == (sys.argv[2], sys.argv[3]) else 1)' \
    "$report" "$2" "$3"
}

for fixture in valid_table valid_xref_stream valid_xref_stream_no_predictor valid_hybrid \
               valid_pdf20 incremental_update incremental_xref_stream; do
  in="$ROOT/tests/fixtures/pdf/$fixture.pdf"
  prev="$in"
  for n in 1 2 3; do
    out="$WORK/$fixture-$n.pdf"
    # The last agreement's seal is extended to long-term form, as at completion.
    level=b-t
    [ "$n" = 3 ] && level=b-lta
    check "$fixture: seal $n ($level)" "$KEIYAKU" seal "$prev" "$out" --level "$level" --data-dir "$DATA" \
      --reason "同意 $n / agreement $n"
    # pyHanko refuses signatures in hybrid-reference files by policy unless asked to read
    # leniently; we seal them (they are valid PDF) and check them that way.
    lenient=()
    [ "$fixture" = valid_hybrid ] && lenient=(--no-strict-syntax)
    check "$fixture: pyHanko after seal $n" "$PYTHON" "$JUDGE" "$out" "${lenient[@]}" \
      --trust "$DATA/pki/root.pem" --expect "$level" --signatures "$n"
    check "$fixture: qpdf --check after seal $n" qpdf --check "$out"
    # poppler/NSS (Evince, Okular) with the root trusted: every seal valid and trusted.
    check "$fixture: pdfsig after seal $n" "$PYTHON" "$ROOT/tests/tools/pdfsig_judge.py" "$out" \
      --trust "$DATA/pki/root.pem" --seals "$n"
    # Our own verifier, offline, must agree: valid, and the level reached.
    expect_level=B-T
    [ "$n" = 3 ] && expect_level=B-LTA
    check "$fixture: keiyaku verify after seal $n says $expect_level" verify_says "$out" valid "$expect_level"
    prev="$out"
  done
done

# Changes appended after a seal (keiyaku_pdf::tamper: an added annotation, an edited content
# stream, an added page; in the xref-stream file each overrides objects through an xref
# stream): pyHanko and keiyaku verify must both see the seal intact and the change as more
# than form filling.
TAMPER="$(dirname "$KEIYAKU")/examples/tamper"
tamper_agree() {
  local theirs ours
  theirs=$("$PYTHON" "$ROOT/tests/tools/pyhanko_report.py" "$1")
  ours=$("$KEIYAKU" verify "$1" --json --trust "$DATA/pki/root.pem") || true
  python3 - "$theirs" "$ours" <<'PY'
import json, sys
theirs, ours = json.loads(sys.argv[1]), json.loads(sys.argv[2])
t, o = theirs["signatures"][0], ours["signatures"][0]
print("pyHanko:", t["intact"], t["modification_level"], "| keiyaku:", o["intact"], o["later_changes"], ours["status"])
ok = (t["intact"] is True and t["modification_level"] not in (None, "NONE", "LTA_UPDATES", "FORM_FILLING")
      and o["intact"] and o["later_changes"] == "not_allowed" and ours["status"] == "invalid")
sys.exit(0 if ok else 1)
PY
}
for base in valid_table valid_xref_stream; do
  flag=()
  [ "$base" = valid_xref_stream ] && flag=(--xref-stream)
  mkdir -p "$WORK/tamper-$base"
  "$TAMPER" "$WORK/$base-1.pdf" "$WORK/tamper-$base" "${flag[@]}" >/dev/null
  for f in "$WORK/tamper-$base"/*.pdf; do
    check "$base, $(basename "$f" .pdf) after the seal: pyHanko and keiyaku verify agree" tamper_agree "$f"
  done
done

# openssl: a seal's CMS verifies over its byte range, and the document timestamp is an
# RFC 3161 token over its byte range.
python3 "$ROOT/tests/tools/extract_cms.py" "$WORK/valid_table-2.pdf" "$WORK/cms.der" "$WORK/content.bin"
check "openssl cms -verify on a seal" openssl cms -verify -inform DER -in "$WORK/cms.der" \
  -content "$WORK/content.bin" -binary -CAfile "$DATA/pki/root.pem" -purpose any -out /dev/null
python3 "$ROOT/tests/tools/extract_cms.py" "$WORK/valid_table-3.pdf" "$WORK/dts.der" "$WORK/dts-content.bin"
check "openssl ts -verify on the document timestamp" openssl ts -verify -data "$WORK/dts-content.bin" \
  -in "$WORK/dts.der" -token_in -CAfile "$DATA/pki/root.pem"

bb="$WORK/bb.pdf"
check "b-b seal" "$KEIYAKU" seal "$ROOT/tests/fixtures/pdf/valid_table.pdf" "$bb" --level b-b --data-dir "$DATA"
check "pyHanko b-b" "$PYTHON" "$JUDGE" "$bb" --trust "$DATA/pki/root.pem" --expect b-b --signatures 1
check "pyHanko refuses b-t for a b-b seal: no timestamp" refuses "timestamp_validity=None" \
  "$PYTHON" "$JUDGE" "$bb" --trust "$DATA/pki/root.pem" --expect b-t
check "keiyaku verify says B-B" verify_says "$bb" valid B-B

# Tampering: one byte inside the first signed range (in the binary comment on line 2, so
# the file still parses and the signature itself is what fails).
tampered="$WORK/tampered.pdf"
cp "$WORK/valid_table-1.pdf" "$tampered"
printf 'X' | dd of="$tampered" bs=1 seek=11 conv=notrunc status=none
verdict=0
"$PYTHON" "$JUDGE" "$tampered" --trust "$DATA/pki/root.pem" --expect b-t >"$WORK/tampered.txt" 2>&1 \
  || verdict=$?
check "pyHanko refuses a flipped byte in a signed range (FAIL, exit 1)" test "$verdict" -eq 1
check "…because the signature is no longer intact" grep -q "intact=False" "$WORK/tampered.txt"
verdict=0
"$KEIYAKU" verify "$tampered" --trust "$DATA/pki/root.pem" >"$WORK/tampered.txt" 2>&1 || verdict=$?
check "keiyaku verify agrees: invalid (exit 1)" test "$verdict" -eq 1

# Another installation's root is not trusted.
other="$WORK/other"
"$KEIYAKU" seal "$ROOT/tests/fixtures/pdf/valid_table.pdf" "$WORK/other.pdf" --data-dir "$other" >/dev/null
check "pyHanko refuses a foreign root: untrusted" refuses "trusted=False" \
  "$PYTHON" "$JUDGE" "$WORK/valid_table-1.pdf" --trust "$other/pki/root.pem" --expect b-t
verdict=0
"$KEIYAKU" verify "$WORK/valid_table-1.pdf" --trust "$other/pki/root.pem" >/dev/null 2>&1 || verdict=$?
check "keiyaku verify: a foreign root is indeterminate (exit 2)" test "$verdict" -eq 2

echo "seal judges: $passed passed, $failed failed"
[ "$failed" = 0 ]
