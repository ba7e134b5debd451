//! `agora site --check` and `agora national --check`: what a start would meet, found without
//! serving: the listeners' addresses, the data directory (writable, space left, the store
//! opens), the certificate (readable, its key, its dates and names) and, for a site, the
//! national node (reachable, TLS verified). One line per check; the exit code says if any
//! failed.

use std::path::Path;
use std::time::Duration;

/// The lines of a check, printed as they come.
#[derive(Default)]
pub struct Report {
    problems: usize,
}

impl Report {
    fn ok(&mut self, what: &str, detail: impl std::fmt::Display) {
        println!("ok       {what}: {detail}");
    }

    fn problem(&mut self, what: &str, detail: impl std::fmt::Display) {
        self.problems += 1;
        println!("PROBLEM  {what}: {detail}");
    }

    /// Prints the summary; `Err` when anything failed (the command exits with 1).
    pub fn finish(self) -> anyhow::Result<()> {
        if self.problems == 0 {
            println!("all checks passed");
            Ok(())
        } else {
            anyhow::bail!(
                "{} problem(s) found: see the lines marked PROBLEM",
                self.problems
            )
        }
    }

    /// A node's listeners: gRPC, and the web page and metrics when set.
    pub fn listeners(
        &mut self,
        listen: &str,
        http: Option<std::net::SocketAddr>,
        metrics: Option<&str>,
    ) {
        self.listen("listen", listen);
        if let Some(http) = http {
            self.listen("http", &http.to_string());
        }
        if let Some(metrics) = metrics {
            self.listen("metrics", metrics);
        }
    }

    /// The address can be bound now (nothing else holds it).
    fn listen(&mut self, what: &str, addr: &str) {
        match std::net::TcpListener::bind(addr) {
            Ok(l) => {
                let at = l.local_addr().map(|a| a.to_string()).unwrap_or_default();
                self.ok(&format!("{what} {addr}"), format_args!("free ({at})"));
            }
            Err(e) => self.problem(
                &format!("{what} {addr}"),
                format_args!("cannot listen: {e}"),
            ),
        }
    }

    /// The data directory: private, writable, with more than `reserve_mb` free, and
    /// `open` (the node's own store opening, then closing) succeeds. A directory that does
    /// not exist yet is fine if its parent can hold it.
    pub fn data_dir(
        &mut self,
        dir: &Path,
        reserve_mb: u64,
        open: impl FnOnce() -> Result<String, String>,
    ) {
        let what = format!("data directory {}", dir.display());
        if !dir.exists() {
            let parent = dir
                .ancestors()
                .skip(1)
                .find(|p| p.exists())
                .unwrap_or(Path::new("/"));
            match writable(parent) {
                Ok(()) => self.ok(&what, "does not exist yet: the node creates it at start"),
                Err(e) => self.problem(
                    &what,
                    format_args!(
                        "does not exist and {} is not writable: {e}",
                        parent.display()
                    ),
                ),
            }
            return;
        }
        if !dir.is_dir() {
            return self.problem(&what, "is not a directory");
        }
        if let Err(e) = writable(dir) {
            return self.problem(&what, format_args!("not writable: {e}"));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if let Ok(m) = std::fs::metadata(dir)
                && m.permissions().mode() & 0o077 != 0
            {
                self.problem(
                    &what,
                    format_args!(
                        "readable by others (mode {:o}): personal data; chmod 700 it",
                        m.permissions().mode() & 0o777
                    ),
                );
            }
        }
        match agora_store::free_bytes(dir) {
            Ok(free) if free < reserve_mb << 20 => self.problem(
                &what,
                format_args!(
                    "{} MiB free, below the {reserve_mb} MiB the node keeps: writes would be refused",
                    free >> 20
                ),
            ),
            Ok(free) => self.ok(&what, format_args!("{} MiB free", free >> 20)),
            Err(e) => self.problem(&what, format_args!("free space unknown: {e}")),
        }
        match open() {
            Ok(said) => self.ok(&format!("store in {}", dir.display()), said),
            Err(e) => self.problem(&format!("store in {}", dir.display()), e),
        }
    }

    /// The certificate and key files, when the node serves TLS.
    pub fn tls(&mut self, cert: Option<&Path>, key: Option<&Path>, now_s: i64) {
        let (Some(cert), Some(key)) = (cert, key) else {
            return self.ok(
                "TLS",
                "off (no tls_cert and tls_key): plaintext, loopback only",
            );
        };
        let what = format!("TLS certificate {}", cert.display());
        let tls = match agora_sync::serve::ServerTls::from_files(cert, key) {
            Ok(t) => t,
            Err(e) => return self.problem(&what, e),
        };
        match tls.inspect() {
            Err(e) => self.problem(&what, e),
            Ok(s) if s.not_after < now_s => self.problem(
                &what,
                format_args!("expired {} days ago", (now_s - s.not_after) / 86_400),
            ),
            Ok(s) if s.not_before > now_s => self.problem(&what, "not valid yet"),
            Ok(s) => {
                let days = (s.not_after - now_s) / 86_400;
                let names = if s.names.is_empty() {
                    "no names (clients cannot verify it)".to_owned()
                } else {
                    s.names.join(", ")
                };
                if days < 14 {
                    self.problem(&what, format_args!("expires in {days} days; names {names}"));
                } else {
                    self.ok(
                        &what,
                        format_args!("key matches, valid {days} more days, names {names}"),
                    );
                }
            }
        }
    }

    /// The national node answers at `url` (TLS verified when https).
    pub async fn national(&mut self, url: &str, dial: &agora_sync::dial::Dial) {
        use agora_proto::v1::national_service_client::NationalServiceClient;
        let what = format!("national node {url}");
        let endpoint = match dial.endpoint(url) {
            Ok(e) => e.connect_timeout(Duration::from_secs(5)),
            Err(e) => return self.problem(&what, e),
        };
        let channel = match endpoint.connect().await {
            Ok(c) => c,
            Err(e) => {
                let cause = agora_sync::link_error::describe_link_error(&e);
                return self.problem(&what, format_args!("unreachable: {cause}"));
            }
        };
        let mut client = NationalServiceClient::new(channel);
        let asked = tokio::time::timeout(
            Duration::from_secs(10),
            client.list_sites(agora_proto::v1::ListSitesRequest::default()),
        )
        .await;
        match asked {
            Ok(Ok(r)) => self.ok(
                &what,
                format_args!("answers ({} sites joined)", r.into_inner().sites.len()),
            ),
            Ok(Err(s)) => self.problem(&what, format_args!("refused: {}", s.message())),
            Err(_) => self.problem(&what, "no answer in 10 s"),
        }
    }
}

/// A file can be made and removed in `dir`.
fn writable(dir: &Path) -> std::io::Result<()> {
    let probe = dir.join(format!(".agora-check-{}", std::process::id()));
    std::fs::write(&probe, b"")?;
    std::fs::remove_file(&probe)
}
