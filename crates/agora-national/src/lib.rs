//! The Agora national coordination node: receives every site's change log (Federate),
//! keeps a replica per site and a national log, and serves the overview and the live
//! national feed (Watch) to dashboards.

mod config;
mod links;
mod metrics;
mod program;
mod service;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic::server::NamedService;
use tonic::service::Routes;
use tracing::{info, warn};

use agora_proto::v1::national_service_server::NationalServiceServer;
use agora_store::StoreError;
use agora_store::national::NationalStore;
use agora_sync::wire::EncodedRoute;

pub use config::{EXAMPLE_TOKEN_PREFIX, NationalConfig};

#[derive(Debug, thiserror::Error)]
pub enum NationalError {
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
    #[error("the site certificate authority: {0}")]
    SiteCa(#[from] agora_sync::site_cert::CertError),
}

/// How long shutdown waits for site streams and watchers to end.
const STREAMS_GRACE: Duration = Duration::from_secs(5);

/// Serves the national node on `listener` (and the national web page on `config.http`,
/// when set) until `shutdown` resolves.
pub async fn run(
    config: NationalConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), NationalError> {
    let http = match config.http {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .map_err(|source| NationalError::HttpBind { addr, source })?,
        ),
        None => None,
    };
    run_with_http(config, listener, http, shutdown).await
}

/// [`run`] with the national web page on a listener the caller bound (tests and the demo
/// bind `127.0.0.1:0`); `config.http` is not read.
pub async fn run_with_http(
    config: NationalConfig,
    listener: TcpListener,
    http: Option<TcpListener>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), NationalError> {
    config.validate()?;
    let mut serve_options = config.serve_options()?;
    let mut metrics =
        match &config.metrics {
            Some(addr) => Some(agora_sync::metrics::Endpoint::bind(addr).await.map_err(
                |source| NationalError::MetricsBind {
                    addr: addr.clone(),
                    source,
                },
            )?),
            None => None,
        };
    let mut observer = agora_store::Observer::default();
    if let Some(m) = &mut metrics {
        serve_options.metrics = Some(m.builder.rpcs());
        observer = m.builder.writes();
    }
    agora_sync::private::create_private_dir(&config.data).map_err(|e| NationalError::Config {
        field: "data",
        reason: format!("creating {}: {e}", config.data.display()),
    })?;
    // Serving TLS, the node identifies sites by the client certificates its own authority
    // issues at join (made in the data directory at first start); asked for, not required:
    // dashboards and the admin commands show none.
    let site_ca = match serve_options.tls.take() {
        Some(tls) => {
            let dir = config.data.clone();
            let ca = tokio::task::spawn_blocking(move || {
                agora_sync::site_cert::SiteCa::open_or_create(&dir)
            })
            .await??;
            serve_options.tls = Some(tls.with_client_ca(ca.cert_pem()));
            Some(Arc::new(ca))
        }
        None => None,
    };
    let mut store_cfg = config.store_config();
    store_cfg.observer = observer;
    let store =
        Arc::new(tokio::task::spawn_blocking(move || NationalStore::open(&store_cfg)).await??);
    let (stopping, _) = watch::channel(false);
    let links = Arc::default();
    let followers = Arc::default();
    // Metrics: their own listener, plain HTTP (a loopback or management address).
    let metrics_task = metrics.map(|mut m| {
        metrics::register(&mut m.builder, &store, &links, &followers);
        m.spawn(stopping.subscribe())
    });
    let national = Arc::new(service::National {
        store: Arc::clone(&store),
        admin_token: config.admin_token.clone(),
        viewer_token: config.viewer_token.clone(),
        links,
        watchers: agora_sync::feed::Streams::new(
            agora_sync::feed::Budget {
                buffer: config.watch_buffer,
                max_lag: config.watch_max_lag,
            },
            store.durable_position(),
        ),
        followers,
        stopping: stopping.clone(),
        site_ca,
        revocations: watch::channel(0).0,
    });
    // The national page: the same reads as GetOverview and Watch, its own listener.
    let web_task = http.map(|http| {
        let web = agora_web::NationalWebConfig {
            // The node's certificate serves the page too: HTTPS only, as gRPC is TLS only.
            tls: serve_options.tls.as_ref().map(|t| agora_web::WebTls {
                cert_pem: t.cert_pem().to_vec(),
                key_pem: t.key_pem().to_vec(),
            }),
            ..Default::default()
        };
        let source: Arc<dyn agora_web::NationalSource> = Arc::clone(&national) as _;
        tokio::spawn(agora_web::serve_national(
            web,
            source,
            http,
            stopping.subscribe(),
        ))
    });
    info!(addr = ?listener.local_addr().ok(), tls = serve_options.tls.is_some(), "national node serving");
    // `Watch` with each record's answer encoded once (`service::National`'s
    // `EncodedCall`), every other call through the generated server.
    let generated = NationalServiceServer::from_arc(Arc::clone(&national));
    let served = agora_sync::serve::serve(
        Routes::new(EncodedRoute::new(generated, national)),
        <NationalServiceServer<service::National> as NamedService>::NAME,
        listener,
        &serve_options,
        stopping.clone(),
        watch::channel(true).1,
        shutdown,
    )
    .await;
    stopping.send_replace(true);
    let web_result = match web_task {
        Some(task) => task.await?,
        None => Ok(()),
    };
    if let Some(task) = metrics_task
        && let Err(e) = task.await?
    {
        warn!(error = %e, "the metrics endpoint failed");
    }
    if tokio::time::timeout(STREAMS_GRACE, stopping.closed())
        .await
        .is_err()
    {
        warn!("streams did not end in time");
    }
    let closing = Arc::clone(&store);
    tokio::task::spawn_blocking(move || closing.close()).await?;
    info!("national node stopped; store flushed");
    served?;
    web_result?;
    Ok(())
}
