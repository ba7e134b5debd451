//! Test harness: site nodes on 127.0.0.1:0 with temporary data directories, in-process or as
//! real child processes (that a test can `kill -9`), and authenticated gRPC clients. Every
//! node serves TLS with a CA made for the test run ([`pki`]), and every client dials
//! `https://` trusting it: the secure path is the tested path.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use agora_proto::v1 as pb;
use pb::site_service_client::SiteServiceClient;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::metadata::MetadataValue;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Request, Status};

pub const ORGANISER: &str = "organiser-secret";
pub const DESK: &str = "desk-secret-1";

pub type Client = SiteServiceClient<InterceptedService<Channel, Bearer>>;

/// Adds `authorization: Bearer <token>` to every call (or nothing).
#[derive(Clone)]
pub struct Bearer(Option<MetadataValue<tonic::metadata::Ascii>>);

impl Interceptor for Bearer {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        if let Some(v) = &self.0 {
            req.metadata_mut().insert("authorization", v.clone());
        }
        Ok(req)
    }
}

/// The test run's CA and the loopback server certificate every node serves (made once per
/// test process, under cargo's temporary directory for integration tests).
pub struct Pki {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

pub fn pki() -> &'static Pki {
    static PKI: std::sync::OnceLock<(tempfile::TempDir, Pki)> = std::sync::OnceLock::new();
    &PKI.get_or_init(|| {
        let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("pki dir");
        let (ca, server) = agora::certs::loopback_pki(dir.path()).expect("test pki");
        let pki = Pki {
            ca: ca.cert,
            cert: server.cert,
            key: server.key,
        };
        (dir, pki)
    })
    .1
}

/// How our clients dial in tests: the test CA.
pub fn dial() -> agora_sync::dial::Dial {
    agora_sync::dial::Dial::new()
        .with_ca_file(&pki().ca)
        .expect("test CA")
}

/// The URL of a node of the tests (all serve TLS).
pub fn url(addr: SocketAddr) -> String {
    format!("https://{addr}")
}

/// The flags that make a child node serve TLS and trust the test CA.
pub fn tls_flags() -> Vec<String> {
    let p = pki();
    let s = |p: &Path| p.to_str().expect("utf-8 path").to_owned();
    vec![
        "--tls-cert".into(),
        s(&p.cert),
        "--tls-key".into(),
        s(&p.key),
        "--ca".into(),
        s(&p.ca),
    ]
}

pub async fn channel(addr: SocketAddr) -> Channel {
    dial()
        .endpoint(&url(addr))
        .expect("endpoint")
        .connect_timeout(Duration::from_secs(5))
        .connect_lazy()
}

/// A connection whose HTTP/2 windows are small (64 KiB, as in the protocol's default), so a
/// client that stops reading a stream soon makes the server wait.
pub async fn slow_reader_channel(addr: SocketAddr) -> Channel {
    dial()
        .endpoint(&url(addr))
        .expect("endpoint")
        .initial_stream_window_size(Some(65_535))
        .initial_connection_window_size(Some(65_535))
        .connect_lazy()
}

pub fn client(ch: &Channel, token: Option<&str>) -> Client {
    let value = token.map(|t| format!("Bearer {t}").parse().expect("ascii token"));
    SiteServiceClient::with_interceptor(ch.clone(), Bearer(value))
}

pub fn config(id: &str, data: &Path) -> agora_site::SiteConfig {
    let mut c = agora_site::SiteConfig::new(id, "Test site", data, ORGANISER);
    c.desk_token = Some(DESK.to_owned());
    c.cache_mb = 8;
    c.log_retention = 1000;
    // The tests' programs are dated (2026-09-14): with the default retention, a test run
    // 90 days after that would see its participants erased at each restart. The retention
    // tests set it themselves.
    c.retain_personal_data_days = 0;
    let p = pki();
    c.tls_cert = Some(p.cert.clone());
    c.tls_key = Some(p.key.clone());
    c.ca = Some(p.ca.clone());
    c
}

/// A site node running inside the test process.
pub struct TestSite {
    pub addr: SocketAddr,
    pub channel: Channel,
    /// The web desk's address, when started with [`TestSite::start_with_http`].
    pub http: Option<SocketAddr>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), agora_site::SiteError>>>,
}

impl TestSite {
    pub async fn start(config: agora_site::SiteConfig) -> TestSite {
        Self::start_inner(config, false).await
    }

    /// A site that also serves the web desk, on another `127.0.0.1:0` listener.
    pub async fn start_with_http(config: agora_site::SiteConfig) -> TestSite {
        Self::start_inner(config, true).await
    }

    async fn start_inner(config: agora_site::SiteConfig, web: bool) -> TestSite {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let http = if web {
            Some(TcpListener::bind("127.0.0.1:0").await.expect("bind http"))
        } else {
            None
        };
        let http_addr = http.as_ref().map(|l| l.local_addr().expect("http addr"));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(agora_site::run_with_http(config, listener, http, async {
            let _ = stopped.await;
        }));
        TestSite {
            addr,
            channel: channel(addr).await,
            http: http_addr,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn organiser(&self) -> Client {
        client(&self.channel, Some(ORGANISER))
    }
    pub fn desk(&self) -> Client {
        client(&self.channel, Some(DESK))
    }
    pub fn public(&self) -> Client {
        client(&self.channel, None)
    }

    /// Clean shutdown; fails the test if the node reported an error.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.expect("site task").expect("site node run");
        }
    }
}

/// A site node in its own process, started through the `agora` command line, so that a
/// test can kill it for real.
pub struct ChildSite {
    pub addr: SocketAddr,
    pub channel: Channel,
    child: Child,
}

/// Name of the ignored test that serves as the child processes' entry point.
pub const CHILD_ENTRY: &str = "child_process_entry";
pub const CHILD_ARGS_VAR: &str = "AGORA_TEST_CHILD_ARGS";

impl ChildSite {
    pub async fn start(id: &str, data: &Path) -> ChildSite {
        Self::start_with(id, data, &[]).await
    }

    /// Starts with more command-line flags (`--national URL --join-token T`, say).
    pub async fn start_with(id: &str, data: &Path, extra: &[&str]) -> ChildSite {
        let port = free_port();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let listen = addr.to_string();
        let mut args = vec![
            "agora",
            "site",
            "--id",
            id,
            "--name",
            "Child site",
            "--data",
            data.to_str().expect("utf-8 path"),
            "--listen",
            &listen,
            "--organiser-token",
            ORGANISER,
            "--desk-token",
            DESK,
            "--cache-mb",
            "8",
        ];
        let tls = tls_flags();
        args.extend(tls.iter().map(String::as_str));
        args.extend_from_slice(extra);
        // As in `config`: the tests' dated programs must not trigger retention.
        if !extra.contains(&"--retain-personal-data-days") {
            args.extend_from_slice(&["--retain-personal-data-days", "0"]);
        }
        let child = spawn_child(&args);
        let started = ChildSite {
            addr,
            channel: channel(addr).await,
            child,
        };
        started.wait_ready().await;
        started
    }

    async fn wait_ready(&self) {
        let c = client(&self.channel, None);
        let what = format!("the child site at {} to answer", self.addr);
        eventually_within(&what, Duration::from_secs(30), || {
            let mut c = c.clone();
            async move { c.get_site_info(pb::GetSiteInfoRequest {}).await.is_ok() }
        })
        .await;
    }

    pub fn desk(&self) -> Client {
        client(&self.channel, Some(DESK))
    }
    pub fn organiser(&self) -> Client {
        client(&self.channel, Some(ORGANISER))
    }

    /// `kill -9`: no shutdown code runs.
    pub fn kill(mut self) {
        self.child.kill().expect("kill child");
        self.child.wait().expect("reap child");
    }

    /// SIGTERM, then waits for a clean exit.
    pub fn terminate(mut self) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill -TERM");
        assert!(status.success());
        let exit = self.child.wait().expect("wait child");
        assert!(exit.success(), "site node exited with {exit}");
    }
}

impl Drop for ChildSite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

pub fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

pub fn data_dir(t: &tempfile::TempDir, name: &str) -> PathBuf {
    t.path().join(name)
}

static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// A request id unique within the test run.
pub fn rid() -> String {
    format!(
        "req-{}",
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

pub fn fields(title: &str, capacity: u32) -> pb::ChallengeFields {
    pb::ChallengeFields {
        title: title.to_owned(),
        description: "Un défi de test.".to_owned(),
        themes: vec!["la-qualite-de-l-action-publique".to_owned()],
        holders: vec![pb::Holder {
            name: "Myriam Lavigne".to_owned(),
            role: "DGS".to_owned(),
            collectivity: "Cluny".to_owned(),
            private: false,
        }],
        facilitators: vec!["Laurence Meslier".to_owned()],
        room: "Salle 1".to_owned(),
        capacity,
        status: pb::ChallengeStatus::Open.into(),
        ..Default::default()
    }
}

pub async fn create_challenge(c: &mut Client, number: u32, capacity: u32) -> pb::Challenge {
    c.create_challenge(pb::CreateChallengeRequest {
        request_id: rid(),
        number,
        fields: Some(fields(&format!("Défi numéro {number} ?"), capacity)),
    })
    .await
    .expect("create challenge")
    .into_inner()
    .challenge
    .expect("challenge")
}

pub fn new_participant(name: &str) -> pb::CreateParticipantRequest {
    pb::CreateParticipantRequest {
        request_id: rid(),
        display_name: name.to_owned(),
        organisation: "Ville de Mâcon".to_owned(),
        organisation_type: pb::OrganisationType::Collectivity.into(),
        language: "fr".to_owned(),
        email: String::new(),
        consent_share_name: false,
    }
}

pub async fn create_participant(c: &mut Client, name: &str) -> String {
    c.create_participant(new_participant(name))
        .await
        .expect("create participant")
        .into_inner()
        .participant
        .expect("participant")
        .id
}

pub fn register_req(participant: &str, challenge: u32) -> pb::RegisterRequest {
    pb::RegisterRequest {
        request_id: rid(),
        participant_id: participant.to_owned(),
        challenge_number: challenge,
        r#move: false,
        conference_id: 0,
        site_id: String::new(),
    }
}

pub async fn register(c: &mut Client, participant: &str, challenge: u32) -> pb::Registration {
    c.register(register_req(participant, challenge))
        .await
        .expect("register")
        .into_inner()
        .registration
        .expect("registration")
}

/// Runs `f`, failing the test if it takes longer than 30 s.
pub async fn within<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    match tokio::time::timeout(Duration::from_secs(30), f).await {
        Ok(v) => v,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

/// Waits for `cond` with a deadline instead of sleeping a fixed time.
pub async fn eventually<F, Fut>(what: &str, cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    eventually_within(what, Duration::from_secs(20), cond).await;
}

/// [`eventually`] with its own deadline.
pub async fn eventually_within<F, Fut>(what: &str, limit: Duration, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !cond().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

// ---- federation ----

pub const ADMIN: &str = "admin-secret";
/// The national node's viewer token (dashboards' reads).
pub const VIEWER: &str = "viewer-secret";

pub type NationalClient = agora_proto::v1::national_service_client::NationalServiceClient<
    InterceptedService<Channel, Bearer>,
>;

pub fn national_client(ch: &Channel, token: Option<&str>) -> NationalClient {
    let value = token.map(|t| format!("Bearer {t}").parse().expect("ascii token"));
    agora_proto::v1::national_service_client::NationalServiceClient::with_interceptor(
        ch.clone(),
        Bearer(value),
    )
}

/// A national node running inside the test process.
pub struct TestNational {
    pub addr: SocketAddr,
    pub channel: Channel,
    /// The national web page's address, when started with [`TestNational::start_with_http`].
    pub http: Option<SocketAddr>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), agora_national::NationalError>>>,
}

impl TestNational {
    pub async fn start(data: &Path) -> TestNational {
        Self::start_on(data, "127.0.0.1:0".parse().expect("address")).await
    }

    /// Starts on `addr` (a restart: the address the sites already dial).
    pub async fn start_on(data: &Path, addr: SocketAddr) -> TestNational {
        Self::start_with(data, addr, |_| {}).await
    }

    /// Starts on `addr` with the test configuration as `tweak` changes it.
    pub async fn start_with(
        data: &Path,
        addr: SocketAddr,
        tweak: impl FnOnce(&mut agora_national::NationalConfig),
    ) -> TestNational {
        Self::start_inner(data, addr, false, tweak).await
    }

    /// A national node that also serves the national web page, on another `127.0.0.1:0`
    /// listener.
    pub async fn start_with_http(data: &Path) -> TestNational {
        Self::start_inner(data, "127.0.0.1:0".parse().expect("address"), true, |_| {}).await
    }

    async fn start_inner(
        data: &Path,
        addr: SocketAddr,
        web: bool,
        tweak: impl FnOnce(&mut agora_national::NationalConfig),
    ) -> TestNational {
        let listener = TcpListener::bind(addr).await.expect("bind national");
        let http = if web {
            Some(TcpListener::bind("127.0.0.1:0").await.expect("bind http"))
        } else {
            None
        };
        let http_addr = http.as_ref().map(|l| l.local_addr().expect("http addr"));
        let addr = listener.local_addr().expect("addr");
        let mut cfg = agora_national::NationalConfig::new(data, ADMIN);
        cfg.viewer_token = Some(VIEWER.to_owned());
        cfg.cache_mb = 8;
        cfg.tls_cert = Some(pki().cert.clone());
        cfg.tls_key = Some(pki().key.clone());
        tweak(&mut cfg);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(agora_national::run_with_http(cfg, listener, http, async {
            let _ = stopped.await;
        }));
        TestNational {
            addr,
            channel: channel(addr).await,
            http: http_addr,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn url(&self) -> String {
        url(self.addr)
    }

    pub fn client(&self) -> NationalClient {
        national_client(&self.channel, Some(ADMIN))
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.expect("national task").expect("national node run");
        }
    }
}

/// A national node in its own process, to `kill -9`.
pub struct ChildNational {
    pub channel: Channel,
    child: Child,
}

impl ChildNational {
    /// Starts on `addr` (pass the same address to restart after a kill).
    pub async fn start(data: &Path, addr: SocketAddr) -> ChildNational {
        Self::start_with(data, addr, &[]).await
    }

    /// Starts on `addr` with `extra` command-line arguments.
    pub async fn start_with(data: &Path, addr: SocketAddr, extra: &[&str]) -> ChildNational {
        let listen = addr.to_string();
        let mut args = vec![
            "agora",
            "national",
            "--data",
            data.to_str().expect("utf-8 path"),
            "--listen",
            &listen,
            "--admin-token",
            ADMIN,
            "--cache-mb",
            "8",
        ];
        let tls = tls_flags();
        // The national node serves; it dials nobody (no --ca).
        args.extend(tls[..4].iter().map(String::as_str));
        args.extend(extra);
        let child = spawn_child(&args);
        let n = ChildNational {
            channel: channel(addr).await,
            child,
        };
        let mut c = n.client();
        eventually("the national node to answer", || {
            let mut c = c.clone();
            async move {
                c.list_sites(agora_proto::v1::ListSitesRequest {})
                    .await
                    .is_ok()
            }
        })
        .await;
        let _ = &mut c;
        n
    }

    pub fn client(&self) -> NationalClient {
        national_client(&self.channel, Some(ADMIN))
    }

    pub fn kill(mut self) {
        self.child.kill().expect("kill national");
        self.child.wait().expect("reap national");
    }
}

impl Drop for ChildNational {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_child(args: &[&str]) -> Child {
    Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            CHILD_ENTRY,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ARGS_VAR, args.join("\u{1f}"))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn child node")
}

/// Runs the `agora` command line in a child process to its end; its output, captured.
pub fn run_child_to_end(args: &[&str]) -> std::process::Output {
    Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            CHILD_ENTRY,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ARGS_VAR, args.join("\u{1f}"))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .expect("run child")
}

pub fn loopback_port() -> SocketAddr {
    ([127, 0, 0, 1], free_port()).into()
}

pub async fn invite(n: &mut NationalClient, site: &str, partner: bool) -> String {
    n.create_invite(agora_proto::v1::CreateInviteRequest {
        site_id: site.to_owned(),
        name: site.to_uppercase(),
        country: if partner { "GB".into() } else { "FR".into() },
        partner,
        ..Default::default()
    })
    .await
    .expect("invite")
    .into_inner()
    .join_token
}

/// A site config that streams to `national` with `token`.
pub fn federated(id: &str, data: &Path, national: &str, token: &str) -> agora_site::SiteConfig {
    let mut c = config(id, data);
    c.national = Some(national.to_owned());
    c.join_token = Some(token.to_owned());
    c
}

/// Invites site `id` at the national node and starts it in `dir`, joining through
/// `national_url` (the node's, or a relay's).
pub async fn join_site(
    admin: &mut NationalClient,
    dir: &tempfile::TempDir,
    id: &str,
    partner: bool,
    national_url: &str,
) -> TestSite {
    let token = invite(admin, id, partner).await;
    TestSite::start(federated(id, &data_dir(dir, id), national_url, &token)).await
}

/// The national log's last durable position.
pub async fn national_end(national: &mut NationalClient) -> u64 {
    national
        .get_overview(pb::GetOverviewRequest {})
        .await
        .expect("overview")
        .into_inner()
        .position
}

/// Waits until the national replica of the site equals the site: the uplink acknowledged
/// every change, and the digests match.
pub async fn converged(site: &mut Client, national: &mut NationalClient, id: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let info = site
            .get_site_info(pb::GetSiteInfoRequest {})
            .await
            .expect("site info")
            .into_inner();
        if info.national_acked_seq == info.last_seq {
            let mine = site
                .get_digest(pb::GetDigestRequest {})
                .await
                .expect("site digest")
                .into_inner();
            let theirs = national
                .get_site_digest(pb::GetSiteDigestRequest {
                    site_id: id.to_owned(),
                })
                .await
                .map(|r| r.into_inner());
            if let Ok(theirs) = theirs
                && mine.seq == info.last_seq
                && theirs.applied_seq == mine.seq
                && theirs.log_epoch == mine.log_epoch
            {
                assert_eq!(
                    mine.digest, theirs.digest,
                    "site {id}: national replica differs from the site at seq {}",
                    mine.seq
                );
                return mine.digest;
            }
        }
        assert!(
            Instant::now() < deadline,
            "site {id} did not converge: acked {} of {} ({})",
            info.national_acked_seq,
            info.last_seq,
            info.national_error
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub use agora::relay::Relay;
