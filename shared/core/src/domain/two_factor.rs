//! The second factor of a login: TOTP codes (RFC 6238, computed by `totp-rs`: SHA-1, six
//! digits, 30-second steps, one step of clock skew either way, as every authenticator app
//! expects) and single-use recovery codes. Pure rules: the caller keeps the secret
//! (encrypted), the last step used (updated with a condition, so a code is accepted once
//! even by two requests at the same moment) and the recovery codes' hashes.

use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use totp_rs::{Algorithm, TOTP};
use unicode_normalization::UnicodeNormalization;

/// Seconds of one time step.
pub const STEP: u64 = 30;
/// Digits of a code.
pub const DIGITS: usize = 6;
/// Steps of clock skew accepted either way.
pub const SKEW: u64 = 1;
/// Recovery codes made at enrolment.
pub const RECOVERY_CODES: usize = 10;
/// The issuer authenticator apps show beside the account.
pub const ISSUER: &str = "keiyaku";

/// Letters and digits nobody confuses when copying them from paper (no 0/O, 1/I/L).
const RECOVERY_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
/// Characters of a recovery code (10 from 31: about 50 bits).
const RECOVERY_LENGTH: usize = 10;

/// A TOTP secret: 160 random bits, as RFC 4226 recommends.
#[derive(Clone, PartialEq, Eq, zeroize::ZeroizeOnDrop)]
pub struct TotpSecret(Vec<u8>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(…)")
    }
}

/// Why a code was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CodeRefusal {
    /// Not six digits.
    #[error("a code is six digits")]
    Malformed,
    /// Not the code of this secret now (nor one step before or after).
    #[error("the code is wrong")]
    Wrong,
    /// The code of a step already used: each code is accepted once.
    #[error("the code was already used")]
    Replayed,
}

impl TotpSecret {
    /// A fresh secret from `rng`.
    pub fn generate(rng: &mut impl RngCore) -> TotpSecret {
        let mut bytes = vec![0u8; 20];
        rng.fill_bytes(&mut bytes);
        TotpSecret(bytes)
    }

    /// A secret kept before (its raw bytes).
    pub fn from_bytes(bytes: Vec<u8>) -> TotpSecret {
        TotpSecret(bytes)
    }

    /// A secret as an app takes it in by hand (base32), e.g. from the enrolment answer.
    pub fn from_base32(text: &str) -> Option<TotpSecret> {
        totp_rs::Secret::Encoded(text.to_owned())
            .to_bytes()
            .ok()
            .map(TotpSecret)
    }

    /// The code an app shows at `now`.
    pub fn code_at(&self, now: OffsetDateTime) -> String {
        self.code_at_step(u64::try_from(now.unix_timestamp()).unwrap_or(0) / STEP)
    }

    /// The raw bytes, for storing (encrypted).
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The generator of this secret's codes for `account` (built field by field: `TOTP::new`
    /// only adds checks these constants always pass, and a colon the name may not carry).
    fn totp(&self, account: &str) -> TOTP {
        TOTP {
            algorithm: Algorithm::SHA1,
            digits: DIGITS,
            skew: SKEW as u8,
            step: STEP,
            secret: self.0.clone(),
            issuer: Some(ISSUER.to_owned()),
            account_name: account.replace(':', ""),
        }
    }

    /// The secret in base32, for typing into an app by hand.
    pub fn base32(&self) -> String {
        totp_rs::Secret::Raw(self.0.clone())
            .to_encoded()
            .to_string()
    }

    /// The `otpauth://` URL an app reads from the enrolment QR code, for `account` (the
    /// user's address).
    pub fn otpauth_url(&self, account: &str) -> String {
        self.totp(account).get_url()
    }

    /// The code of time step `step`.
    pub fn code_at_step(&self, step: u64) -> String {
        self.totp("").generate(step * STEP)
    }

    /// Checks `code` (as typed: full-width digits and spaces are fine) at `now`. Accepts the
    /// code of the current step or one step either side, but only of a step later than
    /// `last_used`; returns the step it matched, which the caller records.
    pub fn verify(
        &self,
        code: &str,
        now: OffsetDateTime,
        last_used: Option<u64>,
    ) -> Result<u64, CodeRefusal> {
        let typed: String = code
            .nfkc()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        if typed.len() != DIGITS || !typed.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CodeRefusal::Malformed);
        }
        let current = u64::try_from(now.unix_timestamp()).unwrap_or(0) / STEP;
        // Every candidate step is compared, in constant time: which one matched is needed
        // (to refuse it the next time), which totp-rs's own check does not say.
        let mut matched = None;
        for step in current.saturating_sub(SKEW)..=current + SKEW {
            if bool::from(self.code_at_step(step).as_bytes().ct_eq(typed.as_bytes())) {
                matched = Some(step);
            }
        }
        let step = matched.ok_or(CodeRefusal::Wrong)?;
        if last_used.is_some_and(|last| step <= last) {
            return Err(CodeRefusal::Replayed);
        }
        Ok(step)
    }
}

/// Ten fresh recovery codes, shown to the user once (`XXXXX-XXXXX`).
pub fn recovery_codes(rng: &mut impl RngCore) -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let chars: String = (0..RECOVERY_LENGTH)
                .map(|_| {
                    let i = (rng.next_u32() as usize) % RECOVERY_ALPHABET.len();
                    RECOVERY_ALPHABET[i] as char
                })
                .collect();
            format!("{}-{}", &chars[..5], &chars[5..])
        })
        .collect()
}

/// The hash a recovery code is kept as (SHA-256 of its normalised form: they are random,
/// so a slow hash adds nothing); the same however the user types it (case, full-width,
/// spaces and hyphens).
pub fn recovery_hash(code: &str) -> String {
    let normalised: String = code
        .nfkc()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .collect();
    hex::encode(Sha256::digest(normalised.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    /// RFC 6238 appendix B's SHA-1 secret.
    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(b"12345678901234567890".to_vec())
    }

    #[test]
    fn rfc_6238_test_vectors() {
        // Appendix B gives eight digits; six are the last six of those (RFC 4226 §5.3).
        let secret = rfc_secret();
        for (time, eight) in [
            (59u64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(secret.code_at_step(time / STEP), eight[2..], "T = {time}");
        }
    }

    #[test]
    fn one_step_of_skew_either_way_and_each_code_once() {
        let secret = rfc_secret();
        let now = datetime!(2009-02-13 23:31:30 UTC); // 1234567890
        let step = 1_234_567_890 / STEP;
        let code = secret.code_at_step(step);
        assert_eq!(secret.verify(&code, now, None), Ok(step));
        // Used once: refused, within its window, after.
        assert_eq!(
            secret.verify(&code, now, Some(step)),
            Err(CodeRefusal::Replayed)
        );
        // The previous and the next step's codes are accepted; two steps away are not.
        assert_eq!(
            secret.verify(&secret.code_at_step(step - 1), now, None),
            Ok(step - 1)
        );
        assert_eq!(
            secret.verify(&secret.code_at_step(step + 1), now, Some(step)),
            Ok(step + 1)
        );
        for far in [step - 2, step + 2] {
            let other = secret.code_at_step(far);
            if ![step - 1, step, step + 1]
                .iter()
                .any(|s| secret.code_at_step(*s) == other)
            {
                assert_eq!(secret.verify(&other, now, None), Err(CodeRefusal::Wrong));
            }
        }
        // An older step's code after a newer one was used: refused too.
        assert_eq!(
            secret.verify(&secret.code_at_step(step - 1), now, Some(step)),
            Err(CodeRefusal::Replayed)
        );
    }

    #[test]
    fn codes_as_people_type_them() {
        let secret = rfc_secret();
        let now = datetime!(2009-02-13 23:31:30 UTC);
        let code = secret.code_at_step(1_234_567_890 / STEP);
        let full_width: String = code
            .chars()
            .map(|c| char::from_u32(c as u32 - '0' as u32 + '０' as u32).unwrap())
            .collect();
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        for typed in [full_width.as_str(), spaced.as_str()] {
            assert!(secret.verify(typed, now, None).is_ok(), "{typed}");
        }
        for bad in ["", "12345", "1234567", "12a456", "１２３４５"] {
            assert_eq!(
                secret.verify(bad, now, None),
                Err(CodeRefusal::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn secrets_and_recovery_codes_are_random_and_readable() {
        let mut rng = rand::thread_rng();
        let a = TotpSecret::generate(&mut rng);
        let b = TotpSecret::generate(&mut rng);
        assert_ne!(a, b);
        assert_eq!(a.as_bytes().len(), 20);
        assert_eq!(a.base32().len(), 32);
        let url = a.otpauth_url("hanako@example.jp");
        assert!(
            url.starts_with("otpauth://totp/keiyaku:hanako%40example.jp?"),
            "{url}"
        );
        assert!(url.contains(&format!("secret={}", a.base32())), "{url}");
        assert_eq!(TotpSecret::from_base32(&a.base32()), Some(a.clone()));
        assert_eq!(TotpSecret::from_base32("not base32!"), None);
        assert!(url.contains("issuer=keiyaku"), "{url}");

        let codes = recovery_codes(&mut rng);
        assert_eq!(codes.len(), RECOVERY_CODES);
        let unique: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), RECOVERY_CODES);
        for code in &codes {
            assert_eq!(code.len(), 11);
            assert!(
                code.chars()
                    .all(|c| c == '-' || RECOVERY_ALPHABET.contains(&(c as u8)))
            );
        }
        // The same code however it is typed; another code never.
        let code = &codes[0];
        let typed = format!(" {} ", code.to_lowercase().replace('-', " "));
        assert_eq!(recovery_hash(&typed), recovery_hash(code));
        assert_ne!(recovery_hash(&codes[1]), recovery_hash(code));
    }
}
