//! Signature verification for what PDF signatures, time-stamp tokens, certificates and CRLs
//! are signed with: ECDSA over P-256 or P-384, and RSA PKCS #1 v1.5 (most commercial CAs and
//! TSAs), each with SHA-256, SHA-384 or SHA-512, and Ed25519 (RFC 8419). The primitives are
//! RustCrypto's and dalek's; this module only maps algorithm identifiers to them. SHA-1
//! signatures and RSA below 2048 bits are reported as unsupported (no longer on the CRYPTREC
//! list), never as valid. Ed448 is reported as unsupported too: no released crate verifies
//! it (ed448-goldilocks signs and verifies only in its 0.14 pre-releases).

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912::{
    ECDSA_WITH_SHA_256, ECDSA_WITH_SHA_384, ECDSA_WITH_SHA_512, ID_EC_PUBLIC_KEY, ID_SHA_256,
    ID_SHA_384, ID_SHA_512, RSA_ENCRYPTION, SECP_256_R_1, SECP_384_R_1,
    SHA_256_WITH_RSA_ENCRYPTION, SHA_384_WITH_RSA_ENCRYPTION, SHA_512_WITH_RSA_ENCRYPTION,
};
use const_oid::db::rfc8410::{ID_ED_448, ID_ED_25519};
use der::Encode;
use p256::pkcs8::DecodePublicKey;
use rsa::traits::PublicKeyParts;
use sha2::{Digest, Sha256, Sha384, Sha512};
use signature::hazmat::PrehashVerifier;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

/// Why a signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// An algorithm or key this verifier does not check (the result is unknown, not bad).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The signature does not verify with this key.
    #[error("bad signature: {0}")]
    Bad(String),
    /// The key or signature does not decode.
    #[error("malformed: {0}")]
    Malformed(String),
}

/// Smallest RSA modulus accepted (CRYPTREC: 2048 bits until 2030).
const MIN_RSA_BITS: usize = 2048;

/// The digest a signature algorithm implies, or `digest` when the identifier is a bare key
/// algorithm (CMS allows `rsaEncryption` / `id-ecPublicKey` with the digest named apart).
fn digest_of(
    algorithm: &ObjectIdentifier,
    digest: Option<&ObjectIdentifier>,
) -> Result<ObjectIdentifier, VerifyError> {
    match *algorithm {
        ECDSA_WITH_SHA_256 | SHA_256_WITH_RSA_ENCRYPTION => Ok(ID_SHA_256),
        ECDSA_WITH_SHA_384 | SHA_384_WITH_RSA_ENCRYPTION => Ok(ID_SHA_384),
        ECDSA_WITH_SHA_512 | SHA_512_WITH_RSA_ENCRYPTION => Ok(ID_SHA_512),
        RSA_ENCRYPTION | ID_EC_PUBLIC_KEY => digest
            .copied()
            .ok_or_else(|| VerifyError::Unsupported(format!("{algorithm} without a digest"))),
        other => Err(VerifyError::Unsupported(format!(
            "signature algorithm {other}"
        ))),
    }
}

/// SHA-2 of `parts` concatenated, by algorithm identifier.
pub(crate) fn digest_parts(
    algorithm: &ObjectIdentifier,
    parts: &[&[u8]],
) -> Result<Vec<u8>, VerifyError> {
    fn run<D: Digest>(parts: &[&[u8]]) -> Vec<u8> {
        let mut hasher = D::new();
        for part in parts {
            hasher.update(part);
        }
        hasher.finalize().to_vec()
    }
    match *algorithm {
        ID_SHA_256 => Ok(run::<Sha256>(parts)),
        ID_SHA_384 => Ok(run::<Sha384>(parts)),
        ID_SHA_512 => Ok(run::<Sha512>(parts)),
        other => Err(VerifyError::Unsupported(format!(
            "digest algorithm {other}"
        ))),
    }
}

/// Verifies `signature` over `message` with the key in `spki`. `digest` names the hash when
/// `algorithm` is a bare key algorithm (CMS SignerInfo's digestAlgorithm).
pub(crate) fn verify(
    spki: &SubjectPublicKeyInfoOwned,
    algorithm: &AlgorithmIdentifierOwned,
    digest: Option<&ObjectIdentifier>,
    message: &[u8],
    signature: &[u8],
) -> Result<(), VerifyError> {
    verify_parts(spki, algorithm, digest, &[message], signature)
}

/// [`verify`] over `parts` concatenated (a CMS signature without signed attributes signs the
/// content itself, here the two parts of a `/ByteRange`).
pub(crate) fn verify_parts(
    spki: &SubjectPublicKeyInfoOwned,
    algorithm: &AlgorithmIdentifierOwned,
    digest: Option<&ObjectIdentifier>,
    parts: &[&[u8]],
    signature: &[u8],
) -> Result<(), VerifyError> {
    match spki.algorithm.oid {
        ID_ED_25519 => return verify_ed25519(spki, algorithm, parts, signature),
        ID_ED_448 => {
            return Err(VerifyError::Unsupported(
                "Ed448 (no released Rust crate verifies it yet)".into(),
            ));
        }
        _ => {}
    }
    let digest_oid = digest_of(&algorithm.oid, digest)?;
    let prehash = digest_parts(&digest_oid, parts)?;
    let spki_der = spki
        .to_der()
        .map_err(|e| VerifyError::Malformed(format!("public key: {e}")))?;
    match spki.algorithm.oid {
        ID_EC_PUBLIC_KEY => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
            if !matches!(
                algorithm.oid,
                ECDSA_WITH_SHA_256 | ECDSA_WITH_SHA_384 | ECDSA_WITH_SHA_512 | ID_EC_PUBLIC_KEY
            ) {
                return Err(VerifyError::Bad(format!(
                    "an EC key with algorithm {}",
                    algorithm.oid
                )));
            }
            match curve {
                Some(SECP_256_R_1) => {
                    let key = p256::ecdsa::VerifyingKey::from_public_key_der(&spki_der)
                        .map_err(|e| VerifyError::Malformed(format!("P-256 key: {e}")))?;
                    let sig = p256::ecdsa::DerSignature::from_bytes(signature)
                        .map_err(|e| VerifyError::Bad(format!("signature encoding: {e}")))?;
                    key.verify_prehash(&prehash, &sig)
                        .map_err(|_| VerifyError::Bad("ECDSA P-256 signature".into()))
                }
                Some(SECP_384_R_1) => {
                    let key = p384::ecdsa::VerifyingKey::from_public_key_der(&spki_der)
                        .map_err(|e| VerifyError::Malformed(format!("P-384 key: {e}")))?;
                    let sig = p384::ecdsa::DerSignature::from_bytes(signature)
                        .map_err(|e| VerifyError::Bad(format!("signature encoding: {e}")))?;
                    key.verify_prehash(&prehash, &sig)
                        .map_err(|_| VerifyError::Bad("ECDSA P-384 signature".into()))
                }
                other => Err(VerifyError::Unsupported(format!("EC curve {other:?}"))),
            }
        }
        RSA_ENCRYPTION => {
            if !matches!(
                algorithm.oid,
                SHA_256_WITH_RSA_ENCRYPTION
                    | SHA_384_WITH_RSA_ENCRYPTION
                    | SHA_512_WITH_RSA_ENCRYPTION
                    | RSA_ENCRYPTION
            ) {
                return Err(VerifyError::Unsupported(format!(
                    "RSA with algorithm {}",
                    algorithm.oid
                )));
            }
            let key = rsa::RsaPublicKey::from_public_key_der(&spki_der)
                .map_err(|e| VerifyError::Malformed(format!("RSA key: {e}")))?;
            if key.size() * 8 < MIN_RSA_BITS {
                return Err(VerifyError::Unsupported(format!(
                    "RSA key of {} bits",
                    key.size() * 8
                )));
            }
            let scheme = match digest_oid {
                ID_SHA_256 => rsa::Pkcs1v15Sign::new::<Sha256>(),
                ID_SHA_384 => rsa::Pkcs1v15Sign::new::<Sha384>(),
                _ => rsa::Pkcs1v15Sign::new::<Sha512>(),
            };
            key.verify(scheme, &prehash, signature)
                .map_err(|_| VerifyError::Bad("RSA PKCS #1 v1.5 signature".into()))
        }
        other => Err(VerifyError::Unsupported(format!("key algorithm {other}"))),
    }
}

/// PureEdDSA over the message itself (RFC 8419 §3: whatever digestAlgorithm a SignerInfo
/// names, Ed25519 hashes internally); strict verification refuses malleable signatures and
/// small-order keys.
fn verify_ed25519(
    spki: &SubjectPublicKeyInfoOwned,
    algorithm: &AlgorithmIdentifierOwned,
    parts: &[&[u8]],
    signature: &[u8],
) -> Result<(), VerifyError> {
    if algorithm.oid != ID_ED_25519 || algorithm.parameters.is_some() {
        return Err(VerifyError::Bad(format!(
            "an Ed25519 key with algorithm {}",
            algorithm.oid
        )));
    }
    let key: [u8; 32] = spki
        .subject_public_key
        .as_bytes()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| VerifyError::Malformed("an Ed25519 key is 32 bytes".into()))?;
    let key = ed25519_dalek::VerifyingKey::from_bytes(&key)
        .map_err(|e| VerifyError::Malformed(format!("Ed25519 key: {e}")))?;
    let signature = ed25519_dalek::Signature::from_slice(signature)
        .map_err(|e| VerifyError::Bad(format!("signature encoding: {e}")))?;
    let message = parts.concat();
    key.verify_strict(&message, &signature)
        .map_err(|_| VerifyError::Bad("Ed25519 signature".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::Decode;
    use p256::ecdsa::signature::Signer;
    use p256::pkcs8::EncodePublicKey;

    fn p256_spki(key: &p256::ecdsa::SigningKey) -> SubjectPublicKeyInfoOwned {
        let der = key.verifying_key().to_public_key_der().unwrap();
        SubjectPublicKeyInfoOwned::from_der(der.as_bytes()).unwrap()
    }

    fn alg(oid: ObjectIdentifier) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid,
            parameters: None,
        }
    }

    /// A self-signed certificate made by openssl with `args` (key options): its signature
    /// must verify with its own key, and not once a byte of what it signs changes.
    fn openssl_self_signed(args: &[&str]) -> x509_cert::Certificate {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("cert.der");
        let out = std::process::Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-nodes",
                "-subj",
                "/CN=keiyaku crypto test",
                "-days",
                "1",
            ])
            .args(args)
            .arg("-keyout")
            .arg(dir.path().join("key.pem"))
            .args(["-outform", "DER", "-out"])
            .arg(&cert)
            .output()
            .expect("openssl on PATH");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        x509_cert::Certificate::from_der(&std::fs::read(cert).unwrap()).unwrap()
    }

    fn check_self_signature(cert: &x509_cert::Certificate) -> Result<(), VerifyError> {
        let tbs = cert.tbs_certificate.to_der().unwrap();
        verify(
            &cert.tbs_certificate.subject_public_key_info,
            &cert.signature_algorithm,
            None,
            &tbs,
            cert.signature.raw_bytes(),
        )
    }

    #[test]
    fn rsa_and_p384_signatures_made_by_openssl_verify() {
        for args in [
            &["-newkey", "rsa:2048", "-sha256"][..],
            &["-newkey", "rsa:3072", "-sha384"][..],
            &[
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-384",
                "-sha384",
            ][..],
        ] {
            let cert = openssl_self_signed(args);
            assert_eq!(check_self_signature(&cert), Ok(()), "{args:?}");
            let mut altered = cert.clone();
            altered.tbs_certificate.serial_number =
                x509_cert::serial_number::SerialNumber::from(42u32);
            assert!(
                matches!(check_self_signature(&altered), Err(VerifyError::Bad(_))),
                "{args:?}"
            );
        }
        // Too small an RSA key is not checked at all.
        let small = openssl_self_signed(&["-newkey", "rsa:1024", "-sha256"]);
        assert!(matches!(
            check_self_signature(&small),
            Err(VerifyError::Unsupported(_))
        ));
    }

    #[test]
    fn ed25519_made_by_openssl_verifies_and_ed448_is_unsupported() {
        let cert = openssl_self_signed(&["-newkey", "ed25519"]);
        assert_eq!(check_self_signature(&cert), Ok(()));
        let mut altered = cert.clone();
        altered.tbs_certificate.serial_number = x509_cert::serial_number::SerialNumber::from(42u32);
        assert!(matches!(
            check_self_signature(&altered),
            Err(VerifyError::Bad(_))
        ));
        // An Ed25519 key does not verify under another algorithm's name.
        let tbs = cert.tbs_certificate.to_der().unwrap();
        let renamed = verify(
            &cert.tbs_certificate.subject_public_key_info,
            &alg(ECDSA_WITH_SHA_256),
            None,
            &tbs,
            cert.signature.raw_bytes(),
        );
        assert!(matches!(renamed, Err(VerifyError::Bad(_))));
        let ed448 = openssl_self_signed(&["-newkey", "ed448"]);
        assert!(matches!(
            check_self_signature(&ed448),
            Err(VerifyError::Unsupported(_))
        ));
    }

    #[test]
    fn ecdsa_verifies_and_refuses_another_message_or_a_foreign_algorithm() {
        let key = p256::ecdsa::SigningKey::from_slice(&[7; 32]).unwrap();
        let sig: p256::ecdsa::DerSignature = key.sign(b"message");
        let spki = p256_spki(&key);
        let ok = verify(
            &spki,
            &alg(ECDSA_WITH_SHA_256),
            None,
            b"message",
            sig.as_bytes(),
        );
        assert_eq!(ok, Ok(()));
        let other = verify(
            &spki,
            &alg(ECDSA_WITH_SHA_256),
            None,
            b"massage",
            sig.as_bytes(),
        );
        assert!(matches!(other, Err(VerifyError::Bad(_))));
        // The digest named apart (CMS with a bare key algorithm) works too.
        let bare = verify(
            &spki,
            &alg(ID_EC_PUBLIC_KEY),
            Some(&ID_SHA_256),
            b"message",
            sig.as_bytes(),
        );
        assert_eq!(bare, Ok(()));
        let sha1 = verify(
            &spki,
            &alg(const_oid::db::rfc5912::ECDSA_WITH_SHA_224),
            None,
            b"message",
            sig.as_bytes(),
        );
        assert!(matches!(sha1, Err(VerifyError::Unsupported(_))));
    }
}
