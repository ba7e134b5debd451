//! A node's Prometheus metrics (prometheus-client), served as text on their own listener
//! (`--metrics`, plain HTTP: meant for a loopback or management address; they hold
//! counts and positions, never a name or a token). [`Builder`] collects the metrics both
//! nodes share (calls by method and status code with their latency, the store's write
//! batches and fdatasyncs) and each node's own gauges, which read the node's state when
//! scraped ([`Builder::on_scrape`]); [`serve`] answers `GET /metrics` until the node stops.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body::Frame;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic::Status;
use tonic::body::Body;

/// A metric's labels: `(name, value)` pairs.
pub type Labels = Vec<(&'static str, String)>;
/// Histograms by label set, each made with the same buckets.
type Histograms = Family<Labels, Histogram, fn() -> Histogram>;

/// Reads a node's state into its gauges at each scrape.
type Scraper = Box<dyn Fn() + Send + Sync>;

/// The metrics of a node, before it serves them.
pub struct Builder {
    registry: Registry,
    scrapers: Vec<Scraper>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            registry: Registry::with_prefix("agora"),
            scrapers: Vec::new(),
        }
    }
}

/// Call latencies, seconds: 100 µs to about 13 s, doubling.
fn call_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 18))
}
/// fdatasync latencies, seconds: 25 µs to about 0.8 s, doubling.
fn sync_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.000_025, 2.0, 16))
}
/// Requests per write batch: 1 to 512 (`MAX_BATCH`), doubling.
fn batch_buckets() -> Histogram {
    Histogram::new(exponential_buckets(1.0, 2.0, 10))
}

impl Builder {
    /// The calls served, for [`crate::serve::ServeOptions::metrics`].
    pub fn rpcs(&mut self) -> RpcMetrics {
        let calls = Family::<Labels, Counter>::default();
        let seconds = Histograms::new_with_constructor(call_buckets as fn() -> Histogram);
        self.registry.register(
            "rpcs",
            "gRPC calls answered, by method and status code",
            calls.clone(),
        );
        self.registry.register(
            "rpc_duration_seconds",
            "time from a call's request to its status (a stream: its whole life), by method",
            seconds.clone(),
        );
        RpcMetrics { calls, seconds }
    }

    /// The store's writes, for `StoreConfig::observer`.
    pub fn writes(&mut self) -> agora_store::Observer {
        let m = WriteMetrics {
            batches: batch_buckets(),
            syncs: sync_buckets(),
            bytes: Counter::default(),
        };
        self.registry.register(
            "write_batch_requests",
            "requests per write batch (one write-ahead log record each when it writes)",
            m.batches.clone(),
        );
        self.registry.register(
            "wal_fdatasync_seconds",
            "time of each fdatasync of the write-ahead log",
            m.syncs.clone(),
        );
        self.registry.register(
            "wal_bytes",
            "bytes of write-ahead log records made durable",
            m.bytes.clone(),
        );
        agora_store::Observer(Some(Arc::new(m)))
    }

    /// The log's bounds and the free disk space, which every node has.
    pub fn node_gauges(&mut self) -> NodeGauges {
        NodeGauges {
            head: self.gauge("log_head_seq", "last durable record of the node's log"),
            first: self.gauge(
                "log_first_retained_seq",
                "oldest record the node's log still holds",
            ),
            disk: self.gauge(
                "disk_free_bytes",
                "free space on the data directory's file system",
            ),
        }
    }

    /// A gauge, set by the node (or by a scraper).
    pub fn gauge(&mut self, name: &str, help: &str) -> Gauge {
        let g = Gauge::default();
        self.registry.register(name, help, g.clone());
        g
    }

    /// Gauges by label set (a scraper clears and refills them).
    pub fn gauges(&mut self, name: &str, help: &str) -> Family<Labels, Gauge> {
        let g = Family::<Labels, Gauge>::default();
        self.registry.register(name, help, g.clone());
        g
    }

    /// A counter; `name` without `_total`, which the encoder adds.
    pub fn counter(&mut self, name: &str, help: &str) -> Counter {
        let c = Counter::default();
        self.registry.register(name, help, c.clone());
        c
    }

    /// Runs `f` before each scrape is encoded (on a blocking thread: it may read the store).
    pub fn on_scrape(&mut self, f: impl Fn() + Send + Sync + 'static) {
        self.scrapers.push(Box::new(f));
    }

    pub fn build(self) -> Arc<Metrics> {
        Arc::new(Metrics {
            inner: Mutex::new((self.registry, self.scrapers)),
        })
    }
}

/// A node's metrics, ready to be scraped.
pub struct Metrics {
    /// One scrape at a time: the scrapers clear and refill label families.
    inner: Mutex<(Registry, Vec<Scraper>)>,
}

impl Metrics {
    /// The metrics in the OpenMetrics text format, the node's state read just now.
    pub fn render(&self) -> String {
        let guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let (registry, scrapers) = &*guard;
        for s in scrapers {
            s();
        }
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, registry);
        out
    }
}

/// A node's metrics endpoint, bound, with its metrics being built.
pub struct Endpoint {
    pub builder: Builder,
    listener: TcpListener,
}

impl Endpoint {
    /// Binds `addr` (`host:port`, a host name or an IP address).
    pub async fn bind(addr: &str) -> std::io::Result<Endpoint> {
        Ok(Endpoint {
            builder: Builder::default(),
            listener: TcpListener::bind(addr).await?,
        })
    }

    /// Serves the metrics built until `stopping` turns true.
    pub fn spawn(
        self,
        stopping: watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<std::io::Result<()>> {
        tracing::info!(addr = ?self.listener.local_addr().ok(), "metrics serving");
        tokio::spawn(serve(self.listener, self.builder.build(), stopping))
    }
}

/// The gauges every node has: its log's bounds and the free space of its data directory.
pub struct NodeGauges {
    head: Gauge,
    first: Gauge,
    disk: Gauge,
}

impl NodeGauges {
    /// Sets them (from a scraper); a failed read of the free space is logged.
    pub fn set(&self, head: u64, first_retained: u64, free: Result<u64, agora_store::StoreError>) {
        self.head.set(gauge(head));
        self.first.set(gauge(first_retained));
        match free {
            Ok(free) => {
                self.disk.set(gauge(free));
            }
            Err(e) => tracing::warn!(error = %e, "metrics: reading the free disk space"),
        }
    }
}

/// A count as a gauge's value.
pub fn gauge(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Serves `GET /metrics` on `listener` until `stopping` turns true.
pub async fn serve(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    mut stopping: watch::Receiver<bool>,
) -> std::io::Result<()> {
    use axum::routing::get;
    let router = axum::Router::new()
        .route(
            "/metrics",
            get(
                |axum::extract::State(m): axum::extract::State<Arc<Metrics>>| async move {
                    let text = tokio::task::spawn_blocking(move || m.render())
                        .await
                        .unwrap_or_default();
                    (
                        [(
                            http::header::CONTENT_TYPE,
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        )],
                        text,
                    )
                },
            ),
        )
        .with_state(metrics);
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            let _ = stopping.wait_for(|s| *s).await;
        })
        .await
}

/// The store's side: batches, fdatasyncs, bytes.
struct WriteMetrics {
    batches: Histogram,
    syncs: Histogram,
    bytes: Counter,
}

impl agora_store::WriteObserver for WriteMetrics {
    fn durable(&self, bytes: usize, synced: Duration) {
        self.syncs.observe(synced.as_secs_f64());
        self.bytes.inc_by(bytes as u64);
    }
    fn batch(&self, commands: usize) {
        self.batches.observe(commands as f64);
    }
}

/// The change-feed streams open and how far each is behind: each stream holds a
/// [`Follower`] and sets its position as it sends.
#[derive(Default)]
pub struct Followers {
    next: AtomicU64,
    positions: Mutex<HashMap<u64, Arc<AtomicU64>>>,
}

impl Followers {
    fn positions(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<AtomicU64>>> {
        self.positions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A stream starting after `position`; it counts until the follower is dropped.
    pub fn join(self: &Arc<Self>, position: u64) -> Follower {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let at = Arc::new(AtomicU64::new(position));
        self.positions().insert(id, Arc::clone(&at));
        Follower {
            id,
            at,
            of: Arc::clone(self),
        }
    }

    /// How many streams are open, and the records they have yet to send in all (the log
    /// being at `head`).
    pub fn backlog(&self, head: u64) -> (usize, u64) {
        let p = self.positions();
        let behind = p
            .values()
            .map(|a| head.saturating_sub(a.load(Ordering::Relaxed)))
            .sum();
        (p.len(), behind)
    }
}

/// One change-feed stream, counted by its [`Followers`] while it lives.
pub struct Follower {
    id: u64,
    at: Arc<AtomicU64>,
    of: Arc<Followers>,
}

impl Follower {
    /// The stream has sent (or skipped) everything up to `position`.
    pub fn at(&self, position: u64) {
        self.at.store(position, Ordering::Relaxed);
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.of.positions().remove(&self.id);
    }
}

/// Counts calls by method and status code, and times them; a tower layer around the
/// node's routes (outside the limits, so that the calls they refuse are counted).
#[derive(Clone)]
pub struct RpcMetrics {
    calls: Family<Labels, Counter>,
    seconds: Histograms,
}

impl std::fmt::Debug for RpcMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RpcMetrics")
    }
}

impl RpcMetrics {
    fn record(&self, method: &str, code: tonic::Code, took: Duration) {
        // A method nobody serves is counted under one name: a client making up paths
        // must not make up label values.
        let method = match code {
            tonic::Code::Unimplemented => "unknown",
            _ => method,
        };
        self.calls
            .get_or_create(&vec![
                ("method", method.to_owned()),
                ("code", format!("{code:?}")),
            ])
            .inc();
        self.seconds
            .get_or_create(&vec![("method", method.to_owned())])
            .observe(took.as_secs_f64());
    }
}

/// The layer of [`crate::serve::serve`]: measures calls when the node has metrics.
#[derive(Clone)]
pub(crate) struct Layer(pub(crate) Option<RpcMetrics>);

impl<S> tower::Layer<S> for Layer {
    type Service = Measured<S>;
    fn layer(&self, inner: S) -> Measured<S> {
        Measured {
            inner,
            metrics: self.0.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Measured<S> {
    inner: S,
    metrics: Option<RpcMetrics>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S> tower::Service<http::Request<Body>> for Measured<S>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<http::Response<Body>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        let Some(metrics) = self.metrics.clone() else {
            return Box::pin(self.inner.call(req));
        };
        let call = Call {
            metrics,
            method: req.uri().path().to_owned(),
            started: Instant::now(),
            done: false,
        };
        // The clone is ready only through `poll_ready` on the original: swap them.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let response = inner.call(req).await?;
            let mut call = call;
            if let Some(code) = code_of(response.headers()) {
                // Trailers-only: the status is in the headers.
                call.finish(code);
            }
            Ok(response.map(|inner| Body::new(Timed { inner, call })))
        })
    }
}

/// The status of a call in its headers or trailers, if there.
fn code_of(headers: &http::HeaderMap) -> Option<tonic::Code> {
    headers
        .get(Status::GRPC_STATUS)
        .map(|v| tonic::Code::from_bytes(v.as_bytes()))
}

/// A call until its status is known.
struct Call {
    metrics: RpcMetrics,
    method: String,
    started: Instant,
    done: bool,
}

impl Call {
    fn finish(&mut self, code: tonic::Code) {
        if !self.done {
            self.done = true;
            self.metrics
                .record(&self.method, code, self.started.elapsed());
        }
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        // The answer was dropped before its trailers: the client went away.
        self.finish(tonic::Code::Cancelled);
    }
}

/// The answer's body, reading the status in its trailers.
struct Timed {
    inner: Body,
    call: Call,
}

impl http_body::Body for Timed {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(code) = frame.trailers_ref().and_then(code_of) {
                    self.call.finish(code);
                }
            }
            Poll::Ready(Some(Err(s))) => self.call.finish(s.code()),
            Poll::Ready(None) => self.call.finish(tonic::Code::Ok),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn followers_count_streams_and_their_backlog() {
        let f = Arc::new(Followers::default());
        let a = f.join(10);
        let b = f.join(4);
        assert_eq!(f.backlog(12), (2, 2 + 8));
        b.at(12);
        assert_eq!(f.backlog(12), (2, 2));
        drop(a);
        assert_eq!(f.backlog(12), (1, 0));
    }

    #[test]
    fn an_unknown_method_is_one_label() {
        let mut b = Builder::default();
        let rpcs = b.rpcs();
        rpcs.record("/x.Y/Made", tonic::Code::Unimplemented, Duration::ZERO);
        rpcs.record("/x.Y/Up", tonic::Code::Unimplemented, Duration::ZERO);
        rpcs.record(
            "/agora.v1.SiteService/Register",
            tonic::Code::Ok,
            Duration::ZERO,
        );
        let text = b.build().render();
        assert!(
            text.contains(r#"agora_rpcs_total{method="unknown",code="Unimplemented"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(
                r#"agora_rpcs_total{method="/agora.v1.SiteService/Register",code="Ok"} 1"#
            ),
            "{text}"
        );
        assert!(!text.contains("Made"), "{text}");
    }
}
