//! Writing a file so that readers see the old contents or the new, never a mix: run files
//! (never replaced) and cassette recordings (replaced when re-recording) share this.

use std::fs::{self, File};
use std::io::{self, BufWriter};
use std::path::Path;

/// What to do when the target file exists already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IfExists {
    /// Leave it as it is and report [`AtomicWriteError::AlreadyExists`].
    Keep,
    /// Replace it in one rename: a concurrent writer of the same path wins or loses whole.
    Replace,
}

/// Why an atomic write failed. The caller names the file in its own error type.
#[derive(Debug)]
pub(crate) enum AtomicWriteError {
    /// The file exists and [`IfExists::Keep`] was asked.
    AlreadyExists,
    /// `action` (`write`, `create directory`, …) failed; `on_dir` when it was about the parent
    /// directory rather than the file.
    Io {
        action: &'static str,
        on_dir: bool,
        source: io::Error,
    },
}

impl AtomicWriteError {
    fn io(action: &'static str, source: io::Error) -> Self {
        AtomicWriteError::Io {
            action,
            on_dir: false,
            source,
        }
    }
}

/// Replaces `path` with `bytes`, whole, as [`write_atomically`] does.
pub fn replace_with(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    write_atomically(path, IfExists::Replace, |out| out.write_all(bytes)).map_err(|e| match e {
        AtomicWriteError::Io { source, .. } => source,
        AtomicWriteError::AlreadyExists => io::Error::from(io::ErrorKind::AlreadyExists),
    })
}

/// Writes `path` with what `write_contents` writes: temp file in the same directory (created
/// with its parents), fsync, rename, fsync of the directory. On any failure no temporary file
/// is left behind and an existing file is left as it was.
pub(crate) fn write_atomically(
    path: &Path,
    if_exists: IfExists,
    write_contents: impl FnOnce(&mut BufWriter<&File>) -> io::Result<()>,
) -> Result<(), AtomicWriteError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| AtomicWriteError::io("write", io::Error::other("the path does not name a file")))?;
    // Checked early so that an existing file costs no write; the no-clobber rename below is
    // what actually guarantees it is never replaced.
    if if_exists == IfExists::Keep && fs::symlink_metadata(path).is_ok() {
        return Err(AtomicWriteError::AlreadyExists);
    }
    fs::create_dir_all(dir).map_err(|source| AtomicWriteError::Io {
        action: "create directory",
        on_dir: true,
        source,
    })?;
    // A leading dot and a `.tmp` suffix keep the temp file out of directory listings that
    // look for `*.json`.
    let mut prefix = std::ffi::OsString::from(".");
    prefix.push(file_name);
    prefix.push(".");
    let temp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|source| AtomicWriteError::io("create a temporary file for", source))?;
    // Tells a clean-up that this write is going on; without locks it only has the file's age
    // to go by.
    let _ = temp.as_file().try_lock();
    // Dropping `temp` on any error below removes the temporary file.
    let mut out = BufWriter::with_capacity(1 << 16, temp.as_file());
    write_contents(&mut out).map_err(|source| AtomicWriteError::io("write", source))?;
    out.into_inner()
        .map_err(|e| AtomicWriteError::io("write", e.into_error()))?;
    temp.as_file()
        .sync_all()
        .map_err(|source| AtomicWriteError::io("flush to disk", source))?;
    // Released before the rename: where locks are mandatory (Windows) a reader of the final
    // file would otherwise be refused.
    let _ = temp.as_file().unlock();
    let persisted = match if_exists {
        IfExists::Keep => temp.persist_noclobber(path),
        IfExists::Replace => temp.persist(path),
    };
    persisted.map_err(|e| {
        if if_exists == IfExists::Keep && e.error.kind() == io::ErrorKind::AlreadyExists {
            AtomicWriteError::AlreadyExists
        } else {
            AtomicWriteError::io("rename the temporary file to", e.error)
        }
    })?;
    // Makes the new directory entry durable. Not every platform can open or sync a
    // directory; the file itself is already on disk, so a failure here is not an error.
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    #[test]
    fn the_temporary_file_is_locked_while_it_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.json");
        let mut seen_locked = None;
        write_atomically(&path, IfExists::Keep, |out| {
            let temp = fs::read_dir(dir.path())
                .unwrap()
                .map(|entry| entry.unwrap().path())
                .find(|p| p.to_string_lossy().ends_with(".tmp"))
                .expect("the temporary file exists while writing");
            seen_locked = Some(crate::regular_file::is_in_use(&temp).unwrap());
            out.write_all(b"{}")
        })
        .unwrap();
        assert_eq!(seen_locked, Some(true), "a clean-up can tell the write is going on");
        assert!(
            !crate::regular_file::is_in_use(&path).unwrap(),
            "the final file is not left locked"
        );
    }
}
