//! Serving a node: its gRPC service, the standard health service (SERVING until shutdown)
//! and server reflection (v1 and v1alpha, for grpcurl-style tools) on one listener, with
//! HTTP/2 keepalive and TCP_NODELAY, until `shutdown` resolves. Shared by both nodes.

use std::future::Future;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::service::Routes;
use tonic::transport::Server;
use tracing::info;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("building gRPC reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("gRPC server: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Serves `routes` (the node's service, named `name` for health) until `shutdown`; then
/// health turns NOT_SERVING, `stopping` turns true (so that the node's streams end), and
/// in-flight requests finish before this returns. Until then health follows `writable`:
/// NOT_SERVING while the node cannot write (a full disk, say).
pub async fn serve(
    routes: Routes,
    name: &'static str,
    listener: TcpListener,
    stopping: watch::Sender<bool>,
    mut writable: watch::Receiver<bool>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let (health, health_service) = tonic_health::server::health_reporter();
    let status = |ok: bool| match ok {
        true => tonic_health::ServingStatus::Serving,
        false => tonic_health::ServingStatus::NotServing,
    };
    let initially = *writable.borrow_and_update();
    health.set_service_status(name, status(initially)).await;
    let follow = {
        let health = health.clone();
        let mut stop = stopping.subscribe();
        async move {
            loop {
                tokio::select! {
                    changed = writable.changed() => {
                        if changed.is_err() {
                            return;
                        }
                        let ok = *writable.borrow_and_update();
                        health.set_service_status(name, status(ok)).await;
                    }
                    // `stopping` only ever turns true.
                    _ = stop.changed() => return,
                }
            }
        }
    };
    let follow = tokio::spawn(follow);
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(agora_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let routes = routes
        .add_service(health_service)
        .add_service(reflection().build_v1()?)
        .add_service(reflection().build_v1alpha()?);
    let incoming = TcpListenerStream::new(listener).map(|conn| {
        conn.inspect(|s| {
            // Small unary calls: do not let Nagle hold answers back.
            let _ = s.set_nodelay(true);
        })
    });
    let stop_signal = async move {
        shutdown.await;
        info!("shutting down: finishing in-flight requests");
        health
            .set_service_status(name, tonic_health::ServingStatus::NotServing)
            .await;
        stopping.send_replace(true);
    };
    Server::builder()
        .http2_keepalive_interval(Some(Duration::from_secs(10)))
        .http2_keepalive_timeout(Some(Duration::from_secs(5)))
        .add_routes(routes)
        .serve_with_incoming_shutdown(incoming, stop_signal)
        .await?;
    follow.abort();
    Ok(())
}
