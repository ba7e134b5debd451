//! What an operator relies on: logs a collector can read (`--log-format json`), host names
//! in `--listen`, a bad listen address named as the configuration's, and metrics that
//! move with the events they count.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use agora_proto::v1 as pb;

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

/// `GET /metrics` over plain HTTP/1.1; the body.
pub(crate) async fn scrape(addr: SocketAddr) -> String {
    try_scrape(addr).await.expect("connect to metrics")
}

/// [`scrape`], or `None` while nothing listens there yet (the node is starting).
async fn try_scrape(addr: SocketAddr) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .expect("send scrape");
    let mut raw = String::new();
    s.read_to_string(&mut raw).await.expect("read scrape");
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    Some(body.to_owned())
}

/// The value of one series (`name{labels}` exactly as exposed), or 0 when absent.
pub(crate) fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.trim().parse().expect("a number"))
        .unwrap_or(0.0)
}

/// Scrapes `addr` until `cond` holds of the text (with a deadline); returns that text.
async fn scrape_until(addr: SocketAddr, what: &str, cond: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = try_scrape(addr).await.unwrap_or_default();
        if cond(&text) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "metrics never showed {what}:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

const REGISTER: &str = "/agora.v1.SiteService/Register";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_metric_moves_when_its_event_happens() {
    let dir = temp_dir();
    let national_metrics = loopback_port();
    let national = TestNational::start_with(
        &data_dir(&dir, "national"),
        "127.0.0.1:0".parse().expect("address"),
        |c| c.metrics = Some(national_metrics.to_string()),
    )
    .await;
    let mut admin = national.client();
    let relay = agora::relay::Relay::start(national.addr)
        .await
        .expect("relay");
    let token = invite(&mut admin, "cluny", false).await;
    let site_metrics = loopback_port();
    let mut cfg = federated("cluny", &data_dir(&dir, "cluny"), &relay.url(), &token);
    cfg.metrics = Some(site_metrics.to_string());
    let site = TestSite::start(cfg).await;
    let up = r#"agora_uplink_state{state="connected"}"#;
    scrape_until(site_metrics, "the link up", |t| value(t, up) == 1.0).await;

    // Registrations, the waiting list and check-ins; the calls and the write batches.
    let before = scrape(site_metrics).await;
    let mut desk = site.desk();
    create_challenge(&mut site.organiser(), 1, 1).await;
    let a = create_participant(&mut desk, "Amélie").await;
    let b = create_participant(&mut desk, "Bruno").await;
    let seat = register(&mut desk, &a, 1).await;
    register(&mut desk, &b, 1).await;
    desk.check_in(pb::CheckInRequest {
        request_id: rid(),
        ticket_code: seat.ticket_code.clone(),
    })
    .await
    .expect("check in");
    let refused = desk
        .register(register_req("no-such-participant", 1))
        .await
        .expect_err("an unknown participant");
    let after = scrape(site_metrics).await;
    let state = |s: &str| format!(r#"agora_registrations{{state="{s}"}}"#);
    for (s, want) in [("confirmed", 1.0), ("waiting", 1.0), ("checked_in", 1.0)] {
        assert_eq!(value(&after, &state(s)), want, "{s}:\n{after}");
    }
    let calls = |t: &str, code: &str| {
        value(
            t,
            &format!(r#"agora_rpcs_total{{method="{REGISTER}",code="{code}"}}"#),
        )
    };
    assert_eq!(calls(&after, "Ok") - calls(&before, "Ok"), 2.0, "{after}");
    let failed = format!("{:?}", refused.code());
    assert_eq!(calls(&after, &failed), 1.0, "{failed}:\n{after}");
    let timed = format!(r#"agora_rpc_duration_seconds_count{{method="{REGISTER}"}}"#);
    assert_eq!(value(&after, &timed) - value(&before, &timed), 3.0);
    for moved in [
        "agora_write_batch_requests_count",
        "agora_wal_fdatasync_seconds_count",
        "agora_wal_bytes_total",
        "agora_log_head_seq",
    ] {
        assert!(
            value(&after, moved) > value(&before, moved),
            "{moved} did not move:\n{after}"
        );
    }
    assert!(value(&after, "agora_disk_free_bytes") > 0.0, "{after}");
    assert!(after.contains("\nagora_log_first_retained_seq "), "{after}");

    // The national node: the site's applied position reaches the site's head.
    let head = value(&after, "agora_log_head_seq");
    let applied = r#"agora_site_applied_seq{site="cluny"}"#;
    let n = scrape_until(national_metrics, "the site applied", |t| {
        value(t, applied) == head
    })
    .await;
    assert_eq!(value(&n, r#"agora_site_connected{site="cluny"}"#), 1.0);
    assert!(
        value(
            &n,
            r#"agora_site_last_seen_timestamp_seconds{site="cluny"}"#
        ) > 0.0
    );
    assert_eq!(value(&n, r#"agora_site_lag_records{site="cluny"}"#), 0.0);
    assert!(
        value(
            &n,
            "agora_rpcs_total{method=\"/agora.v1.NationalService/CreateInvite\",code=\"Ok\"}"
        ) == 1.0,
        "{n}"
    );
    assert!(value(&n, "agora_log_head_seq") >= head, "{n}");

    // A dashboard's Watch stream is counted while it is open.
    let mut viewer = national_client(&national.channel, Some(VIEWER));
    let mut feed = viewer
        .watch(pb::WatchRequest::default())
        .await
        .expect("watch")
        .into_inner();
    feed.message().await.expect("a first message");
    scrape_until(national_metrics, "one watcher", |t| {
        value(t, "agora_watchers") == 1.0 && t.contains("agora_watch_backlog_records ")
    })
    .await;
    drop(feed);
    scrape_until(national_metrics, "no watcher", |t| {
        value(t, "agora_watchers") == 0.0
    })
    .await;

    // A link cut through the relay: the site says so and counts what waits; the national
    // node sees the site gone; once restored, a reconnect and no lag.
    relay.cut();
    scrape_until(site_metrics, "the link down", |t| {
        value(t, r#"agora_uplink_state{state="connecting"}"#) == 1.0
    })
    .await;
    scrape_until(national_metrics, "the site offline", |t| {
        value(t, r#"agora_site_connected{site="cluny"}"#) == 0.0
    })
    .await;
    create_participant(&mut desk, "Chloé").await;
    let cut = scrape(site_metrics).await;
    assert!(value(&cut, "agora_uplink_lag_records") >= 1.0, "{cut}");
    relay.restore();
    let back = scrape_until(site_metrics, "the link back", |t| {
        value(t, up) == 1.0 && value(t, "agora_uplink_lag_records") == 0.0
    })
    .await;
    assert!(
        value(&back, "agora_uplink_reconnects_total") >= 1.0,
        "{back}"
    );

    site.stop().await;
    national.stop().await;
}

/// `agora site --check` (argv for a site with `extra` flags), run to its end.
fn site_check(data: &std::path::Path, extra: &[&str]) -> (bool, String) {
    let mut args = vec![
        "agora",
        "site",
        "--check",
        "--id",
        "cluny",
        "--name",
        "Cluny",
        "--data",
        data.to_str().expect("utf-8 path"),
        "--organiser-token",
        ORGANISER,
    ];
    args.extend_from_slice(extra);
    let out = run_child_to_end(&args);
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), said)
}

/// Issue 20: `--check` validates without serving and names each misconfiguration it
/// claims to catch: an address in use, a data directory open to others, a key that is not
/// the certificate's, an unreachable national node; a good configuration passes, national
/// node reached over verified TLS.
#[tokio::test]
async fn check_names_each_misconfiguration_and_passes_a_good_one() {
    let dir = temp_dir();
    let national = TestNational::start(&data_dir(&dir, "national")).await;
    let pki = pki();
    let (cert, key, ca) = (
        pki.cert.to_str().expect("utf-8"),
        pki.key.to_str().expect("utf-8"),
        pki.ca.to_str().expect("utf-8"),
    );
    let good = data_dir(&dir, "cluny");
    let national_url = url(national.addr);
    let (passed, said) = tokio::task::spawn_blocking({
        let good = good.clone();
        let national_url = national_url.clone();
        let (cert, key, ca) = (cert.to_owned(), key.to_owned(), ca.to_owned());
        move || {
            site_check(
                &good,
                &[
                    "--listen",
                    "127.0.0.1:0",
                    "--tls-cert",
                    &cert,
                    "--tls-key",
                    &key,
                    "--national",
                    &national_url,
                    "--ca",
                    &ca,
                ],
            )
        }
    })
    .await
    .expect("check");
    assert!(passed, "{said}");
    assert!(said.contains("all checks passed"), "{said}");
    assert!(
        said.contains(&format!("ok       national node {national_url}: answers")),
        "{said}"
    );
    assert!(
        said.contains("key matches") && said.contains("localhost"),
        "{said}"
    );
    assert!(!good.exists(), "a check creates no data directory");

    // Everything wrong at once: each named on its own line.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let busy_addr = busy.local_addr().expect("addr").to_string();
    let open = dir.path().join("open");
    std::fs::create_dir(&open).expect("mkdir");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let other = dir.path().join("other-pki");
    std::fs::create_dir(&other).expect("mkdir");
    let (_, other_server) = agora::certs::loopback_pki(&other).expect("other pki");
    let other_key = other_server.key.to_str().expect("utf-8").to_owned();
    let nobody = url(loopback_port());
    let (passed, said) = tokio::task::spawn_blocking({
        let (busy_addr, cert, ca, nobody) = (
            busy_addr.clone(),
            cert.to_owned(),
            ca.to_owned(),
            nobody.clone(),
        );
        move || {
            site_check(
                &open,
                &[
                    "--listen",
                    &busy_addr,
                    "--tls-cert",
                    &cert,
                    "--tls-key",
                    &other_key,
                    "--national",
                    &nobody,
                    "--ca",
                    &ca,
                ],
            )
        }
    })
    .await
    .expect("check");
    assert!(!passed, "{said}");
    for expected in [
        format!("PROBLEM  listen {busy_addr}: cannot listen"),
        "readable by others (mode 755)".to_owned(),
        "the key is not the certificate's".to_owned(),
        format!("PROBLEM  national node {nobody}: unreachable"),
        "4 problem(s) found".to_owned(),
    ] {
        assert!(
            said.contains(&expected),
            "{expected:?} missing from:\n{said}"
        );
    }
    drop(busy);

    // A configuration that does not validate stops the check with the field named.
    let (passed, said) = tokio::task::spawn_blocking({
        let good = good.clone();
        move || site_check(&good, &["--listen", "cluny venue:1"])
    })
    .await
    .expect("check");
    assert!(!passed);
    assert!(
        said.contains("configuration") && said.contains("listen"),
        "{said}"
    );
    national.stop().await;
}
