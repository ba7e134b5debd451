//! Files and directories readable by the node's user only: data directories are created
//! `0700`, key files `0600` (a node's data holds personal data and credentials).

use std::io::Write;
use std::path::Path;

/// Creates `dir` (and missing parents) `0700`; an existing directory is left as it is.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Writes a new file `0600`; fails if it exists (a key is never overwritten by accident).
pub fn write_private_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn directories_and_files_are_private() {
        let t = tempfile_dir();
        let dir = t.join("a/b");
        create_private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&t.join("a")), 0o700);
        let key = dir.join("key.pem");
        write_private_file(&key, b"secret").unwrap();
        assert_eq!(mode(&key), 0o600);
        let again = write_private_file(&key, b"other").unwrap_err();
        assert_eq!(again.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&key).unwrap(), b"secret");
        std::fs::remove_dir_all(&t).unwrap();
    }

    /// A fresh directory under the system's temporary directory (no dev-dependency).
    fn tempfile_dir() -> std::path::PathBuf {
        let t = std::env::temp_dir().join(format!("agora-private-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir(&t).unwrap();
        t
    }
}
