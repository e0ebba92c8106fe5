//! Opening only regular files (never a FIFO, a device or, where asked, a link), reading them
//! within a size limit, and asking whether another handle holds one's lock. Shared by the
//! store, the journal and the atomic writes.

use std::fs::{self, File};
use std::io;
use std::path::Path;

/// The most read from one run file, journal or file of task records: 2 GiB, a hundred times
/// a run of 10,000 tasks (about 21 MB). Anything larger is refused before it is read, so that a
/// wrong path cannot exhaust memory.
pub const MAX_RUN_FILE_BYTES: u64 = 2 << 30;

/// Whether a path may be a symbolic link to the file it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Links {
    Follow,
    /// A link is refused: nothing is read or written through a link in the store.
    Refuse,
}

/// Why a file was not opened.
#[derive(Debug)]
pub(crate) enum OpenError {
    /// It is not a regular file: what it is (`a FIFO`, `a symbolic link`, …).
    NotRegular(&'static str),
    Io(io::Error),
}

/// Opens `path` with `options` only if it is a regular file: a FIFO would block the open or
/// the read, a device (`/dev/zero`) would never end, and with [`Links::Refuse`] a symbolic link
/// would lead outside the store. The check before opening gives the clear message; on unix the
/// open itself refuses a link (`O_NOFOLLOW`) and does not wait on a FIFO (`O_NONBLOCK`), and the
/// opened file is checked again, so a file swapped in between is refused too.
pub(crate) fn open_regular(path: &Path, options: &mut fs::OpenOptions, links: Links) -> Result<File, OpenError> {
    let metadata = match links {
        Links::Follow => fs::metadata(path),
        Links::Refuse => fs::symlink_metadata(path),
    }
    .map_err(OpenError::Io)?;
    if let Some(kind) = not_regular(metadata.file_type()) {
        return Err(OpenError::NotRegular(kind));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        // O_NONBLOCK changes nothing for the regular file that is then read or appended to.
        let mut flags = libc::O_NONBLOCK;
        if links == Links::Refuse {
            flags |= libc::O_NOFOLLOW;
        }
        options.custom_flags(flags);
    }
    let file = options.open(path).map_err(|e| {
        #[cfg(unix)]
        if links == Links::Refuse && e.raw_os_error() == Some(libc::ELOOP) {
            return OpenError::NotRegular("a symbolic link");
        }
        OpenError::Io(e)
    })?;
    let metadata = file.metadata().map_err(OpenError::Io)?;
    match not_regular(metadata.file_type()) {
        Some(kind) => Err(OpenError::NotRegular(kind)),
        None => Ok(file),
    }
}

/// What a file that is not a regular file is, in words (`None` for a regular file).
fn not_regular(file_type: fs::FileType) -> Option<&'static str> {
    if file_type.is_file() {
        return None;
    }
    if file_type.is_symlink() {
        return Some("a symbolic link");
    }
    if file_type.is_dir() {
        return Some("a directory");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if file_type.is_fifo() {
            return Some("a FIFO (named pipe)");
        }
        if file_type.is_char_device() || file_type.is_block_device() {
            return Some("a device");
        }
        if file_type.is_socket() {
            return Some("a socket");
        }
    }
    Some("not a regular file")
}

/// Reads all of `file`, or `None` when it holds more than `limit` bytes (checked again while
/// reading: the file may grow after its size was looked at).
pub(crate) fn read_capped(file: &File, limit: u64) -> io::Result<Option<Vec<u8>>> {
    use std::io::Read as _;
    let size = file.metadata()?.len();
    if size > limit {
        return Ok(None);
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= limit).then_some(bytes))
}

/// Whether another open handle, in this process or another, holds the advisory lock on `path`:
/// a journal a run is writing, a task a nextest process is running. A file that does not
/// exist is not in use. An error means the file system cannot tell (it may not support locks):
/// callers that remove files treat that as in use.
pub fn is_in_use(path: impl AsRef<Path>) -> io::Result<bool> {
    let file = match File::open(path.as_ref()) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    // Taken and released at once (the handle closes): only a lock held elsewhere blocks it.
    match file.try_lock() {
        Ok(()) => Ok(false),
        Err(fs::TryLockError::WouldBlock) => Ok(true),
        Err(fs::TryLockError::Error(e)) => Err(e),
    }
}
