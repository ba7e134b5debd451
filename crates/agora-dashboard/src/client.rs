//! Follows the national node: loads an overview, then applies the national feed from its
//! position; on any failure reconnects with backoff and resumes from the last position
//! applied (a fresh overview only if that position is no longer retained). The national
//! program is read with `ListNationalProgram` when connected and again when the feed says
//! it changed.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio_stream::StreamExt;
use tonic::Code;

use agora_proto::v1 as pb;
use agora_proto::v1::national_service_client::NationalServiceClient;
use agora_sync::link_error::describe_link_error;

use crate::board::{Board, Connection};

/// How often link states and site counts are refreshed, and at most how often the
/// program is read again.
const SITES_REFRESH: Duration = Duration::from_secs(1);

pub type Shared = Arc<Mutex<Board>>;

pub fn with<R>(board: &Shared, f: impl FnOnce(&mut Board) -> R) -> R {
    match board.lock() {
        Ok(mut b) => f(&mut b),
        Err(p) => f(&mut p.into_inner()),
    }
}

#[derive(Debug, thiserror::Error)]
enum FollowError {
    #[error("{0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("{0}")]
    Dial(#[from] agora_sync::dial::DialError),
    #[error("{0}")]
    Status(#[from] tonic::Status),
    #[error("the feed ended")]
    Ended,
}

/// Runs until `stop` turns true.
pub async fn follow(
    url: String,
    dial: agora_sync::dial::Dial,
    token: Option<String>,
    board: Shared,
    mut stop: watch::Receiver<bool>,
) {
    let mut attempt = 0u32;
    let mut need_overview = true;
    let mut backoff = Duration::from_millis(100);
    loop {
        match session(
            &url,
            &dial,
            token.as_deref(),
            &board,
            &mut need_overview,
            &mut attempt,
            &mut stop,
        )
        .await
        {
            Ok(()) => return,
            Err(e) => {
                tracing::debug!(error = %e, "dashboard feed lost");
                if let FollowError::Status(s) = &e
                    && s.code() == Code::OutOfRange
                {
                    need_overview = true;
                }
                attempt += 1;
                let connection = Connection::Reconnecting {
                    attempt,
                    address: url.strip_prefix("http://").unwrap_or(&url).to_owned(),
                    cause: describe_link_error(&e),
                };
                with(&board, |b| b.connection = connection);
            }
        }
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            _ = stop.changed() => return,
        }
        backoff = (backoff * 2).min(Duration::from_secs(3));
    }
}

async fn session(
    url: &str,
    dial: &agora_sync::dial::Dial,
    token: Option<&str>,
    board: &Shared,
    need_overview: &mut bool,
    attempt: &mut u32,
    stop: &mut watch::Receiver<bool>,
) -> Result<(), FollowError> {
    let channel = dial
        .endpoint(url)?
        .connect_timeout(Duration::from_secs(3))
        .http2_keep_alive_interval(Duration::from_secs(5))
        .keep_alive_timeout(Duration::from_secs(5))
        .connect()
        .await?;
    let auth: Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>> = token
        .map(|t| format!("Bearer {t}").parse())
        .transpose()
        .map_err(|_| tonic::Status::invalid_argument("the token must be printable ASCII"))?;
    let mut client =
        NationalServiceClient::with_interceptor(channel, move |mut req: tonic::Request<()>| {
            if let Some(v) = &auth {
                req.metadata_mut().insert("authorization", v.clone());
            }
            Ok(req)
        });
    if *need_overview {
        let o = client
            .get_overview(pb::GetOverviewRequest {})
            .await?
            .into_inner();
        with(board, |b| b.load_overview(&o));
        *need_overview = false;
    }
    let after = with(board, |b| b.position);
    let mut feed = client
        .watch(pb::WatchRequest {
            after_position: after,
            // A busy log's changes a few answers at a time, applied under one lock each.
            batched: true,
            ..Default::default()
        })
        .await?
        .into_inner();
    with(board, |b| {
        if *attempt > 0 {
            b.resumes += 1;
        }
        b.connection = Connection::Live;
    });
    *attempt = 0;
    let mut refresh = tokio::time::interval(SITES_REFRESH);
    // When the program was last asked for (None: not yet on this connection).
    let mut program_tried: Option<Instant> = None;
    loop {
        tokio::select! {
            item = feed.next() => match item {
                Some(Ok(pb::WatchResponse { item: Some(pb::watch_response::Item::Change(c)) })) => {
                    with(board, |b| b.apply(&c));
                }
                Some(Ok(pb::WatchResponse { item: Some(pb::watch_response::Item::Changes(cs)) })) => {
                    with(board, |b| {
                        for c in &cs.changes {
                            b.apply(c);
                        }
                    });
                }
                Some(Ok(_)) => {}
                Some(Err(s)) => return Err(s.into()),
                None => return Err(FollowError::Ended),
            },
            _ = refresh.tick() => {
                let sites = client.list_sites(pb::ListSitesRequest {}).await?.into_inner().sites;
                with(board, |b| b.update_sites(&sites));
                // The feed only marks the program stale; it is read here, on the tick, so
                // that a burst of changes (an import publishes dozens of défis, one change
                // each) reads the replicas once a second at most, not once per change.
                let since = program_tried.map_or(Duration::MAX, |t| t.elapsed());
                if with(board, |b| b.program.due(since)) {
                    program_tried = Some(Instant::now());
                    // A failure keeps the last program, says so, and is retried later; the
                    // feed goes on.
                    match client
                        .list_national_program(pb::ListNationalProgramRequest::default())
                        .await
                    {
                        Ok(p) => with(board, |b| b.program.load(&p.into_inner())),
                        Err(s) => {
                            tracing::debug!(error = %s, "national program not read");
                            let cause = describe_link_error(&s);
                            with(board, |b| b.program.load_failed(cause));
                        }
                    }
                }
            }
            _ = stop.changed() => return Ok(()),
        }
    }
}
