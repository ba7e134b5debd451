//! The codec of answers encoded once writes the very frames prost's codec writes for the
//! same messages, so a client decodes the same answers.

use std::pin::pin;

use bytes::Bytes;
use http_body::Body;
use tonic::Status;
use tonic::codec::{EncodeBody, SingleMessageCompressionOverride};
use tonic_prost::ProstEncoder;

use agora_proto::v1 as pb;

use super::{BytesEncoder, encode};

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
