//! What an operator relies on: logs a collector can read (`--log-format json`), host names
//! in `--listen`, and a bad listen address named as the configuration's.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

/// Runs `agora <args>` as a child of the test binary with its standard error piped.
fn spawn_piped(args: &[&str]) -> std::process::Child {
    Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            CHILD_ENTRY,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ARGS_VAR, args.join("\u{1f}"))
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn child node")
}

#[test]
fn a_site_logs_json_lines_and_listens_on_a_host_name() {
    let dir = temp_dir();
    let data = data_dir(&dir, "cluny");
    let mut child = spawn_piped(&[
        "agora",
        "--log-format",
        "json",
        "site",
        "--id",
        "cluny",
        "--name",
        "Cluny",
        "--data",
        data.to_str().expect("utf-8 path"),
        "--listen",
        "localhost:0",
        "--organiser-token",
        ORGANISER,
    ]);
    let stderr = child.stderr.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let serving = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx.recv_timeout(left).expect("the node logs that it serves");
        if !line.starts_with('{') {
            continue; // the test harness's own lines
        }
        let v: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("a log line that is not JSON: {e}: {line}"));
        assert!(
            v["level"].is_string() && v["timestamp"].is_string(),
            "{line}"
        );
        if v["fields"]["message"] == "site node serving" {
            break v;
        }
    };
    assert_eq!(serving["fields"]["site"], "cluny");
    let addr = serving["fields"]["addr"].as_str().expect("addr");
    assert!(
        addr.contains("127.0.0.1:") || addr.contains("[::1]:"),
        "localhost resolved to a loopback address: {addr}"
    );
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn a_bad_listen_address_is_named_as_the_configurations() {
    let dir = temp_dir();
    let data = data_dir(&dir, "cluny");
    let out = run_child_to_end(&[
        "agora",
        "site",
        "--id",
        "cluny",
        "--name",
        "Cluny",
        "--data",
        data.to_str().expect("utf-8 path"),
        "--listen",
        "cluny venue:50051",
        "--organiser-token",
        ORGANISER,
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("listen") && err.contains("neither an IP address nor a host name"),
        "{err}"
    );
}
