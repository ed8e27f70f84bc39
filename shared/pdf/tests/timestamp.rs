//! RFC 3161 through the public API: our TSA answers our client, `openssl ts` judges our
//! tokens and rejections, and our client checks tokens that `openssl ts -reply` issues.
//!
//! Each test builds its own throwaway PKI (root → issuing CA → TSA, all P-256) with
//! `x509-cert`'s builder, as the local CA will.

use std::path::Path;
use std::process::Command;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use cms::content_info::ContentInfo;
use cms::signed_data::SignedData;
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5280::ANY_EXTENDED_KEY_USAGE;
use const_oid::db::rfc5911::ID_AA_SIGNING_CERTIFICATE_V_2;
use const_oid::db::rfc5912::{ID_KP_TIME_STAMPING, ID_SHA_1, ID_SHA_256};
use der::asn1::OctetString;
use der::{AnyRef, Decode, Encode, EncodePem, SliceReader, Tag, Tagged, pem::LineEnding};
use keiyaku_pdf::timestamp::{self, ID_CT_TST_INFO};
use keiyaku_pdf::{FailureInfo, TimestampError, TsaSigner};
use p256::ecdsa::{DerSignature, SigningKey};
use p256::pkcs8::EncodePrivateKey;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use x509_cert::Certificate;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::ext::pkix::ExtendedKeyUsage;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::{Time, Validity};
use x509_tsp::{TimeStampReq, TstInfo};

const POLICY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.99999.3161.1");

// ---------------------------------------------------------------------------------------
// A throwaway PKI.

struct Pki {
    root: Certificate,
    ca: Certificate,
    ca_key: SigningKey,
    tsa: TsaSigner,
}

fn key() -> SigningKey {
    SigningKey::random(&mut rand::rngs::OsRng)
}

fn spki(key: &SigningKey) -> SubjectPublicKeyInfoOwned {
    SubjectPublicKeyInfoOwned::from_key(*key.verifying_key()).unwrap()
}

/// Valid from an hour ago (no clock-edge flakiness) for `hours` more hours.
fn validity(hours: u64) -> Validity {
    let now = SystemTime::now();
    Validity {
        not_before: Time::try_from(now - Duration::from_secs(3600)).unwrap(),
        not_after: Time::try_from(now + Duration::from_secs(3600 * hours)).unwrap(),
    }
}

fn name(s: &str) -> Name {
    Name::from_str(s).unwrap()
}

/// A leaf under the issuing CA with the given extendedKeyUsage (none when empty).
fn leaf(
    pki_ca: &Certificate,
    ca_key: &SigningKey,
    subject: &str,
    key: &SigningKey,
    serial: u32,
    eku: &[ObjectIdentifier],
) -> Certificate {
    let mut builder = CertificateBuilder::new(
        // Leaf: basicConstraints CA false, keyUsage digitalSignature (+ nonRepudiation).
        Profile::Leaf {
            issuer: pki_ca.tbs_certificate.subject.clone(),
            enable_key_agreement: false,
            enable_key_encipherment: false,
        },
        SerialNumber::from(serial),
        validity(24),
        name(subject),
        spki(key),
        ca_key,
    )
    .unwrap();
    if !eku.is_empty() {
        // Critical unless anyExtendedKeyUsage is listed (x509-cert decides, per RFC 5280).
        builder
            .add_extension(&ExtendedKeyUsage(eku.to_vec()))
            .unwrap();
    }
    builder.build::<DerSignature>().unwrap()
}

fn pki() -> Pki {
    let root_key = key();
    let root = CertificateBuilder::new(
        Profile::Root,
        SerialNumber::from(1u32),
        validity(48),
        name("CN=keiyaku test root,O=keiyaku"),
        spki(&root_key),
        &root_key,
    )
    .unwrap()
    .build::<DerSignature>()
    .unwrap();
    let ca_key = key();
    let ca = CertificateBuilder::new(
        Profile::SubCA {
            issuer: root.tbs_certificate.subject.clone(),
            path_len_constraint: Some(0),
        },
        SerialNumber::from(2u32),
        validity(48),
        name("CN=keiyaku test issuing CA,O=keiyaku"),
        spki(&ca_key),
        &root_key,
    )
    .unwrap()
    .build::<DerSignature>()
    .unwrap();
    let tsa_key = key();
    let tsa_cert = leaf(
        &ca,
        &ca_key,
        "CN=keiyaku test TSA,O=keiyaku",
        &tsa_key,
        3,
        &[ID_KP_TIME_STAMPING],
    );
    let tsa = TsaSigner {
        key: tsa_key,
        cert: tsa_cert,
        chain: vec![ca.clone(), root.clone()],
        policy: POLICY,
    };
    Pki {
        root,
        ca,
        ca_key,
        tsa,
    }
}

// ---------------------------------------------------------------------------------------
// Helpers.

fn digest_of(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// The status and failure bits of a response, or Ok for a granted one.
fn refusal(response: &[u8]) -> Result<(), (u32, Vec<FailureInfo>)> {
    match timestamp::check_response(response, &[0; 32], None) {
        Err(TimestampError::Rejected {
            status, fail_info, ..
        }) => Err((status, fail_info)),
        Err(TimestampError::Malformed(why)) => panic!("unparsable response: {why}"),
        _ => Ok(()),
    }
}

fn signed_data(token_der: &[u8]) -> SignedData {
    let content_info = ContentInfo::from_der(token_der).unwrap();
    content_info.content.decode_as::<SignedData>().unwrap()
}

fn tst_info(signed: &SignedData) -> TstInfo {
    let content = signed.encap_content_info.econtent.as_ref().unwrap();
    TstInfo::from_der(content.value()).unwrap()
}

fn pem(certs: &[&Certificate]) -> String {
    certs
        .iter()
        .map(|c| c.to_pem(LineEnding::LF).unwrap())
        .collect()
}

/// Runs `openssl` in `dir`; `None` when it is not installed (the test then says so).
fn openssl(dir: &Path, args: &[&str]) -> Option<(bool, String)> {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Some((output.status.success(), text))
}

fn have_openssl() -> bool {
    let found = Command::new("openssl").arg("version").output().is_ok();
    if !found {
        eprintln!("openssl is not on PATH: skipping the external judge");
    }
    found
}

/// Asserts that `openssl ts -verify …` says OK, printing its words when it does not.
fn assert_verifies(dir: &Path, args: &[&str]) {
    let mut full = vec!["ts", "-verify"];
    full.extend_from_slice(args);
    let (ok, text) = openssl(dir, &full).unwrap();
    assert!(
        ok && text.contains("Verification: OK"),
        "openssl {full:?}:\n{text}"
    );
}

// ---------------------------------------------------------------------------------------
// Our client against our TSA.

#[test]
fn round_trip_with_nonce_and_certificates() {
    let pki = pki();
    let digest = digest_of(b"keiyaku contract v1");
    let nonce = 0x8000_0000_0000_0001; // high bit set: must stay a positive INTEGER
    let query = timestamp::request(&digest, Some(nonce), true);
    let at = now();
    let response = timestamp::respond(
        &query,
        &pki.tsa,
        0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10,
        at,
    );

    let token = timestamp::check_response(&response, &digest, Some(nonce)).unwrap();
    assert_eq!(token.gen_time.unix_timestamp(), at.unix_timestamp());
    assert_eq!(token.serial, (1u8..=16).collect::<Vec<_>>());
    assert_eq!(token.policy, POLICY);
    assert_eq!(token.tsa_cert, pki.tsa.cert);
    assert_eq!(token.certs.len(), 3, "TSA, issuing CA, root");

    // The token's insides, field by field, as RFC 3161 and RFC 5035 want them.
    let signed = signed_data(&token.der);
    assert_eq!(signed.encap_content_info.econtent_type, ID_CT_TST_INFO);
    assert_eq!(signed.signer_infos.0.len(), 1);
    let tst = tst_info(&signed);
    assert_eq!(tst.policy, POLICY);
    assert_eq!(tst.message_imprint.hash_algorithm.oid, ID_SHA_256);
    assert_eq!(tst.message_imprint.hashed_message.as_bytes(), digest);
    assert_eq!(tst.accuracy.unwrap().seconds, Some(1));
    assert!(!tst.ordering);
    assert_eq!(
        tst.nonce.unwrap().as_bytes(),
        [0x00, 0x80, 0, 0, 0, 0, 0, 0, 1]
    );
    assert!(tst.tsa.is_none() && tst.extensions.is_none());
    let attrs = signed.signer_infos.0.as_slice()[0]
        .signed_attrs
        .clone()
        .unwrap();
    let ess = attrs
        .iter()
        .find(|a| a.oid == ID_AA_SIGNING_CERTIFICATE_V_2)
        .expect("ESS signing-certificate-v2");
    // SigningCertificateV2 → certs → first ESSCertIDv2 → its first field is certHash:
    // hashAlgorithm is DEFAULT sha256, so DER leaves it out.
    let ess_der = ess.values.as_slice()[0].to_der().unwrap();
    let certs = first_inside(AnyRef::from_der(&ess_der).unwrap());
    let cert_id = first_inside(certs);
    let cert_hash = first_inside(cert_id);
    assert_eq!(cert_hash.tag(), Tag::OctetString);
    assert_eq!(
        cert_hash.value(),
        Sha256::digest(pki.tsa.cert.to_der().unwrap()).as_slice()
    );
    assert_eq!(attrs.len(), 3, "content-type, message-digest, ESS");
}

#[test]
fn without_cert_req_the_token_carries_no_certificates() {
    let pki = pki();
    let digest = digest_of(b"no certs please");
    let query = timestamp::request(&digest, None, false);
    let response = timestamp::respond(&query, &pki.tsa, 7, now());

    assert_eq!(
        timestamp::check_response(&response, &digest, None),
        Err(TimestampError::SignerUnknown)
    );
    let token = timestamp::check_response_with_certs(
        &response,
        &digest,
        None,
        std::slice::from_ref(&pki.tsa.cert),
    )
    .unwrap();
    assert!(token.certs.is_empty());
    assert!(signed_data(&token.der).certificates.is_none());
    // The same token checked alone, as a PDF verifier will.
    let alone =
        timestamp::check_token(&token.der, &digest, std::slice::from_ref(&pki.tsa.cert)).unwrap();
    assert_eq!(alone, token);
}

#[test]
fn a_chain_that_repeats_the_tsa_certificate_is_sent_once() {
    let mut pki = pki();
    pki.tsa.chain.insert(0, pki.tsa.cert.clone());
    pki.tsa.chain.push(pki.ca.clone());
    let digest = digest_of(b"dup");
    let response = timestamp::respond(&timestamp::request(&digest, None, true), &pki.tsa, 1, now());
    let token = timestamp::check_response(&response, &digest, None).unwrap();
    assert_eq!(token.certs.len(), 3);
}

#[test]
fn the_wrong_nonce_or_digest_is_refused() {
    let pki = pki();
    let digest = digest_of(b"the real thing");
    let response = timestamp::respond(
        &timestamp::request(&digest, Some(42), true),
        &pki.tsa,
        1,
        now(),
    );
    assert!(timestamp::check_response(&response, &digest, Some(42)).is_ok());
    // Asking without a nonce accepts a token that has one: nothing to compare.
    assert!(timestamp::check_response(&response, &digest, None).is_ok());
    assert_eq!(
        timestamp::check_response(&response, &digest, Some(43)),
        Err(TimestampError::NonceMismatch)
    );
    assert_eq!(
        timestamp::check_response(&response, &digest_of(b"something else"), Some(42)),
        Err(TimestampError::ImprintMismatch)
    );
    // A reply without a nonce does not answer a request that had one.
    let bare = timestamp::respond(&timestamp::request(&digest, None, true), &pki.tsa, 2, now());
    assert_eq!(
        timestamp::check_response(&bare, &digest, Some(42)),
        Err(TimestampError::NonceMismatch)
    );
}

#[test]
fn every_flipped_byte_of_a_token_is_caught() {
    let pki = pki();
    let digest = digest_of(b"flip me");
    let known = [pki.tsa.cert.clone()];
    // Without certificates every byte of the token is covered by some check; the certificates
    // a token carries are judged by chain validation, which comes later.
    let response = timestamp::respond(
        &timestamp::request(&digest, Some(9), false),
        &pki.tsa,
        1,
        now(),
    );
    let token = timestamp::check_response_with_certs(&response, &digest, Some(9), &known).unwrap();
    for i in 0..token.der.len() {
        let mut bad = token.der.clone();
        bad[i] ^= 0x01;
        assert!(
            timestamp::check_token(&bad, &digest, &known).is_err(),
            "flipping byte {i} of {} went unnoticed",
            bad.len()
        );
    }

    // With certificates: a flipped bit in TSTInfo or in the signature.
    let response = timestamp::respond(
        &timestamp::request(&digest, Some(9), true),
        &pki.tsa,
        2,
        now(),
    );
    let token = timestamp::check_response(&response, &digest, Some(9)).unwrap();
    let signed = signed_data(&token.der);
    let tst_der = signed
        .encap_content_info
        .econtent
        .as_ref()
        .unwrap()
        .value()
        .to_vec();
    let signature = signed.signer_infos.0.as_slice()[0]
        .signature
        .as_bytes()
        .to_vec();
    for (part, what) in [(tst_der, "TSTInfo"), (signature, "signature")] {
        let at = find(&token.der, &part) + part.len() / 2;
        let mut bad = token.der.clone();
        bad[at] ^= 0x10;
        let error = timestamp::check_token(&bad, &digest, &[]).unwrap_err();
        assert!(
            matches!(
                error,
                TimestampError::BadSignature(_) | TimestampError::Malformed(_)
            ),
            "{what}: {error:?}"
        );
    }
}

/// The first element inside a constructed DER value.
fn first_inside(outer: AnyRef<'_>) -> AnyRef<'_> {
    let mut reader = SliceReader::new(outer.value()).unwrap();
    AnyRef::decode(&mut reader).unwrap()
}

fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("part of the token")
}

#[test]
fn the_signer_certificate_must_be_for_time_stamping() {
    let pki = pki();
    let digest = digest_of(b"eku");
    for (eku, why) in [
        (vec![], "no extendedKeyUsage"),
        (
            vec![ID_KP_TIME_STAMPING, ANY_EXTENDED_KEY_USAGE],
            "extendedKeyUsage is not critical",
        ),
    ] {
        let key = key();
        let cert = leaf(&pki.ca, &pki.ca_key, "CN=not a TSA", &key, 10, &eku);
        let signer = TsaSigner {
            key,
            cert,
            chain: vec![],
            policy: POLICY,
        };
        let response =
            timestamp::respond(&timestamp::request(&digest, None, true), &signer, 1, now());
        assert_eq!(
            timestamp::check_response(&response, &digest, None),
            Err(TimestampError::NotTimestampingCertificate(why.into()))
        );
    }
}

#[test]
fn a_substituted_certificate_with_the_same_key_fails_the_ess_check() {
    // Same key, issuer and serial, another subject: the signature still verifies, so only
    // ESS signing-certificate-v2 tells the certificates apart (the attack RFC 5035 stops).
    let pki = pki();
    let twin = leaf(
        &pki.ca,
        &pki.ca_key,
        "CN=impostor",
        &pki.tsa.key,
        3,
        &[ID_KP_TIME_STAMPING],
    );
    let digest = digest_of(b"ess");
    let response = timestamp::respond(
        &timestamp::request(&digest, None, false),
        &pki.tsa,
        1,
        now(),
    );
    assert_eq!(
        timestamp::check_response_with_certs(&response, &digest, None, &[twin]),
        Err(TimestampError::SigningCertificateMismatch(
            "certHash is not the signer certificate's".into()
        ))
    );
}

// ---------------------------------------------------------------------------------------
// Rejections, in RFC 3161's own terms.

/// A TimeStampReq built field by field, for the requests `request` never makes.
fn query_with(mutate: impl FnOnce(&mut TimeStampReq)) -> Vec<u8> {
    let mut request = TimeStampReq::from_der(&timestamp::request(&[1; 32], Some(5), true)).unwrap();
    mutate(&mut request);
    request.to_der().unwrap()
}

#[test]
fn requests_we_cannot_honour_are_rejected_with_the_right_failure() {
    let pki = pki();
    let reject = |query: &[u8]| refusal(&timestamp::respond(query, &pki.tsa, 1, now()));
    let sha1 = query_with(|r| {
        r.message_imprint.hash_algorithm.oid = ID_SHA_1;
        r.message_imprint.hashed_message = OctetString::new(vec![0; 20]).unwrap();
    });
    assert_eq!(reject(&sha1), Err((2, vec![FailureInfo::BadAlg])));
    let short =
        query_with(|r| r.message_imprint.hashed_message = OctetString::new(vec![0; 20]).unwrap());
    assert_eq!(reject(&short), Err((2, vec![FailureInfo::BadDataFormat])));
    let odd_params = query_with(|r| {
        r.message_imprint.hash_algorithm.parameters = Some(der::Any::encode_from(&5u8).unwrap())
    });
    assert_eq!(reject(&odd_params), Err((2, vec![FailureInfo::BadAlg])));
    let other_policy = query_with(|r| r.req_policy = Some(ObjectIdentifier::new_unwrap("1.2.3.4")));
    assert_eq!(
        reject(&other_policy),
        Err((2, vec![FailureInfo::UnacceptedPolicy]))
    );
    let our_policy = query_with(|r| r.req_policy = Some(POLICY));
    assert_eq!(reject(&our_policy), Ok(()));
    let extended = query_with(|r| {
        r.extensions = Some(vec![x509_cert::ext::Extension {
            extn_id: ObjectIdentifier::new_unwrap("1.2.3.5"),
            critical: false,
            extn_value: OctetString::new(vec![5, 0]).unwrap(),
        }])
    });
    assert_eq!(
        reject(&extended),
        Err((2, vec![FailureInfo::UnacceptedExtension]))
    );
    let mut version_2 = timestamp::request(&[1; 32], None, false);
    version_2[4] = 2;
    assert_eq!(reject(&version_2), Err((2, vec![FailureInfo::BadRequest])));
    for garbage in [
        &b""[..],
        b"\x30\x03\x02\x01",
        b"GET / HTTP/1.1\r\n",
        &[0x30, 0x80, 0, 0],
    ] {
        assert_eq!(
            reject(garbage),
            Err((2, vec![FailureInfo::BadDataFormat])),
            "{garbage:?}"
        );
    }
    let mut trailing = timestamp::request(&[1; 32], None, false);
    trailing.push(0);
    assert_eq!(
        reject(&trailing),
        Err((2, vec![FailureInfo::BadDataFormat]))
    );
}

#[test]
fn sha384_and_sha512_imprints_are_granted() {
    let pki = pki();
    for (oid, len) in [
        (const_oid::db::rfc5912::ID_SHA_384, 48),
        (const_oid::db::rfc5912::ID_SHA_512, 64),
    ] {
        let query = query_with(|r| {
            r.message_imprint.hash_algorithm.oid = oid;
            r.message_imprint.hashed_message = OctetString::new(vec![3; len]).unwrap();
        });
        let response = timestamp::respond(&query, &pki.tsa, 1, now());
        assert_eq!(refusal(&response), Ok(()));
    }
}

#[test]
fn a_clock_outside_the_tsa_certificate_gets_time_not_available() {
    let pki = pki();
    let query = timestamp::request(&[1; 32], None, false);
    let late = now() + time::Duration::days(30);
    assert_eq!(
        refusal(&timestamp::respond(&query, &pki.tsa, 1, late)),
        Err((2, vec![FailureInfo::TimeNotAvailable]))
    );
    let before_1970 = OffsetDateTime::UNIX_EPOCH - time::Duration::days(1);
    assert_eq!(
        refusal(&timestamp::respond(&query, &pki.tsa, 1, before_1970)),
        Err((2, vec![FailureInfo::TimeNotAvailable]))
    );
}

// ---------------------------------------------------------------------------------------
// The external judge: openssl ts.

struct Workdir {
    dir: tempfile::TempDir,
}

impl Workdir {
    fn new(pki: &Pki) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let w = Workdir { dir };
        w.write("root.pem", pem(&[&pki.root]).as_bytes());
        w.write("tsa.pem", pem(&[&pki.tsa.cert]).as_bytes());
        // For certReq false: the signer and the issuing CA, neither of them trusted.
        w.write("untrusted.pem", pem(&[&pki.tsa.cert, &pki.ca]).as_bytes());
        w
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, name: &str, bytes: &[u8]) {
        std::fs::write(self.dir.path().join(name), bytes).unwrap();
    }

    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.dir.path().join(name)).unwrap()
    }
}

#[test]
fn openssl_verifies_our_tokens() {
    if !have_openssl() {
        return;
    }
    let pki = pki();
    let work = Workdir::new(&pki);
    let dir = work.path();
    let digest = digest_of(b"judge me");

    // certReq true: the token carries the chain; only the root is given.
    let query = timestamp::request(&digest, Some(0x1234_5678_9abc_def0), true);
    work.write("query.der", &query);
    work.write(
        "resp.der",
        &timestamp::respond(&query, &pki.tsa, 1000, now()),
    );
    let (ok, text) = openssl(dir, &["ts", "-reply", "-in", "resp.der", "-text"]).unwrap();
    println!("{text}");
    assert!(ok, "{text}");
    for expected in [
        "Status: Granted.",
        "Version: 1",
        "Policy OID: 1.3.6.1.4.1.99999.3161.1",
        "Hash Algorithm: sha256",
        "Serial number: 0x03E8",
        "Accuracy: 0x01 seconds, unspecified millis, unspecified micros",
        "Ordering: no",
        "Nonce: 0x123456789ABCDEF0",
        "TSA: unspecified",
        "Extensions:",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert_verifies(
        dir,
        &[
            "-queryfile",
            "query.der",
            "-in",
            "resp.der",
            "-CAfile",
            "root.pem",
        ],
    );

    // certReq false: the certificates come from -untrusted.
    let query = timestamp::request(&digest, Some(77), false);
    work.write("query2.der", &query);
    work.write(
        "resp2.der",
        &timestamp::respond(&query, &pki.tsa, 1001, now()),
    );
    assert_verifies(
        dir,
        &[
            "-queryfile",
            "query2.der",
            "-in",
            "resp2.der",
            "-CAfile",
            "root.pem",
            "-untrusted",
            "untrusted.pem",
        ],
    );

    // A query openssl makes, over a file; verified against the file itself. `openssl ts
    // -query` leaves certReq false unless told `-cert`, and -CAfile alone needs the chain.
    work.write("contract.txt", "契約書 v1\n".as_bytes());
    for hash in ["-sha256", "-sha512"] {
        let (ok, text) = openssl(
            dir,
            &[
                "ts",
                "-query",
                "-data",
                "contract.txt",
                hash,
                "-no_nonce",
                "-cert",
                "-out",
                "q.der",
            ],
        )
        .unwrap();
        assert!(ok, "{text}");
        work.write(
            "r.der",
            &timestamp::respond(&work.read("q.der"), &pki.tsa, 1002, now()),
        );
        assert_verifies(
            dir,
            &[
                "-data",
                "contract.txt",
                "-in",
                "r.der",
                "-CAfile",
                "root.pem",
            ],
        );
    }
}

#[test]
fn openssl_reads_our_rejections() {
    if !have_openssl() {
        return;
    }
    let pki = pki();
    let work = Workdir::new(&pki);
    let dir = work.path();
    work.write("data.txt", b"old hash");
    let (ok, text) = openssl(
        dir,
        &[
            "ts", "-query", "-data", "data.txt", "-sha1", "-out", "sha1.der",
        ],
    )
    .unwrap();
    assert!(ok, "{text}");
    let response = timestamp::respond(&work.read("sha1.der"), &pki.tsa, 1, now());
    assert_eq!(refusal(&response), Err((2, vec![FailureInfo::BadAlg])));
    work.write("r.der", &response);
    let (ok, text) = openssl(dir, &["ts", "-reply", "-in", "r.der", "-text"]).unwrap();
    println!("{text}");
    assert!(ok, "{text}");
    assert!(text.contains("Status: Rejected."), "{text}");
    assert!(
        text.contains("unrecognized or unsupported algorithm identifier"),
        "{text}"
    );
    assert!(text.contains("only SHA-256, SHA-384 and SHA-512"), "{text}");
    assert!(text.contains("TST info:\nNot included."), "{text}");

    work.write(
        "g.der",
        &timestamp::respond(b"\x01\x02garbage", &pki.tsa, 1, now()),
    );
    let (ok, text) = openssl(dir, &["ts", "-reply", "-in", "g.der", "-text"]).unwrap();
    assert!(ok, "{text}");
    assert!(text.contains("Status: Rejected."), "{text}");
    assert!(
        text.contains("the data submitted has the wrong format"),
        "{text}"
    );
}

#[test]
fn we_check_tokens_that_openssl_issues() {
    if !have_openssl() {
        return;
    }
    let pki = pki();
    let work = Workdir::new(&pki);
    let dir = work.path();
    work.write(
        "tsa.key",
        pki.tsa.key.to_pkcs8_pem(LineEnding::LF).unwrap().as_bytes(),
    );
    work.write("chain.pem", pem(&[&pki.ca]).as_bytes());
    work.write("serial", b"01\n");
    let config = |ess_alg: &str| {
        format!(
            "[ tsa ]\ndefault_tsa = tsa1\n[ tsa1 ]\ndir = .\nserial = ./serial\n\
             crypto_device = builtin\nsigner_cert = ./tsa.pem\ncerts = ./chain.pem\n\
             signer_key = ./tsa.key\nsigner_digest = sha256\ndefault_policy = {POLICY}\n\
             digests = sha1, sha256, sha384, sha512\naccuracy = secs:1, millisecs:500\n\
             clock_precision_digits = 3\nordering = no\ntsa_name = yes\n\
             ess_cert_id_chain = no\ness_cert_id_alg = {ess_alg}\n"
        )
    };
    let digest = digest_of(b"issued by openssl");
    work.write("q.der", &timestamp::request(&digest, Some(31337), true));

    // ESS v2 with SHA-256 and a genTime with milliseconds: accepted.
    work.write("tsa.cnf", config("sha256").as_bytes());
    let (ok, text) = openssl(
        dir,
        &[
            "ts",
            "-reply",
            "-config",
            "tsa.cnf",
            "-queryfile",
            "q.der",
            "-out",
            "r.der",
        ],
    )
    .unwrap();
    assert!(ok, "{text}");
    let token = timestamp::check_response(&work.read("r.der"), &digest, Some(31337)).unwrap();
    assert_eq!(token.tsa_cert, pki.tsa.cert);
    assert_eq!(token.policy, POLICY);
    assert!((now() - token.gen_time).abs() < time::Duration::minutes(5));
    assert!(token.certs.contains(&pki.ca));

    // openssl's default, ESS v1 (the certificate named by its SHA-1): accepted, as most
    // commercial TSAs still send it; SHA-1 only identifies the certificate there.
    work.write("tsa.cnf", config("sha1").as_bytes());
    let (ok, text) = openssl(
        dir,
        &[
            "ts",
            "-reply",
            "-config",
            "tsa.cnf",
            "-queryfile",
            "q.der",
            "-out",
            "r1.der",
        ],
    )
    .unwrap();
    assert!(ok, "{text}");
    let v1 = timestamp::check_response(&work.read("r1.der"), &digest, Some(31337)).unwrap();
    assert_eq!(v1.tsa_cert, token.tsa_cert);
}
