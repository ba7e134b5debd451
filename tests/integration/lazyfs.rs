//! A power cut for tests: LazyFS (a FUSE file system that keeps every byte not fsynced in
//! its own cache and drops that cache on command), mounted over a temporary directory.
//! See `../shared/tools/POWERCUT.md`; `.ci/run` builds LazyFS and sets `AGORA_LAZYFS`.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Where `lazyfs-build.sh` puts the binary by default.
const DEFAULT_BUILD: &str = "/tmp/lazyfs-build/lazyfs/build/lazyfs";

pub struct LazyFs {
    dir: tempfile::TempDir,
    bin: PathBuf,
    child: Option<Child>,
    done: Option<mpsc::Receiver<String>>,
}

impl LazyFs {
    /// Mounts a new LazyFS, or `None` when LazyFS is not installed here and this is not CI
    /// (where its absence fails the test: `.ci/run` builds it).
    pub fn mount() -> Option<LazyFs> {
        let bin = std::env::var_os("AGORA_LAZYFS")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_BUILD));
        if !bin.exists() || !Path::new("/dev/fuse").exists() {
            assert!(
                std::env::var_os("CI").is_none(),
                "LazyFS is needed for the power-cut tests: no {} (AGORA_LAZYFS) or no /dev/fuse",
                bin.display()
            );
            eprintln!(
                "skipped: LazyFS not found at {} (bash ../shared/tools/lazyfs-build.sh, then set AGORA_LAZYFS)",
                bin.display()
            );
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path();
        std::fs::create_dir_all(d.join("root")).expect("root dir");
        std::fs::create_dir_all(d.join("mnt")).expect("mount dir");
        let config = format!(
            "[faults]\nfifo_path=\"{d}/lfs.fifo\"\nfifo_path_completed=\"{d}/lfs-done.fifo\"\n\
             [cache]\napply_eviction=false\n[cache.simple]\ncustom_size=\"768mb\"\nblocks_per_page=1\n\
             [filesystem]\nlog_all_operations=false\nlogfile=\"{d}/lfs.log\"\n",
            d = d.display()
        );
        std::fs::write(d.join("lfs.toml"), config).expect("lazyfs config");
        let mut fs = LazyFs {
            dir,
            bin,
            child: None,
            done: None,
        };
        fs.start();
        Some(fs)
    }

    fn start(&mut self) {
        let d = self.dir.path().to_path_buf();
        let mnt = d.join("mnt");
        let log = std::fs::File::create(d.join("lazyfs.out")).expect("lazyfs output file");
        let child = Command::new(&self.bin)
            .arg(&mnt)
            .arg("--config-path")
            .arg(d.join("lfs.toml"))
            .args(["-o", "allow_other", "-o", "modules=subdir", "-o"])
            .arg(format!("subdir={}", d.join("root").display()))
            .arg("-f")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("start lazyfs");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        let target = mnt.to_str().expect("utf-8 path").to_owned();
        while !std::fs::read_to_string("/proc/mounts")
            .expect("/proc/mounts")
            .lines()
            .any(|l| l.split(' ').nth(1) == Some(target.as_str()))
        {
            assert!(Instant::now() < deadline, "LazyFS did not mount {target}");
            std::thread::sleep(Duration::from_millis(20));
        }
        // LazyFS opens the completion fifo for writing and blocks until it has a reader.
        let (tx, rx) = mpsc::channel();
        let fifo = d.join("lfs-done.fifo");
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(30);
            let f = loop {
                match std::fs::File::open(&fifo) {
                    Ok(f) => break f,
                    Err(_) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(20))
                    }
                    Err(e) => {
                        let _ = tx.send(format!("cannot open {}: {e}", fifo.display()));
                        return;
                    }
                }
            };
            for line in BufReader::new(f).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        self.done = Some(rx);
    }

    /// A directory inside the mounted file system.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join("mnt").join(name)
    }

    fn command(&self, cmd: &str) {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(self.dir.path().join("lfs.fifo"))
            .expect("open the LazyFS fifo");
        // One write: LazyFS takes each read of its fifo as one command.
        f.write_all(format!("{cmd}\n").as_bytes())
            .expect("write to the LazyFS fifo");
    }

    /// The power cut: every byte not fsynced is dropped. Kill the nodes first, so that
    /// nothing touches the files between the cut and the restart.
    pub fn cut(&self) {
        self.command("lazyfs::clear-cache");
        let done = self.done.as_ref().expect("mounted");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match done.recv_timeout(left) {
                Ok(line) if line.contains("finished::clear-cache") => return,
                Ok(other) => eprintln!("LazyFS: {other}"),
                Err(e) => panic!(
                    "LazyFS did not confirm the cut: {e}; its output: {}",
                    std::fs::read_to_string(self.dir.path().join("lazyfs.out")).unwrap_or_default()
                ),
            }
        }
    }

    /// Makes LazyFS kill itself (losing its cache, a power cut) right after the next `op`
    /// (`fsync`, `write`, …) on a path matching `path_regex`.
    pub fn crash_after(&self, op: &str, path_regex: &str) {
        self.command(&format!(
            "lazyfs::crash::timing=after::op={op}::from_rgx={path_regex}"
        ));
    }

    /// Waits for LazyFS to have crashed (see [`LazyFs::crash_after`]), then mounts again over
    /// the same files.
    pub fn wait_crash_and_remount(&mut self, limit: Duration) {
        let child = self.child.as_mut().expect("mounted");
        let deadline = Instant::now() + limit;
        while child.try_wait().expect("lazyfs status").is_none() {
            assert!(
                Instant::now() < deadline,
                "LazyFS did not reach its crash point"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        self.unmount();
        self.start();
    }

    fn unmount(&mut self) {
        let _ = Command::new("fusermount3")
            .args(["-u", "-z"])
            .arg(self.dir.path().join("mnt"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        self.done = None;
    }
}

impl Drop for LazyFs {
    fn drop(&mut self) {
        self.unmount();
    }
}
