//! The Agora site node: the gRPC server a venue runs, over its own sled store.
//!
//! [`run`] serves `agora.v1.SiteService`, the standard gRPC health service and server
//! reflection on one listener until `shutdown` resolves, then lets in-flight requests
//! finish, ends the change feeds and flushes the store. With `http` set it also serves the
//! web desk (`agora_web`) on its own listener, over the same store.

mod auth;
mod backup;
mod config;
pub mod convert;
mod event;
mod lang;
mod lease;
mod metrics;
mod privacy;
mod remote;
mod retention;
mod service;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic::server::NamedService;
use tonic::service::Routes;
use tracing::{info, warn};

use agora_proto::v1::site_service_server::SiteServiceServer;
use agora_store::{Store, StoreError};
use agora_sync::uplink::{UplinkConfig, UplinkStatus};
use agora_sync::wire::EncodedRoute;

pub use auth::Role;
pub use config::{
    DEFAULT_CACHE_MB, DEFAULT_RETAIN_PERSONAL_DATA_DAYS, EXAMPLE_TOKEN_PREFIX, SiteConfig,
};

#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error("configuration: {field}: {reason}")]
    Config { field: &'static str, reason: String },
    #[error("opening the store: {0}")]
    Store(#[from] StoreError),
    #[error("the store task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
    #[error(transparent)]
    Serve(#[from] agora_sync::serve::ServeError),
    #[error("listening on http {addr}: {source}")]
    HttpBind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Web(#[from] agora_web::WebError),
    #[error("listening on metrics {addr}: {source}")]
    MetricsBind {
        addr: String,
        source: std::io::Error,
    },
}

/// How long shutdown waits for change-feed streams to end.
const WATCHERS_GRACE: Duration = Duration::from_secs(5);

/// Serves the site node on `listener` (and the web desk on `config.http`, when set) until
/// `shutdown` resolves.
pub async fn run(
    config: SiteConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), SiteError> {
    let http = match config.http {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .map_err(|source| SiteError::HttpBind { addr, source })?,
        ),
        None => None,
    };
    run_with_http(config, listener, http, shutdown).await
}

/// [`run`] with the web desk on a listener the caller bound (tests bind `127.0.0.1:0`);
/// `config.http` is not read.
pub async fn run_with_http(
    config: SiteConfig,
    listener: TcpListener,
    http: Option<TcpListener>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), SiteError> {
    let site_id = config.validate()?;
    let mut serve_options = config.serve_options()?;
    let mut metrics =
        match &config.metrics {
            Some(addr) => Some(agora_sync::metrics::Endpoint::bind(addr).await.map_err(
                |source| SiteError::MetricsBind {
                    addr: addr.clone(),
                    source,
                },
            )?),
            None => None,
        };
    let dial = config.dial()?;
    agora_sync::private::create_private_dir(&config.data).map_err(|e| SiteError::Config {
        field: "data",
        reason: format!("creating {}: {e}", config.data.display()),
    })?;
    let mut store_cfg = config.store_config(site_id.clone());
    if let Some(m) = &mut metrics {
        serve_options.metrics = Some(m.builder.rpcs());
        store_cfg.observer = m.builder.writes();
    }
    let opening = store_cfg.clone();
    let mut store = Arc::new(tokio::task::spawn_blocking(move || Store::open(&opening)).await??);
    let days = config.retain_personal_data_days;
    if retention::erase_if_due(&store, days).await? > 0 {
        // Before serving: opening again purges the erased data from the files.
        let closing = store;
        tokio::task::spawn_blocking(move || closing.close()).await?;
        store = Arc::new(tokio::task::spawn_blocking(move || Store::open(&store_cfg)).await??);
    }

    let (stopping, _) = watch::channel(false);
    let (uplink_status, uplink) = watch::channel(UplinkStatus::default());
    let uplink_task = config.national.clone().map(|national| {
        let cfg = UplinkConfig {
            national,
            dial,
            join_token: config.join_token.clone(),
            identity_file: config.data.join(agora_sync::site_cert::IDENTITY_FILE),
        };
        tokio::spawn(agora_sync::uplink::run(
            Arc::clone(&store),
            cfg,
            stopping.subscribe(),
            uplink_status,
        ))
    });
    let zone = config.zone()?;
    let site = service::Site {
        uplink,
        store: Arc::clone(&store),
        name: config.name.clone(),
        tokens: auth::Tokens::new(config.organiser_token.clone(), config.desk_token.clone()),
        watchers: agora_sync::feed::Streams::new(
            agora_sync::feed::Budget {
                buffer: config.watch_buffer,
                max_lag: config.watch_max_lag,
            },
            store.durable_seq(),
        ),
        zone,
        stopping: stopping.clone(),
        data: config.data.clone(),
    };

    // Metrics: their own listener, plain HTTP (a loopback or management address).
    let metrics_task = metrics.map(|mut m| {
        metrics::register(
            &mut m.builder,
            &store,
            &site.uplink,
            config.national.is_some(),
        );
        m.spawn(stopping.subscribe())
    });

    let (writable_tx, writable) = watch::channel(true);
    let disk_watch = tokio::spawn(watch_disk(
        Arc::clone(&store),
        writable_tx,
        stopping.subscribe(),
    ));

    // Closes the seat leases this site holds once past their until (owned, joined below).
    let lease_closer = tokio::spawn(lease::close_when_due(
        Arc::clone(&store),
        stopping.subscribe(),
    ));

    let retention_check = tokio::spawn(retention::every_hour(
        Arc::clone(&store),
        days,
        stopping.subscribe(),
    ));

    // The web desk: same store, same rules, its own listener; it stops with the node.
    let web_task = http.map(|http| {
        let mut web = agora_web::WebConfig::new(
            &config.name,
            &config.organiser_token,
            config.desk_token.as_deref(),
        );
        // The node's certificate serves the desk too: HTTPS only, as gRPC is TLS only.
        web.zone = zone;
        web.tls = serve_options.tls.as_ref().map(|t| agora_web::WebTls {
            cert_pem: t.cert_pem().to_vec(),
            key_pem: t.key_pem().to_vec(),
        });
        tokio::spawn(agora_web::serve(
            web,
            Arc::clone(&store),
            http,
            stopping.subscribe(),
        ))
    });

    info!(site = %site_id, name = %config.name, addr = ?listener.local_addr().ok(), epoch = store.epoch(), tls = serve_options.tls.is_some(), "site node serving");
    // `WatchChanges` with each change's answer encoded once (`service::Site`'s
    // `EncodedCall`), every other call through the generated server; each call in the
    // language it asks for.
    let site = Arc::new(site);
    let generated = SiteServiceServer::from_arc(Arc::clone(&site));
    let served = agora_sync::serve::serve(
        Routes::new(lang::WithLang(EncodedRoute::new(generated, site))),
        <SiteServiceServer<service::Site> as NamedService>::NAME,
        listener,
        &serve_options,
        stopping.clone(),
        writable,
        shutdown,
    )
    .await;

    stopping.send_replace(true);
    disk_watch.await?;
    retention_check.await?;
    lease_closer.await?;
    let web_result = match web_task {
        Some(task) => task.await?,
        None => Ok(()),
    };
    if let Some(task) = uplink_task {
        task.await?;
    }
    if let Some(task) = metrics_task
        && let Err(e) = task.await?
    {
        warn!(error = %e, "the metrics endpoint failed");
    }
    if tokio::time::timeout(WATCHERS_GRACE, stopping.closed())
        .await
        .is_err()
    {
        warn!("change-feed streams did not end in time");
    }
    let closing = Arc::clone(&store);
    tokio::task::spawn_blocking(move || closing.close()).await?;
    info!(site = %site_id, "site node stopped; store flushed");
    served?;
    web_result?;
    Ok(())
}

/// How often the site checks that it can still write (free disk space above the reserve).
const DISK_CHECK: Duration = Duration::from_secs(1);

/// Follows whether the store can write, for health (NOT_SERVING while it cannot), and
/// says so in the log when it changes; ends when the node stops.
async fn watch_disk(
    store: Arc<Store>,
    writable: watch::Sender<bool>,
    mut stopping: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(DISK_CHECK);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stopping.wait_for(|s| *s) => return,
        }
        let now = store.writable();
        let ok = now.is_ok();
        if writable.send_if_modified(|w| std::mem::replace(w, ok) != ok) {
            match now {
                Ok(()) => info!("the site can write again: health SERVING"),
                Err(e) => warn!(error = %e, "the site cannot write: health NOT_SERVING"),
            }
        }
    }
}
