//! Site ⇄ national sync: the protocol's timing constants, the conversions of shared
//! changes, the uplink that a site node runs towards the national node, and the words for why
//! a link failed ([`link_error`]), the metrics both nodes serve ([`metrics`]), and site
//! identity by certificate ([`site_cert`]), and the codec that sends answers encoded once
//! ([`wire`]).

pub mod auth;
pub mod convert;
pub mod dial;
pub mod feed;
pub mod link_error;
pub mod metrics;
pub mod private;
pub mod serve;
pub mod site_cert;
pub mod uplink;
pub mod wire;

use std::time::Duration;

/// Records a site may have sent without an ack (the national node says so in Welcome).
pub const WINDOW: u32 = 2048;
/// Most changes per `Records` message.
pub const RECORDS_PER_MESSAGE: usize = 256;
/// Each side sends a heartbeat this often on a quiet stream.
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// A peer silent for this long is taken for dead and the stream is dropped: two missed
/// heartbeats and some slack, so a silent (blackholed) link is redialled within seconds.
pub const DEAD_AFTER: Duration = Duration::from_secs(3);
/// How long opening a stream may take, from dialling to the first message (Hello,
/// Welcome): a dial into a silent link gives up quickly and tries again.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a site waits for the national node to install its snapshot.
pub const SNAPSHOT_ACK_TIMEOUT: Duration = Duration::from_secs(60);
/// A stream must have stayed up this long before the uplink's reconnect backoff starts
/// over: a link that drops again and again right after the Welcome keeps backing off.
pub const STABLE_AFTER: Duration = Duration::from_secs(5);
/// Longest wait between two dials (before jitter).
pub const MAX_BACKOFF: Duration = Duration::from_secs(2);
