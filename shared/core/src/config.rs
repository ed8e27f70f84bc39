//! Settings the domain needs, the same in both shapes.

use time::Duration;

/// How many timestamps one client address gets from the public TSA in 15 minutes, unless
/// configured otherwise.
pub const DEFAULT_PUBLIC_TSA_LIMIT: u64 = 120;

/// What the domain is configured with.
#[derive(Clone, Debug)]
pub struct Config {
    /// Base URL written into mails (no trailing slash), e.g. `http://127.0.0.1:8080`.
    pub public_url: String,
    /// Largest document accepted, in bytes.
    pub max_document_bytes: u64,
    /// Largest one-call upload (body of `POST /documents`), in bytes.
    pub max_direct_upload_bytes: u64,
    /// Sender of the service's mail.
    pub mail_from: String,
    /// Browser sessions end after this long idle…
    pub session_idle: Duration,
    /// …or this long after login.
    pub session_absolute: Duration,
    /// API tokens end after this long unused…
    pub api_token_idle: Duration,
    /// …or this long after they were issued, used or not.
    pub api_token_absolute: Duration,
    /// How long after a document ended (or after a link was issued, if later) its recipient
    /// links keep opening it.
    pub link_after_end: Duration,
    /// Whether the local TSA answers anyone at `POST /api/v1/tsa` (it timestamps whatever it
    /// is sent with a key the verifier trusts: off unless asked for).
    pub public_tsa: bool,
    /// How many timestamps one client address gets from the public TSA in 15 minutes.
    pub public_tsa_limit: u64,
    /// Peers whose `X-Forwarded-For` is believed (a reverse proxy in front of the local
    /// shape); from anyone else the header is ignored.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// How long a request may take from its head to its answer's head (the seed's 60 s).
    pub request_timeout: std::time::Duration,
    /// How long an upload to an upload slot may take (20 MB over a slow line).
    pub upload_timeout: std::time::Duration,
    /// Roots trusted besides the local CA's (on AWS, which has none: the roots of the
    /// sealing certificate and of the TSA), for sealing and verification.
    pub trust_anchors: Vec<keiyaku_pdf::verify::Certificate>,
    /// On AWS, what CloudFront sends in `X-Keiyaku-Origin`: a request without it did not
    /// come through the front door (and its WAF) and is refused.
    pub origin_secret: Option<String>,
    /// The fonts pages are drawn with when a file relies on the reader's own (a Japanese
    /// font for Japanese text): this machine's, by default.
    pub fonts: keiyaku_pdf::render::Fonts,
}

impl Config {
    /// The defaults of DESIGN.md for a service reachable at `public_url`.
    pub fn new(public_url: &str) -> Self {
        Config {
            public_url: public_url.trim_end_matches('/').to_owned(),
            max_document_bytes: 20 * 1024 * 1024,
            max_direct_upload_bytes: 4 * 1024 * 1024,
            mail_from: "keiyaku <no-reply@keiyaku.invalid>".into(),
            session_idle: Duration::hours(8),
            session_absolute: Duration::days(7),
            api_token_idle: Duration::days(90),
            api_token_absolute: Duration::days(90),
            link_after_end: Duration::days(90),
            public_tsa: false,
            public_tsa_limit: DEFAULT_PUBLIC_TSA_LIMIT,
            trusted_proxies: Vec::new(),
            request_timeout: std::time::Duration::from_secs(60),
            upload_timeout: std::time::Duration::from_secs(600),
            trust_anchors: Vec::new(),
            origin_secret: None,
            fonts: keiyaku_pdf::render::Fonts::from_system(),
        }
    }

    /// The origin (scheme, host, port) of the public URL, as browsers send it in `Origin`.
    pub fn origin(&self) -> &str {
        let after_scheme = self.public_url.find("://").map(|i| i + 3).unwrap_or(0);
        match self.public_url[after_scheme..].find('/') {
            Some(i) => &self.public_url[..after_scheme + i],
            None => &self.public_url,
        }
    }
}
