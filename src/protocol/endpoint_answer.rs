//! The `PartitionsByUserEndpoint` array of a StreamsGroupHeartbeat response
//! as a shareable value (issue 14 item 5).
//!
//! A group of N members with endpoints answers every member whose
//! endpoint-information epoch is stale with the same N entries. The
//! coordinator builds each entry once, when its member's endpoint or tasks
//! change, and every response holds the same entries (a reference count per
//! response, not a copy of every partition); an entry is encoded once, on the
//! first response that carries it, and each later response copies its bytes.
//! A decoded answer holds its entries in one plain `Vec`, exactly as decoded.

use std::fmt;
use std::sync::{Arc, OnceLock};

use bytes::{BufMut, Bytes};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::heartbeat::EndpointToPartitions;
use super::wire::{
    compact_array_len_size, put_compact_array_len, DecodeError, EncodeError, Reader, Wire,
};

/// One entry of an [`EndpointAnswer`], shared: cloning it is a reference
/// count, and its wire form is encoded once.
#[derive(Clone)]
pub struct EndpointEntry(Arc<EntryInner>);

struct EntryInner {
    value: EndpointToPartitions,
    /// The entry's bytes and the version they were encoded at (the entry's
    /// form is the same in every version of the response; a response of
    /// another version encodes it afresh).
    encoded: OnceLock<(i16, Result<Bytes, EncodeError>)>,
}

impl EndpointEntry {
    /// Wraps an entry.
    pub fn new(value: EndpointToPartitions) -> Self {
        EndpointEntry(Arc::new(EntryInner {
            value,
            encoded: OnceLock::new(),
        }))
    }

    /// The entry.
    pub fn get(&self) -> &EndpointToPartitions {
        &self.0.value
    }

    /// Its bytes at `version`, encoded on first use.
    fn encoded(&self, version: i16) -> Result<Bytes, EncodeError> {
        let (v, bytes) = self
            .0
            .encoded
            .get_or_init(|| (version, encode(&self.0.value, version)));
        if *v == version {
            bytes.clone()
        } else {
            encode(&self.0.value, version)
        }
    }
}

fn encode(value: &EndpointToPartitions, version: i16) -> Result<Bytes, EncodeError> {
    let mut out = Vec::with_capacity(value.size(version)?);
    value.write(version, &mut out);
    Ok(Bytes::from(out))
}

impl fmt::Debug for EndpointEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.get().fmt(f)
    }
}

impl PartialEq for EndpointEntry {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.get() == other.get()
    }
}

impl Eq for EndpointEntry {}

#[derive(Clone)]
enum Entries {
    /// As decoded (or built from a plain list).
    Owned(Vec<EndpointToPartitions>),
    /// Shared entries, as the coordinator builds them.
    Shared(Arc<Vec<EndpointEntry>>),
}

/// The `PartitionsByUserEndpoint` array: one entry per member with an
/// endpoint. Cheap to clone when built from shared entries
/// ([`from_shared`](Self::from_shared)); compares, prints and converts to
/// JSON as the plain list of entries.
#[derive(Clone)]
pub struct EndpointAnswer(Entries);

impl Default for EndpointAnswer {
    fn default() -> Self {
        EndpointAnswer(Entries::Owned(Vec::new()))
    }
}

impl EndpointAnswer {
    /// An answer of shared entries, in order.
    pub(crate) fn from_shared(entries: Arc<Vec<EndpointEntry>>) -> Self {
        EndpointAnswer(Entries::Shared(entries))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        match &self.0 {
            Entries::Owned(v) => v.len(),
            Entries::Shared(v) => v.len(),
        }
    }

    /// True when there is no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entries, in order.
    pub fn iter(&self) -> impl Iterator<Item = &EndpointToPartitions> + '_ {
        let (owned, shared) = match &self.0 {
            Entries::Owned(v) => (Some(v.iter()), None),
            Entries::Shared(v) => (None, Some(v.iter().map(EndpointEntry::get))),
        };
        owned
            .into_iter()
            .flatten()
            .chain(shared.into_iter().flatten())
    }

    /// A plain copy of the entries.
    pub fn to_vec(&self) -> Vec<EndpointToPartitions> {
        self.iter().cloned().collect()
    }

    /// The wire size of the entries (the array's length prefix excluded).
    fn entries_size(&self, version: i16) -> Result<usize, EncodeError> {
        match &self.0 {
            Entries::Owned(v) => v.iter().map(|e| e.size(version)).sum(),
            Entries::Shared(v) => v.iter().map(|e| Ok(e.encoded(version)?.len())).sum(),
        }
    }
}

impl From<Vec<EndpointToPartitions>> for EndpointAnswer {
    fn from(v: Vec<EndpointToPartitions>) -> Self {
        EndpointAnswer(Entries::Owned(v))
    }
}

impl FromIterator<EndpointToPartitions> for EndpointAnswer {
    fn from_iter<I: IntoIterator<Item = EndpointToPartitions>>(iter: I) -> Self {
        EndpointAnswer(Entries::Owned(iter.into_iter().collect()))
    }
}

impl fmt::Debug for EndpointAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PartialEq for EndpointAnswer {
    fn eq(&self, other: &Self) -> bool {
        if let (Entries::Shared(a), Entries::Shared(b)) = (&self.0, &other.0) {
            if Arc::ptr_eq(a, b) {
                return true;
            }
        }
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for EndpointAnswer {}

impl Serialize for EndpointAnswer {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for EndpointAnswer {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::<EndpointToPartitions>::deserialize(d).map(EndpointAnswer::from)
    }
}

/// The nullable array: null when `None`.
impl Wire for Option<EndpointAnswer> {
    const MIN_SIZE: usize = 1;
    fn read(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
        Ok(Option::<Vec<EndpointToPartitions>>::read(r, version)?.map(EndpointAnswer::from))
    }
    fn size(&self, version: i16) -> Result<usize, EncodeError> {
        match self {
            None => Ok(1),
            Some(a) => Ok(compact_array_len_size(Some(a.len()))? + a.entries_size(version)?),
        }
    }
    fn write<B: BufMut>(&self, version: i16, buf: &mut B) {
        let Some(a) = self else {
            put_compact_array_len(buf, None);
            return;
        };
        put_compact_array_len(buf, Some(a.len()));
        match &a.0 {
            Entries::Owned(v) => {
                for e in v {
                    e.write(version, buf);
                }
            }
            Entries::Shared(v) => {
                for e in v.iter() {
                    // `size` succeeded for this version first (the Wire
                    // contract), so the bytes are there.
                    match e.encoded(version) {
                        Ok(bytes) => buf.put_slice(&bytes),
                        Err(_) => e.get().write(version, buf),
                    }
                }
            }
        }
    }
}
