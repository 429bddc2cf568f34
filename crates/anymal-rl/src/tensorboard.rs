//! TensorBoard event files (`events.out.tfevents.*`) with scalar summaries.
//!
//! No maintained Rust crate writes them (tensorboard-rs is unmaintained and pins protobuf 2),
//! so this module does, in about fifty lines: the two protobuf messages TensorBoard reads for
//! scalars (`Event` and `Summary`, encoded with prost) in TFRecord framing (little-endian
//! length, masked CRC-32C of the length, payload, masked CRC-32C of the payload).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Result, RlError};

/// `tensorflow.Event`, the fields used for scalars.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Event {
    /// Seconds since the Unix epoch.
    #[prost(double, tag = "1")]
    pub wall_time: f64,
    /// Global step (environment steps for the trainers here).
    #[prost(int64, tag = "2")]
    pub step: i64,
    /// Set on the first event of a file: "brain.Event:2".
    #[prost(string, optional, tag = "3")]
    pub file_version: Option<String>,
    /// The scalars.
    #[prost(message, optional, tag = "5")]
    pub summary: Option<Summary>,
}

/// `tensorflow.Summary`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Summary {
    /// One value per tag.
    #[prost(message, repeated, tag = "1")]
    pub value: Vec<SummaryValue>,
}

/// `tensorflow.Summary.Value` holding a `simple_value`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SummaryValue {
    /// Name of the scalar, e.g. `rollout/ep_rew_mean`.
    #[prost(string, tag = "1")]
    pub tag: String,
    /// The value. In TensorBoard's `summary.proto` it is a member of a `oneof`, which proto3
    /// always writes when set, zero included; a plain proto3 scalar would leave a zero out and
    /// TensorBoard would drop the tag. Hence `optional`, which prost encodes the same way.
    #[prost(float, optional, tag = "2")]
    pub simple_value: Option<f32>,
}

/// CRC-32C masked as TFRecord stores it.
pub fn masked_crc32c(bytes: &[u8]) -> u32 {
    let crc = crc32c::crc32c(bytes);
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// Appends scalar events to one TensorBoard event file.
pub struct EventWriter {
    path: PathBuf,
    out: BufWriter<File>,
}

impl EventWriter {
    /// Creates `dir` if needed and a new event file in it, named as TensorBoard expects.
    pub fn create(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| RlError::file(dir, e))?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let host = std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "localhost".into());
        let name = format!(
            "events.out.tfevents.{}.{host}.{}.0",
            now.as_secs(),
            std::process::id()
        );
        let path = dir.join(name);
        let file = File::create(&path).map_err(|e| RlError::file(&path, e))?;
        let mut writer = Self {
            path,
            out: BufWriter::new(file),
        };
        writer.write_event(&Event {
            wall_time: now.as_secs_f64(),
            step: 0,
            file_version: Some("brain.Event:2".into()),
            summary: None,
        })?;
        Ok(writer)
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the scalars `(tag, value)` at `step` as one event and flushes, so that a running
    /// TensorBoard sees them at once.
    pub fn add_scalars(&mut self, step: u64, scalars: &[(String, f64)]) -> Result<()> {
        let wall_time = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        let value = scalars
            .iter()
            .map(|(tag, v)| SummaryValue {
                tag: tag.clone(),
                simple_value: Some(*v as f32),
            })
            .collect();
        self.write_event(&Event {
            wall_time,
            step: step as i64,
            file_version: None,
            summary: Some(Summary { value }),
        })?;
        self.out.flush().map_err(|e| RlError::file(&self.path, e))
    }

    fn write_event(&mut self, event: &Event) -> Result<()> {
        let payload = prost::Message::encode_to_vec(event);
        let length = (payload.len() as u64).to_le_bytes();
        let mut record = Vec::with_capacity(payload.len() + 16);
        record.extend_from_slice(&length);
        record.extend_from_slice(&masked_crc32c(&length).to_le_bytes());
        record.extend_from_slice(&payload);
        record.extend_from_slice(&masked_crc32c(&payload).to_le_bytes());
        self.out
            .write_all(&record)
            .map_err(|e| RlError::file(&self.path, e))
    }
}

/// Reads every event of a file written by [`EventWriter`], checking both checksums of every
/// record (for tests and tools).
pub fn read_events(path: impl AsRef<Path>) -> Result<Vec<Event>> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| RlError::file(path, e))?;
    let corrupt = |what: &str| RlError::file(path, format!("corrupt event file: {what}"));
    let mut events = Vec::new();
    let mut rest = bytes.as_slice();
    while !rest.is_empty() {
        if rest.len() < 12 {
            return Err(corrupt("truncated record header"));
        }
        let (length, tail) = rest.split_at(8);
        let (length_crc, tail) = tail.split_at(4);
        if masked_crc32c(length).to_le_bytes() != length_crc {
            return Err(corrupt("length checksum mismatch"));
        }
        let n = u64::from_le_bytes(length.try_into().expect("8 bytes")) as usize;
        if tail.len() < n + 4 {
            return Err(corrupt("truncated record"));
        }
        let (payload, tail) = tail.split_at(n);
        let (payload_crc, tail) = tail.split_at(4);
        if masked_crc32c(payload).to_le_bytes() != payload_crc {
            return Err(corrupt("payload checksum mismatch"));
        }
        events
            .push(<Event as prost::Message>::decode(payload).map_err(|e| corrupt(&e.to_string()))?);
        rest = tail;
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_crc_matches_tensorflow() {
        // CRC-32C check value of "123456789" is 0xE3069283 (RFC 3720); masked by hand.
        assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
        let expected = 0xE306_9283u32.rotate_right(15).wrapping_add(0xa282_ead8);
        assert_eq!(masked_crc32c(b"123456789"), expected);
    }

    #[test]
    fn scalars_round_trip_through_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = EventWriter::create(dir.path()).unwrap();
        writer
            .add_scalars(
                2048,
                &[
                    ("rollout/ep_rew_mean".into(), 12.5),
                    ("time/fps".into(), 900.0),
                ],
            )
            .unwrap();
        writer
            .add_scalars(4096, &[("rollout/ep_rew_mean".into(), 30.25)])
            .unwrap();
        let events = read_events(writer.path()).unwrap();
        assert_eq!(events.len(), 3);
        assert_eq!(events[0].file_version.as_deref(), Some("brain.Event:2"));
        let values = &events[1].summary.as_ref().unwrap().value;
        assert_eq!(events[1].step, 2048);
        assert_eq!(values[0].tag, "rollout/ep_rew_mean");
        assert_eq!(values[0].simple_value, Some(12.5));
        assert_eq!(values[1].tag, "time/fps");
        assert_eq!(
            events[2].summary.as_ref().unwrap().value[0].simple_value,
            Some(30.25)
        );
    }

    /// Fields of one protobuf message, `(field number, wire type, payload)`, read per the
    /// protobuf wire-format specification (varint keys; types 0 varint, 1 fixed64, 2
    /// length-delimited, 5 fixed32), independently of the prost encoder.
    fn wire_fields(mut bytes: &[u8]) -> Vec<(u64, u8, Vec<u8>)> {
        fn varint(bytes: &mut &[u8]) -> u64 {
            let (mut value, mut shift) = (0u64, 0);
            loop {
                let byte = bytes[0];
                *bytes = &bytes[1..];
                value |= u64::from(byte & 0x7f) << shift;
                if byte & 0x80 == 0 {
                    return value;
                }
                shift += 7;
            }
        }
        let mut fields = Vec::new();
        while !bytes.is_empty() {
            let key = varint(&mut bytes);
            let (field, wire) = (key >> 3, (key & 7) as u8);
            let len = match wire {
                0 => {
                    let v = varint(&mut bytes);
                    fields.push((field, wire, v.to_le_bytes().to_vec()));
                    continue;
                }
                1 => 8,
                2 => varint(&mut bytes) as usize,
                5 => 4,
                other => panic!("wire type {other}"),
            };
            fields.push((field, wire, bytes[..len].to_vec()));
            bytes = &bytes[len..];
        }
        fields
    }

    #[test]
    fn a_zero_scalar_is_in_the_file_per_the_wire_format() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = EventWriter::create(dir.path()).unwrap();
        writer
            .add_scalars(7, &[("time/time_elapsed".into(), 0.0)])
            .unwrap();
        drop(writer);
        let file = std::fs::read_dir(dir.path())
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        let data = std::fs::read(file.path()).unwrap();
        // TFRecord: u64 length, u32 CRC, payload, u32 CRC; the second record is the scalar.
        let first = u64::from_le_bytes(data[..8].try_into().unwrap()) as usize;
        let second = &data[8 + 4 + first + 4..];
        let length = u64::from_le_bytes(second[..8].try_into().unwrap()) as usize;
        let event = wire_fields(&second[12..12 + length]);
        let summary = &event.iter().find(|f| f.0 == 5).expect("Event.summary").2;
        let value = &wire_fields(summary)[0];
        assert_eq!((value.0, value.1), (1, 2), "Summary.value");
        let value = wire_fields(&value.2);
        assert_eq!(value[0].2, b"time/time_elapsed".to_vec());
        // simple_value: field 2, fixed32, present although zero.
        assert_eq!((value[1].0, value[1].1), (2, 5), "{value:?}");
        assert_eq!(f32::from_le_bytes(value[1].2[..4].try_into().unwrap()), 0.0);
    }

    #[test]
    fn a_flipped_byte_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = EventWriter::create(dir.path()).unwrap();
        writer.add_scalars(1, &[("a".into(), 1.0)]).unwrap();
        let path = writer.path().to_path_buf();
        drop(writer);
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 6;
        bytes[last] ^= 0xff;
        std::fs::write(&path, bytes).unwrap();
        let err = read_events(&path).unwrap_err().to_string();
        assert!(err.contains("checksum"), "{err}");
    }
}
