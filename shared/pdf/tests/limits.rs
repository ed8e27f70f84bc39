//! Verification within its time limit: a file that cannot be verified in time is
//! indeterminate, with the reason named, never valid or invalid by accident.

mod common;

use std::time::Duration;

use keiyaku_pdf::verify::{self, Status};

#[test]
fn a_verification_out_of_time_is_indeterminate_and_says_why() {
    let root = common::root();
    let key = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
    let cert = common::leaf(&root, common::p256_spki(&key));
    // Signatures whose CMS names another digest: invalid when there is time to look.
    let attributes = keiyaku_pdf::seal::signed_attributes(&[7; 32], &cert).unwrap();
    let cms = keiyaku_pdf::seal::assemble_cms(attributes, &[0x30, 0x00], &cert, &[], None).unwrap();
    let pdf = keiyaku_pdf::tamper::many_signature_revisions(
        &keiyaku_pdf::sample::pdf_with_pages(2),
        &cms,
        5,
    )
    .unwrap();
    let anchors = [root.cert];
    let now = time::OffsetDateTime::now_utc();

    let in_time = verify::verify(&pdf, &anchors, now).unwrap();
    assert_eq!(in_time.status, Status::Invalid);
    assert_eq!(in_time.signatures.len(), 5);

    let out_of_time = verify::verify_within(&pdf, &anchors, now, Duration::ZERO).unwrap();
    assert_eq!(out_of_time.status, Status::Indeterminate, "{out_of_time:?}");
    let codes: Vec<_> = out_of_time.problems.iter().map(|p| p.code).collect();
    assert_eq!(codes, ["time_limit_exceeded"]);
}
