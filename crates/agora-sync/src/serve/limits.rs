//! A node's limits: connections, concurrent streams per connection, change-feed streams per
//! client address, and what an error message may echo. The one past a limit gets
//! `RESOURCE_EXHAUSTED` (a gRPC answer, so a client knows why) and the node keeps serving
//! the others; a message over the size limit gets `RESOURCE_EXHAUSTED` too (tonic answers
//! `OUT_OF_RANGE`, which our clients read as "position no longer retained").

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;
use http_body::Frame;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tonic::Status;
use tonic::body::Body;
use tonic::transport::server::{Connected, TcpConnectInfo, TlsConnectInfo};

/// The limits of one node (each documented with its default in the README).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Open connections served; the ones past it are answered `RESOURCE_EXHAUSTED`.
    pub max_connections: usize,
    /// Calls in progress on one connection (each unary call and each stream counts).
    pub streams_per_connection: u32,
    /// `Watch` / `WatchChanges` streams open from one client address.
    pub watch_streams_per_client: usize,
    /// How long a call may take to produce its answer (a stream: its first headers).
    pub request_timeout: Duration,
}

pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
pub const DEFAULT_STREAMS_PER_CONNECTION: u32 = 512;
pub const DEFAULT_WATCH_STREAMS_PER_CLIENT: usize = 64;
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest message a node decodes (tonic's default, kept): 4 MiB.
pub const MAX_MESSAGE_BYTES: usize = 4 << 20;
/// The most characters of an error message sent back: messages quote the input that was
/// wrong, and a client sending a 100 KB id should not get it back.
pub const MAX_ERROR_MESSAGE_CHARS: usize = 300;

/// The change-feed methods, limited per client address.
const WATCH_METHODS: [&str; 2] = [
    "/agora.v1.NationalService/Watch",
    "/agora.v1.SiteService/WatchChanges",
];

/// Connections past `max_connections` still accepted, to be told `RESOURCE_EXHAUSTED`;
/// past this many more they are closed at once.
const REFUSED_CONNECTIONS: usize = 64;
/// How long a connection past `max_connections` is kept (to answer its calls
/// `RESOURCE_EXHAUSTED`) before it is closed: a client then dials again, and is served once
/// a place is free, instead of keeping a connection that is refused for good.
const REFUSED_LINGER: Duration = Duration::from_secs(5);

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            streams_per_connection: DEFAULT_STREAMS_PER_CONNECTION,
            watch_streams_per_client: DEFAULT_WATCH_STREAMS_PER_CLIENT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

impl Limits {
    /// Checks each limit; the error names the field (as a config key) and the rule.
    pub fn validate(&self) -> Result<(), (&'static str, &'static str)> {
        if !(1..=1_000_000).contains(&self.max_connections) {
            return Err(("max_connections", "must be between 1 and 1000000"));
        }
        if !(1..=1_000_000).contains(&self.streams_per_connection) {
            return Err((
                "max_streams_per_connection",
                "must be between 1 and 1000000",
            ));
        }
        if !(1..=1_000_000).contains(&self.watch_streams_per_client) {
            return Err((
                "max_watch_streams_per_client",
                "must be between 1 and 1000000",
            ));
        }
        if self.request_timeout < Duration::from_secs(1) {
            return Err(("request_timeout_s", "must be at least 1 second"));
        }
        Ok(())
    }
}

/// What the accept loop and the layer share.
pub(super) struct Shared {
    limits: Limits,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Live connections by peer address (unique while a connection is open).
    conns: HashMap<SocketAddr, Arc<Conn>>,
    served: usize,
    refused: usize,
    /// Open change-feed streams per client address.
    watchers: HashMap<IpAddr, usize>,
}

struct Conn {
    over_limit: bool,
    streams: AtomicUsize,
}

impl Shared {
    pub(super) fn new(limits: Limits) -> Shared {
        Shared {
            limits,
            state: Mutex::default(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts a new connection; `None` closes it at once (far past the limit).
    pub(super) fn accept(self: &Arc<Self>, io: TcpStream) -> Option<CountedIo> {
        let peer = io.peer_addr().ok()?;
        let mut st = self.state();
        let over_limit = st.served >= self.limits.max_connections;
        if over_limit {
            if st.refused >= REFUSED_CONNECTIONS {
                tracing::warn!(%peer, "connection closed: far past max_connections");
                return None;
            }
            st.refused += 1;
            tracing::warn!(%peer, max = self.limits.max_connections, "connection past max_connections: calls answered RESOURCE_EXHAUSTED");
        } else {
            st.served += 1;
        }
        let conn = Arc::new(Conn {
            over_limit,
            streams: AtomicUsize::new(0),
        });
        st.conns.insert(peer, Arc::clone(&conn));
        Some(CountedIo {
            io,
            peer,
            conn,
            shared: Arc::clone(self),
            close_at: over_limit.then(|| Box::pin(tokio::time::sleep(REFUSED_LINGER))),
        })
    }
}

/// A connection, counted until it is dropped. Its connect info is tonic's own, so that
/// `Request::remote_addr` and `peer_certs` keep working.
pub(super) struct CountedIo {
    io: TcpStream,
    peer: SocketAddr,
    conn: Arc<Conn>,
    shared: Arc<Shared>,
    /// A connection past the limit reads as closed from then on.
    close_at: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Drop for CountedIo {
    fn drop(&mut self) {
        let mut st = self.shared.state();
        if st
            .conns
            .get(&self.peer)
            .is_some_and(|c| Arc::ptr_eq(c, &self.conn))
        {
            st.conns.remove(&self.peer);
        }
        if self.conn.over_limit {
            st.refused -= 1;
        } else {
            st.served -= 1;
        }
    }
}

impl Connected for CountedIo {
    type ConnectInfo = TcpConnectInfo;
    fn connect_info(&self) -> TcpConnectInfo {
        self.io.connect_info()
    }
}

impl AsyncRead for CountedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if let Some(at) = &mut self.close_at
            && at.as_mut().poll(cx).is_ready()
        {
            // End of stream: the server closes the connection.
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for CountedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// The tower layer that applies the per-call limits and fixes up error statuses.
#[derive(Clone)]
pub(super) struct Layer(Arc<Shared>);

impl Layer {
    pub(super) fn new(shared: Arc<Shared>) -> Layer {
        Layer(shared)
    }
}

impl<S> tower::Layer<S> for Layer {
    type Service = Limited<S>;
    fn layer(&self, inner: S) -> Limited<S> {
        Limited {
            inner,
            shared: Arc::clone(&self.0),
        }
    }
}

#[derive(Clone)]
pub(super) struct Limited<S> {
    inner: S,
    shared: Arc<Shared>,
}

/// Released when the answer's body is dropped (the call is over).
enum Guard {
    Stream(Arc<Conn>),
    Watch(Arc<Shared>, IpAddr),
}

impl Drop for Guard {
    fn drop(&mut self) {
        match self {
            Guard::Stream(c) => {
                c.streams.fetch_sub(1, Ordering::Relaxed);
            }
            Guard::Watch(shared, ip) => {
                let mut st = shared.state();
                if let Some(n) = st.watchers.get_mut(ip) {
                    *n -= 1;
                    if *n == 0 {
                        st.watchers.remove(ip);
                    }
                }
            }
        }
    }
}

fn peer_of<B>(req: &http::Request<B>) -> Option<SocketAddr> {
    let ext = req.extensions();
    ext.get::<TcpConnectInfo>()
        .and_then(TcpConnectInfo::remote_addr)
        .or_else(|| {
            ext.get::<TlsConnectInfo<TcpConnectInfo>>()
                .and_then(|i| i.get_ref().remote_addr())
        })
}

impl Shared {
    /// The guards of a call, or the status that refuses it.
    fn admit(self: &Arc<Self>, peer: Option<SocketAddr>, path: &str) -> Result<Vec<Guard>, Status> {
        let mut guards = Vec::with_capacity(2);
        let Some(peer) = peer else {
            return Ok(guards);
        };
        let conn = self.state().conns.get(&peer).cloned();
        if let Some(conn) = conn {
            if conn.over_limit {
                return Err(Status::resource_exhausted(format!(
                    "the node serves at most {} connections (max_connections): try again later",
                    self.limits.max_connections
                )));
            }
            let before = conn.streams.fetch_add(1, Ordering::Relaxed);
            guards.push(Guard::Stream(conn));
            if before >= self.limits.streams_per_connection as usize {
                return Err(Status::resource_exhausted(format!(
                    "at most {} calls at once on one connection (max_streams_per_connection)",
                    self.limits.streams_per_connection
                )));
            }
        }
        if WATCH_METHODS.contains(&path) {
            let ip = peer.ip().to_canonical();
            let mut st = self.state();
            let n = st.watchers.entry(ip).or_default();
            if *n >= self.limits.watch_streams_per_client {
                return Err(Status::resource_exhausted(format!(
                    "at most {} change-feed streams from one address (max_watch_streams_per_client)",
                    self.limits.watch_streams_per_client
                )));
            }
            *n += 1;
            drop(st);
            guards.push(Guard::Watch(Arc::clone(self), ip));
        }
        Ok(guards)
    }
}

type BoxFuture<T> = Pin<Box<dyn std::future::Future<Output = T> + Send>>;

impl<S> tower::Service<http::Request<Body>> for Limited<S>
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
        let guards = match self.shared.admit(peer_of(&req), req.uri().path()) {
            Ok(g) => g,
            Err(status) => return Box::pin(std::future::ready(Ok(status.into_http()))),
        };
        // The clone is ready only through `poll_ready` on the original: swap them.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let mut response = inner.call(req).await?;
            fix_status(response.headers_mut());
            Ok(response.map(|body| {
                Body::new(Guarded {
                    inner: body,
                    _guards: guards,
                })
            }))
        })
    }
}

/// The answer's body, holding the call's guards, with the status in its trailers fixed.
struct Guarded {
    inner: Body,
    _guards: Vec<Guard>,
}

impl http_body::Body for Guarded {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let mut polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &mut polled
            && let Some(trailers) = frame.trailers_mut()
        {
            fix_status(trailers);
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

/// tonic's words for a message over the decoding limit (tonic/src/codec/decode.rs).
const TOO_LARGE: &str = "Error, decoded message length too large";

/// An error status as the client should see it: a message over the size limit is
/// `RESOURCE_EXHAUSTED`, and a message echoes at most [`MAX_ERROR_MESSAGE_CHARS`].
fn fix_status(headers: &mut HeaderMap) {
    match headers.get(Status::GRPC_STATUS) {
        Some(code) if code.as_bytes() != b"0" => {}
        _ => return,
    }
    let Some(status) = Status::from_header_map(headers) else {
        return;
    };
    let mut code = status.code();
    let mut message = status.message().to_owned();
    let mut changed = false;
    if code == tonic::Code::OutOfRange && message.starts_with(TOO_LARGE) {
        code = tonic::Code::ResourceExhausted;
        message = format!(
            "message too large{}",
            message.strip_prefix(TOO_LARGE).unwrap_or_default()
        );
        changed = true;
    }
    if let Some((cut, _)) = message.char_indices().nth(MAX_ERROR_MESSAGE_CHARS) {
        message.truncate(cut);
        message.push_str("… (cut)");
        changed = true;
    }
    if changed {
        headers.remove(Status::GRPC_MESSAGE);
        let _ = Status::new(code, message).add_header(headers);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(code: tonic::Code, message: &str, want_code: tonic::Code, want: &str) {
        let mut h = HeaderMap::new();
        Status::new(code, message)
            .add_header(&mut h)
            .expect("headers");
        fix_status(&mut h);
        let got = Status::from_header_map(&h).expect("status");
        assert_eq!((got.code(), got.message()), (want_code, want));
    }

    #[test]
    fn an_oversize_message_is_resource_exhausted() {
        check(
            tonic::Code::OutOfRange,
            "Error, decoded message length too large: found 5000000 bytes, the limit is: 4194304 bytes",
            tonic::Code::ResourceExhausted,
            "message too large: found 5000000 bytes, the limit is: 4194304 bytes",
        );
    }

    #[test]
    fn other_statuses_keep_their_code() {
        let m = "watch position 3 is no longer retained";
        check(tonic::Code::OutOfRange, m, tonic::Code::OutOfRange, m);
        check(
            tonic::Code::NotFound,
            "no site",
            tonic::Code::NotFound,
            "no site",
        );
    }

    #[test]
    fn a_long_message_is_cut() {
        let long = format!("unknown site {:?}", "é".repeat(100_000));
        let mut h = HeaderMap::new();
        Status::new(tonic::Code::NotFound, long)
            .add_header(&mut h)
            .expect("headers");
        fix_status(&mut h);
        let got = Status::from_header_map(&h).expect("status");
        assert_eq!(got.code(), tonic::Code::NotFound);
        assert_eq!(
            got.message().chars().count(),
            MAX_ERROR_MESSAGE_CHARS + "… (cut)".chars().count()
        );
        assert!(got.message().starts_with("unknown site \"éé"));
    }

    #[test]
    fn limits_are_checked_by_name() {
        assert_eq!(Limits::default().validate(), Ok(()));
        let l = Limits {
            watch_streams_per_client: 0,
            ..Limits::default()
        };
        assert_eq!(l.validate().unwrap_err().0, "max_watch_streams_per_client");
    }
}
