//! The codec of answers encoded once writes the very frames prost's codec writes for the
//! same messages, so a client decodes the same answers; the route in front of a generated
//! server takes over its one method and nothing else.

use std::convert::Infallible;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http_body::Body;
use tonic::codec::{EncodeBody, SingleMessageCompressionOverride};
use tonic::codegen::{BoxFuture, Context, Poll, Service};
use tonic::server::NamedService;
use tonic::{Request, Response, Status};
use tonic_prost::ProstEncoder;

use agora_proto::v1 as pb;
use agora_proto::v1::national_service_server::NationalServiceServer;
use agora_proto::v1::site_service_server::SiteServiceServer;

use super::{BytesEncoder, CHANGES_FIELD, EncodedCall, EncodedRoute, encode, is_method, together};

/// Every data byte of a response body, and its trailers (the status).
async fn drain<B: Body<Data = Bytes>>(body: B) -> (Vec<u8>, Option<http::HeaderMap>)
where
    B::Error: std::fmt::Debug,
{
    let mut body = pin!(body);
    let (mut data, mut trailers) = (Vec::new(), None);
    while let Some(frame) = std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
        match frame.expect("a frame").into_data() {
            Ok(d) => data.extend_from_slice(&d),
            Err(f) => trailers = f.into_trailers().ok(),
        }
    }
    (data, trailers)
}

/// A server's response body for `items`, as tonic makes it for a streaming call.
fn body<E: tonic::codec::Encoder<Error = Status>>(
    encoder: E,
    items: Vec<Result<E::Item, Status>>,
) -> impl Body<Data = Bytes, Error = Status> {
    EncodeBody::new_server(
        encoder,
        tokio_stream::iter(items),
        None,
        SingleMessageCompressionOverride::default(),
        None,
    )
}

fn answers() -> Vec<pb::WatchResponse> {
    let change = pb::NationalChange {
        position: 7,
        site_id: "cluny".into(),
        site_seq: 3,
        at_ms: 1_765_000_000_000,
        events: vec![pb::Event::default(); 2],
        site_reset: false,
        announcement: None,
    };
    vec![
        pb::WatchResponse {
            item: Some(pb::watch_response::Item::Change(change)),
        },
        pb::WatchResponse {
            item: Some(pb::watch_response::Item::Progress(pb::WatchProgress {
                position: 7,
            })),
        },
        pb::WatchResponse::default(),
    ]
}

#[tokio::test]
async fn answers_encoded_once_are_the_frames_prost_writes() {
    let cut = || Status::resource_exhausted("resume after position 7");
    let mut as_messages: Vec<Result<pb::WatchResponse, Status>> =
        answers().into_iter().map(Ok).collect();
    as_messages.push(Err(cut()));
    let mut as_bytes: Vec<Result<Bytes, Status>> =
        answers().iter().map(|m| Ok(encode(m))).collect();
    as_bytes.push(Err(cut()));
    let (prost_data, prost_status) = drain(body(
        ProstEncoder::<pb::WatchResponse>::default(),
        as_messages,
    ))
    .await;
    let (our_data, our_status) = drain(body(BytesEncoder, as_bytes)).await;
    assert!(!prost_data.is_empty());
    assert_eq!(our_data, prost_data, "the same bytes on the wire");
    assert!(prost_status.is_some());
    assert_eq!(our_status, prost_status, "the same status at the end");
}

fn change(position: u64, events: usize) -> pb::NationalChange {
    pb::NationalChange {
        position,
        site_id: format!("site-{position}"),
        site_seq: position * 3,
        at_ms: 1_765_000_000_000 + position as i64,
        events: vec![pb::Event::default(); events],
        site_reset: position.is_multiple_of(2),
        announcement: None,
    }
}

#[test]
fn answers_put_together_decode_as_the_message_holding_them_all() {
    use prost::Message;
    // Sizes on both sides of a varint's one-byte length (127), and an empty change.
    let changes: Vec<pb::NationalChange> = [(1, 0), (2, 1), (3, 120), (4, 3), (5, 0)]
        .into_iter()
        .map(|(p, e)| change(p, e))
        .collect();
    let parts: Vec<Bytes> = changes
        .iter()
        .map(|c| {
            encode(&pb::WatchResponse {
                item: Some(pb::watch_response::Item::Change(c.clone())),
            })
        })
        .collect();
    assert!(parts.iter().any(|p| p.len() > 200), "a long part");
    let expected = pb::WatchResponse {
        item: Some(pb::watch_response::Item::Changes(pb::NationalChanges {
            changes: changes.clone(),
        })),
    };
    let joined = together(CHANGES_FIELD, &parts);
    assert_eq!(joined, encode(&expected), "the bytes prost writes");
    assert_eq!(pb::WatchResponse::decode(joined).unwrap(), expected);
    let one = together(CHANGES_FIELD, &parts[..1]);
    assert_eq!(
        pb::WatchResponse::decode(one).unwrap().item,
        Some(pb::watch_response::Item::Changes(pb::NationalChanges {
            changes: changes[..1].to_vec(),
        }))
    );
}

#[test]
fn only_the_taken_over_paths_are_routed() {
    let national = <NationalServiceServer<()> as NamedService>::NAME;
    let site = <SiteServiceServer<()> as NamedService>::NAME;
    let check = |service, method, path: &str, expected| {
        assert_eq!(is_method(path, service, method), expected, "{path}");
    };
    check(national, "Watch", "/agora.v1.NationalService/Watch", true);
    check(
        site,
        "WatchChanges",
        "/agora.v1.SiteService/WatchChanges",
        true,
    );
    for other in [
        "/agora.v1.NationalService/Federate",
        "/agora.v1.NationalService/WatchX",
        "/agora.v1.NationalService/GetOverview",
        "/agora.v1.SiteService/Watch",
        "/agora.v1.NationalServiceX/Watch",
        "/agora.v1.NationalService//Watch",
        "agora.v1.NationalService/Watch",
        "/Watch",
    ] {
        check(national, "Watch", other, false);
    }
    for other in [
        "/agora.v1.SiteService/ListThemes",
        "/agora.v1.SiteService/WatchChangesX",
        "/agora.v1.SiteService/Watch",
        "/agora.v1.NationalService/WatchChanges",
        "/agora.v1.SiteServiceX/WatchChanges",
        "/WatchChanges",
    ] {
        check(site, "WatchChanges", other, false);
    }
}

/// Stands for a site's generated server: counts the calls it gets, answers each
/// UNIMPLEMENTED.
#[derive(Clone, Default)]
struct Generated(Arc<AtomicUsize>);

impl NamedService for Generated {
    const NAME: &'static str = <SiteServiceServer<()> as NamedService>::NAME;
}

impl Service<http::Request<tonic::body::Body>> for Generated {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Infallible>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: http::Request<tonic::body::Body>) -> Self::Future {
        self.0.fetch_add(1, Ordering::Relaxed);
        Box::pin(async { Ok(Status::unimplemented("the generated server").into_http()) })
    }
}

/// Stands for a site's `WatchChanges`: one answer, the request's position as `CaughtUp`.
#[derive(Default)]
struct Changes(AtomicUsize);

fn caught_up(seq: u64) -> pb::WatchChangesResponse {
    pb::WatchChangesResponse {
        item: Some(pb::watch_changes_response::Item::CaughtUp(pb::CaughtUp {
            seq,
        })),
    }
}

impl EncodedCall for Changes {
    const METHOD: &'static str = "WatchChanges";
    type Request = pb::WatchChangesRequest;
    type Stream = tokio_stream::Iter<std::vec::IntoIter<Result<Bytes, Status>>>;

    fn open(
        &self,
        req: Request<pb::WatchChangesRequest>,
    ) -> Result<Response<Self::Stream>, Status> {
        self.0.fetch_add(1, Ordering::Relaxed);
        let answer = encode(&caught_up(req.into_inner().after_seq));
        Ok(Response::new(tokio_stream::iter(vec![Ok(answer)])))
    }
}

/// A gRPC call to `path` with `req` as its one message, as a client sends it.
fn call(path: &str, req: &pb::WatchChangesRequest) -> http::Request<tonic::body::Body> {
    let message = EncodeBody::new_client(
        BytesEncoder,
        tokio_stream::iter(vec![Ok(encode(req))]),
        None,
        None,
    );
    http::Request::builder()
        .method("POST")
        .uri(format!("http://site{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(tonic::body::Body::new(message))
        .expect("a request")
}

#[tokio::test]
async fn the_method_is_answered_encoded_and_every_other_path_by_the_generated_server() {
    let generated = Generated::default();
    let changes = Arc::new(Changes::default());
    let mut route = EncodedRoute::new(generated.clone(), Arc::clone(&changes));
    let req = pb::WatchChangesRequest {
        after_seq: 41,
        batched: false,
    };

    let answer = route
        .call(call("/agora.v1.SiteService/WatchChanges", &req))
        .await
        .expect("infallible");
    let (data, trailers) = drain(answer.into_body()).await;
    let (expected, _) = drain(body(BytesEncoder, vec![Ok(encode(&caught_up(41)))])).await;
    assert_eq!(data, expected, "the answer, framed as prost frames it");
    let status = trailers.and_then(|t| t.get("grpc-status").cloned());
    assert_eq!(status.as_ref().map(|s| s.as_bytes()), Some(&b"0"[..]));
    assert_eq!(changes.0.load(Ordering::Relaxed), 1);
    assert_eq!(generated.0.load(Ordering::Relaxed), 0);

    for other in [
        "/agora.v1.SiteService/ListThemes",
        "/agora.v1.SiteService/WatchChangesX",
        "/agora.v1.NationalService/WatchChanges",
    ] {
        let answer = route.call(call(other, &req)).await.expect("infallible");
        assert_eq!(
            answer.headers().get("grpc-status").map(|s| s.as_bytes()),
            Some(&b"12"[..]),
            "{other}: UNIMPLEMENTED, from the generated server"
        );
    }
    assert_eq!(changes.0.load(Ordering::Relaxed), 1, "opened once");
    assert_eq!(generated.0.load(Ordering::Relaxed), 3);
}
