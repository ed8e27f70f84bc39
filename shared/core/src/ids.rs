//! Identifiers and secrets. Ids sort by creation time (newest-first listing is a reverse
//! key scan); secrets are 256-bit random tokens stored only as their SHA-256.

use std::sync::Mutex;

use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// A new id: 12 hex digits of milliseconds since the epoch, a 4-digit sequence that keeps
/// ids made in the same millisecond by this process in order, then 48 random bits.
pub fn new_id(now: OffsetDateTime) -> String {
    static LAST: Mutex<(u64, u64)> = Mutex::new((0, 0));
    let now_ms = (now.unix_timestamp_nanos() / 1_000_000).max(0) as u64 & 0xffff_ffff_ffff;
    let (millis, seq) = {
        let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
        // Never go backwards: a clock step back keeps counting from the last id.
        if now_ms > last.0 {
            *last = (now_ms, 0);
        } else {
            last.1 += 1;
            if last.1 > 0xffff {
                *last = (last.0 + 1, 0);
            }
        }
        *last
    };
    let mut random = [0u8; 6];
    rand::rngs::OsRng.fill_bytes(&mut random);
    format!("{millis:012x}{seq:04x}{}", hex::encode(random))
}

/// True when `s` has the shape of an id made by [`new_id`] (checked before it reaches a key).
pub fn is_id(s: &str) -> bool {
    s.len() == 28
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// A fresh id.
            pub fn new(now: OffsetDateTime) -> Self {
                Self(new_id(now))
            }
            /// Parses an id from untrusted input; `None` if it is not one of ours.
            pub fn parse(s: &str) -> Option<Self> {
                is_id(s).then(|| Self(s.to_owned()))
            }
            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// A team: every item is keyed under one.
    TeamId
);
id_type!(
    /// A user account.
    UserId
);
id_type!(
    /// A document (contract).
    DocumentId
);
id_type!(
    /// An upload slot.
    UploadId
);

/// A secret token handed to a client once; only its hash is stored.
pub struct Secret {
    /// The token as given to the client (base64url, 43 characters).
    pub token: String,
    /// Its SHA-256, hex: what the store keeps.
    pub hash: String,
}

impl Secret {
    /// 256 random bits.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        use base64::Engine;
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let hash = hash_token(&token);
        Secret { token, hash }
    }
}

/// The stored form of a token.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_time_and_parse() {
        let a = new_id(OffsetDateTime::from_unix_timestamp(1_000).unwrap());
        let b = new_id(OffsetDateTime::from_unix_timestamp(2_000).unwrap());
        assert!(a < b);
        assert!(is_id(&a));
        let same = OffsetDateTime::from_unix_timestamp(3_000).unwrap();
        let ids: Vec<String> = (0..1000).map(|_| new_id(same)).collect();
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "ids of one millisecond stay in order"
        );
        assert!(DocumentId::parse("../etc").is_none());
        assert!(DocumentId::parse(&a.to_uppercase()).is_none());
    }

    #[test]
    fn secrets_are_random_and_hashed() {
        let s = Secret::generate();
        let t = Secret::generate();
        assert_ne!(s.token, t.token);
        assert_eq!(s.token.len(), 43);
        assert_eq!(hash_token(&s.token), s.hash);
        assert_ne!(s.hash, s.token);
    }
}
