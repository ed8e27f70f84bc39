//! Revocation data for long-term form: CRLs fetched from a certificate's distribution
//! points are capped in size and must be its issuer's; the local CA issues a fresh CRL for
//! its own certificates instead of fetching one.

use std::io::{Read, Write};
use std::sync::Arc;

use der::{Decode, Encode};
use keiyaku_core::clock::{Clock, SystemClock};
use keiyaku_core::ports::{Revocation, RevocationError};
use keiyaku_local::pki::LocalPki;
use keiyaku_local::revocation::LocalRevocation;
use keiyaku_net::crl::{CrlFetcher, MAX_CRL_BYTES};
use x509_cert::crl::CertificateList;

/// Serves `body` once per connection on a loopback port, as any HTTP server would.
fn serve(bodies: Vec<Vec<u8>>) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for body in bodies {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/pkix-crl\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    port
}

#[tokio::test]
async fn fetched_crls_are_capped_and_must_be_the_issuers_and_the_local_ca_issues_its_own() {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let other_dir = tempfile::tempdir().unwrap();
    let other = LocalPki::open_or_create(other_dir.path(), "http://127.0.0.1:9").unwrap();
    let foreign_crl = LocalPki::crl(&other.issuing, clock.now()).unwrap();
    let port = serve(vec![vec![0u8; MAX_CRL_BYTES + 1], foreign_crl]);
    // Certificates whose CRL distribution point is that server.
    let dir = tempfile::tempdir().unwrap();
    let pki = LocalPki::open_or_create(dir.path(), &format!("http://127.0.0.1:{port}")).unwrap();
    let own_crl = LocalPki::crl(&pki.issuing, clock.now()).unwrap();
    let (cert, issuer) = (
        pki.service.cert.to_der().unwrap(),
        pki.issuing.cert.to_der().unwrap(),
    );
    // Without the PKI at hand, the CRL is fetched: too large, then another issuer's.
    let fetching = CrlFetcher::new().unwrap();
    match fetching.crls(&cert, &issuer).await {
        Err(RevocationError::Unavailable(why)) => assert!(why.contains("larger"), "{why}"),
        other => panic!("{other:?}"),
    }
    match fetching.crls(&cert, &issuer).await {
        Err(RevocationError::Unavailable(why)) => {
            assert!(why.contains("another issuer"), "{why}")
        }
        other => panic!("{other:?}"),
    }
    // With it, the local CA issues one now, for its own certificates only.
    let local = LocalRevocation::new(pki.clone(), clock, Arc::new(CrlFetcher::new().unwrap()));
    let crls = local.crls(&cert, &issuer).await.unwrap();
    let crl = CertificateList::from_der(&crls[0]).unwrap();
    assert_eq!(
        crl.tbs_cert_list.issuer,
        CertificateList::from_der(&own_crl)
            .unwrap()
            .tbs_cert_list
            .issuer
    );
    // A certificate naming no distribution point has no source.
    let root = pki.root.cert.to_der().unwrap();
    assert!(matches!(
        CrlFetcher::new().unwrap().crls(&root, &root).await,
        Err(RevocationError::NoSource(_))
    ));
}
