//! Node processes for the benchmarks: the `agora` binary itself started as `agora site` or
//! `agora national` on a free loopback port, with CPU time and memory read from /proc.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

pub const ORGANISER: &str = "bench-organiser";
pub const DESK: &str = "bench-desk-token";
pub const ADMIN: &str = "bench-admin-token";

pub struct Node {
    pub name: String,
    pub addr: SocketAddr,
    child: Child,
    /// How the bench dials it: plaintext on loopback, or TLS trusting the bench's CA.
    dial: agora_sync::dial::Dial,
    tls: bool,
}

/// The bench's certificates: a CA and a server certificate for 127.0.0.1, made at start.
pub struct Pki {
    pub ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl Pki {
    pub fn new(dir: &Path) -> anyhow::Result<Pki> {
        let (ca, server) = crate::certs::loopback_pki(dir)?;
        Ok(Pki {
            ca: ca.cert,
            cert: server.cert,
            key: server.key,
        })
    }

    fn serve_flags(&self) -> Vec<String> {
        vec![
            "--tls-cert".into(),
            self.cert.display().to_string(),
            "--tls-key".into(),
            self.key.display().to_string(),
        ]
    }

    fn dial(&self) -> anyhow::Result<agora_sync::dial::Dial> {
        Ok(agora_sync::dial::Dial::new().with_ca_file(&self.ca)?)
    }
}

/// User + system CPU time of the bench process itself (the load generator), seconds.
pub fn self_cpu_s() -> f64 {
    cpu_of("self")
}

/// The machine's CPU time so far, from the first line of `/proc/stat`, in clock ticks: all
/// of it, and the part the hypervisor gave to other guests (steal). On a shared virtual
/// machine that part comes and goes, and figures of a case with much steal are low for a
/// reason outside Agora.
#[derive(Debug, Clone, Copy)]
pub struct MachineTicks {
    total: u64,
    steal: u64,
}

impl MachineTicks {
    pub fn now() -> Self {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        // cpu  user nice system idle iowait irq softirq steal guest guest_nice
        let f: Vec<u64> = stat
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .skip(1)
            .take(8)
            .filter_map(|v| v.parse().ok())
            .collect();
        MachineTicks {
            total: f.iter().sum(),
            steal: f.get(7).copied().unwrap_or(0),
        }
    }

    /// Percentage of the machine's CPU time stolen since `self`.
    pub fn steal_pct_since(&self) -> f64 {
        let now = MachineTicks::now();
        let total = now.total.saturating_sub(self.total);
        if total == 0 {
            return 0.0;
        }
        100.0 * now.steal.saturating_sub(self.steal) as f64 / total as f64
    }
}

/// What a case measures from its start: CPU of the node(s) under test (the caller reads
/// their total), CPU of the bench process, and the machine's steal.
pub struct Meter {
    node0: f64,
    bench0: f64,
    machine0: MachineTicks,
}

impl Meter {
    /// `node_cpu_s`: the node(s)' CPU seconds so far.
    pub fn start(node_cpu_s: f64) -> Self {
        Meter {
            node0: node_cpu_s,
            bench0: self_cpu_s(),
            machine0: MachineTicks::now(),
        }
    }

    /// The node(s)' CPU seconds since the start, from their total now.
    pub fn node_cpu_s(&self, node_cpu_s: f64) -> f64 {
        node_cpu_s - self.node0
    }

    pub fn bench_cpu_s(&self) -> f64 {
        self_cpu_s() - self.bench0
    }

    pub fn steal_pct(&self) -> f64 {
        self.machine0.steal_pct_since()
    }
}

/// User + system CPU seconds of `/proc/<pid>`.
fn cpu_of(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime is the 14th field.
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

pub fn free_addr() -> anyhow::Result<SocketAddr> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?)
}

impl Node {
    fn spawn(
        name: &str,
        args: &[String],
        addr: SocketAddr,
        tls: Option<&Pki>,
    ) -> anyhow::Result<Node> {
        let exe = std::env::current_exe().context("locating the agora binary")?;
        let mut args = args.to_vec();
        if let Some(pki) = tls {
            args.extend(pki.serve_flags());
        }
        let child = Command::new(exe)
            .args(&args)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        let node = Node {
            name: name.to_owned(),
            addr,
            child,
            dial: match tls {
                Some(pki) => pki.dial()?,
                None => agora_sync::dial::Dial::new(),
            },
            tls: tls.is_some(),
        };
        node.wait_listening()?;
        Ok(node)
    }

    fn wait_listening(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(self.addr).is_err() {
            if Instant::now() > deadline {
                bail!("{} did not listen on {}", self.name, self.addr);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }

    pub fn site(id: &str, data: &Path, extra: &[&str]) -> anyhow::Result<Node> {
        Node::site_tls(id, data, extra, None)
    }

    /// A site serving TLS with the bench's certificate when `tls` is given.
    pub fn site_tls(
        id: &str,
        data: &Path,
        extra: &[&str],
        tls: Option<&Pki>,
    ) -> anyhow::Result<Node> {
        let addr = free_addr()?;
        let mut args: Vec<String> = [
            "site",
            "--id",
            id,
            "--name",
            id,
            "--listen",
            &addr.to_string(),
            "--organiser-token",
            ORGANISER,
            "--desk-token",
            DESK,
            // The memory scenario opens a hundred change feeds from this one address.
            "--max-watch-streams-per-client",
            "4096",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        args.push("--data".into());
        args.push(data.display().to_string());
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        Node::spawn(id, &args, addr, tls)
    }

    pub fn national(data: &Path) -> anyhow::Result<Node> {
        Node::national_tls(data, None)
    }

    /// A national node serving TLS with the bench's certificate when `tls` is given.
    pub fn national_tls(data: &Path, tls: Option<&Pki>) -> anyhow::Result<Node> {
        let addr = free_addr()?;
        let args: Vec<String> = vec![
            "national".into(),
            "--data".into(),
            data.display().to_string(),
            "--listen".into(),
            addr.to_string(),
            "--admin-token".into(),
            ADMIN.into(),
            // The memory scenario opens a hundred watchers from this one address.
            "--max-watch-streams-per-client".into(),
            "4096".into(),
        ];
        Node::spawn("national", &args, addr, tls)
    }

    pub fn url(&self) -> String {
        if self.tls {
            format!("https://{}", self.addr)
        } else {
            format!("http://{}", self.addr)
        }
    }

    pub fn dial(&self) -> &agora_sync::dial::Dial {
        &self.dial
    }

    fn status_kib(&self, field: &str) -> u64 {
        let text = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        text.lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// Resident memory now, MiB.
    pub fn rss_mib(&self) -> f64 {
        self.status_kib("VmRSS:") as f64 / 1024.0
    }

    /// Peak resident memory, MiB.
    pub fn peak_rss_mib(&self) -> f64 {
        self.status_kib("VmHWM:") as f64 / 1024.0
    }

    /// User + system CPU time so far, seconds.
    pub fn cpu_s(&self) -> f64 {
        cpu_of(&self.child.id().to_string())
    }

    /// SIGTERM, wait for a clean exit.
    pub fn stop(mut self) -> anyhow::Result<()> {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                bail!("{} did not stop on SIGTERM", self.name);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts a node with explicit arguments on a known address (a restart).
pub fn respawn(name: &str, args: &[String], addr: SocketAddr) -> anyhow::Result<Node> {
    Node::spawn(name, args, addr, None)
}

#[cfg(test)]
mod tests {
    use super::MachineTicks;

    #[test]
    fn the_machine_cpu_time_is_read_and_steal_is_a_share() {
        let start = MachineTicks::now();
        assert!(start.total > 0, "/proc/stat's cpu line was not read");
        assert!(start.steal <= start.total);
        let pct = start.steal_pct_since();
        assert!((0.0..=100.0).contains(&pct), "{pct}");
    }
}
