#!/usr/bin/env bash
# Self-test of tests/tools/pyhanko_judge.py and pyhanko_judge_signed.py, independent
# of keiyaku's Rust code: builds a throwaway PKI with openssl, signs a tiny PDF in
# several ways with pyHanko (in-process DummyTimeStamper as TSA, so no network), then
# checks that the judges pass the good files and fail the bad ones for the right reason.
#
#   tests/tools/pyhanko_judge_selftest.sh
#
# Env: PYHANKO_VENV (default tests/.cache/venv-pyhanko; created if missing).
# Output: tests/.cache/judge-selftest/ (wiped on each run).
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
venv=${PYHANKO_VENV:-$repo/tests/.cache/venv-pyhanko}
out=$repo/tests/.cache/judge-selftest
judge=$repo/tests/tools/pyhanko_judge.py
judge_signed=$repo/tests/tools/pyhanko_judge_signed.py
# Pinned: pyHanko's validation API moves between releases (0.38 dropped the
# legacy LTV API); bump together with pyhanko_judge.py.
pyhanko_pins=(pyhanko==0.38.0 pyhanko-cli==0.6.0 pyhanko-certvalidator==0.33.0)

if ! "$venv/bin/python" -c 'import pyhanko, pyhanko_certvalidator' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "${pyhanko_pins[@]}"
fi
py=$venv/bin/python

rm -rf "$out"
mkdir -p "$out"
cd "$out"

# --- PKI: P-256 root, signer, TSA, plus an unrelated root -------------------
cat >pki.cnf <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
[v3_root]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[v3_signer]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
# .invalid never resolves; the judge never fetches anyway.
crlDistributionPoints = URI:http://crl.judge-selftest.invalid/root.crl
[v3_tsa]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
crlDistributionPoints = URI:http://crl.judge-selftest.invalid/root.crl
[ca]
default_ca = ca_default
[ca_default]
database = index.txt
crlnumber = crlnumber
default_md = sha256
default_crl_days = 30
EOF

newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }
# pyHanko's DummyTimeStamper signs with RSA only, so the TSA key is RSA
# (still issued by the P-256 root).
newrsakey() { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out "$1.key" 2>/dev/null; }
newroot() {
    newkey "$1"
    openssl req -x509 -new -config pki.cnf -extensions v3_root -key "$1.key" \
        -subj "/CN=$2" -days 3650 -sha256 -out "$1.pem"
}
issue() { # name CN extensions [keygen]
    "${4:-newkey}" "$1"
    openssl req -new -config pki.cnf -key "$1.key" -subj "/CN=$2" -out "$1.csr"
    openssl x509 -req -in "$1.csr" -CA root.pem -CAkey root.key -CAcreateserial \
        -days 365 -sha256 -extfile pki.cnf -extensions "$3" -out "$1.pem" 2>/dev/null
}
newroot root "Judge Selftest Root"
newroot other-root "Judge Selftest Other Root"
issue signer "Judge Selftest Signer" v3_signer
issue tsa "Judge Selftest TSA" v3_tsa newrsakey
: >index.txt
echo 01 >crlnumber
openssl ca -gencrl -config pki.cnf -keyfile root.key -cert root.pem -out root.crl.pem 2>/dev/null

# --- PDFs -------------------------------------------------------------------
"$py" - "$out" "$repo/tests/fixtures/pdf/valid_hybrid.pdf" <<'EOF'
import logging
import sys
from pathlib import Path

from asn1crypto import crl, pem
from pyhanko.keys import load_cert_from_pemder, load_private_key_from_pemder
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.signers import cms_embedder
from pyhanko.sign.signers.pdf_signer import DSSContentSettings
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko_certvalidator import ValidationContext

logging.basicConfig(level=logging.ERROR)  # "fetching is not allowed" is the point here
d = Path(sys.argv[1])
root = load_cert_from_pemder(d / "root.pem")
signer = signers.SimpleSigner.load(
    str(d / "signer.key"), str(d / "signer.pem"), ca_chain_files=[str(d / "root.pem")]
)
tsa = DummyTimeStamper(
    tsa_cert=load_cert_from_pemder(d / "tsa.pem"),
    tsa_key=load_private_key_from_pemder(d / "tsa.key", passphrase=None),
    certs_to_embed=[root],
)
MARKER = b"keiyaku judge self-test"


def tiny_pdf() -> bytes:
    content = b"BT /F1 18 Tf 72 720 Td (" + MARKER + b") Tj ET"
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    buf = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objs, start=1):
        offsets.append(len(buf))
        buf += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(buf)
    buf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    buf += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    buf += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(buf)


def sign(src: str, dst: str, field: str, *, timestamp=True, lta=False, with_crl=True,
         subfilter=fields.SigSeedSubFilter.PADES, strict=True) -> None:
    extra = {}
    if lta:
        # Revocation data comes from the local CRL only: nothing is fetched.
        crl_der = pem.unarmor((d / "root.crl.pem").read_bytes())[2]
        extra = dict(
            embed_validation_info=True,
            use_pades_lta=True,
            # Without VRI, pyHanko puts the DSS in the doc-timestamp revision
            # instead of appending a VRI-only revision after it, so the doc
            # timestamp covers the entire file as the judge demands.
            dss_settings=DSSContentSettings(include_vri=False),
            validation_context=ValidationContext(
                trust_roots=[root],
                crls=[crl.CertificateList.load(crl_der)] if with_crl else [],
                allow_fetching=False,
                revocation_mode="hard-fail" if with_crl else "soft-fail",
            ),
        )
    meta = signers.PdfSignatureMetadata(field_name=field, subfilter=subfilter, md_algorithm="sha256", **extra)
    with open(d / src, "rb") as inf, open(d / dst, "wb") as outf:
        w = IncrementalPdfFileWriter(inf, strict=strict)
        signers.sign_pdf(w, meta, signer=signer, timestamper=tsa if timestamp else None, output=outf)


(d / "unsigned.pdf").write_bytes(tiny_pdf())
sign("unsigned.pdf", "bt.pdf", "Sig1")
sign("unsigned.pdf", "bb.pdf", "Sig1", timestamp=False)
sign("bt.pdf", "bt2.pdf", "Sig2")
sign("unsigned.pdf", "adbe.pdf", "Sig1", subfilter=fields.SigSeedSubFilter.ADOBE_PKCS7_DETACHED)
sign("unsigned.pdf", "lta.pdf", "Sig1", lta=True)
sign("unsigned.pdf", "lta-nocrl.pdf", "Sig1", lta=True, with_crl=False)
# A hybrid-reference original (xref table + /XRefStm), from the project's fixtures.
(d / "hybrid.pdf").write_bytes(Path(sys.argv[2]).read_bytes())
sign("hybrid.pdf", "hybrid-bt.pdf", "Sig1", strict=False)

# One byte flipped in the page text, i.e. inside the first signed byte range.
data = bytearray((d / "bt.pdf").read_bytes())
data[data.index(MARKER)] ^= 0x01
(d / "bt-tampered.pdf").write_bytes(bytes(data))

# An unsigned incremental update after the signature that rewrites the page text.
with open(d / "bt.pdf", "rb") as inf:
    w = IncrementalPdfFileWriter(inf)
    page = w.root["/Pages"]["/Kids"][0]
    stream = generic.StreamObject(stream_data=b"BT /F1 18 Tf 72 720 Td (changed after signing) Tj ET")
    page["/Contents"] = w.add_object(stream)
    w.update_container(page)
    with open(d / "bt-appended.pdf", "wb") as outf:
        w.write(outf)

# For pyhanko_judge_signed.py ("ours" is the last, timestamped signature):
# a first signature that left /SigFlags 1, then a second one, which sets it to 3.
real_ensure_sig_flags = cms_embedder.ensure_sig_flags
cms_embedder.ensure_sig_flags = lambda writer, lock_sig_flags=True: real_ensure_sig_flags(writer, False)
sign("unsigned.pdf", "flags1.pdf", "Sig1", timestamp=False)
cms_embedder.ensure_sig_flags = real_ensure_sig_flags
sign("flags1.pdf", "flags1-2.pdf", "Sig2")
sign("bt.pdf", "bt-bb.pdf", "Sig2", timestamp=False)
# A first signature already followed by a disallowed change, then ours.
sign("bt-appended.pdf", "bt-appended-2.pdf", "Sig2")
EOF

# --- Expectations -----------------------------------------------------------
passed=0 failed=0
# case NAME WANT_EXIT NEEDLE -- JUDGE_ARGS...  (NEEDLE must appear in the output)
case_() {
    local name=$1 want=$2 needle=$3
    shift 4
    local got=0 log
    log=$("$py" "$judge" "$@" 2>&1) || got=$?
    if [[ $got == "$want" && $log == *"$needle"* ]]; then
        passed=$((passed + 1))
        echo "ok   $name"
    else
        failed=$((failed + 1))
        echo "FAIL $name: exit $got (want $want), output should contain: $needle"
    fi
    sed 's/^/     | /' <<<"$log"
}

case_ "b-t file passes b-t" 0 "PASS b-t" -- bt.pdf --trust root.pem --expect b-t --signatures 1
case_ "flipped signed byte fails" 1 "intact=False" -- bt-tampered.pdf --trust root.pem --expect b-t
case_ "no timestamp fails b-t" 1 "timestamp_validity=None" -- bb.pdf --trust root.pem --expect b-t
case_ "other trust root fails" 1 "trusted=False" -- bt.pdf --trust other-root.pem --expect b-t
case_ "no timestamp passes b-b" 0 "PASS b-b" -- bb.pdf --trust root.pem --expect b-b
case_ "two signatures pass" 0 "PASS b-t" -- bt2.pdf --trust root.pem --expect b-t --signatures 2
case_ "signature count mismatch fails" 1 "signatures: 2 signed" -- bt2.pdf --trust root.pem --expect b-t --signatures 1
case_ "unsigned update after last sig fails" 1 "expected ENTIRE_FILE" -- bt-appended.pdf --trust root.pem --expect b-t
case_ "adbe.pkcs7.detached fails" 1 "/SubFilter=/adbe.pkcs7.detached" -- adbe.pdf --trust root.pem --expect b-b
case_ "b-lta file passes b-lta" 0 "PASS b-lta" -- lta.pdf --trust root.pem --expect b-lta --signatures 1
case_ "b-lta file passes b-t" 0 "PASS b-t" -- lta.pdf --trust root.pem --expect b-t --signatures 1
case_ "b-t file fails b-lta" 1 "not a /DocTimeStamp" -- bt.pdf --trust root.pem --expect b-lta
case_ "b-lta without CRL in DSS fails" 1 "ades_subindic=" -- lta-nocrl.pdf --trust root.pem --expect b-lta
case_ "hybrid-reference file refused when strict" 1 "hybrid-reference" -- hybrid-bt.pdf --trust root.pem --expect b-t
case_ "hybrid-reference file passes non-strict" 0 "PASS b-t" -- hybrid-bt.pdf --trust root.pem --expect b-t --no-strict-syntax

# pyhanko_judge_signed.py ORIGINAL SEALED: the same case_ with that judge.
case_signed() { local judge=$judge_signed; case_ "$@"; }
case_signed "signed: second signature passes" 0 "PASS b-t" -- bt.pdf bt2.pdf --trust root.pem
case_signed "signed: /SigFlags 1 -> 3 fails" 1 "Values for dict key /SigFlags differ" -- flags1.pdf flags1-2.pdf --trust root.pem
case_signed "signed: our seal untimestamped fails b-t" 1 "timestamp_validity=None" -- bt.pdf bt-bb.pdf --trust root.pem
case_signed "signed: our seal from another root fails" 1 "trusted=False" -- bt.pdf bt2.pdf --trust other-root.pem
case_signed "signed: no seal appended fails" 1 "1 signatures, expected 2" -- bt.pdf bt-appended.pdf --trust root.pem
case_signed "signed: earlier tamper fails unless named" 1 "modification_level=OTHER after the seal (was OTHER)" -- \
    bt-appended.pdf bt-appended-2.pdf --trust root.pem
case_signed "signed: earlier tamper passes when named" 0 "PASS b-t" -- \
    bt-appended.pdf bt-appended-2.pdf --trust root.pem --preexisting-tamper
case_signed "signed: --preexisting-tamper without tamper fails" 1 "flags no signature of the original" -- \
    bt.pdf bt2.pdf --trust root.pem --preexisting-tamper
case_signed "signed: --original-refused when readable fails" 1 "lists the original's signatures" -- \
    bt.pdf bt2.pdf --trust root.pem --original-refused

# One word before the colon so CI's closing-line reader counts it.
echo "judge-selftest: $passed passed, $failed failed"
[[ $failed == 0 ]]
