//! Data at rest: a blob is the document encrypted as a chunked AEAD stream (AES-256-GCM in
//! 64 KiB segments, the STREAM construction from the `aead` crate), so a download is checked
//! segment by segment and never yields a byte that failed authentication, and truncation is
//! caught by the last-segment flag. The header carries the key id and the wrapped data key,
//! so a replica elsewhere decrypts with the (multi-Region) master key alone. Every segment's
//! associated data binds the document id, the role (original / sealed / upload), the
//! version and the header itself: swapping blobs between documents or versions fails.

use aes_gcm::aead::stream::{DecryptorBE32, EncryptorBE32};
use aes_gcm::aead::{KeyInit, Payload};
use aes_gcm::{Aes256Gcm, aead::generic_array::GenericArray};
use bytes::{Buf, Bytes, BytesMut};
use futures::{StreamExt, stream};
use rand::RngCore;

use crate::error::{Error, Result};
use crate::ports::{ByteStream, DataKey, Keys};

/// Plaintext bytes per segment.
pub const SEGMENT: usize = 64 * 1024;
const TAG: usize = 16;
const MAGIC: &[u8; 4] = b"KYK1";
const NONCE_PREFIX: usize = 7;
const MAX_HEADER: usize = 4096;

/// What a blob is: it is bound into every segment's associated data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    /// The document (or upload) id.
    pub owner: String,
    /// `original`, `sealed` or `upload`.
    pub role: &'static str,
    /// The version of the document's file.
    pub version: u32,
}

impl Binding {
    fn aad(&self, header: &[u8]) -> Vec<u8> {
        let mut aad = format!(
            "keiyaku-blob/1\0{}\0{}\0{}\0",
            self.owner, self.role, self.version
        )
        .into_bytes();
        aad.extend_from_slice(header);
        aad
    }
}

/// Wraps a domain error so it can travel through a byte stream and be recovered.
pub fn reject(e: Error) -> std::io::Error {
    std::io::Error::other(e)
}

fn integrity(binding: &Binding, what: &str) -> std::io::Error {
    tracing::error!(
        blob_owner = %binding.owner,
        role = binding.role,
        version = binding.version,
        "stored blob failed authentication: {what}"
    );
    reject(Error::Integrity(format!(
        "{} {} v{}: {what}",
        binding.owner, binding.role, binding.version
    )))
}

fn header(key: &DataKey, nonce_prefix: &[u8; NONCE_PREFIX]) -> Result<Vec<u8>> {
    let id = key.key_id.as_bytes();
    let id_len = u16::try_from(id.len()).map_err(Error::internal)?;
    let wrapped_len = u16::try_from(key.wrapped.len()).map_err(Error::internal)?;
    let mut h = Vec::with_capacity(16 + id.len() + key.wrapped.len());
    h.extend_from_slice(MAGIC);
    h.extend_from_slice(&id_len.to_be_bytes());
    h.extend_from_slice(id);
    h.extend_from_slice(&wrapped_len.to_be_bytes());
    h.extend_from_slice(&key.wrapped);
    h.extend_from_slice(nonce_prefix);
    h.extend_from_slice(&(SEGMENT as u32).to_be_bytes());
    Ok(h)
}

/// A blob's parsed header.
struct Header {
    key_id: String,
    wrapped: Vec<u8>,
    nonce_prefix: [u8; NONCE_PREFIX],
    len: usize,
}

/// The header at the start of `buf`, or `None` if more bytes are needed. Errors on
/// anything that is not our header.
fn parse_header(buf: &[u8]) -> std::result::Result<Option<Header>, &'static str> {
    let mut at = 0usize;
    let take = |at: &mut usize, n: usize| -> Option<&[u8]> {
        let s = buf.get(*at..*at + n)?;
        *at += n;
        Some(s)
    };
    let Some(magic) = take(&mut at, 4) else {
        return Ok(None);
    };
    if magic != MAGIC {
        return Err("not a keiyaku blob");
    }
    let Some(n) = take(&mut at, 2) else {
        return Ok(None);
    };
    let n = u16::from_be_bytes([n[0], n[1]]) as usize;
    let Some(id) = take(&mut at, n) else {
        return Ok(None);
    };
    let id = String::from_utf8(id.to_vec()).map_err(|_| "bad key id")?;
    let Some(n) = take(&mut at, 2) else {
        return Ok(None);
    };
    let n = u16::from_be_bytes([n[0], n[1]]) as usize;
    let Some(wrapped) = take(&mut at, n) else {
        return Ok(None);
    };
    let wrapped = wrapped.to_vec();
    let Some(prefix) = take(&mut at, NONCE_PREFIX) else {
        return Ok(None);
    };
    let prefix: [u8; NONCE_PREFIX] = prefix.try_into().map_err(|_| "bad nonce")?;
    let Some(seg) = take(&mut at, 4) else {
        return Ok(None);
    };
    if u32::from_be_bytes([seg[0], seg[1], seg[2], seg[3]]) as usize != SEGMENT {
        return Err("unsupported segment size");
    }
    Ok(Some(Header {
        key_id: id,
        wrapped,
        nonce_prefix: prefix,
        len: at,
    }))
}

struct Sealing {
    input: ByteStream,
    buf: BytesMut,
    encryptor: Option<EncryptorBE32<Aes256Gcm>>,
    header: Option<Bytes>,
    aad: Vec<u8>,
}

/// Encrypts `input` under `key` for `binding`: the header, then the segments.
pub fn seal_stream(key: &DataKey, binding: &Binding, input: ByteStream) -> Result<ByteStream> {
    let mut prefix = [0u8; NONCE_PREFIX];
    rand::rngs::OsRng.fill_bytes(&mut prefix);
    let header = header(key, &prefix)?;
    let cipher = Aes256Gcm::new(GenericArray::from_slice(key.plaintext.as_ref()));
    let state = Sealing {
        input,
        buf: BytesMut::new(),
        encryptor: Some(EncryptorBE32::from_aead(
            cipher,
            GenericArray::from_slice(&prefix),
        )),
        aad: binding.aad(&header),
        header: Some(Bytes::from(header)),
    };
    Ok(stream::unfold(state, |mut s| async move {
        if let Some(h) = s.header.take() {
            return Some((Ok(h), s));
        }
        loop {
            let encryptor = s.encryptor.as_mut()?;
            // A full segment goes out only once more data follows it: the last segment is
            // marked as last, so a segment is held until we know whether it is.
            if s.buf.len() > SEGMENT {
                let chunk = s.buf.split_to(SEGMENT);
                let out = encryptor.encrypt_next(Payload {
                    msg: &chunk,
                    aad: &s.aad,
                });
                return Some((out.map(Bytes::from).map_err(|_| seal_failed()), s));
            }
            match s.input.next().await {
                Some(Ok(chunk)) => s.buf.extend_from_slice(&chunk),
                Some(Err(e)) => {
                    s.encryptor = None;
                    return Some((Err(e), s));
                }
                None => {
                    let encryptor = s.encryptor.take()?;
                    let last = std::mem::take(&mut s.buf);
                    let out = encryptor.encrypt_last(Payload {
                        msg: &last,
                        aad: &s.aad,
                    });
                    return Some((out.map(Bytes::from).map_err(|_| seal_failed()), s));
                }
            }
        }
    })
    .boxed())
}

fn seal_failed() -> std::io::Error {
    reject(Error::internal("segment encryption failed"))
}

/// A stream over bytes already in memory, sliced (not copied) into segments.
pub fn seal_bytes_source(data: Bytes) -> ByteStream {
    let chunks: Vec<std::io::Result<Bytes>> = (0..data.len().div_ceil(SEGMENT))
        .map(|i| Ok(data.slice(i * SEGMENT..((i + 1) * SEGMENT).min(data.len()))))
        .collect();
    stream::iter(chunks).boxed()
}

struct Opening {
    input: ByteStream,
    buf: BytesMut,
    decryptor: Option<DecryptorBE32<Aes256Gcm>>,
    aad: Vec<u8>,
    binding: Binding,
}

/// Decrypts a blob made by [`seal_stream`] for `binding`. The header is read and the data
/// key unwrapped before this returns; each segment is authenticated before it is yielded,
/// and the stream ends with an integrity error at the first one that fails.
pub async fn open_stream(
    keys: &dyn Keys,
    binding: &Binding,
    mut input: ByteStream,
) -> Result<ByteStream> {
    let mut buf = BytesMut::new();
    let parsed = loop {
        match parse_header(&buf) {
            Ok(Some(h)) => break h,
            Ok(None) if buf.len() > MAX_HEADER => {
                return Err(take_integrity(integrity(binding, "header too long")));
            }
            Ok(None) => match input.next().await {
                Some(Ok(chunk)) => buf.extend_from_slice(&chunk),
                Some(Err(e)) => return Err(Error::internal(e)),
                None => return Err(take_integrity(integrity(binding, "truncated header"))),
            },
            Err(what) => return Err(take_integrity(integrity(binding, what))),
        }
    };
    let header = buf.split_to(parsed.len);
    let plaintext = keys
        .unwrap_data_key(&parsed.key_id, &parsed.wrapped, &binding.owner)
        .await?;
    let cipher = Aes256Gcm::new(GenericArray::from_slice(plaintext.as_ref()));
    let state = Opening {
        input,
        buf,
        decryptor: Some(DecryptorBE32::from_aead(
            cipher,
            GenericArray::from_slice(&parsed.nonce_prefix),
        )),
        aad: binding.aad(&header),
        binding: binding.clone(),
    };
    Ok(stream::unfold(state, |mut s| async move {
        loop {
            let decryptor = s.decryptor.as_mut()?;
            if s.buf.len() > SEGMENT + TAG {
                let chunk = s.buf.split_to(SEGMENT + TAG);
                let out = decryptor.decrypt_next(Payload {
                    msg: &chunk,
                    aad: &s.aad,
                });
                if out.is_err() {
                    s.decryptor = None;
                }
                let out = out
                    .map(Bytes::from)
                    .map_err(|_| integrity(&s.binding, "segment altered"));
                return Some((out, s));
            }
            match s.input.next().await {
                Some(Ok(chunk)) => s.buf.extend_from_slice(&chunk),
                Some(Err(e)) => {
                    s.decryptor = None;
                    return Some((Err(e), s));
                }
                None => {
                    let decryptor = s.decryptor.take()?;
                    let last = std::mem::take(&mut s.buf);
                    let out = decryptor
                        .decrypt_last(Payload {
                            msg: last.chunk(),
                            aad: &s.aad,
                        })
                        .map(Bytes::from)
                        .map_err(|_| integrity(&s.binding, "last segment altered or missing"));
                    return Some((out, s));
                }
            }
        }
    })
    .boxed())
}

fn take_integrity(e: std::io::Error) -> Error {
    match e.into_inner().map(|inner| inner.downcast::<Error>()) {
        Some(Ok(domain)) => *domain,
        _ => Error::Integrity("blob unreadable".into()),
    }
}

/// Recovers the domain error from a stream error (integrity, a refused body, or I/O).
pub fn stream_error(e: std::io::Error) -> Error {
    if e.get_ref().is_some_and(|inner| inner.is::<Error>()) {
        return take_integrity(e);
    }
    Error::internal(e)
}

/// Reads a whole stream into memory, refusing more than `limit` bytes.
pub async fn collect(mut input: ByteStream, limit: usize) -> Result<Bytes> {
    let mut out = BytesMut::new();
    while let Some(chunk) = input.next().await {
        let chunk = chunk.map_err(stream_error)?;
        if out.len() + chunk.len() > limit {
            return Err(Error::TooLarge {
                message: format!("more than {limit} bytes"),
            });
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out.freeze())
}

/// Generates a data key and encrypts `input` for `binding` under it.
pub async fn encrypt(keys: &dyn Keys, binding: &Binding, input: ByteStream) -> Result<ByteStream> {
    let key = keys.generate_data_key(&binding.owner).await?;
    seal_stream(&key, binding, input)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::KeyError;
    use async_trait::async_trait;
    use zeroize::Zeroizing;

    /// A key service whose "wrapping" is the identity: enough to test the stream format.
    struct PlainKeys;

    #[async_trait]
    impl Keys for PlainKeys {
        async fn generate_data_key(&self, _: &str) -> std::result::Result<DataKey, KeyError> {
            let mut k = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut k);
            Ok(DataKey {
                key_id: "test".into(),
                plaintext: Zeroizing::new(k),
                wrapped: k.to_vec(),
            })
        }
        async fn unwrap_data_key(
            &self,
            _: &str,
            wrapped: &[u8],
            _: &str,
        ) -> std::result::Result<Zeroizing<[u8; 32]>, KeyError> {
            Ok(Zeroizing::new(
                wrapped.try_into().map_err(|_| KeyError::Unwrap)?,
            ))
        }
        async fn mac(&self, message: &[u8]) -> std::result::Result<[u8; 32], KeyError> {
            // Not a MAC: the stream tests never ask for one.
            Ok(
                sha2::Digest::finalize(sha2::Digest::chain_update(
                    sha2::Sha256::default(),
                    message,
                ))
                .into(),
            )
        }
    }

    fn binding(owner: &str) -> Binding {
        Binding {
            owner: owner.into(),
            role: "original",
            version: 1,
        }
    }

    async fn seal(data: &[u8], b: &Binding) -> Vec<u8> {
        let s = encrypt(
            &PlainKeys,
            b,
            stream::iter(vec![Ok(Bytes::copy_from_slice(data))]).boxed(),
        )
        .await
        .unwrap();
        collect(s, usize::MAX).await.unwrap().to_vec()
    }

    async fn open(blob: Vec<u8>, b: &Binding) -> Result<Vec<u8>> {
        // Feed in odd-sized pieces so segment boundaries never line up with chunks.
        let pieces: Vec<std::io::Result<Bytes>> = blob
            .chunks(7_777)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let s = open_stream(&PlainKeys, b, stream::iter(pieces).boxed()).await?;
        Ok(collect(s, usize::MAX).await?.to_vec())
    }

    #[tokio::test]
    async fn round_trips_all_sizes() {
        let b = binding("doc1");
        for len in [
            0,
            1,
            SEGMENT - 1,
            SEGMENT,
            SEGMENT + 1,
            3 * SEGMENT,
            3 * SEGMENT + 5,
        ] {
            let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            let blob = seal(&data, &b).await;
            assert_eq!(open(blob, &b).await.unwrap(), data, "length {len}");
        }
    }

    #[tokio::test]
    async fn any_flipped_byte_truncation_or_other_binding_fails() {
        let b = binding("doc1");
        let data = vec![42u8; 2 * SEGMENT + 100];
        let blob = seal(&data, &b).await;
        for at in [0, 10, blob.len() / 2, blob.len() - 1] {
            let mut bad = blob.clone();
            bad[at] ^= 1;
            assert!(open(bad, &b).await.is_err(), "flip at {at}");
        }
        // Dropping the last segment (a clean segment boundary) is caught by the last flag.
        let header_len = blob.len() - (2 * (SEGMENT + TAG) + 100 + TAG);
        let cut = blob[..header_len + 2 * (SEGMENT + TAG)].to_vec();
        assert!(open(cut, &b).await.is_err());
        assert!(open(blob.clone(), &binding("doc2")).await.is_err());
        let sealed = Binding {
            role: "sealed",
            ..b.clone()
        };
        assert!(open(blob.clone(), &sealed).await.is_err());
        let v2 = Binding { version: 2, ..b };
        assert!(open(blob, &v2).await.is_err());
    }

    #[tokio::test]
    async fn ciphertext_hides_the_plaintext() {
        let b = binding("doc1");
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
        let blob = seal(&data, &b).await;
        assert!(
            !blob
                .windows(64)
                .any(|w| data.windows(64).take(300).any(|d| d == w))
        );
    }
}
