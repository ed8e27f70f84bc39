//! Where task tokens come from. A token is the only credential a `.waitForTaskToken`
//! callback (`SendTaskSuccess`) presents, so it must be unguessable: 256 bits from a
//! cryptographically secure generator, never from the execution's seeded [`crate::rng::Rng`]
//! (one of whose outputs would reveal every later one). The engine stays sans-IO and
//! deterministic by taking the source from its driver on each call: a real driver passes
//! an operating-system CSPRNG (keiyaku-workflow uses `rand::rngs::OsRng`); tests pass
//! [`SeededTokens`] to replay exactly.

/// The size of a task token, in bytes (256 bits). Tokens are written as lowercase hex, so a
/// token's text is `2 * TOKEN_BYTES` characters.
pub const TOKEN_BYTES: usize = 32;

/// A source of task tokens: each call returns 32 fresh bytes.
///
/// Any `FnMut() -> [u8; 32]` is a source, e.g. `&mut || { let mut b = [0; 32];
/// rand::rngs::OsRng.fill_bytes(&mut b); b }`.
pub trait TokenSource {
    /// 32 bytes that no one can predict from earlier tokens.
    fn token_bytes(&mut self) -> [u8; TOKEN_BYTES];
}

impl<F: FnMut() -> [u8; TOKEN_BYTES]> TokenSource for F {
    fn token_bytes(&mut self) -> [u8; TOKEN_BYTES] {
        self()
    }
}

/// Deterministic tokens for tests and examples: SHA-256 of the seed and a counter. Distinct
/// for distinct (seed, counter) pairs, but anyone who knows the seed knows every token:
/// never use it where tokens guard anything.
#[derive(Debug, Clone, Default)]
pub struct SeededTokens {
    seed: u64,
    counter: u64,
}

impl SeededTokens {
    /// A source whose tokens depend only on `seed` and how many were drawn.
    pub fn new(seed: u64) -> SeededTokens {
        SeededTokens { seed, counter: 0 }
    }
}

impl TokenSource for SeededTokens {
    fn token_bytes(&mut self) -> [u8; TOKEN_BYTES] {
        use sha2::{Digest, Sha256};
        self.counter += 1;
        let mut h = Sha256::new();
        h.update(b"keiyaku-states test token");
        h.update(self.seed.to_be_bytes());
        h.update(self.counter.to_be_bytes());
        h.finalize().into()
    }
}

/// A token's text: lowercase hex of its 32 bytes.
pub(crate) fn encode(bytes: [u8; TOKEN_BYTES]) -> String {
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_tokens_are_distinct_and_replayable() {
        let (mut a, mut b) = (SeededTokens::new(1), SeededTokens::new(1));
        let first = a.token_bytes();
        assert_eq!(first, b.token_bytes());
        assert_ne!(first, a.token_bytes());
        assert_ne!(first, SeededTokens::new(2).token_bytes());
        assert_eq!(encode(first).len(), 2 * TOKEN_BYTES);
    }

    #[test]
    fn closures_are_sources() {
        let mut n = 0u8;
        let mut source = || {
            n += 1;
            [n; TOKEN_BYTES]
        };
        assert_eq!(source.token_bytes(), [1; TOKEN_BYTES]);
        assert_eq!(source.token_bytes(), [2; TOKEN_BYTES]);
    }
}
