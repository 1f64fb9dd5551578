//! A TensorBoard event file written by hand: TFRecord framing (length, masked CRC-32C of the
//! length, data, masked CRC-32C of the data) around `Event` protobufs with `Summary.Value`
//! scalars (`simple_value`, float32). No crate: `tensorboard-rs`, the one that does this, last
//! released in 2022 and pulls in protobuf 2 and image crates for ~100 lines of encoding.
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::{Error, Result};

/// An open `events.out.tfevents.<time>.<host>.<pid>.<n>` (PyTorch's SummaryWriter naming).
pub struct EventFile {
    path: PathBuf,
    out: BufWriter<File>,
}

/// Files opened by this process (the name's last part), so that two never share a name.
static OPENED: AtomicUsize = AtomicUsize::new(0);

impl EventFile {
    /// A new event file in `folder`, starting with the `file_version` event TensorBoard expects.
    pub fn create(folder: &Path) -> Result<EventFile> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let name = format!(
            "events.out.tfevents.{now:010}.{}.{}.{}",
            host_name(),
            std::process::id(),
            OPENED.fetch_add(1, Ordering::Relaxed)
        );
        let path = folder.join(name);
        let file = File::create(&path).map_err(|e| Error::file(&path, e))?;
        let mut events = EventFile {
            path,
            out: BufWriter::new(file),
        };
        let mut event = event_header(0);
        bytes_field(&mut event, 3, b"brain.Event:2");
        events.record(&event)?;
        Ok(events)
    }

    /// Scalars at `step`, in one event.
    pub fn scalars(&mut self, step: u64, values: &[(String, f32)]) -> Result<()> {
        let mut summary = Vec::new();
        for (tag, value) in values {
            let mut v = Vec::new();
            bytes_field(&mut v, 1, tag.as_bytes());
            v.push(2 << 3 | 5); // simple_value: fixed32
            v.extend(value.to_le_bytes());
            bytes_field(&mut summary, 1, &v);
        }
        let mut event = event_header(step);
        bytes_field(&mut event, 5, &summary);
        self.record(&event)
    }

    /// `SessionLog.START` at `step`: TensorBoard's reader drops the events of earlier files at
    /// this step and after (a resumed run redoes them).
    pub fn session_start(&mut self, step: u64) -> Result<()> {
        let mut event = event_header(step);
        bytes_field(&mut event, 7, &[1 << 3, 1]); // status = START
        self.record(&event)
    }

    /// Pushes what was written to the file.
    pub fn flush(&mut self) -> Result<()> {
        self.out.flush().map_err(|e| Error::file(&self.path, e))
    }

    fn record(&mut self, data: &[u8]) -> Result<()> {
        let length = (data.len() as u64).to_le_bytes();
        let mut framed = Vec::with_capacity(data.len() + 16);
        framed.extend(length);
        framed.extend(masked_crc32c(&length).to_le_bytes());
        framed.extend(data);
        framed.extend(masked_crc32c(data).to_le_bytes());
        self.out
            .write_all(&framed)
            .map_err(|e| Error::file(&self.path, e))
    }
}

/// `wall_time` (field 1, double) and `step` (field 2, int64) of an Event.
fn event_header(step: u64) -> Vec<u8> {
    let wall_time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let mut event = vec![1 << 3 | 1];
    event.extend(wall_time.to_le_bytes());
    event.push(2 << 3);
    varint(&mut event, step);
    event
}

/// A length-delimited field (strings, bytes, messages).
fn bytes_field(out: &mut Vec<u8>, field: u8, bytes: &[u8]) {
    out.push(field << 3 | 2);
    varint(out, bytes.len() as u64);
    out.extend(bytes);
}

fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// TFRecord's mask: rotate right by 15, add a constant.
fn masked_crc32c(data: &[u8]) -> u32 {
    let crc = crc32c(data);
    (crc.rotate_right(15)).wrapping_add(0xa282_ead8)
}

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), bit by bit: event files are small.
pub fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= byte as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that many bytes.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    match ok {
        true => String::from_utf8_lossy(&buf[..end]).replace(['/', '\\'], "_"),
        false => "localhost".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_check_value() {
        // The standard check value of CRC-32C (RFC 3720's polynomial) over "123456789".
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    }
}
