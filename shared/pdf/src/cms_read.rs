//! Reading a CMS SignedData as signers really write it. `der`'s `SetOfVec` refuses a SET OF
//! that repeats an element, but signers send certificate sets with repeats (pyHanko writes
//! the signer's certificate twice when its registry also holds it), and OpenSSL and pyHanko
//! accept them. The certificate and CRL sets are signed by nothing, so when the SignedData
//! does not decode as sent they are put in DER order, repeats dropped, and it is decoded
//! again; every other byte (the signer infos, whose signed attributes are checked as sent)
//! stays as it was.

use cms::signed_data::SignedData;
use der::asn1::AnyRef;
use der::{Decode, Encode, Reader, SliceReader, Tag, TagNumber, Tagged};

/// The SignedData in `der`, and its DER as decoded (equal to `der` unless its certificate
/// or CRL set had to be put in order).
pub(crate) fn signed_data(der: &[u8]) -> der::Result<(Vec<u8>, SignedData)> {
    match SignedData::from_der(der) {
        Ok(signed) => Ok((der.to_vec(), signed)),
        Err(first) => {
            let ordered = with_sets_in_order(der).map_err(|_| first)?;
            let signed = SignedData::from_der(&ordered).map_err(|_| first)?;
            Ok((ordered, signed))
        }
    }
}

/// `der` with the elements of its `[0]` certificates and `[1]` crls sorted and unique.
fn with_sets_in_order(der: &[u8]) -> der::Result<Vec<u8>> {
    let sequence = AnyRef::from_der(der)?;
    // Only the sets are put in order: nothing else is repaired.
    if sequence.tag() != Tag::Sequence {
        return Err(sequence.tag().value_error());
    }
    let mut reader = SliceReader::new(sequence.value())?;
    let mut fields = Vec::new();
    while !reader.is_finished() {
        let field = AnyRef::decode(&mut reader)?;
        let is_set = matches!(
            field.tag(),
            Tag::ContextSpecific {
                constructed: true,
                number: TagNumber::N0 | TagNumber::N1,
            }
        );
        if !is_set {
            fields.extend(field.to_der()?);
            continue;
        }
        let mut items = SliceReader::new(field.value())?;
        let mut elements = Vec::new();
        while !items.is_finished() {
            elements.push(AnyRef::decode(&mut items)?.to_der()?);
        }
        elements.sort();
        elements.dedup();
        fields.extend(AnyRef::new(field.tag(), &elements.concat())?.to_der()?);
    }
    AnyRef::new(Tag::Sequence, &fields)?.to_der()
}

#[cfg(test)]
mod tests {
    use super::*;
    use cms::cert::CertificateChoices;
    use cms::content_info::CmsVersion;
    use cms::signed_data::{CertificateSet, EncapsulatedContentInfo, SignerInfos};
    use der::asn1::SetOfVec;
    use p256::ecdsa::{DerSignature, SigningKey};
    use std::str::FromStr;
    use x509_cert::Certificate;
    use x509_cert::builder::{Builder, CertificateBuilder, Profile};

    fn certificate(n: u32) -> Certificate {
        let key = SigningKey::random(&mut rand::rngs::OsRng);
        CertificateBuilder::new(
            Profile::Root,
            x509_cert::serial_number::SerialNumber::from(n),
            x509_cert::time::Validity::from_now(std::time::Duration::from_secs(60)).unwrap(),
            x509_cert::name::Name::from_str(&format!("CN=cms read {n}")).unwrap(),
            spki::SubjectPublicKeyInfoOwned::from_key(*key.verifying_key()).unwrap(),
            &key,
        )
        .unwrap()
        .build::<DerSignature>()
        .unwrap()
    }

    /// `der` (a SignedData) with its certificate set holding `elements` in this order.
    fn with_certificates(der: &[u8], elements: &[Vec<u8>]) -> Vec<u8> {
        let sequence = AnyRef::from_der(der).unwrap();
        let mut reader = SliceReader::new(sequence.value()).unwrap();
        let mut fields = Vec::new();
        while !reader.is_finished() {
            let field = AnyRef::decode(&mut reader).unwrap();
            match field.tag() {
                tag @ Tag::ContextSpecific {
                    number: TagNumber::N0,
                    ..
                } => fields.extend(
                    AnyRef::new(tag, &elements.concat())
                        .unwrap()
                        .to_der()
                        .unwrap(),
                ),
                _ => fields.extend(field.to_der().unwrap()),
            }
        }
        AnyRef::new(Tag::Sequence, &fields)
            .unwrap()
            .to_der()
            .unwrap()
    }

    #[test]
    fn a_certificate_set_with_repeats_is_read() {
        let (a, b) = (certificate(1), certificate(2));
        let mut set = SetOfVec::new();
        for cert in [&a, &b] {
            set.insert(CertificateChoices::Certificate(cert.clone()))
                .unwrap();
        }
        let signed = SignedData {
            version: CmsVersion::V1,
            digest_algorithms: SetOfVec::new(),
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: const_oid::db::rfc5911::ID_DATA,
                econtent: None,
            },
            certificates: Some(CertificateSet(set)),
            crls: None,
            signer_infos: SignerInfos(SetOfVec::new()),
        };
        let good = signed.to_der().unwrap();
        assert_eq!(signed_data(&good).unwrap().0, good, "DER is read as it is");
        let (a, b) = (a.to_der().unwrap(), b.to_der().unwrap());
        for elements in [
            vec![a.clone(), a.clone(), b.clone()],
            vec![b.clone(), a.clone(), b.clone()],
        ] {
            let sent = with_certificates(&good, &elements);
            assert!(SignedData::from_der(&sent).is_err(), "der refuses it");
            let (read_der, read) = signed_data(&sent).unwrap();
            assert_eq!(read, signed);
            // The repeat is gone; what is decoded is DER again.
            assert_eq!(read_der.len(), good.len());
            assert_eq!(SignedData::from_der(&read_der).unwrap(), signed);
        }
    }
}
