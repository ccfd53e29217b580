//! `file://DIR`: the embedded store, a directory of JSON files.
//!
//! Writes are atomic (temporary file, fsync, rename, fsync of the directory) and conditional
//! across processes: a writer holds an exclusive lock on the key's lock file while it compares
//! versions and renames. A version is a hash of the object's bytes, so it changes whenever the
//! content does, whoever wrote it.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::{Condition, StateStore, StoreError, Stored, Version};
use crate::BoxFuture;

/// A [`StateStore`] in a local directory.
#[derive(Debug, Clone)]
pub struct FsStore {
    root: PathBuf,
}

impl FsStore {
    /// A store in `root`, created on the first write.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The directory the store lives in.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The path of `key`. Keys are relative, `/`-separated, and every segment is made of
    /// letters, digits and `-_.%` (what [`encode_segment`](super::encode_segment) produces and
    /// the fixed file names use); anything else could escape the directory and is refused.
    /// So is a segment too long for a file name once the store's hidden siblings
    /// (`.{name}.lock`, `.{name}.tmp`) are counted.
    fn path(&self, key: &str) -> Result<PathBuf, StoreError> {
        let valid = !key.is_empty()
            && key.split('/').all(|segment| {
                !segment.is_empty()
                    && !segment.starts_with('.')
                    && segment
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.%".contains(&b))
            });
        if !valid {
            return Err(StoreError::Other(format!(
                "invalid store key `{}`",
                key.escape_debug()
            )));
        }
        if let Some(long) = key
            .split('/')
            .find(|segment| segment.len() > MAX_NAME_BYTES)
        {
            return Err(StoreError::Other(format!(
                "invalid store key `{key}`: its segment of {} bytes is longer than the \
                 {MAX_NAME_BYTES} a file name of the store in {} can take",
                long.len(),
                self.root.display()
            )));
        }
        Ok(self.root.join(key))
    }
}

/// The longest name a key segment may have: a file name holds 255 bytes, and the longest
/// hidden sibling adds 6 (`.` and `.lock`).
const MAX_NAME_BYTES: usize = 255 - 6;

/// The version of an object: a hash of its bytes.
fn version_of(bytes: &[u8]) -> Version {
    Version(format!("{:016x}", xxhash_rust::xxh3::xxh3_64(bytes)))
}

/// `error` at `path`, unavailable (retryable) only when trying again later may succeed: an
/// interruption, a timeout, a busy or full device, too many open files, a network file system
/// that did not answer. A full disk or quota counts as transient, since freeing space makes the
/// same write succeed and the execution's stored state is intact. Everything else (permission
/// denied, not a directory, read-only file system, a name too long, an I/O error, ...) fails
/// the same way again.
fn io_error(path: &Path, error: &io::Error) -> StoreError {
    use io::ErrorKind as Kind;
    /// Too many open files, in the process (`EMFILE`) or the system (`ENFILE`): the same
    /// numbers on Linux and the BSDs, and no `ErrorKind` of their own.
    const TOO_MANY_OPEN_FILES: [i32; 2] = [24, 23];
    let message = format!("{}: {error}", path.display());
    let transient = matches!(
        error.kind(),
        Kind::Interrupted
            | Kind::WouldBlock
            | Kind::TimedOut
            | Kind::ResourceBusy
            | Kind::StorageFull
            | Kind::QuotaExceeded
            | Kind::OutOfMemory
            | Kind::StaleNetworkFileHandle
            | Kind::ConnectionRefused
            | Kind::ConnectionReset
            | Kind::ConnectionAborted
            | Kind::NotConnected
            | Kind::HostUnreachable
            | Kind::NetworkUnreachable
            | Kind::NetworkDown
    ) || (cfg!(unix)
        && error
            .raw_os_error()
            .is_some_and(|code| TOO_MANY_OPEN_FILES.contains(&code)));
    if transient {
        StoreError::Unavailable(message)
    } else {
        StoreError::Other(message)
    }
}

fn read(path: &Path) -> Result<Option<Stored>, StoreError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(Stored {
            version: version_of(&bytes),
            bytes,
        })),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(io_error(path, &error)),
    }
}

/// A sibling of `path` whose name starts with `.`, which keys never do.
fn hidden_sibling(path: &Path, suffix: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{suffix}"))
}

fn write(
    key: &str,
    path: &Path,
    bytes: &[u8],
    condition: &Condition,
) -> Result<Version, StoreError> {
    let dir = path
        .parent()
        .ok_or_else(|| StoreError::Other(format!("invalid store key `{key}`")))?;
    fs::create_dir_all(dir).map_err(|error| io_error(dir, &error))?;
    let lock_path = hidden_sibling(path, "lock");
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|error| io_error(&lock_path, &error))?;
    // Held until `lock` is dropped: other processes writing this key wait here.
    lock.lock().map_err(|error| io_error(&lock_path, &error))?;
    let current = read(path)?;
    match (condition, current) {
        (Condition::Create, Some(_)) => {
            return Err(StoreError::Conflict {
                key: key.to_owned(),
            });
        }
        (Condition::Match(_), None) => {
            return Err(StoreError::Missing {
                key: key.to_owned(),
            });
        }
        (Condition::Match(expected), Some(current)) if *expected != current.version => {
            return Err(StoreError::Conflict {
                key: key.to_owned(),
            });
        }
        _ => {}
    }
    // One name per key, not per process: the lock makes this writer the only one, and a
    // temporary file that a killed writer left is truncated and renamed by the key's next write
    // instead of lingering beside it.
    let temp = hidden_sibling(path, "tmp");
    let result = (|| {
        let mut file = File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temp, path)?;
        File::open(dir)?.sync_all()
    })();
    if let Err(error) = result {
        let _ = fs::remove_file(&temp);
        return Err(io_error(path, &error));
    }
    Ok(version_of(bytes))
}

/// Every key under `dir` (which is `prefix_dir` of the store), recursively, skipping the
/// store's own hidden files.
fn walk(root: &Path, dir: &Path, keys: &mut Vec<String>) -> Result<(), StoreError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(io_error(dir, &error)),
    };
    for entry in entries {
        let entry = entry.map_err(|error| io_error(dir, &error))?;
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        let kind = entry.file_type().map_err(|error| io_error(&path, &error))?;
        if kind.is_dir() {
            walk(root, &path, keys)?;
        } else if let Ok(relative) = path.strip_prefix(root) {
            keys.push(
                relative
                    .to_string_lossy()
                    .replace(std::path::MAIN_SEPARATOR, "/"),
            );
        }
    }
    Ok(())
}

/// Runs blocking file work off the async threads.
fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> BoxFuture<'static, Result<T, StoreError>> {
    Box::pin(async move {
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|error| StoreError::Other(format!("store task failed: {error}")))?
    })
}

impl StateStore for FsStore {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Stored>, StoreError>> {
        match self.path(key) {
            Ok(path) => blocking(move || read(&path)),
            Err(error) => Box::pin(std::future::ready(Err(error))),
        }
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        bytes: Vec<u8>,
        condition: Condition,
    ) -> BoxFuture<'a, Result<Version, StoreError>> {
        match self.path(key) {
            Ok(path) => {
                let key = key.to_owned();
                blocking(move || write(&key, &path, &bytes, &condition))
            }
            Err(error) => Box::pin(std::future::ready(Err(error))),
        }
    }

    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
        let root = self.root.clone();
        let prefix = prefix.to_owned();
        blocking(move || {
            // Walk only the deepest directory the prefix names.
            let dir = prefix.rsplit_once('/').map_or("", |(dir, _)| dir);
            let mut keys = Vec::new();
            walk(&root, &root.join(dir), &mut keys)?;
            keys.retain(|key| key.starts_with(&prefix));
            keys.sort_unstable();
            Ok(keys)
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        match self.path(key) {
            Ok(path) => {
                let root = self.root.clone();
                blocking(move || {
                    for path in [hidden_sibling(&path, "lock"), path.clone()] {
                        match fs::remove_file(&path) {
                            Err(error) if error.kind() != io::ErrorKind::NotFound => {
                                return Err(io_error(&path, &error));
                            }
                            _ => {}
                        }
                    }
                    // Empty directories left behind go too; a directory still in use is not
                    // empty, and its removal fails harmlessly.
                    let mut dir = path.parent();
                    while let Some(current) =
                        dir.filter(|dir| *dir != root && dir.starts_with(&root))
                    {
                        if fs::remove_dir(current).is_err() {
                            break;
                        }
                        dir = current.parent();
                    }
                    Ok(())
                })
            }
            Err(error) => Box::pin(std::future::ready(Err(error))),
        }
    }

    fn locate(&self, key: &str) -> String {
        let root = std::path::absolute(&self.root).unwrap_or_else(|_| self.root.clone());
        format!("file://{}", root.join(key).display())
    }
}
