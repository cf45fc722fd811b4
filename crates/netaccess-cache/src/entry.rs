//! The entry file: one stored response, checked on every read.
//!
//! # Design
//!
//! ```text
//! offset  0  magic "NAC" 0xE8
//!         4  format version, u32 little-endian
//!         8  metadata length, u32
//!        12  body length, u64
//!        20  SHA-256 of the metadata
//!        52  SHA-256 of the body
//!        84  metadata (JSON), then the body
//! ```
//!
//! The header is written last (a placeholder first, the real one once the body is complete), and
//! the file becomes visible only by a rename, so a reader sees a whole entry or none. The file's
//! length must equal the lengths the header gives, and both digests must match: a torn or
//! damaged file (a power loss, a full disk, a stray write) is detected and deleted, never
//! served. The metadata is checked on every lookup, the body before it is served.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};

use sha2::{Digest, Sha256};

use crate::metadata::CacheMetaData;

/// The format version; entries of another version are deleted on read.
pub const FORMAT_VERSION: u32 = 1;

const MAGIC: [u8; 4] = [b'N', b'A', b'C', 0xE8];
/// The length of the fixed header.
pub(crate) const HEADER_LEN: u64 = 84;
/// The largest metadata accepted on read (a damaged length must not allocate gigabytes).
const MAX_METADATA: u32 = 1024 * 1024;

/// Why an entry file cannot be used.
#[derive(Debug)]
pub(crate) enum Unusable {
    /// It could not be read (missing, permissions): leave it alone.
    Io,
    /// It is damaged or of another version: delete it.
    Damaged(String),
}

impl From<io::Error> for Unusable {
    fn from(error: io::Error) -> Self {
        match error.kind() {
            io::ErrorKind::UnexpectedEof => Self::Damaged("the file is shorter than its header says".into()),
            _ => Self::Io,
        }
    }
}

/// The fixed header of an entry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Header {
    pub(crate) metadata_len: u32,
    pub(crate) body_len: u64,
    metadata_digest: [u8; 32],
    body_digest: [u8; 32],
}

impl Header {
    fn encode(&self) -> [u8; HEADER_LEN as usize] {
        let mut bytes = [0u8; HEADER_LEN as usize];
        bytes[0..4].copy_from_slice(&MAGIC);
        bytes[4..8].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        bytes[8..12].copy_from_slice(&self.metadata_len.to_le_bytes());
        bytes[12..20].copy_from_slice(&self.body_len.to_le_bytes());
        bytes[20..52].copy_from_slice(&self.metadata_digest);
        bytes[52..84].copy_from_slice(&self.body_digest);
        bytes
    }

    fn decode(bytes: &[u8; HEADER_LEN as usize]) -> Result<Self, Unusable> {
        if bytes[0..4] != MAGIC {
            return Err(Unusable::Damaged("not a cache entry (bad magic)".into()));
        }
        let word = |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
        let version = word(4);
        if version != FORMAT_VERSION {
            return Err(Unusable::Damaged(format!("format version {version}, not {FORMAT_VERSION}")));
        }
        let mut body_len = [0u8; 8];
        body_len.copy_from_slice(&bytes[12..20]);
        let mut metadata_digest = [0u8; 32];
        metadata_digest.copy_from_slice(&bytes[20..52]);
        let mut body_digest = [0u8; 32];
        body_digest.copy_from_slice(&bytes[52..84]);
        Ok(Self { metadata_len: word(8), body_len: u64::from_le_bytes(body_len), metadata_digest, body_digest })
    }

    /// Where the body starts.
    pub(crate) fn body_offset(&self) -> u64 {
        HEADER_LEN + u64::from(self.metadata_len)
    }
}

/// Reads and checks an entry's header and metadata; the file is left positioned at the body.
pub(crate) fn read_head(file: &mut File) -> Result<(Header, CacheMetaData), Unusable> {
    let mut bytes = [0u8; HEADER_LEN as usize];
    file.read_exact(&mut bytes)?;
    let header = Header::decode(&bytes)?;
    if header.metadata_len > MAX_METADATA {
        return Err(Unusable::Damaged(format!("metadata of {} bytes", header.metadata_len)));
    }
    let file_len = file.metadata()?.len();
    if Some(file_len) != header.body_offset().checked_add(header.body_len) {
        return Err(Unusable::Damaged(format!("{file_len} bytes, the header says otherwise")));
    }
    let mut metadata = vec![0u8; header.metadata_len as usize];
    file.read_exact(&mut metadata)?;
    if Sha256::digest(&metadata)[..] != header.metadata_digest {
        return Err(Unusable::Damaged("the metadata checksum does not match".into()));
    }
    let metadata = serde_json::from_slice(&metadata)
        .map_err(|e| Unusable::Damaged(format!("the metadata does not parse: {e}")))?;
    Ok((header, metadata))
}

/// Reads the whole body once to check its digest; the file is left positioned at the body.
pub(crate) fn verify_body(file: &mut File, header: &Header) -> Result<(), Unusable> {
    file.seek(SeekFrom::Start(header.body_offset()))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut left = header.body_len;
    while left > 0 {
        let want = usize::try_from(left.min(buffer.len() as u64)).unwrap_or(buffer.len());
        let read = file.read(&mut buffer[..want])?;
        if read == 0 {
            return Err(Unusable::Damaged("the body is shorter than its header says".into()));
        }
        hasher.update(&buffer[..read]);
        left -= read as u64;
    }
    if hasher.finalize()[..] != header.body_digest {
        return Err(Unusable::Damaged("the body checksum does not match".into()));
    }
    file.seek(SeekFrom::Start(header.body_offset()))?;
    Ok(())
}

/// Writes an entry into a (temporary) file: metadata first, then the body in pieces, then the
/// header.
pub(crate) struct EntryWriter {
    file: File,
    metadata_len: u32,
    metadata_digest: [u8; 32],
    body: Sha256,
    body_len: u64,
}

impl EntryWriter {
    pub(crate) fn start(mut file: File, metadata: &CacheMetaData) -> io::Result<Self> {
        let text = serde_json::to_vec(metadata).map_err(io::Error::other)?;
        let metadata_len = u32::try_from(text.len())
            .ok()
            .filter(|len| *len <= MAX_METADATA)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the metadata is too large to store"))?;
        file.write_all(&[0u8; HEADER_LEN as usize])?;
        file.write_all(&text)?;
        let metadata_digest = Sha256::digest(&text).into();
        Ok(Self { file, metadata_len, metadata_digest, body: Sha256::new(), body_len: 0 })
    }

    pub(crate) fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        self.file.write_all(chunk)?;
        self.body.update(chunk);
        self.body_len += chunk.len() as u64;
        Ok(())
    }

    pub(crate) fn body_len(&self) -> u64 {
        self.body_len
    }

    /// Writes the header; returns the file's total length.
    pub(crate) fn finish(mut self) -> io::Result<u64> {
        let header = Header {
            metadata_len: self.metadata_len,
            body_len: self.body_len,
            metadata_digest: self.metadata_digest,
            body_digest: self.body.finalize().into(),
        };
        self.file.seek(SeekFrom::Start(0))?;
        self.file.write_all(&header.encode())?;
        self.file.flush()?;
        Ok(header.body_offset() + header.body_len)
    }
}
