//! Rate limits with counters in the item store (an atomic add), so they hold across
//! processes and Lambda instances. Fixed windows: a caller over the limit is slowed down
//! until the window ends, never locked out. Checked before any password hashing.

use std::net::IpAddr;
use std::time::Duration;

use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::ports::ItemStore;
use crate::store::keys;

/// A limit: at most `max` hits per `window` for one subject.
#[derive(Clone, Copy, Debug)]
pub struct Limit {
    /// What is limited (part of the counter's key).
    pub name: &'static str,
    /// Hits allowed per window.
    pub max: u64,
    /// Window length in seconds.
    pub window_secs: i64,
}

/// Login attempts per account from devices it has not logged in from before: an attacker
/// spread over many addresses is slowed down; the owner's known device is not (see
/// [`LOGIN_PER_DEVICE`]).
pub const LOGIN_PER_ACCOUNT: Limit = Limit {
    name: "login-account",
    max: 10,
    window_secs: 15 * 60,
};
/// Login attempts per account and client address.
pub const LOGIN_PER_ACCOUNT_ADDRESS: Limit = Limit {
    name: "login-account-address",
    max: 10,
    window_secs: 15 * 60,
};
/// Login attempts per account from one device that logged in to it before (OWASP's device
/// cookies): such attempts pass the per-account limit.
pub const LOGIN_PER_DEVICE: Limit = Limit {
    name: "login-device",
    max: 10,
    window_secs: 15 * 60,
};
/// Password changes per account (a signed-in act: login failures do not count here).
pub const PASSWORD_CHANGE_PER_ACCOUNT: Limit = Limit {
    name: "password-change",
    max: 10,
    window_secs: 15 * 60,
};
/// Second-factor codes per account (a login's second step, enrolment, disabling): six
/// digits are guessed in a million tries, so a few a quarter-hour keep that out of reach.
pub const SECOND_FACTOR_PER_ACCOUNT: Limit = Limit {
    name: "second-factor",
    max: 10,
    window_secs: 15 * 60,
};
/// Login attempts per client address.
pub const LOGIN_PER_ADDRESS: Limit = Limit {
    name: "login-address",
    max: 50,
    window_secs: 15 * 60,
};
/// Sign-ups per client address.
pub const SIGNUP_PER_ADDRESS: Limit = Limit {
    name: "signup-address",
    max: 10,
    window_secs: 60 * 60,
};
/// Password-reset mails per account.
pub const RESET_PER_ACCOUNT: Limit = Limit {
    name: "reset-account",
    max: 3,
    window_secs: 60 * 60,
};
/// Password-reset requests per client address.
pub const RESET_PER_ADDRESS: Limit = Limit {
    name: "reset-address",
    max: 20,
    window_secs: 60 * 60,
};
/// Password checks per client address.
pub const PASSWORD_CHECK_PER_ADDRESS: Limit = Limit {
    name: "pwcheck-address",
    max: 60,
    window_secs: 60,
};
/// Token redemptions (verify e-mail, reset confirm) per client address.
pub const TOKEN_PER_ADDRESS: Limit = Limit {
    name: "token-address",
    max: 30,
    window_secs: 15 * 60,
};

/// Verifications of files sent without an account, per client address.
pub const VERIFY_PER_ADDRESS: Limit = Limit {
    name: "verify-address",
    max: 60,
    window_secs: 15 * 60,
};

/// Verifications by a signed-in account (files sent in the request and verification upload
/// slots alike), wherever it calls from: an office behind one address shares no budget.
pub const VERIFY_PER_ACCOUNT: Limit = Limit {
    name: "verify-account",
    max: 600,
    window_secs: 60 * 60,
};

/// Timestamps from the local TSA (when it is public), per client address.
pub const TSA_PER_ADDRESS: Limit = Limit {
    name: "tsa-address",
    max: crate::config::DEFAULT_PUBLIC_TSA_LIMIT,
    window_secs: 15 * 60,
};

/// The subject for a client address: IPv4 as is, IPv6 by its /64 (one host has them all).
pub fn address_subject(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// Counts one hit of `subject` against `limit`; `RateLimited` when over it.
pub async fn hit(
    items: &dyn ItemStore,
    now: OffsetDateTime,
    limit: Limit,
    subject: &str,
) -> Result<()> {
    let t = now.unix_timestamp();
    let start = t - t.rem_euclid(limit.window_secs);
    let end = start + limit.window_secs;
    let key = keys::rate(limit.name, &crate::ids::hash_token(subject), start);
    let count = items.increment(&key, end).await?;
    if count > limit.max {
        return Err(Error::RateLimited {
            retry_after: Duration::from_secs((end - t).max(1) as u64),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_share_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_subject(a), address_subject(b));
        assert_ne!(address_subject(a), address_subject(c));
        assert_eq!(
            address_subject("::ffff:192.0.2.1".parse().unwrap()),
            "192.0.2.1"
        );
    }
}
