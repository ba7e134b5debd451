//! A real browser for the web tests: Debian's headless `chromium`, driven over WebDriver
//! (fantoccini) through a `chromedriver` this harness starts on a free loopback port and
//! stops by its PID.
//!
//! Without chromium or chromedriver the tests say "skipped" and pass, except under `CI`,
//! where they fail (`.ci/run` installs both with apt-get).

use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long a page may take to show what a step waits for.
pub const STEP: Duration = Duration::from_secs(10);

pub struct Browser {
    pub client: Client,
    _driver: DriverGuard,
    _profile: tempfile::TempDir,
}

fn binary(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var).map_or_else(|| PathBuf::from(default), PathBuf::from)
}

impl Browser {
    /// A fresh headless browser (its own profile directory), or `None` when chromium is
    /// not installed here and this is not CI.
    pub async fn start(test: &str) -> Option<Browser> {
        let chromium = binary("AGORA_CHROMIUM", CHROMIUM);
        let driver_bin = binary("AGORA_CHROMEDRIVER", CHROMEDRIVER);
        if !chromium.exists() || !driver_bin.exists() {
            assert!(
                std::env::var_os("CI").is_none(),
                "{test}: chromium ({}) or chromedriver ({}) is missing; .ci/run installs them (apt-get install chromium chromium-driver)",
                chromium.display(),
                driver_bin.display()
            );
            println!(
                "skipped: {test} needs chromium and chromedriver (apt-get install chromium chromium-driver)"
            );
            return None;
        }
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr").port()
        };
        // Its own process group, so that chromium, its child, stops with it.
        let driver = Command::new(&driver_bin)
            .process_group(0)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let driver = DriverGuard(Some(driver));
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let deadline = Instant::now() + STEP;
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on {addr}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let caps = serde_json::json!({
            // The nodes of the tests serve the test run's own CA, which chromium does not
            // know: their certificates are accepted as they are.
            "acceptInsecureCerts": true,
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--window-size=1280,1000",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        });
        let caps = match caps {
            serde_json::Value::Object(m) => m,
            _ => unreachable!("an object literal"),
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://{addr}"))
            .await
            .expect("a WebDriver session in chromium");
        Some(Browser {
            client,
            _driver: driver,
            _profile: profile,
        })
    }

    /// Waits for an element (the sign that a page has arrived).
    pub async fn wait(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(STEP)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("waiting for {css}: {e}"))
    }

    pub async fn text(&self, css: &str) -> String {
        self.wait(css).await.text().await.expect("text")
    }

    /// Waits until the element's text holds `needle`.
    pub async fn wait_text(&self, css: &str, needle: &str) -> String {
        let deadline = Instant::now() + STEP;
        loop {
            let found = match self.client.find(Locator::Css(css)).await {
                Ok(e) => e.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if found.contains(needle) {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "waiting for {css} to say {needle:?}; it says {found:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn click(&self, css: &str) {
        self.wait(css).await.click().await.expect("click");
    }

    pub async fn fill(&self, css: &str, text: &str) {
        let e = self.wait(css).await;
        e.clear().await.expect("clear");
        e.send_keys(text).await.expect("type");
    }

    /// Saves a screenshot when `AGORA_SCREENSHOTS` names a directory (docs/ for README).
    pub async fn screenshot(&self, name: &str) {
        if let Some(dir) = std::env::var_os("AGORA_SCREENSHOTS") {
            let png = self.client.screenshot().await.expect("screenshot");
            let path = Path::new(&dir).join(name);
            std::fs::write(&path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
    }

    pub async fn set_size(&self, width: u32, height: u32) {
        self.client
            .set_window_size(width, height)
            .await
            .expect("window size");
    }

    /// Ends the WebDriver session (chromium quits), then stops chromedriver.
    pub async fn stop(self) {
        let _ = self.client.clone().close().await;
    }
}

/// Stops chromedriver and what it started (its process group, by the id of the process
/// this harness started), also when a test fails half-way.
struct DriverGuard(Option<Child>);

impl Drop for DriverGuard {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", c.id())])
                .stderr(Stdio::null())
                .status();
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
