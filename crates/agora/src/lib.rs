//! The `agora` command line: parses arguments, merges the TOML config file, `AGORA_*`
//! environment variables and flags, installs logging, binds, and runs a node library.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use tokio::net::TcpListener;

pub mod backup;
mod bearer;
mod bench;
pub mod certs;
mod check;
mod demo;
pub mod import;
pub mod relay;

/// Agora: the backend of a multi-site, connected, European event. One binary runs a venue's
/// site node, the national coordination node and its administration, the live dashboard,
/// exports, the benchmarks, and a demo of the whole system on this machine.
#[derive(Debug, Parser)]
#[command(name = "agora", version)]
struct Cli {
    /// Log lines as text, or as one JSON object per line for a log collector.
    #[arg(
        long,
        global = true,
        env = "AGORA_LOG_FORMAT",
        default_value = "text",
        value_parser = ["text", "json"]
    )]
    log_format: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the node of one venue (site): défis, participants, registrations, check-in.
    Site(SiteArgs),
    /// Run the national coordination node, or administer it (invite, revoke).
    National(NationalArgs),
    /// Watch the whole event live from the national node.
    Dashboard(DashboardArgs),
    /// Measure: starts real nodes on loopback and prints figures (build with --release).
    Bench(BenchArgs),
    /// The whole system on this machine: a national node, five sites, simulated desks, the
    /// dashboard, and a consistency check at the end.
    Demo(DemoArgs),
    /// Export from a running site node to standard output (CSV, iCalendar).
    #[command(subcommand)]
    Export(ExportCommand),
    /// Import défis from a spreadsheet (CSV, as French Excel writes it or RFC 4180) or a
    /// TOML file into a running site node: creates, updates by number, reports every
    /// problem with its line and corrects nothing.
    Import(ImportArgs),
    /// Make a certificate authority and server certificates (for venues without a PKI).
    #[command(subcommand)]
    Certs(CertsCommand),
    /// Copy a running site node's database, consistent (taken between two write batches),
    /// into a new directory: a data directory and BACKUP.toml (position, digest).
    Backup(BackupArgs),
    /// Make a new data directory from a backup, checked to open with the backup's digest.
    Restore(RestoreArgs),
}

#[derive(Debug, Args)]
struct BackupArgs {
    /// The site node's URL, e.g. https://cluny.example:50051.
    #[arg(long, env = "AGORA_SITE")]
    site: String,
    #[command(flatten)]
    dial: DialArgs,
    /// Organiser token (prefer --token-file or AGORA_TOKEN).
    #[arg(long, env = "AGORA_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// File holding the organiser token.
    #[arg(long, env = "AGORA_TOKEN_FILE", conflicts_with = "token")]
    token_file: Option<PathBuf>,
    /// New (or empty) directory to write the backup into (0700: it holds personal data and
    /// the site's national key).
    #[arg(long)]
    to: PathBuf,
}

#[derive(Debug, Args)]
struct RestoreArgs {
    /// The backup's directory (`agora backup --to`).
    #[arg(long)]
    from: PathBuf,
    /// New (or empty) data directory for the node.
    #[arg(long)]
    data: PathBuf,
}

#[derive(Debug, Subcommand)]
enum CertsCommand {
    /// A new CA: DIR/ca.pem (give it to every client as --ca) and DIR/ca-key.pem (0600,
    /// keep it offline).
    Ca(CertsCaArgs),
    /// A server certificate signed by the CA: OUT.pem and OUT-key.pem (0600), for a node's
    /// --tls-cert and --tls-key.
    Server(CertsServerArgs),
}

#[derive(Debug, Args)]
struct CertsCaArgs {
    /// Directory to write into (created 0700 if missing).
    #[arg(long, default_value = "certs")]
    dir: PathBuf,
    /// Name of the CA, as clients show it.
    #[arg(long, default_value = "Agora CA")]
    name: String,
    /// Days of validity.
    #[arg(long, default_value_t = 3650)]
    days: u32,
}

#[derive(Debug, Args)]
struct CertsServerArgs {
    /// DNS name clients dial, such as national.example.eu (repeat for several).
    #[arg(long = "name")]
    names: Vec<String>,
    /// IP address clients dial (repeat for several).
    #[arg(long = "ip")]
    ips: Vec<std::net::IpAddr>,
    /// The CA certificate.
    #[arg(long, default_value = "certs/ca.pem")]
    ca: PathBuf,
    /// The CA's key.
    #[arg(long, default_value = "certs/ca-key.pem")]
    ca_key: PathBuf,
    /// Output: OUT.pem and OUT-key.pem [default: certs/<first name>].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Days of validity.
    #[arg(long, default_value_t = 398)]
    days: u32,
}

/// How a client of ours dials a node.
#[derive(Debug, Args, Clone)]
struct DialArgs {
    /// CA certificate (PEM) to trust for https:// instead of the system roots.
    #[arg(long, env = "AGORA_CA")]
    ca: Option<PathBuf>,
    /// Allow an http:// URL to an address that is not loopback (data in clear).
    #[arg(long, env = "AGORA_ALLOW_PLAINTEXT")]
    allow_plaintext: bool,
}

impl DialArgs {
    fn dial(&self) -> anyhow::Result<agora_sync::dial::Dial> {
        Ok(agora_sync::dial::Dial::from_options(
            self.ca.as_deref(),
            self.allow_plaintext,
        )?)
    }
}

/// A node's TLS certificate and limits, flags over the config file.
#[derive(Debug, Args)]
struct ServeArgs {
    /// Certificate chain (PEM); with --tls-key the node serves TLS only.
    #[arg(long, env = "AGORA_TLS_CERT")]
    tls_cert: Option<PathBuf>,
    /// Private key (PEM) of --tls-cert.
    #[arg(long, env = "AGORA_TLS_KEY")]
    tls_key: Option<PathBuf>,
    /// Open connections served [default: 1024].
    #[arg(long, env = "AGORA_MAX_CONNECTIONS")]
    max_connections: Option<u64>,
    /// Calls in progress on one connection [default: 512].
    #[arg(long, env = "AGORA_MAX_STREAMS_PER_CONNECTION")]
    max_streams_per_connection: Option<u64>,
    /// Change-feed streams (Watch, WatchChanges) from one client address [default: 64].
    #[arg(long, env = "AGORA_MAX_WATCH_STREAMS_PER_CLIENT")]
    max_watch_streams_per_client: Option<u64>,
    /// Seconds a call may take to produce its answer [default: 30].
    #[arg(long, env = "AGORA_REQUEST_TIMEOUT_S")]
    request_timeout_s: Option<u64>,
    /// Address of the Prometheus metrics endpoint (GET /metrics, plain HTTP: a loopback or
    /// management address), such as 127.0.0.1:9464 [default: none].
    #[arg(long, env = "AGORA_METRICS")]
    metrics: Option<String>,
}

impl ServeArgs {
    fn overrides(self) -> anyhow::Result<Vec<(&'static str, Option<toml::Value>)>> {
        Ok(vec![
            ("tls_cert", path(self.tls_cert)),
            ("tls_key", path(self.tls_key)),
            ("metrics", text(self.metrics)),
            (
                "max_connections",
                int("max_connections", self.max_connections)?,
            ),
            (
                "max_streams_per_connection",
                int(
                    "max_streams_per_connection",
                    self.max_streams_per_connection,
                )?,
            ),
            (
                "max_watch_streams_per_client",
                int(
                    "max_watch_streams_per_client",
                    self.max_watch_streams_per_client,
                )?,
            ),
            (
                "request_timeout_s",
                int("request_timeout_s", self.request_timeout_s)?,
            ),
        ])
    }
}

#[derive(Debug, Args)]
struct ImportArgs {
    /// The file: .toml, else CSV (UTF-8, `;` or `,`, with or without a byte-order mark).
    file: PathBuf,
    /// The site node's URL, e.g. https://desk.cluny.example:50051.
    #[arg(long, env = "AGORA_SITE")]
    site: String,
    #[command(flatten)]
    dial: DialArgs,
    /// Organiser token (prefer --token-file or AGORA_TOKEN: a command line is readable by
    /// every user of the machine).
    #[arg(long, env = "AGORA_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// File holding the organiser token.
    #[arg(long, env = "AGORA_TOKEN_FILE", conflicts_with = "token")]
    token_file: Option<PathBuf>,
    /// Print what would be created or changed and every problem; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Language of the report: fr, en or de.
    #[arg(long, default_value = "fr", value_parser = parse_model_lang)]
    lang: agora_model::Lang,
    /// The event's sites to check holders' collectivities and place names against, as
    /// id=Name pairs ("cluny=Cluny,kehl=Kehl"); default: the site's national directory.
    #[arg(long, value_delimiter = ',', value_parser = parse_known_site)]
    sites: Option<Vec<agora_model::import::KnownSite>>,
}

fn parse_known_site(s: &str) -> Result<agora_model::import::KnownSite, String> {
    match s.split_once('=') {
        Some((id, name)) if !id.trim().is_empty() && !name.trim().is_empty() => {
            Ok(agora_model::import::KnownSite {
                id: id.trim().to_owned(),
                name: name.trim().to_owned(),
            })
        }
        _ => Err(format!("{s:?}: give id=Name, such as kehl=Kehl")),
    }
}

fn parse_model_lang(s: &str) -> Result<agora_model::Lang, String> {
    agora_model::Lang::parse(s).ok_or_else(|| format!("{s:?}: fr, en or de"))
}

#[derive(Debug, Args)]
struct DashboardArgs {
    /// URL of the national node (https://; http:// on loopback).
    #[arg(long, env = "AGORA_NATIONAL", default_value = "http://127.0.0.1:50050")]
    national: String,
    #[command(flatten)]
    dial: DialArgs,
    /// The national node's viewer (or administrator) token; prefer --token-file or
    /// AGORA_TOKEN (a command line is readable by every user of the machine).
    #[arg(long, env = "AGORA_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// File holding the token.
    #[arg(long, env = "AGORA_TOKEN_FILE", conflicts_with = "token")]
    token_file: Option<PathBuf>,
    /// One line per change and a summary every few seconds, instead of the full screen.
    #[arg(long)]
    plain: bool,
    /// Language of the labels: fr, en or de.
    #[arg(long, default_value = "fr", value_parser = parse_lang)]
    lang: agora_dashboard::Lang,
}

#[derive(Debug, Args)]
struct BenchArgs {
    /// Scenarios to run (default: all): floor, register, sync-latency, remote-register,
    /// catch-up, fan-in, fairness, memory.
    scenarios: Vec<String>,
    /// Also print the figures as JSON.
    #[arg(long)]
    json: bool,
    /// Smaller counts, for a quick look (not the reference figures).
    #[arg(long)]
    quick: bool,
    /// Run everything this many times and report, per case, the run with the median rate
    /// (figures on a shared machine vary from run to run).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=9))]
    runs: u32,
    /// Skip the TLS cases (register at 1 and 64 clients, sync-latency over TLS).
    #[arg(long)]
    no_tls: bool,
}

#[derive(Debug, Args)]
struct DemoArgs {
    /// How long the simulated event runs, such as 30s or 2m.
    #[arg(long, default_value = "60s", value_parser = demo::parse_duration)]
    duration: std::time::Duration,
    /// Line output instead of the full-screen dashboard.
    #[arg(long)]
    plain: bool,
    /// Keep every node's data in this directory (default: a temporary one).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Language of the labels: fr, en or de.
    #[arg(long, default_value = "fr", value_parser = parse_lang)]
    lang: agora_dashboard::Lang,
    /// Seed of the simulation.
    #[arg(long, default_value_t = 2018)]
    seed: u64,
}

fn parse_lang(s: &str) -> Result<agora_dashboard::Lang, String> {
    agora_dashboard::Lang::parse(s).ok_or_else(|| format!("{s:?}: fr, en or de"))
}

#[derive(Debug, Subcommand)]
enum ExportCommand {
    /// Attendance list of a challenge or a conference, as CSV (by default the form French
    /// spreadsheets open with a double click), with check-in times.
    Registrations(ExportRegistrationsArgs),
    /// The site's program as an iCalendar (.ics) file.
    Program(ExportProgramArgs),
    /// Everything the site holds about one participant, as JSON (subject access).
    Person(ExportPersonArgs),
    /// The site's défis as a sheet that `agora import` reads back (people one per line in
    /// a cell, `name | role | organisation`, `| private` for a name that stays on the site).
    Defis(ExportDefisArgs),
}

#[derive(Debug, Args)]
struct ExportDefisArgs {
    /// The site node's URL, e.g. https://desk.cluny.example:50051.
    #[arg(long, env = "AGORA_SITE")]
    site: String,
    #[command(flatten)]
    dial: DialArgs,
    /// excel: byte-order mark and `;` (French spreadsheets); rfc4180: `,`.
    #[arg(long, default_value = "excel", value_parser = ["excel", "rfc4180"])]
    form: String,
}

#[derive(Debug, Args)]
struct ExportRegistrationsArgs {
    /// The site node's URL, e.g. https://desk.cluny.example:50051.
    #[arg(long, env = "AGORA_SITE")]
    site: String,
    #[command(flatten)]
    dial: DialArgs,
    /// Desk or organiser token (prefer --token-file or AGORA_TOKEN: a command line is
    /// readable by every user of the machine).
    #[arg(long, env = "AGORA_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// File holding the desk or organiser token.
    #[arg(long, env = "AGORA_TOKEN_FILE", conflicts_with = "token")]
    token_file: Option<PathBuf>,
    /// Challenge number.
    #[arg(
        long,
        conflicts_with = "conference",
        required_unless_present = "conference"
    )]
    challenge: Option<u32>,
    /// Conference id.
    #[arg(long)]
    conference: Option<u32>,
    /// excel: what French spreadsheets open with a double click (byte-order mark, `;`, local
    /// times with their offset); rfc4180: `,`, local times; utc: `,`, UTC times.
    #[arg(long, default_value = "excel", value_parser = ["excel", "rfc4180", "utc"])]
    form: String,
    /// Language of the header row and the states: fr, en or de.
    #[arg(long, default_value = "fr", value_parser = parse_model_lang)]
    lang: agora_model::Lang,
}

#[derive(Debug, Args)]
struct ExportPersonArgs {
    /// The site node's URL, e.g. https://desk.cluny.example:50051.
    #[arg(long, env = "AGORA_SITE")]
    site: String,
    #[command(flatten)]
    dial: DialArgs,
    /// Organiser token (prefer --token-file or AGORA_TOKEN: a command line is readable by
    /// every user of the machine).
    #[arg(long, env = "AGORA_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// File holding the organiser token.
    #[arg(long, env = "AGORA_TOKEN_FILE", conflicts_with = "token")]
    token_file: Option<PathBuf>,
    /// The participant's id.
    #[arg(long)]
    participant: String,
}

#[derive(Debug, Args)]
struct ExportProgramArgs {
    /// The site node's URL, e.g. https://desk.cluny.example:50051.
    #[arg(long, env = "AGORA_SITE")]
    site: String,
    #[command(flatten)]
    dial: DialArgs,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
struct NationalArgs {
    #[command(subcommand)]
    action: Option<NationalAction>,
    #[command(flatten)]
    serve: NationalServeArgs,
}

#[derive(Debug, Subcommand)]
enum NationalAction {
    /// Create a one-time join token for a site (a venue or a European partner).
    Invite(InviteArgs),
    /// List the invites not used yet.
    Invites(AdminOnly),
    /// Cancel every pending invite of a site.
    CancelInvite(RevokeArgs),
    /// Revoke a site: its credential stops working (with --purge, the national node
    /// also drops its participants' names).
    Revoke(RevokeSiteArgs),
    /// Push an announcement down to every site.
    Announce(AnnounceArgs),
}

#[derive(Debug, Args)]
struct AnnounceArgs {
    #[command(flatten)]
    admin: AdminArgs,
    /// The text, up to 500 characters.
    #[arg(long)]
    text: String,
}

/// Every flag can also come from the config file or an `AGORA_*` environment variable.
#[derive(Debug, Args)]
struct NationalServeArgs {
    /// TOML config file (see deploy/national.toml).
    #[arg(long, env = "AGORA_CONFIG")]
    config: Option<PathBuf>,
    /// Check the configuration, the listen addresses, the data directory, the certificate
    /// (and a site's national node) without serving; exit 1 if anything is wrong.
    #[arg(long)]
    check: bool,
    /// Data directory (created if missing).
    #[arg(long, env = "AGORA_DATA")]
    data: Option<PathBuf>,
    /// Address to listen on, host:port (a host name or an IP) [default: 127.0.0.1:50050].
    #[arg(long, env = "AGORA_LISTEN")]
    listen: Option<String>,
    /// Address of the national web page, such as 127.0.0.1:8090 [default: none, no web
    /// pages].
    #[arg(long, env = "AGORA_HTTP")]
    http: Option<String>,
    /// Token of the administrator (invites, revocations); prefer --admin-token-file or
    /// AGORA_ADMIN_TOKEN.
    #[arg(long, env = "AGORA_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// File holding the administrator's token.
    #[arg(long, env = "AGORA_ADMIN_TOKEN_FILE")]
    admin_token_file: Option<PathBuf>,
    /// Token of the dashboards (viewer role: overview, Watch, digests); without one, only
    /// the administrator reads them. Prefer --viewer-token-file or AGORA_VIEWER_TOKEN.
    #[arg(long, env = "AGORA_VIEWER_TOKEN", hide_env_values = true)]
    viewer_token: Option<String>,
    /// File holding the viewer token.
    #[arg(long, env = "AGORA_VIEWER_TOKEN_FILE")]
    viewer_token_file: Option<PathBuf>,
    /// sled page cache in MiB [default: 64].
    #[arg(long, env = "AGORA_CACHE_MB")]
    cache_mb: Option<u64>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Debug, Args)]
struct AdminArgs {
    /// URL of the national node (https://; http:// on loopback).
    #[arg(long, env = "AGORA_NATIONAL", default_value = "http://127.0.0.1:50050")]
    national: String,
    #[command(flatten)]
    dial: DialArgs,
    /// Token of the administrator (prefer --admin-token-file or AGORA_ADMIN_TOKEN).
    #[arg(long, env = "AGORA_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// File holding the administrator's token.
    #[arg(long, env = "AGORA_ADMIN_TOKEN_FILE", conflicts_with = "admin_token")]
    admin_token_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct InviteArgs {
    #[command(flatten)]
    admin: AdminArgs,
    /// Id of the site to invite, such as "coventry".
    #[arg(long)]
    site: String,
    /// Name shown to people, such as "Coventry".
    #[arg(long)]
    name: String,
    /// ISO 3166-1 alpha-2 country code, such as "GB".
    #[arg(long, default_value = "FR")]
    country: String,
    /// A European partner collectivity (not one of the French venues).
    #[arg(long)]
    partner: bool,
    /// Hours the token stays valid.
    #[arg(long, default_value_t = 72)]
    expires: u32,
    /// The site joined already: the token rebinds it (new credential, the old one void).
    #[arg(long)]
    replace: bool,
}

#[derive(Debug, Args)]
struct AdminOnly {
    #[command(flatten)]
    admin: AdminArgs,
}

#[derive(Debug, Args)]
struct RevokeArgs {
    #[command(flatten)]
    admin: AdminArgs,
    /// Id of the site to revoke.
    #[arg(long)]
    site: String,
}

#[derive(Debug, Args)]
struct RevokeSiteArgs {
    #[command(flatten)]
    site: RevokeArgs,
    /// Also drop the personal data the national node holds of the site's participants
    /// (names shared with consent) from its replica and the national log; the counts stay.
    /// Restart the national node afterwards to purge the old bytes from its files.
    #[arg(long)]
    purge: bool,
}

/// Every flag can also come from the config file (same name with underscores) or from an
/// `AGORA_*` environment variable; flags win over the environment, which wins over the file.
#[derive(Debug, Args)]
struct SiteArgs {
    /// TOML config file (see deploy/sites/).
    #[arg(long, env = "AGORA_CONFIG")]
    config: Option<PathBuf>,
    /// Check the configuration, the listen addresses, the data directory, the certificate
    /// (and a site's national node) without serving; exit 1 if anything is wrong.
    #[arg(long)]
    check: bool,
    /// Site id, a short slug such as "cluny".
    #[arg(long, env = "AGORA_ID")]
    id: Option<String>,
    /// Name shown to people, such as "Mâcon".
    #[arg(long, env = "AGORA_NAME")]
    name: Option<String>,
    /// Data directory (created if missing).
    #[arg(long, env = "AGORA_DATA")]
    data: Option<PathBuf>,
    /// Address to listen on, host:port (a host name or an IP) [default: 127.0.0.1:50051].
    #[arg(long, env = "AGORA_LISTEN")]
    listen: Option<String>,
    /// Address of the web desk, such as 127.0.0.1:8080 [default: none, no web pages].
    #[arg(long, env = "AGORA_HTTP")]
    http: Option<String>,
    /// Token of the organiser role (prefer --organiser-token-file or the environment: a
    /// command line is readable by every user of the machine).
    #[arg(long, env = "AGORA_ORGANISER_TOKEN", hide_env_values = true)]
    organiser_token: Option<String>,
    /// File holding the organiser's token.
    #[arg(long, env = "AGORA_ORGANISER_TOKEN_FILE")]
    organiser_token_file: Option<PathBuf>,
    /// Token of the desk role.
    #[arg(long, env = "AGORA_DESK_TOKEN", hide_env_values = true)]
    desk_token: Option<String>,
    /// File holding the desk's token.
    #[arg(long, env = "AGORA_DESK_TOKEN_FILE")]
    desk_token_file: Option<PathBuf>,
    /// sled page cache in MiB [default: 3].
    #[arg(long, env = "AGORA_CACHE_MB")]
    cache_mb: Option<u64>,
    /// Change records kept in the log [default: 1000000].
    #[arg(long, env = "AGORA_LOG_RETENTION")]
    log_retention: Option<u64>,
    /// Size of each of the two write-ahead log files in MiB [default: 32].
    #[arg(long, env = "AGORA_WAL_FILE_MB")]
    wal_file_mb: Option<u64>,
    /// Free disk space kept in reserve in MiB: below it writes are refused [default: 64].
    #[arg(long, env = "AGORA_DISK_RESERVE_MB")]
    disk_reserve_mb: Option<u64>,
    /// Days after the event's end after which participants' personal data is erased; 0
    /// keeps it [default: 90].
    #[arg(long, env = "AGORA_RETAIN_PERSONAL_DATA_DAYS")]
    retain_personal_data_days: Option<u64>,
    /// URL of the national node to stream changes to, such as
    /// https://national.example.eu:50050.
    #[arg(long, env = "AGORA_NATIONAL")]
    national: Option<String>,
    /// CA certificate (PEM) to trust for the national node instead of the system roots.
    #[arg(long, env = "AGORA_CA")]
    ca: Option<PathBuf>,
    /// Allow an http:// national URL to an address that is not loopback (data in clear).
    #[arg(long, env = "AGORA_ALLOW_PLAINTEXT")]
    allow_plaintext: bool,
    /// One-time join token from `agora national invite` (first connection only).
    #[arg(long, env = "AGORA_JOIN_TOKEN", hide_env_values = true)]
    join_token: Option<String>,
    /// File holding the join token.
    #[arg(long, env = "AGORA_JOIN_TOKEN_FILE")]
    join_token_file: Option<PathBuf>,
    #[command(flatten)]
    serve: ServeArgs,
    /// The site's time zone, an IANA name such as Europe/London [default: Europe/Paris].
    #[arg(long, env = "AGORA_TIME_ZONE")]
    time_zone: Option<String>,
}

/// Runs the command line; the exit code says whether it succeeded.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let json = cli.log_format == "json";
    init_tracing(
        json,
        match &cli.command {
            // Full-screen views own the terminal: logs would scribble over them.
            Command::Dashboard(a)
                if !a.plain && std::io::IsTerminal::is_terminal(&std::io::stdout()) =>
            {
                "off"
            }
            Command::Demo(a)
                if !a.plain && std::io::IsTerminal::is_terminal(&std::io::stdout()) =>
            {
                "off"
            }
            Command::Demo(_)
            | Command::Dashboard(_)
            | Command::Export(_)
            | Command::Import(_)
            | Command::Bench(_)
            | Command::Certs(_)
            | Command::Backup(_)
            | Command::Restore(_) => "warn",
            _ => "info,h2=warn,tower=warn,hyper=warn,sled=warn",
        },
    );
    // The load generator runs on one thread: on the two cores it shares with the nodes
    // under test, a second worker mostly woke up to steal work (see docs/BENCHMARKS.md).
    let mut builder = if matches!(cli.command, Command::Bench(_)) {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let result = builder
        .enable_all()
        .build()
        .context("starting the async runtime")
        .and_then(|rt| rt.block_on(run(cli)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("agora: error: {}", report(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, skipping a cause whose text its parent's message
/// already includes (our error types quote their source).
fn report(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
    }
    out
}

fn init_tracing(json: bool, default: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        fmt.json().try_init()
    } else {
        fmt.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init()
    };
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Site(args) => run_site(args).await,
        Command::National(NationalArgs {
            action: None,
            serve,
        }) => run_national(serve).await,
        Command::National(NationalArgs {
            action: Some(a), ..
        }) => administer(a).await,
        Command::Export(e) => export::run(e).await,
        Command::Certs(c) => run_certs(c),
        Command::Backup(a) => {
            let channel = export::channel(&a.site, &a.dial).await?;
            let token = secret("token", a.token, a.token_file.as_deref())?;
            let mut client = pb_site_client(channel, &token, None)?;
            let h = backup::backup(&mut client, &a.to).await?;
            eprintln!(
                "backup of site {} written to {}: log epoch {}, position {}, digest {}",
                h.site_id,
                a.to.display(),
                h.log_epoch,
                h.seq,
                h.digest
            );
            Ok(())
        }
        Command::Restore(a) => {
            let (from, data) = (a.from.clone(), a.data.clone());
            let h = tokio::task::spawn_blocking(move || backup::restore(&from, &data)).await??;
            eprintln!(
                "restored site {} into {}: position {}, digest {} (as backed up). Started, it \
                 starts a new log epoch if the national node is ahead of it, and the national \
                 node rebuilds its replica (docs/OPERATIONS.md, Backups)",
                h.site_id,
                a.data.display(),
                h.seq,
                h.digest
            );
            Ok(())
        }
        Command::Import(a) => {
            let file = import::read(&a.file)?;
            let channel = export::channel(&a.site, &a.dial).await?;
            let token = secret("token", a.token, a.token_file.as_deref())?;
            let mut client = pb_site_client(channel, &token, Some(a.lang))?;
            let report = import::import(
                &mut client,
                &file,
                &import::ImportOptions {
                    dry_run: a.dry_run,
                    sites: a.sites,
                },
            )
            .await?;
            print!("{}", report.render(a.lang));
            if report.errors() > 0 {
                anyhow::bail!(
                    "{} rows of {} were not imported (see the report)",
                    report.errors(),
                    a.file.display()
                );
            }
            Ok(())
        }
        Command::Dashboard(a) => {
            let (_stop, stop) = tokio::sync::watch::channel(false);
            // Not a terminal (a log file, a pipe): line output.
            let plain = a.plain || !std::io::IsTerminal::is_terminal(&std::io::stdout());
            let token = match (&a.token, &a.token_file) {
                (None, None) => None,
                _ => Some(secret("token", a.token, a.token_file.as_deref())?),
            };
            let opts = agora_dashboard::Options {
                dial: a.dial.dial()?,
                token,
                national: a.national,
                lang: a.lang,
                plain,
            };
            if plain {
                // Runs until Ctrl-C.
                let (tx, rx) = tokio::sync::watch::channel(false);
                tokio::spawn(async move {
                    shutdown_signal().await;
                    let _ = tx.send(true);
                });
                agora_dashboard::run(opts, rx).await?;
            } else {
                agora_dashboard::run(opts, stop).await?;
            }
            Ok(())
        }
        Command::Bench(a) => {
            bench::run(bench::BenchOptions {
                scenarios: a.scenarios,
                json: a.json,
                quick: a.quick,
                runs: a.runs,
                tls: !a.no_tls,
            })
            .await
        }
        Command::Demo(a) => {
            let opts = demo::DemoOptions {
                duration: a.duration,
                plain: a.plain || !std::io::IsTerminal::is_terminal(&std::io::stdout()),
                data: a.data,
                lang: a.lang,
                seed: a.seed,
            };
            if demo::run(opts, Box::pin(shutdown_signal())).await? {
                Ok(())
            } else {
                anyhow::bail!("the demo's consistency check failed")
            }
        }
    }
}

fn pb_site_client(
    channel: tonic::transport::Channel,
    token: &str,
    lang: Option<agora_model::Lang>,
) -> anyhow::Result<import::SiteClient> {
    let mut auth = bearer::Bearer::new(token).context("the token must be printable ASCII")?;
    if let Some(l) = lang {
        auth = auth.with_lang(l);
    }
    Ok(agora_proto::v1::site_service_client::SiteServiceClient::with_interceptor(channel, auth))
}

/// `agora export …`: gRPC calls to a running site node, the file on standard output.
mod export {
    use std::io::Write;

    use agora_proto::v1 as pb;
    use anyhow::Context;
    use pb::site_service_client::SiteServiceClient;
    use tonic::transport::Channel;

    use super::ExportCommand;

    /// A channel to the site node at `site` (`https://` assumed without a scheme).
    pub async fn channel(site: &str, dial: &super::DialArgs) -> anyhow::Result<Channel> {
        let url = if site.contains("://") {
            site.to_owned()
        } else {
            format!("https://{site}")
        };
        dial.dial()?
            .endpoint(&url)?
            .connect_timeout(std::time::Duration::from_secs(10))
            .connect()
            .await
            .with_context(|| format!("connecting to {url}"))
    }

    async fn connect(
        site: &str,
        dial: &super::DialArgs,
    ) -> anyhow::Result<SiteServiceClient<Channel>> {
        Ok(SiteServiceClient::new(channel(site, dial).await?))
    }

    fn status(s: tonic::Status) -> anyhow::Error {
        anyhow::anyhow!("{:?}: {}", s.code(), s.message())
    }

    fn with_token<T>(token: &str, message: T) -> anyhow::Result<tonic::Request<T>> {
        let mut req = tonic::Request::new(message);
        let value = format!("Bearer {token}")
            .parse()
            .context("the token must be printable ASCII")?;
        req.metadata_mut().insert("authorization", value);
        Ok(req)
    }

    pub async fn run(cmd: ExportCommand) -> anyhow::Result<()> {
        let bytes = match cmd {
            ExportCommand::Registrations(a) => {
                let mut client = connect(&a.site, &a.dial).await?;
                let token = super::secret("token", a.token, a.token_file.as_deref())?;
                let form = match a.form.as_str() {
                    "excel" => pb::CsvForm::FrenchExcel,
                    "rfc4180" => pb::CsvForm::Rfc4180,
                    _ => pb::CsvForm::Unspecified,
                };
                let mut req = tonic::Request::new(pb::ExportRegistrationsCsvRequest {
                    challenge_number: a.challenge.unwrap_or(0),
                    conference_id: a.conference.unwrap_or(0),
                    form: form.into(),
                    lang: a.lang.code().to_owned(),
                });
                let value = format!("Bearer {token}")
                    .parse()
                    .context("the token must be printable ASCII")?;
                req.metadata_mut().insert("authorization", value);
                client
                    .export_registrations_csv(req)
                    .await
                    .map_err(status)
                    .context("ExportRegistrationsCsv")?
                    .into_inner()
                    .csv
            }
            ExportCommand::Defis(a) => {
                let mut client = connect(&a.site, &a.dial).await?;
                let site = client
                    .get_site_info(pb::GetSiteInfoRequest {})
                    .await
                    .map_err(status)
                    .context("GetSiteInfo")?
                    .into_inner()
                    .site_id;
                let rows = client
                    .list_challenges(pb::ListChallengesRequest::default())
                    .await
                    .map_err(status)
                    .context("ListChallenges")?
                    .into_inner()
                    .challenges
                    .into_iter()
                    .filter_map(|c| c.challenge)
                    .map(|c| {
                        let c = agora_sync::convert::challenge_from(c)
                            .map_err(|e| anyhow::anyhow!("reading a défi: {e}"))?;
                        Ok(agora_model::import::DefiRow {
                            line: 0,
                            field_lines: Vec::new(),
                            number: c.number,
                            site: Some(site.clone()),
                            fields: c.fields,
                        })
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?;
                let dialect = if a.form == "excel" {
                    crate::import::Dialect::FrenchExcel
                } else {
                    crate::import::Dialect::Rfc4180
                };
                crate::import::defis_csv(&rows, dialect)?
            }
            ExportCommand::Program(a) => {
                let mut client = connect(&a.site, &a.dial).await?;
                client
                    .export_program_ical(pb::ExportProgramIcalRequest {})
                    .await
                    .map_err(status)
                    .context("ExportProgramIcal")?
                    .into_inner()
                    .ical
            }
            ExportCommand::Person(a) => {
                let mut client = connect(&a.site, &a.dial).await?;
                let token = super::secret("token", a.token, a.token_file.as_deref())?;
                let req = with_token(
                    &token,
                    pb::ExportParticipantDataRequest {
                        participant_id: a.participant,
                    },
                )?;
                let mut json = client
                    .export_participant_data(req)
                    .await
                    .map_err(status)
                    .context("ExportParticipantData")?
                    .into_inner()
                    .json;
                json.push('\n');
                json.into_bytes()
            }
        };
        let mut out = std::io::stdout().lock();
        out.write_all(&bytes)
            .and_then(|()| out.flush())
            .context("writing to standard output")
    }
}

/// Merges the config file with flags/environment (`Some` values win) into `T`. Each of
/// `tokens` may come as `<token>_file` instead (the file's text, trimmed); an example token
/// of `deploy/` is refused naming where it came from.
fn merge_config<T: serde::de::DeserializeOwned>(
    file: Option<&Path>,
    overrides: Vec<(&str, Option<toml::Value>)>,
    tokens: &[&str],
    what: &str,
) -> anyhow::Result<T> {
    let mut table = read_config(file)?;
    let mut overridden = Vec::new();
    for (key, value) in overrides {
        if let Some(v) = value {
            overridden.push(key.strip_suffix("_file").unwrap_or(key).to_owned());
            // A flag or variable wins over the config file's other way of giving a token.
            if let Some(token) = key.strip_suffix("_file").filter(|k| tokens.contains(k)) {
                table.remove(token);
            } else if tokens.contains(&key) {
                table.remove(&format!("{key}_file"));
            }
            table.insert(key.to_owned(), v);
        }
    }
    for &token in tokens {
        let file_key = format!("{token}_file");
        if let Some(v) = table.remove(&file_key) {
            anyhow::ensure!(
                !table.contains_key(token),
                "give {token} or {file_key}, not both"
            );
            let p = v
                .as_str()
                .with_context(|| format!("{file_key} must be a path"))?;
            table.insert(token.to_owned(), read_secret(Path::new(p), token)?.into());
        }
        if let Some(value) = table.get(token).and_then(toml::Value::as_str)
            && value.starts_with(agora_site::EXAMPLE_TOKEN_PREFIX)
        {
            let env = format!("AGORA_{}", token.to_uppercase());
            let flag = token.replace('_', "-");
            match file {
                Some(f) if !overridden.iter().any(|k| k == token) => {
                    anyhow::bail!(
                        "{token} in {} is the example token ({}…): edit {} and put a secret of your own there, or give --{flag}-file / {env}",
                        f.display(),
                        agora_site::EXAMPLE_TOKEN_PREFIX,
                        f.display()
                    )
                }
                _ => anyhow::bail!(
                    "{token} is an example token ({}…): give a secret of your own (--{flag}-file or {env})",
                    agora_site::EXAMPLE_TOKEN_PREFIX
                ),
            }
        }
    }
    toml::Value::Table(table)
        .try_into()
        .with_context(|| format!("{what} configuration (config file, AGORA_* variables and flags)"))
}

/// A secret from a file: its text without the line break at its end.
fn read_secret(path: &Path, what: &str) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading {what} from {}", path.display()))?;
    let secret = text.trim_end_matches(['\n', '\r']).to_owned();
    anyhow::ensure!(!secret.is_empty(), "{}: the file is empty", path.display());
    Ok(secret)
}

/// A token given as itself or as a file (clap refuses both at once).
fn secret(what: &str, value: Option<String>, file: Option<&Path>) -> anyhow::Result<String> {
    match (value, file) {
        (Some(v), _) => Ok(v),
        (None, Some(f)) => read_secret(f, what),
        (None, None) => {
            let flag = what.replace('_', "-");
            anyhow::bail!(
                "the {what} is needed: --{flag}-file FILE or AGORA_{} (or --{flag})",
                what.to_uppercase()
            )
        }
    }
}

fn text(v: Option<String>) -> Option<toml::Value> {
    v.map(Into::into)
}

fn path(v: Option<PathBuf>) -> Option<toml::Value> {
    v.map(|p| p.display().to_string().into())
}

fn int(field: &str, v: Option<u64>) -> anyhow::Result<Option<toml::Value>> {
    v.map(|n| toml_int(field, n)).transpose()
}

async fn run_national(args: NationalServeArgs) -> anyhow::Result<()> {
    let check = args.check;
    let config: agora_national::NationalConfig = merge_config(
        args.config.as_deref(),
        vec![
            ("data", path(args.data)),
            ("listen", text(args.listen)),
            ("http", text(args.http)),
            ("admin_token", text(args.admin_token)),
            ("admin_token_file", path(args.admin_token_file)),
            ("viewer_token", text(args.viewer_token)),
            ("viewer_token_file", path(args.viewer_token_file)),
            ("cache_mb", int("cache_mb", args.cache_mb)?),
        ]
        .into_iter()
        .chain(args.serve.overrides()?)
        .collect(),
        &["admin_token", "viewer_token"],
        "national",
    )?;
    if check {
        return check_national(config).await;
    }
    // Checked before binding, so that a bad address is named as the config's.
    config.validate()?;
    let listener = TcpListener::bind(config.listen.as_str())
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    agora_national::run(config, listener, shutdown_signal()).await?;
    Ok(())
}

async fn administer(action: NationalAction) -> anyhow::Result<()> {
    use agora_proto::v1 as pb;
    use agora_proto::v1::national_service_client::NationalServiceClient;
    let admin = match &action {
        NationalAction::Invite(a) => &a.admin,
        NationalAction::Invites(a) => &a.admin,
        NationalAction::CancelInvite(a) => &a.admin,
        NationalAction::Revoke(a) => &a.site.admin,
        NationalAction::Announce(a) => &a.admin,
    };
    let channel = admin
        .dial
        .dial()?
        .endpoint(&admin.national)?
        .connect_timeout(std::time::Duration::from_secs(10))
        .connect()
        .await
        .with_context(|| format!("connecting to {}", admin.national))?;
    let token = secret(
        "admin_token",
        admin.admin_token.clone(),
        admin.admin_token_file.as_deref(),
    )?;
    let bearer: tonic::metadata::MetadataValue<_> = format!("Bearer {token}")
        .parse()
        .context("the admin token must be ASCII")?;
    let mut client =
        NationalServiceClient::with_interceptor(channel, move |mut req: tonic::Request<()>| {
            req.metadata_mut().insert("authorization", bearer.clone());
            Ok(req)
        });
    match action {
        NationalAction::Invite(a) => {
            let token = client
                .create_invite(pb::CreateInviteRequest {
                    site_id: a.site.clone(),
                    name: a.name,
                    country: a.country,
                    partner: a.partner,
                    expires_hours: a.expires,
                    replace: a.replace,
                })
                .await
                .context("creating the invite")?
                .into_inner()
                .join_token;
            eprintln!(
                "invite for site {:?}, valid {} hours, single use (token on standard output): start the site with it in a file, --join-token-file FILE, or in AGORA_JOIN_TOKEN",
                a.site, a.expires
            );
            println!("{token}");
        }
        NationalAction::Invites(_) => {
            let invites = client
                .list_invites(pb::ListInvitesRequest {})
                .await
                .context("listing the invites")?
                .into_inner()
                .invites;
            let now = agora_store::now_ms();
            for i in invites {
                let left = (i.expires_at_ms - now) / 60_000;
                let state = if left <= 0 {
                    "expired".to_owned()
                } else {
                    format!("{}h{:02} left", left / 60, left % 60)
                };
                let replace = if i.replace { " (replacement)" } else { "" };
                println!("{}\t{}\t{}\t{state}{replace}", i.site_id, i.name, i.country);
            }
        }
        NationalAction::CancelInvite(a) => {
            let n = client
                .cancel_invites(pb::CancelInvitesRequest {
                    site_id: a.site.clone(),
                })
                .await
                .context("cancelling the invites")?
                .into_inner()
                .cancelled;
            eprintln!("{n} invite(s) of site {:?} cancelled", a.site);
        }
        NationalAction::Revoke(a) => {
            client
                .revoke_site(pb::RevokeSiteRequest {
                    site_id: a.site.site.clone(),
                    purge: a.purge,
                })
                .await
                .context("revoking the site")?;
            if a.purge {
                eprintln!(
                    "site {:?} revoked; its participants' names dropped (restart the national node to purge its files)",
                    a.site.site
                );
            } else {
                eprintln!("site {:?} revoked", a.site.site);
            }
        }
        NationalAction::Announce(a) => {
            client
                .announce(pb::AnnounceRequest { text: a.text })
                .await
                .context("announcing")?;
            eprintln!("announcement sent to every site");
        }
    }
    Ok(())
}

async fn run_site(args: SiteArgs) -> anyhow::Result<()> {
    let check = args.check;
    let config: agora_site::SiteConfig = merge_config(
        args.config.as_deref(),
        vec![
            ("id", text(args.id)),
            ("name", text(args.name)),
            ("data", path(args.data)),
            ("listen", text(args.listen)),
            ("http", text(args.http)),
            ("organiser_token", text(args.organiser_token)),
            ("organiser_token_file", path(args.organiser_token_file)),
            ("desk_token", text(args.desk_token)),
            ("desk_token_file", path(args.desk_token_file)),
            ("cache_mb", int("cache_mb", args.cache_mb)?),
            ("log_retention", int("log_retention", args.log_retention)?),
            ("wal_file_mb", int("wal_file_mb", args.wal_file_mb)?),
            (
                "disk_reserve_mb",
                int("disk_reserve_mb", args.disk_reserve_mb)?,
            ),
            (
                "retain_personal_data_days",
                int("retain_personal_data_days", args.retain_personal_data_days)?,
            ),
            ("national", text(args.national)),
            ("ca", path(args.ca)),
            (
                "allow_plaintext",
                args.allow_plaintext.then_some(toml::Value::Boolean(true)),
            ),
            ("join_token", text(args.join_token)),
            ("join_token_file", path(args.join_token_file)),
            ("time_zone", text(args.time_zone)),
        ]
        .into_iter()
        .chain(args.serve.overrides()?)
        .collect(),
        &["organiser_token", "desk_token", "join_token"],
        "site",
    )?;
    if check {
        return check_site(config).await;
    }
    // Checked before binding, so that a bad address is named as the config's.
    config.validate()?;
    let listener = TcpListener::bind(config.listen.as_str())
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    agora_site::run(config, listener, shutdown_signal()).await?;
    Ok(())
}

/// `agora site --check`: a configuration that does not validate stops here (its error names
/// the field); then every other check runs and says its verdict.
async fn check_site(config: agora_site::SiteConfig) -> anyhow::Result<()> {
    let site_id = config.validate().context("configuration")?;
    println!("ok       configuration: site {site_id} ({})", config.name);
    let mut report = check::Report::default();
    report.listeners(&config.listen, config.http, config.metrics.as_deref());
    let store_cfg = config.store_config(site_id);
    report.data_dir(&config.data, config.disk_reserve_mb, move || {
        let store = agora_store::Store::open(&store_cfg).map_err(|e| e.to_string())?;
        let said = format!(
            "opens: site {}, log up to {}",
            store.site_id(),
            *store.durable_seq().borrow()
        );
        store.close();
        Ok(said)
    });
    report.tls(
        config.tls_cert.as_deref(),
        config.tls_key.as_deref(),
        agora_store::now_ms() / 1000,
    );
    match &config.national {
        Some(url) => match config.dial() {
            Ok(dial) => report.national(url, &dial).await,
            Err(e) => println!("PROBLEM  national node {url}: {e}"),
        },
        None => println!("ok       national node: none (the site runs alone)"),
    }
    report.finish()
}

/// `agora national --check`, as [`check_site`] without the national address.
async fn check_national(config: agora_national::NationalConfig) -> anyhow::Result<()> {
    config.validate().context("configuration")?;
    println!("ok       configuration");
    let mut report = check::Report::default();
    report.listeners(&config.listen, config.http, config.metrics.as_deref());
    let store_cfg = config.store_config();
    report.data_dir(
        &config.data,
        agora_store::DEFAULT_DISK_RESERVE_MB,
        move || {
            let store = agora_store::national::NationalStore::open(&store_cfg)
                .map_err(|e| e.to_string())?;
            let said = format!("opens: national log from {}", store.first_retained());
            store.close();
            Ok(said)
        },
    );
    report.tls(
        config.tls_cert.as_deref(),
        config.tls_key.as_deref(),
        agora_store::now_ms() / 1000,
    );
    report.finish()
}

fn run_certs(cmd: CertsCommand) -> anyhow::Result<()> {
    match cmd {
        CertsCommand::Ca(a) => {
            let files = certs::make_ca(&a.dir, &a.name, a.days)?;
            eprintln!(
                "CA written: {} (give it to clients as --ca) and {} (its key, 0600: keep it offline)",
                files.cert.display(),
                files.key.display()
            );
        }
        CertsCommand::Server(a) => {
            let out = match a.out {
                Some(o) => o,
                None => {
                    let first = a
                        .names
                        .first()
                        .cloned()
                        .or_else(|| a.ips.first().map(ToString::to_string))
                        .unwrap_or_else(|| "server".into());
                    Path::new("certs").join(first)
                }
            };
            let ca = certs::CaFiles {
                cert: a.ca,
                key: a.ca_key,
            };
            let files = certs::make_server(&ca, &out, &a.names, &a.ips, a.days)?;
            eprintln!(
                "server certificate written: --tls-cert {} --tls-key {} (0600)",
                files.cert.display(),
                files.key.display()
            );
        }
    }
    Ok(())
}

fn toml_int(field: &str, n: u64) -> anyhow::Result<toml::Value> {
    i64::try_from(n)
        .map(toml::Value::Integer)
        .with_context(|| format!("{field}: {n} is too large"))
}

fn read_config(path: Option<&Path>) -> anyhow::Result<toml::Table> {
    let Some(path) = path else {
        return Ok(toml::Table::new());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing config file {}", path.display()))
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown requested");
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Regression (issue 22): the help said "(and later national node, dashboard, demo)".
    #[test]
    fn the_help_describes_the_subcommands_that_exist() {
        let help = super::Cli::command().render_help().to_string();
        assert!(!help.contains("later"), "{help}");
        for sub in ["site", "national", "dashboard", "bench", "demo", "export"] {
            assert!(help.contains(&format!("\n  {sub} ")), "{sub}: {help}");
        }
        for lang in ["fr", "en", "de"] {
            assert!(super::parse_lang(lang).is_ok(), "{lang}");
        }
    }

    fn site_from(
        file: &Path,
        overrides: Vec<(&str, Option<toml::Value>)>,
    ) -> anyhow::Result<agora_site::SiteConfig> {
        merge_config(
            Some(file),
            overrides,
            &["organiser_token", "desk_token", "join_token"],
            "site",
        )
    }

    #[test]
    fn tokens_come_from_files_and_a_flag_wins_over_the_config_file() {
        let t = tempfile::tempdir().unwrap();
        let secret = t.path().join("organiser");
        std::fs::write(&secret, "from-a-file-secret\n").unwrap();
        let conf = t.path().join("site.toml");
        let text = format!(
            "id = \"cluny\"\nname = \"Cluny\"\ndata = \"d\"\norganiser_token_file = {:?}\n",
            secret.display().to_string()
        );
        std::fs::write(&conf, text).unwrap();
        let c = site_from(&conf, vec![]).unwrap();
        assert_eq!(c.organiser_token, "from-a-file-secret");
        let c = site_from(
            &conf,
            vec![("organiser_token", text_value("flag-secret-1"))],
        )
        .unwrap();
        assert_eq!(c.organiser_token, "flag-secret-1");
    }

    #[test]
    fn an_example_token_is_refused_naming_the_file() {
        let t = tempfile::tempdir().unwrap();
        let conf = t.path().join("cluny.toml");
        std::fs::write(
            &conf,
            "id = \"cluny\"\nname = \"Cluny\"\ndata = \"d\"\norganiser_token = \"change-me-organiser\"\n",
        )
        .unwrap();
        let e = site_from(&conf, vec![]).unwrap_err().to_string();
        assert!(
            e.contains("example token") && e.contains("cluny.toml"),
            "{e}"
        );
        // A real token from the environment or a flag replaces it.
        let c = site_from(
            &conf,
            vec![("organiser_token", text_value("real-secret-1"))],
        )
        .unwrap();
        assert_eq!(c.organiser_token, "real-secret-1");
        let e = site_from(
            &conf,
            vec![("organiser_token", text_value("change-me-too"))],
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("example token") && !e.contains("cluny.toml"),
            "{e}"
        );
    }

    fn text_value(s: &str) -> Option<toml::Value> {
        text(Some(s.to_owned()))
    }
}
