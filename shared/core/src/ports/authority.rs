//! LocalAuthority: the local shape's own certificate authority and time-stamping authority,
//! as the local-only routes serve them (`/ca/*`, `/tsa`). On AWS there is none: a real CA's
//! and TSA's endpoints serve that purpose.

use time::OffsetDateTime;

/// Which CA certificate or CRL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaLevel {
    /// The trust anchor.
    Root,
    /// The CA that issues the service's and the TSA's certificates.
    Issuing,
}

/// What the authority can fail with.
#[derive(Debug, thiserror::Error)]
#[error("local authority: {0}")]
pub struct AuthorityError(pub String);

/// The local CA and TSA.
pub trait LocalAuthority: Send + Sync {
    /// The root certificate, PEM.
    fn root_pem(&self) -> Result<String, AuthorityError>;
    /// A CA certificate, DER (what AIA pointers fetch).
    fn certificate(&self, level: CaLevel) -> Result<Vec<u8>, AuthorityError>;
    /// A freshly issued CRL of that CA, DER.
    fn crl(&self, level: CaLevel, now: OffsetDateTime) -> Result<Vec<u8>, AuthorityError>;
    /// The DER TimeStampResp to a DER TimeStampReq: a granted token or an RFC 3161
    /// rejection (never an error of ours).
    fn timestamp_reply(&self, query: &[u8], now: OffsetDateTime) -> Vec<u8>;
}
