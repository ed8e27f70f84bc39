#!/usr/bin/env python3
"""External judge: validate every signature in a sealed PDF with pyHanko.

    pyhanko_judge.py FILE.pdf --trust ROOT.pem --expect LEVEL [--signatures N]

LEVEL is b-b, b-t or b-lta. Prints one verdict line per signature and a final
PASS/FAIL line; exits 0 on PASS, 1 on FAIL (naming the failed fields), 2 on
usage errors. Offline: nothing is ever fetched, the only trust anchor is ROOT.

Written against pyHanko 0.38.0 / pyhanko-certvalidator 0.33.0 (see
pyhanko_judge_selftest.sh for the pinned versions).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from dataclasses import dataclass, field

from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESPassed
from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY, ModificationLevel
from pyhanko.sign.validation import (
    DocumentSecurityStore,
    SignatureCoverageLevel,
    validate_pdf_signature,
    validate_pdf_timestamp,
)
from pyhanko.sign.validation.ades import ades_lta_validation
from pyhanko.sign.validation.errors import NoDSSFoundError
from pyhanko.sign.validation.policy_decl import (
    CertificateFetchingRule,
    LocalKnowledge,
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
from pyhanko_certvalidator.policy_decl import (
    REQUIRE_REVINFO,
    CertRevTrustPolicy,
    FreshnessReqType,
)
from pyhanko_certvalidator.registry import SimpleTrustManager

LEVELS = ("b-b", "b-t", "b-lta")
PADES_SUBFILTER = "/ETSI.CAdES.detached"
DOCTS_SUBFILTER = "/ETSI.RFC3161"


@dataclass
class Verdict:
    index: int
    field_name: str
    kind: str  # '/Sig' or '/DocTimeStamp'
    info: dict = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def expect(self, ok: bool, what: str) -> None:
        if not ok:
            self.failures.append(what)

    def line(self, total: int) -> str:
        facts = [f"{k}={v}" for k, v in self.info.items()]
        head = " ".join([f"sig {self.index}/{total} {self.kind} field={self.field_name!r}", *facts])
        if self.failures:
            return f"{head} -> FAIL: " + "; ".join(self.failures)
        return f"{head} -> OK"


def cn(cert) -> str:
    if cert is None:
        return "?"
    return repr(cert.subject.native.get("common_name", cert.subject.human_friendly))


def offline_context(root, *, dss: DocumentSecurityStore | None = None) -> ValidationContext:
    # b-b/b-t carry no revocation data, so only "soft-fail" can pass: with
    # allow_fetching=False a declared-but-unreachable CRL/OCSP is tolerated.
    # (b-lta doc timestamps use it too, preloaded with the DSS; the strict
    # revocation check there is ades_lta_validation's.)
    kwargs = dict(trust_roots=[root], allow_fetching=False, revocation_mode="soft-fail")
    if dss is not None:
        return dss.as_validation_context(kwargs)
    return ValidationContext(**kwargs)


def lta_spec(root) -> PdfSignatureValidationSpec:
    # The old validate_pdf_ltv_signature/RevocationInfoValidationType API is
    # gone from pyHanko 0.38; ades_lta_validation is its replacement (it is what
    # `pyhanko sign adesverify` runs). It reads the DSS itself; we forbid every
    # online fetch so the DSS is the only source of certs and revocation data.
    cert_policy = CertValidationPolicySpec(
        trust_manager=SimpleTrustManager.build(trust_roots=[root]),
        revinfo_policy=CertRevTrustPolicy(
            REQUIRE_REVINFO,
            freshness=None,
            freshness_req_type=FreshnessReqType.MAX_DIFF_REVOCATION_VALIDATION,
        ),
    )
    spec = SignatureValidationSpec(
        cert_validation_policy=cert_policy,
        revinfo_gathering_policy=RevocationInfoGatheringSpec(
            online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY,
            certificate_fetching_rule=CertificateFetchingRule.NEVER_FETCH,
        ),
        local_knowledge=LocalKnowledge(),
    )
    return PdfSignatureValidationSpec(spec, diff_policy=DEFAULT_DIFF_POLICY)


def check_pades_cms(v: Verdict, emb) -> None:
    """PAdES baseline rules pyHanko's validator does not enforce by itself."""
    subfilter = emb.sig_object.get("/SubFilter")
    want = PADES_SUBFILTER if v.kind == "/Sig" else DOCTS_SUBFILTER
    v.expect(subfilter == want, f"/SubFilter={subfilter}, expected {want}")
    if v.kind != "/Sig":
        return
    attrs = {a["type"].native for a in emb.signer_info["signed_attrs"]}
    v.expect(
        "signing_certificate_v2" in attrs or "signing_certificate" in attrs,
        "signed_attrs: no ESS signing-certificate(-v2) attribute (PAdES B-B requires it)",
    )
    v.expect("signing_time" not in attrs, "signed_attrs: signing-time present (PAdES forbids it, use /M)")


def check_status(v: Verdict, status, *, is_last: bool, need_ts: bool) -> None:
    """Assertions shared by all levels on a PdfSignatureStatus/DocumentTimestampStatus."""
    v.expect(status.intact, "intact=False (signed byte ranges do not match the CMS digest)")
    v.expect(status.valid, "valid=False (the CMS signature does not verify)")
    # `trusted` is False whenever intact/valid are; only blame the chain if not.
    v.expect(
        status.trusted or not (status.intact and status.valid),
        f"trusted=False (no chain to --trust root; trust_problem_indic={status.trust_problem_indic})",
    )

    # Signature timestamp (regular signatures only; a /DocTimeStamp *is* one).
    if v.kind == "/Sig":
        ts = status.timestamp_validity
        if ts is None:
            v.info["timestamp"] = "none"
            v.expect(not need_ts, "timestamp_validity=None (no signature timestamp; required from b-t on)")
        else:
            v.info["timestamp"] = ts.timestamp.isoformat()
            v.info["tsa"] = cn(ts.signing_cert)
            v.expect(ts.intact, "timestamp_validity.intact=False (token imprint does not match the signature)")
            v.expect(ts.valid, "timestamp_validity.valid=False (token's CMS signature does not verify)")
            v.expect(
                ts.trusted or not (ts.intact and ts.valid),
                f"timestamp_validity.trusted=False (TSA does not chain to --trust root; "
                f"trust_problem_indic={ts.trust_problem_indic})",
            )
    else:
        v.info["timestamp"] = status.timestamp.isoformat()

    coverage, mod = status.coverage, status.modification_level
    v.info["coverage"] = coverage.name if coverage else None
    v.info["modification"] = mod.name if mod else None
    if is_last:
        v.expect(
            coverage == SignatureCoverageLevel.ENTIRE_FILE,
            f"coverage={v.info['coverage']}, expected ENTIRE_FILE (last signature must cover the whole file)",
        )
    else:
        v.expect(
            coverage is not None and coverage >= SignatureCoverageLevel.ENTIRE_REVISION,
            f"coverage={v.info['coverage']}, expected at least ENTIRE_REVISION",
        )
        # None means the diff analysis produced nothing: treat as a failure.
        v.expect(
            mod is not None and mod <= ModificationLevel.FORM_FILLING,
            f"modification_level={v.info['modification']}, expected at most FORM_FILLING",
        )
    # docmdp_ok also catches changes a certification signature's /P forbids.
    # pyHanko leaves it None on document timestamps, which carry no DocMDP.
    if v.kind == "/Sig":
        v.expect(bool(status.docmdp_ok), f"docmdp_ok={status.docmdp_ok} (modifications break the DocMDP policy)")


def judge_basic(v: Verdict, emb, root, *, is_last: bool, need_ts: bool) -> None:
    if v.kind == "/Sig":
        status = validate_pdf_signature(emb, signer_validation_context=offline_context(root))
    else:
        status = validate_pdf_timestamp(emb, validation_context=offline_context(root))
    check_status(v, status, is_last=is_last, need_ts=need_ts)


def judge_lta(v: Verdict, emb, root, *, is_last: bool, dss) -> None:
    if v.kind == "/DocTimeStamp":
        # ades_lta_validation checks the doc-timestamp chain but only logs a
        # warning when it fails, so each doc timestamp is also judged directly.
        status = validate_pdf_timestamp(emb, validation_context=offline_context(root, dss=dss))
        check_status(v, status, is_last=is_last, need_ts=True)
        return
    result = asyncio.run(ades_lta_validation(emb, lta_spec(root), timing_info=ValidationTimingInfo.now()))
    v.info["ades"] = result.ades_subindic.name
    v.expect(
        result.ades_subindic == AdESPassed.OK,
        f"ades_subindic={result.ades_subindic} ({result.failure_msg})",
    )
    v.expect(
        result.oldest_evidence_record_timestamp is not None,
        "oldest_evidence_record_timestamp=None (no valid document timestamp chain after this signature)",
    )
    if result.api_status is None:
        v.failures.append("api_status=None (validation did not get far enough to report a status)")
        return
    # On a failed ades_subindic pyHanko returns before it validates the
    # signature timestamp, so its absence from api_status means nothing then.
    passed = result.ades_subindic == AdESPassed.OK
    check_status(v, result.api_status, is_last=is_last, need_ts=passed)
    if not passed and result.api_status.timestamp_validity is None:
        v.info["timestamp"] = "not-evaluated"


def judge(path: str, root, level: str, expected_sigs: int | None, strict: bool = True) -> bool:
    failures: list[str] = []
    try:
        f = open(path, "rb")
    except OSError as e:
        print(f"pyhanko-judge: FAIL {level} {path}: {e}")
        return False
    with f:
        try:
            reader = PdfFileReader(f, strict=strict)
            sigs = reader.embedded_signatures  # signing order, incl. doc timestamps
        except Exception as e:  # a broken file is a verdict, not a crash
            print(f"pyhanko-judge: FAIL {level} {path}: cannot read signatures: {type(e).__name__}: {e}")
            return False

        regular = [s for s in sigs if s.sig_object_type == "/Sig"]
        doc_ts = [s for s in sigs if s.sig_object_type == "/DocTimeStamp"]
        print(
            f"pyhanko-judge: {path}: expect {level}, {len(regular)} signature(s), "
            f"{len(doc_ts)} document timestamp(s), {reader.xrefs.total_revisions} revision(s)"
            + ("" if strict else ", NON-STRICT syntax")
        )
        if not regular:
            failures.append("no signed /Sig field in the file")
        if expected_sigs is not None and len(regular) != expected_sigs:
            failures.append(f"signatures: {len(regular)} signed /Sig fields, expected {expected_sigs}")

        dss = None
        if level == "b-lta":
            if not sigs or sigs[-1].sig_object_type != "/DocTimeStamp":
                failures.append("b-lta: the last signature is not a /DocTimeStamp")
            try:
                dss = DocumentSecurityStore.read_dss(reader)
            except NoDSSFoundError:
                failures.append("b-lta: no /DSS in the document")

        for i, emb in enumerate(sigs, start=1):
            v = Verdict(i, emb.field_name, str(emb.sig_object_type))
            is_last = i == len(sigs)
            try:
                v.info["signer"] = cn(emb.signer_cert)
                check_pades_cms(v, emb)
                if level == "b-lta":
                    judge_lta(v, emb, root, is_last=is_last, dss=dss)
                else:
                    judge_basic(v, emb, root, is_last=is_last, need_ts=level == "b-t")
            except Exception as e:  # pyHanko raises on malformed signatures
                v.failures.append(f"validation raised {type(e).__name__}: {e}")
            print(v.line(len(sigs)))
            failures += [f"sig {i} {emb.field_name!r}: {msg}" for msg in v.failures]

    if failures:
        print(f"pyhanko-judge: FAIL {level} {path}: " + " | ".join(failures))
        return False
    print(f"pyhanko-judge: PASS {level} {path}")
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pdf")
    ap.add_argument("--trust", required=True, help="PEM/DER root certificate, the only trust anchor")
    ap.add_argument("--expect", required=True, choices=LEVELS, help="PAdES baseline level to check")
    ap.add_argument("--signatures", type=int, help="exact number of signed /Sig fields (document timestamps not counted)")
    # pyHanko refuses signatures in hybrid-reference (xref table + /XRefStm)
    # files in strict mode, since readers may disagree on their objects.
    ap.add_argument(
        "--no-strict-syntax",
        action="store_true",
        help="read leniently, e.g. to judge hybrid-reference files (weaker; as pyHanko's CLI flag)",
    )
    ap.add_argument("-v", "--verbose", action="store_true", help="show pyHanko's own log")
    args = ap.parse_args(argv)

    # pyHanko logs expected noise (e.g. soft-fail revocation) at WARNING.
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.ERROR,
        format="pyhanko-log %(levelname)s %(name)s: %(message)s",
    )
    try:
        root = load_cert_from_pemder(args.trust)
    except (OSError, ValueError) as e:
        ap.error(f"--trust {args.trust}: {e}")
    return 0 if judge(args.pdf, root, args.expect, args.signatures, strict=not args.no_strict_syntax) else 1


if __name__ == "__main__":
    sys.exit(main())
