//! `headers.dat`: every accepted header as an 80-byte record, appended in the order accepted
//! (so a header's parent always comes before it), fsynced once per batch. On open a torn last
//! record — a crash mid-append — is cut off; the chain stops loading at the first record that
//! fails validation and cuts the file there, saving the cut bytes to `headers.dat.bad`. No
//! threads; owned by [`super::Chain`]. btcd keeps headers in its block database instead; this
//! file plays the part of Bitcoin Core's block index on disk for a headers-only node.

use crate::wire::BlockHeader;
use crate::wire::block_header::BLOCK_HEADER_LEN;
use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The file name inside the network's data directory.
pub const HEADERS_FILE: &str = "headers.dat";

/// Where the bytes cut from a bad `headers.dat` are kept for inspection.
pub const HEADERS_BAD_FILE: &str = "headers.dat.bad";

const RECORD: u64 = BLOCK_HEADER_LEN as u64;

/// The append-only header file.
#[derive(Debug)]
pub struct HeaderStore {
    path: PathBuf,
    file: File,
    records: u64,
}

impl HeaderStore {
    /// Opens or creates `dir/headers.dat`, creating `dir` if needed, and cuts a torn last
    /// record with a warning.
    pub fn open(dir: &Path) -> io::Result<HeaderStore> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(HEADERS_FILE);
        let existed = path.exists();
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)?;
        if !existed {
            // Make the new directory entry durable too (best effort: not every OS allows it).
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        let len = file.metadata()?.len();
        let records = len / RECORD;
        let torn = len % RECORD;
        if torn != 0 {
            log::warn!(
                "{}: dropping a torn last record ({torn} of {RECORD} bytes) left by a crash",
                path.display()
            );
            file.set_len(records * RECORD)?;
            file.sync_all()?;
        }
        Ok(HeaderStore {
            path,
            file,
            records,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of whole records in the file.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Reads the records in order, calling `f(index, header)` for each until it returns false;
    /// returns how many records `f` accepted.
    pub fn read_all(&mut self, mut f: impl FnMut(u64, BlockHeader) -> bool) -> io::Result<u64> {
        self.file.seek(SeekFrom::Start(0))?;
        let mut reader = BufReader::with_capacity(1 << 20, &self.file);
        let mut buf = [0u8; BLOCK_HEADER_LEN];
        for i in 0..self.records {
            reader.read_exact(&mut buf)?;
            if !f(i, BlockHeader::from_bytes(&buf)) {
                return Ok(i);
            }
        }
        Ok(self.records)
    }

    /// Cuts the file to its first `keep` records, appending the cut bytes to
    /// `headers.dat.bad` first (best effort) so nothing is silently lost.
    pub fn truncate_records(&mut self, keep: u64) -> io::Result<()> {
        if keep >= self.records {
            return Ok(());
        }
        let bad_path = self.path.with_file_name(HEADERS_BAD_FILE);
        let saved = (|| -> io::Result<()> {
            let mut tail = Vec::new();
            self.file.seek(SeekFrom::Start(keep * RECORD))?;
            (&self.file).read_to_end(&mut tail)?;
            let mut bad = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&bad_path)?;
            bad.write_all(&tail)?;
            bad.sync_all()
        })();
        if let Err(e) = saved {
            log::warn!(
                "could not save the cut records to {}: {e}",
                bad_path.display()
            );
        }
        self.file.set_len(keep * RECORD)?;
        self.file.sync_all()?;
        self.records = keep;
        Ok(())
    }

    /// Appends `headers` as one write and fsyncs the data: a batch is durable when this returns.
    pub fn append(&mut self, headers: &[BlockHeader]) -> io::Result<()> {
        if headers.is_empty() {
            return Ok(());
        }
        let mut buf = Vec::with_capacity(headers.len() * BLOCK_HEADER_LEN);
        for h in headers {
            buf.extend_from_slice(&h.to_bytes());
        }
        if let Err(e) = self.file.write_all(&buf) {
            // Do not leave a partial batch behind: cut back to the last whole record.
            let _ = self.file.set_len(self.records * RECORD);
            return Err(e);
        }
        self.file.sync_data()?;
        self.records += headers.len() as u64;
        Ok(())
    }
}
