//! [`SaveFs`]: the file-system calls a save makes, one trait so a test can fail any of them.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The file-system calls of [`save_with`](crate::save_with), in the order a save of a
/// regular file makes them: look at the path (and each link), create the temporary file, write,
/// keep the old mode and owner, sync, rename over the target, sync the directory; a device or
/// FIFO is opened and written in place; a failed save removes its temporary file.
///
/// [`RealFs`] makes them; a test wraps it and fails the N-th (see `tests/save.rs`).
pub trait SaveFs {
    /// What `path` is, not following a last symlink.
    fn symlink_metadata(&self, path: &Path) -> io::Result<Metadata>;
    /// Where the symlink `path` points.
    fn read_link(&self, path: &Path) -> io::Result<PathBuf>;
    /// What `path` is, symlinks followed.
    fn metadata(&self, path: &Path) -> io::Result<Metadata>;
    /// Opens an existing device or FIFO for writing.
    fn open_existing(&self, path: &Path) -> io::Result<File>;
    /// Creates `path` exclusively (never following or reusing anything there) with `mode`.
    fn create_new(&self, path: &Path, mode: u32) -> io::Result<File>;
    /// Writes all of `bytes` to `file`.
    fn write_all(&self, file: &mut File, bytes: &[u8]) -> io::Result<()>;
    /// Gives `file` the mode (and, where the process may, the owner) of `old`.
    fn keep_mode_and_owner(&self, file: &File, old: &Metadata) -> io::Result<()>;
    /// Makes `file`'s contents durable.
    fn sync(&self, file: &File) -> io::Result<()>;
    /// Renames `from` over `to`.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Removes `path`.
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// Makes a rename in `directory` durable.
    fn sync_directory(&self, directory: &Path) -> io::Result<()>;
}

/// The real file system, as [`save`](crate::save) uses it.
#[derive(Debug, Clone, Copy, Default)]
pub struct RealFs;

impl SaveFs for RealFs {
    fn symlink_metadata(&self, path: &Path) -> io::Result<Metadata> {
        std::fs::symlink_metadata(path)
    }

    fn read_link(&self, path: &Path) -> io::Result<PathBuf> {
        std::fs::read_link(path)
    }

    fn metadata(&self, path: &Path) -> io::Result<Metadata> {
        std::fs::metadata(path)
    }

    fn open_existing(&self, path: &Path) -> io::Result<File> {
        OpenOptions::new().write(true).open(path)
    }

    fn create_new(&self, path: &Path, mode: u32) -> io::Result<File> {
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
        #[cfg(not(unix))]
        let _ = mode;
        options.open(path)
    }

    fn write_all(&self, file: &mut File, bytes: &[u8]) -> io::Result<()> {
        file.write_all(bytes)?;
        file.flush()
    }

    fn keep_mode_and_owner(&self, file: &File, old: &Metadata) -> io::Result<()> {
        keep_mode_and_owner(file, old)
    }

    fn sync(&self, file: &File) -> io::Result<()> {
        file.sync_all()
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }

    fn sync_directory(&self, directory: &Path) -> io::Result<()> {
        File::open(directory)?.sync_all()
    }
}

#[cfg(unix)]
pub(crate) fn keep_mode_and_owner(file: &File, old: &std::fs::Metadata) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    file.set_permissions(old.permissions())?;
    let ours = file.metadata()?;
    if (ours.uid(), ours.gid()) != (old.uid(), old.gid()) {
        // Root saving a user's file keeps it the user's; anyone else cannot, and need not.
        let _ = std::os::unix::fs::fchown(file, Some(old.uid()), Some(old.gid()));
    }
    Ok(())
}

#[cfg(not(unix))]
pub(crate) fn keep_mode_and_owner(file: &File, old: &std::fs::Metadata) -> io::Result<()> {
    file.set_permissions(old.permissions())
}
