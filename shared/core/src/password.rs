//! Passwords: our rules on top of zxcvbn (refused with a reason the client can show), and
//! argon2id hashing with OWASP's parameters. Unknown accounts are checked against a dummy
//! hash so login timing reveals nothing.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use zxcvbn::matching::patterns::MatchPattern;

use crate::error::{Error, Result};

/// Shortest password accepted.
pub const MIN_LENGTH: usize = 10;
/// Longest password accepted (hashing cost is bounded; nobody types more).
pub const MAX_LENGTH: usize = 256;

/// Why a password is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Weakness {
    /// Fewer than [`MIN_LENGTH`] characters.
    TooShort,
    /// More than [`MAX_LENGTH`] characters.
    TooLong,
    /// One dictionary word (possibly capitalised, reversed or with l33t substitutions).
    DictionaryWord,
    /// One character repeated, or a simple sequence (abcdef, 987654, qwerty…).
    Repetitive,
    /// Contains the e-mail's local part or the user's name.
    PersonalInfo,
    /// Guessable by other means (zxcvbn score below 3): common passwords, dates, patterns.
    TooGuessable,
}

impl Weakness {
    /// The stable code clients choose their words by.
    pub fn code(self) -> &'static str {
        match self {
            Weakness::TooShort => "password_too_short",
            Weakness::TooLong => "password_too_long",
            Weakness::DictionaryWord => "password_dictionary_word",
            Weakness::Repetitive => "password_repetitive",
            Weakness::PersonalInfo => "password_personal_info",
            Weakness::TooGuessable => "password_too_guessable",
        }
    }

    /// A message in English (clients translate by code).
    pub fn message(self) -> &'static str {
        match self {
            Weakness::TooShort => "The password must have at least 10 characters.",
            Weakness::TooLong => "The password must have at most 256 characters.",
            Weakness::DictionaryWord => "The password is a single dictionary word.",
            Weakness::Repetitive => "The password repeats one character or is a simple sequence.",
            Weakness::PersonalInfo => "The password contains your e-mail address or name.",
            Weakness::TooGuessable => "The password is too easy to guess.",
        }
    }

    /// As a domain error on `field`.
    pub fn into_error(self, field: &'static str) -> Error {
        Error::invalid(self.code(), field, self.message())
    }
}

/// Checks a password against our rules; `email` and `name` are the user's own, as typed.
pub fn check(password: &str, email: Option<&str>, name: Option<&str>) -> Result<(), Weakness> {
    let chars: Vec<char> = password.chars().collect();
    if chars.len() < MIN_LENGTH {
        return Err(Weakness::TooShort);
    }
    if chars.len() > MAX_LENGTH {
        return Err(Weakness::TooLong);
    }
    if is_repetitive(&chars) {
        return Err(Weakness::Repetitive);
    }
    let lower = password.to_lowercase();
    let mut personal: Vec<String> = Vec::new();
    if let Some(email) = email {
        let email = email.trim().to_lowercase();
        if let Some((local, _)) = email.rsplit_once('@') {
            personal.push(local.to_owned());
        }
        personal.push(email);
    }
    if let Some(name) = name {
        let name = name.trim().to_lowercase();
        personal.push(name.split_whitespace().collect::<String>());
        personal.extend(name.split_whitespace().map(str::to_owned));
        personal.push(name);
    }
    personal.retain(|p| p.chars().count() >= 3);
    if personal.iter().any(|p| lower.contains(p.as_str())) {
        return Err(Weakness::PersonalInfo);
    }
    let inputs: Vec<&str> = personal.iter().map(String::as_str).collect();
    let entropy = zxcvbn::zxcvbn(password, &inputs);
    if let [only] = entropy.sequence() {
        match &only.pattern {
            // zxcvbn's default dictionary is its list of common passwords: that is not a
            // "word" but a known password.
            MatchPattern::Dictionary(d) if d.dictionary_name == Default::default() => {
                return Err(Weakness::TooGuessable);
            }
            MatchPattern::Dictionary(_) => return Err(Weakness::DictionaryWord),
            MatchPattern::Repeat(_) | MatchPattern::Sequence(_) | MatchPattern::Spatial(_) => {
                return Err(Weakness::Repetitive);
            }
            _ => {}
        }
    }
    if (entropy.score() as u8) < 3 {
        return Err(Weakness::TooGuessable);
    }
    Ok(())
}

/// One character repeated, a short unit repeated (abcabcabc), or a run of consecutive
/// code points either way (abcdefghij, 9876543210).
fn is_repetitive(chars: &[char]) -> bool {
    let n = chars.len();
    let repeats_unit = (1..=n / 2)
        .any(|unit| n.is_multiple_of(unit) && chars.chunks(unit).all(|c| c == &chars[..unit]));
    // Digits wrap around (…7890, 2109…) as they do on a keyboard's number row.
    let step = |a: char, b: char| match (a.to_digit(10), b.to_digit(10)) {
        (Some(x), Some(y)) => match (y as i64 - x as i64).rem_euclid(10) {
            1 => 1,
            9 => -1,
            _ => 0,
        },
        _ => b as i64 - a as i64,
    };
    let first = step(chars[0], chars[1]);
    let sequence = first.abs() == 1 && chars.windows(2).all(|w| step(w[0], w[1]) == first);
    repeats_unit || sequence
}

fn argon2() -> Argon2<'static> {
    // OWASP Password Storage Cheat Sheet: argon2id, m = 19 MiB, t = 2, p = 1.
    let params = Params::new(19_456, 2, 1, None).expect("constant parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The PHC string of a new argon2id hash (runs on a blocking thread).
pub async fn hash(password: &str) -> Result<String> {
    let password = zeroize::Zeroizing::new(password.to_owned());
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(Error::internal)
    })
    .await
    .map_err(Error::internal)?
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        argon2()
            .hash_password(b"keiyaku dummy password for timing", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// Whether `password` matches `stored`; with `None` (no such account) it checks a dummy hash
/// so both cases take the same time, and answers false.
pub async fn verify(password: &str, stored: Option<&str>) -> Result<bool> {
    let password = zeroize::Zeroizing::new(password.to_owned());
    let (stored, real) = match stored {
        Some(s) => (s.to_owned(), true),
        None => (dummy_hash().to_owned(), false),
    };
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&stored).map_err(Error::internal)?;
        let ok = argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(ok && real)
    })
    .await
    .map_err(Error::internal)?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str) -> Vec<Vec<String>> {
        let path = format!("{}/tests/passwords/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{path}: {e}"))
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(|l| l.split('\t').map(str::to_owned).collect())
            .collect()
    }

    fn opt(s: &str) -> Option<&str> {
        (!s.is_empty()).then_some(s)
    }

    #[test]
    fn weak_passwords_are_refused_for_the_expected_reason() {
        let rows = table("weak.tsv");
        assert!(rows.len() >= 20);
        let mut wrong = Vec::new();
        for row in &rows {
            let [password, code, email, name] = &row[..] else {
                panic!("bad row {row:?}")
            };
            let got = check(password, opt(email), opt(name)).map_err(Weakness::code);
            if got != Err(code.as_str()) {
                wrong.push(format!("{password:?}: expected {code}, got {got:?}"));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn strong_passwords_are_accepted() {
        let rows = table("strong.tsv");
        assert!(rows.len() >= 8);
        let mut wrong = Vec::new();
        for row in &rows {
            let [password, email, name] = &row[..] else {
                panic!("bad row {row:?}")
            };
            if let Err(w) = check(password, Some(email), Some(name)) {
                wrong.push(format!("{password:?}: refused as {}", w.code()));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[tokio::test]
    async fn hashes_verify_and_dummy_never_matches() {
        let h = hash("correct horse battery staple 9").await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            verify("correct horse battery staple 9", Some(&h))
                .await
                .unwrap()
        );
        assert!(
            !verify("wrong horse battery staple 9", Some(&h))
                .await
                .unwrap()
        );
        assert!(
            !verify("keiyaku dummy password for timing", None)
                .await
                .unwrap()
        );
    }
}
