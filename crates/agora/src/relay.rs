//! A TCP relay that a test or the demo controls: it forwards a loopback port to a target;
//! `cut` resets every connection and refuses new ones, `blackhole` keeps connections open
//! but drops every byte (a silent network), `restore` forwards again. Used to break a
//! site's link to the national node for real.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::net::TcpListener;
use tokio::task::{AbortHandle, JoinHandle};

/// Forwards `addr` (on 127.0.0.1) to its target while open.
pub struct Relay {
    pub addr: SocketAddr,
    open: Arc<AtomicBool>,
    /// While set, bytes are read and dropped in both directions.
    silent: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<AbortHandle>>>,
    /// Connections forwarded so far.
    accepted: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl Relay {
    pub async fn start(target: SocketAddr) -> std::io::Result<Relay> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let open = Arc::new(AtomicBool::new(true));
        let silent = Arc::new(AtomicBool::new(false));
        let conns: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let accepted = Arc::new(AtomicU64::new(0));
        let (o, c, q) = (Arc::clone(&open), Arc::clone(&conns), Arc::clone(&silent));
        let a = Arc::clone(&accepted);
        let task = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                if !o.load(Ordering::SeqCst) {
                    drop(inbound); // refused: the peer sees a reset / EOF
                    continue;
                }
                a.fetch_add(1, Ordering::SeqCst);
                let q = Arc::clone(&q);
                let h = tokio::spawn(async move {
                    if let Ok(out) = tokio::net::TcpStream::connect(target).await {
                        let (ri, wi) = inbound.into_split();
                        let (ro, wo) = out.into_split();
                        tokio::join!(pump(ri, wo, Arc::clone(&q)), pump(ro, wi, q));
                    }
                });
                if let Ok(mut c) = c.lock() {
                    c.push(h.abort_handle());
                }
            }
        });
        Ok(Relay {
            addr,
            open,
            silent,
            conns,
            accepted,
            task,
        })
    }

    /// The relay's URL for a node that serves TLS (the relay passes bytes, TLS included).
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// How many connections the relay forwarded so far.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Cuts every connection now, and refuses new ones.
    pub fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        if let Ok(mut conns) = self.conns.lock() {
            for h in conns.drain(..) {
                h.abort();
            }
        }
    }

    /// Keeps every connection open but drops every byte, both ways, until restored.
    pub fn blackhole(&self) {
        self.silent.store(true, Ordering::SeqCst);
    }

    pub fn restore(&self) {
        self.silent.store(false, Ordering::SeqCst);
        self.open.store(true, Ordering::SeqCst);
    }
}

/// Copies `from` to `to`, dropping what it reads while `silent` is set.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    silent: Arc<AtomicBool>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if !silent.load(Ordering::SeqCst) && to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.cut();
        self.task.abort();
    }
}
