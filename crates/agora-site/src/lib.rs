//! The Agora site node: the gRPC server a venue runs, over its own sled store.
//!
//! [`run`] serves `agora.v1.SiteService`, the standard gRPC health service and server
//! reflection on one listener until `shutdown` resolves, then lets in-flight requests
//! finish, ends the change feeds and flushes the store.

mod auth;
mod config;
pub mod convert;
mod event;
mod export;
mod lang;
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
use agora_store::{Store, StoreConfig, StoreError};
use agora_sync::uplink::{UplinkConfig, UplinkStatus};

pub use auth::Role;
pub use config::{DEFAULT_CACHE_MB, SiteConfig};

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
}

/// How long shutdown waits for change-feed streams to end.
const WATCHERS_GRACE: Duration = Duration::from_secs(5);

/// Serves the site node on `listener` until `shutdown` resolves.
pub async fn run(
    config: SiteConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), SiteError> {
    let site_id = config.validate()?;
    let mut store_cfg = StoreConfig::new(&config.data, site_id.clone());
    store_cfg.cache_bytes = config.cache_mb << 20;
    store_cfg.log_retention = config.log_retention;
    let store = Arc::new(tokio::task::spawn_blocking(move || Store::open(&store_cfg)).await??);

    let (stopping, _) = watch::channel(false);
    let (uplink_status, uplink) = watch::channel(UplinkStatus::default());
    let uplink_task = config.national.clone().map(|national| {
        let cfg = UplinkConfig {
            national,
            join_token: config.join_token.clone(),
        };
        tokio::spawn(agora_sync::uplink::run(
            Arc::clone(&store),
            cfg,
            stopping.subscribe(),
            uplink_status,
        ))
    });
    let site = service::Site {
        uplink,
        store: Arc::clone(&store),
        name: config.name.clone(),
        tokens: auth::Tokens::new(config.organiser_token.clone(), config.desk_token.clone()),
        watch_buffer: config.watch_buffer,
        zone: config.zone()?,
        stopping: stopping.clone(),
    };

    info!(site = %site_id, name = %config.name, addr = ?listener.local_addr().ok(), epoch = store.epoch(), "site node serving");
    let served = agora_sync::serve::serve(
        Routes::new(lang::WithLang(SiteServiceServer::new(site))),
        <SiteServiceServer<service::Site> as NamedService>::NAME,
        listener,
        stopping.clone(),
        shutdown,
    )
    .await;

    stopping.send_replace(true);
    if let Some(task) = uplink_task {
        task.await?;
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
    Ok(())
}
