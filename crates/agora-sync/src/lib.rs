//! Site ⇄ national sync: the protocol's timing constants, the conversions of shared
//! changes, and the uplink that a site node runs towards the national node.

pub mod auth;
pub mod convert;
pub mod dial;
pub mod private;
pub mod serve;
pub mod uplink;

use std::time::Duration;

/// Records a site may have sent without an ack (the national node says so in Welcome).
pub const WINDOW: u32 = 2048;
/// Most changes per `Records` message.
pub const RECORDS_PER_MESSAGE: usize = 256;
/// Each side sends a heartbeat this often on a quiet stream.
pub const HEARTBEAT: Duration = Duration::from_secs(5);
/// A peer silent for this long is taken for dead and the stream is dropped.
pub const DEAD_AFTER: Duration = Duration::from_secs(20);
/// How long the first message of a stream (Hello, Welcome) may take.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
