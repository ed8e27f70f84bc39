//! Network clients that both shapes use, behind keiyaku's ports: any RFC 3161 time-stamping
//! service over HTTP(S) (`tsa`), and CRLs fetched from a certificate's distribution points
//! (`crl`), each with timeouts and size caps, each answer checked before it is used.

pub mod crl;
pub mod tsa;
