#!/usr/bin/env python3
"""pyHanko's side of the seal benchmark: signs FILE with a P-256 key through pyHanko's Python
API in this one process (start-up excluded), with the same TSA over HTTP, RUNS times, and
prints p50/p95 and this process's peak RSS as JSON.
Usage: pyhanko_sign.py FILE KEY.pem CERT.pem CHAIN.pem TSA_URL LEVEL(b-t|b-lta) RUNS ROOT.pem"""
import io
import json
import sys
import time

from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers, timestamps
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko_certvalidator import ValidationContext

path, key, cert, chain, url, level, runs, root = sys.argv[1:9]
signer = signers.SimpleSigner.load(key, cert, ca_chain_files=(chain,), key_passphrase=None)
stamper = timestamps.HTTPTimeStamper(url)
data = open(path, "rb").read()
lta = level == "b-lta"
vc = ValidationContext(trust_roots=[load_cert_from_pemder(root)], allow_fetching=True) if lta else None
meta = signers.PdfSignatureMetadata(
    field_name="Sig1", subfilter=SigSeedSubFilter.PADES, md_algorithm="sha256",
    embed_validation_info=lta, use_pades_lta=lta, validation_context=vc)
times = []
for _ in range(int(runs)):
    started = time.perf_counter()
    out = io.BytesIO()
    signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(data)), meta, signer=signer,
                     timestamper=stamper, output=out)
    times.append(time.perf_counter() - started)
times.sort()
print(json.dumps({
    "p50_ms": times[len(times) // 2] * 1000,
    "p95_ms": times[min(len(times) - 1, int(len(times) * 0.95 + 0.999) - 1)] * 1000,
    # VmHWM of this process's own memory (ru_maxrss would carry the parent's from exec).
    "peak_rss_kib": int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM:")).split()[1]),
}))
