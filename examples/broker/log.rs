//! One partition's log: the record batches as the producer sent them, with
//! broker-assigned offsets.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

/// Kafka error codes this module answers.
pub const OFFSET_OUT_OF_RANGE: i16 = 1;
/// A batch that is not a well-formed v2 record batch.
pub const CORRUPT_MESSAGE: i16 = 2;

/// Size of a v2 record batch header (magic 2, the only format Kafka 4 clients write).
const BATCH_HEADER: usize = 61;
/// Largest batch accepted (Kafka's `message.max.bytes` default, 1 MiB plus overhead).
pub const MAX_BATCH_BYTES: usize = 1_048_588;

#[derive(Debug)]
struct Batch {
    base: i64,
    last: i64,
    max_timestamp: i64,
    bytes: Bytes,
}

/// A partition: batches in offset order, the log start offset (moved by
/// DeleteRecords) and the next offset (the high watermark: with one replica
/// everything appended is committed).
#[derive(Debug, Default)]
pub struct PartitionLog {
    batches: VecDeque<Batch>,
    log_start: i64,
    next_offset: i64,
}

/// What a fetch read.
pub struct Read {
    /// The batches, concatenated.
    pub records: Bytes,
}

fn be_i32(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn be_i64(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(a)
}

impl PartitionLog {
    /// The log start offset.
    pub fn log_start(&self) -> i64 {
        self.log_start
    }

    /// The high watermark (next offset to be written).
    pub fn high_watermark(&self) -> i64 {
        self.next_offset
    }

    /// Appends the record batches of one Produce partition. All or nothing:
    /// every batch is checked first. Returns the base offset of the first
    /// batch. Each stored batch gets its offset and partition leader epoch
    /// (0) written into its header; neither is covered by the batch CRC.
    pub fn append(&mut self, records: &[u8]) -> Result<i64, (i16, String)> {
        let mut parsed = Vec::new();
        let mut at = 0;
        while at < records.len() {
            let rest = &records[at..];
            if rest.len() < BATCH_HEADER {
                return Err((
                    CORRUPT_MESSAGE,
                    format!("{} trailing bytes are no record batch", rest.len()),
                ));
            }
            let length = be_i32(rest, 8);
            let total = 12usize.saturating_add(usize::try_from(length).unwrap_or(0));
            if length < (BATCH_HEADER - 12) as i32 || total > rest.len() {
                return Err((
                    CORRUPT_MESSAGE,
                    format!("batch length {length} does not fit the request"),
                ));
            }
            if total > MAX_BATCH_BYTES {
                return Err((
                    10,
                    format!("batch of {total} bytes is over {MAX_BATCH_BYTES}"),
                ));
            }
            if rest[16] != 2 {
                return Err((
                    CORRUPT_MESSAGE,
                    format!("record batch magic {} (only 2 is served)", rest[16]),
                ));
            }
            let last_delta = be_i32(rest, 23);
            if last_delta < 0 {
                return Err((CORRUPT_MESSAGE, format!("last offset delta {last_delta}")));
            }
            parsed.push((at, total, i64::from(last_delta), be_i64(rest, 35)));
            at += total;
        }
        if parsed.is_empty() {
            return Err((CORRUPT_MESSAGE, "no record batch".into()));
        }
        let first = self.next_offset;
        for (start, total, last_delta, max_timestamp) in parsed {
            let mut bytes = BytesMut::from(&records[start..start + total]);
            let base = self.next_offset;
            bytes[0..8].copy_from_slice(&base.to_be_bytes());
            bytes[12..16].copy_from_slice(&0i32.to_be_bytes());
            self.batches.push_back(Batch {
                base,
                last: base + last_delta,
                max_timestamp,
                bytes: bytes.freeze(),
            });
            self.next_offset = base + last_delta + 1;
        }
        Ok(first)
    }

    /// Reads from `offset`: whole batches, the one holding `offset` first, up
    /// to `max_bytes` (at least one batch, as Kafka does, so a consumer
    /// always makes progress).
    pub fn read(&self, offset: i64, max_bytes: usize) -> Result<Read, i16> {
        if offset < self.log_start || offset > self.next_offset {
            return Err(OFFSET_OUT_OF_RANGE);
        }
        let from = self.batches.partition_point(|b| b.last < offset);
        let mut out = BytesMut::new();
        for b in self.batches.iter().skip(from) {
            if !out.is_empty() && out.len() + b.bytes.len() > max_bytes {
                break;
            }
            out.extend_from_slice(&b.bytes);
        }
        Ok(Read {
            records: out.freeze(),
        })
    }

    /// ListOffsets for a timestamp ≥ 0: the first batch whose largest
    /// timestamp is at least `timestamp` (offset of its first record, and
    /// that timestamp), or `None`. Batch-granular: the offset may be a few
    /// records before the first record with that timestamp.
    pub fn offset_for_timestamp(&self, timestamp: i64) -> Option<(i64, i64)> {
        self.batches
            .iter()
            .find(|b| b.max_timestamp >= timestamp && b.last >= self.log_start)
            .map(|b| (b.base.max(self.log_start), b.max_timestamp))
    }

    /// ListOffsets MAX_TIMESTAMP (-3): the batch holding the largest timestamp.
    pub fn max_timestamp(&self) -> Option<(i64, i64)> {
        self.batches
            .iter()
            .filter(|b| b.last >= self.log_start)
            .max_by_key(|b| b.max_timestamp)
            .map(|b| (b.last, b.max_timestamp))
    }

    /// DeleteRecords: moves the log start to `offset` (-1: the high
    /// watermark) and drops the batches wholly before it. Returns the new
    /// low watermark.
    pub fn delete_before(&mut self, offset: i64) -> Result<i64, i16> {
        let offset = if offset == -1 {
            self.next_offset
        } else {
            offset
        };
        if offset < 0 || offset > self.next_offset {
            return Err(OFFSET_OUT_OF_RANGE);
        }
        if offset > self.log_start {
            self.log_start = offset;
            while self.batches.front().is_some_and(|b| b.last < offset) {
                self.batches.pop_front();
            }
        }
        Ok(self.log_start)
    }
}

/// A v2 batch header with `records` records and no record bodies (the log
/// never looks past the header), for tests.
#[cfg(test)]
pub fn batch(records: i32, timestamp: i64) -> Vec<u8> {
    let mut b = vec![0u8; BATCH_HEADER];
    b[8..12].copy_from_slice(&((BATCH_HEADER - 12) as i32).to_be_bytes());
    b[16] = 2;
    b[23..27].copy_from_slice(&(records - 1).to_be_bytes());
    b[27..35].copy_from_slice(&timestamp.to_be_bytes());
    b[35..43].copy_from_slice(&timestamp.to_be_bytes());
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_assigned_and_written_into_the_batches() {
        let mut log = PartitionLog::default();
        assert_eq!(log.append(&batch(3, 10)), Ok(0));
        let two = [batch(2, 20), batch(1, 30)].concat();
        assert_eq!(log.append(&two), Ok(3));
        assert_eq!(log.high_watermark(), 6);
        let read = log.read(4, 1).expect("in range");
        // At least one batch, the one holding offset 4 (base 3).
        assert_eq!(read.records.len(), BATCH_HEADER);
        assert_eq!(be_i64(&read.records, 0), 3);
        assert_eq!(log.read(6, 1000).map(|r| r.records.len()), Ok(0));
        assert_eq!(log.read(7, 1000).err(), Some(OFFSET_OUT_OF_RANGE));
        assert_eq!(log.offset_for_timestamp(25), Some((5, 30)));
        assert_eq!(log.offset_for_timestamp(31), None);
    }

    #[test]
    fn delete_records_moves_the_log_start() {
        let mut log = PartitionLog::default();
        log.append(&[batch(3, 1), batch(3, 2)].concat())
            .expect("valid");
        assert_eq!(log.delete_before(4), Ok(4));
        assert_eq!(log.read(2, 100).err(), Some(OFFSET_OUT_OF_RANGE));
        assert_eq!(log.read(4, 1000).map(|r| be_i64(&r.records, 0)), Ok(3));
        assert_eq!(log.delete_before(-1), Ok(6));
        assert_eq!(log.delete_before(7).err(), Some(OFFSET_OUT_OF_RANGE));
    }

    #[test]
    fn malformed_batches_are_refused_whole() {
        let mut log = PartitionLog::default();
        let mut bad = batch(1, 0);
        bad[16] = 1;
        assert!(log.append(&[batch(1, 0), bad].concat()).is_err());
        assert!(log.append(&batch(1, 0)[..20]).is_err());
        assert!(log.append(&[]).is_err());
        assert_eq!(log.high_watermark(), 0);
    }
}
