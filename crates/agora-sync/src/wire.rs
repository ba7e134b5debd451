//! Answers encoded once and sent as they are: a gRPC codec for a server-streaming call
//! whose answers are protobuf messages already encoded ([`Bytes`]), so that a message
//! every stream sends alike (a national `Watch` change, the same for a hundred
//! dashboards; a site's `WatchChanges` change, the same for every watcher) is encoded
//! once, not once per stream. The request is decoded with prost as usual. On the wire
//! nothing changes: a client reads the ordinary message type.
//!
//! [`EncodedRoute`] puts such a call in front of a node's generated server: the one method
//! through this codec, every other path to the generated server. Why a service in front of
//! the generated one, rather than a codec for the whole service: tonic's generated server
//! picks its codec per method at build time, and only the change feed answers many
//! streams with the same message; the other calls keep prost's codec and the generated
//! code as they are.

use std::convert::Infallible;
use std::marker::PhantomData;
use std::sync::Arc;

use bytes::{BufMut, Bytes};
use tokio_stream::Stream;
use tonic::body::Body;
use tonic::codec::{Codec, EncodeBuf, Encoder};
use tonic::codegen::{BoxFuture, Context, Poll, Service, http};
use tonic::server::{Grpc, NamedService, ServerStreamingService};
use tonic::{Request, Response, Status};
use tonic_prost::ProstDecoder;

/// The message's protobuf encoding, to send through [`Encoded`].
pub fn encode(msg: &impl prost::Message) -> Bytes {
    Bytes::from(msg.encode_to_vec())
}

/// The field of a change feed's answer that holds several changes: both feeds' answers
/// have the change at 1, the progress at 2 and the batch at 3 (`WatchResponse.changes`,
/// `WatchChangesResponse.changes`; the tests decode both).
pub const CHANGES_FIELD: u32 = 3;

/// Several answers as one: `parts` are answers of one type whose only field is field 1, an
/// embedded message (a `WatchResponse` with its `change`), and the result is the answer
/// whose field `field` is a message holding them all in its repeated field 1
/// (`WatchResponse.changes`, a `NationalChanges`, at [`CHANGES_FIELD`]). In protobuf, the encoding of such an
/// answer's field 1 is the encoding of one element of that repeated field, so the parts
/// are copied as they are, behind one tag and length: nothing is encoded again.
pub fn together(field: u32, parts: &[Bytes]) -> Bytes {
    let len: usize = parts.iter().map(Bytes::len).sum();
    let mut out = bytes::BytesMut::with_capacity(len + 16);
    prost::encoding::encode_key(field, prost::encoding::WireType::LengthDelimited, &mut out);
    prost::encoding::encode_varint(len as u64, &mut out);
    for p in parts {
        out.put_slice(p);
    }
    out.freeze()
}

/// Requests `Req` decoded with prost; answers written as the bytes given.
#[derive(Debug)]
pub struct Encoded<Req>(PhantomData<fn() -> Req>);

impl<Req> Default for Encoded<Req> {
    fn default() -> Self {
        Encoded(PhantomData)
    }
}

impl<Req: prost::Message + Default + Send + 'static> Codec for Encoded<Req> {
    type Encode = Bytes;
    type Decode = Req;
    type Encoder = BytesEncoder;
    type Decoder = ProstDecoder<Req>;

    fn encoder(&mut self) -> BytesEncoder {
        BytesEncoder
    }

    fn decoder(&mut self) -> ProstDecoder<Req> {
        ProstDecoder::default()
    }
}

/// Writes an already-encoded message into the frame tonic makes around it (the
/// length prefix, and compression when the call has it, stay tonic's).
#[derive(Debug, Clone, Copy, Default)]
pub struct BytesEncoder;

impl Encoder for BytesEncoder {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.reserve(item.len());
        dst.put_slice(&item);
        Ok(())
    }
}

/// The answers of an [`EncodedCall`] as a node's feed streams them.
pub type EncodedStream = crate::feed::Queued;

/// A server-streaming call whose answers are sent already encoded, served by
/// [`EncodedRoute`] in place of the generated server's method. The node implements it
/// with the checks and statuses of its other calls.
pub trait EncodedCall: Send + Sync + 'static {
    /// The method's name as the proto spells it (`Watch`, `WatchChanges`).
    const METHOD: &'static str;
    /// The call's request, decoded with prost.
    type Request: prost::Message + Default + Send + 'static;
    /// The call's answers, each a message of the method's answer type, encoded.
    type Stream: Stream<Item = Result<Bytes, Status>> + Send + 'static;

    /// Checks the call and starts its stream (or refuses it, before any answer).
    fn open(&self, req: Request<Self::Request>) -> Result<Response<Self::Stream>, Status>;
}

/// A node's generated server `S` with the method of `C` taken over: that path is served
/// through [`Encoded`], every other goes to `S`. Same service name, same paths, same
/// messages on the wire: clients see no difference.
pub struct EncodedRoute<S, C> {
    generated: S,
    call: Arc<C>,
}

impl<S, C> EncodedRoute<S, C> {
    pub fn new(generated: S, call: Arc<C>) -> Self {
        EncodedRoute { generated, call }
    }
}

// By hand: a derive would ask `C: Clone`, and only the `Arc` is cloned.
impl<S: Clone, C> Clone for EncodedRoute<S, C> {
    fn clone(&self) -> Self {
        EncodedRoute {
            generated: self.generated.clone(),
            call: Arc::clone(&self.call),
        }
    }
}

impl<S: NamedService, C> NamedService for EncodedRoute<S, C> {
    const NAME: &'static str = S::NAME;
}

/// Whether `path` is `/{service}/{method}`. The service is the generated `NamedService`
/// name, so the path follows the proto.
fn is_method(path: &str, service: &str, method: &str) -> bool {
    path.strip_prefix('/')
        .and_then(|p| p.strip_prefix(service))
        .and_then(|p| p.strip_prefix('/'))
        == Some(method)
}

impl<S, C> Service<http::Request<Body>> for EncodedRoute<S, C>
where
    S: Service<
            http::Request<Body>,
            Response = http::Response<Body>,
            Error = Infallible,
            Future = BoxFuture<http::Response<Body>, Infallible>,
        > + NamedService,
    C: EncodedCall,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<http::Response<Body>, Infallible>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // The taken-over path holds nothing back; the generated server says for the rest
        // (it is always ready).
        self.generated.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        if !is_method(req.uri().path(), S::NAME, C::METHOD) {
            return self.generated.call(req);
        }
        let open = Open(Arc::clone(&self.call));
        Box::pin(async move {
            // As the generated servers are built (nothing configured): no compression
            // either way, tonic's default message size limits. The server's layers
            // (limits, metrics, timeout) and wrappers around this service wrap this path
            // too.
            let mut grpc = Grpc::new(Encoded::<C::Request>::default());
            Ok(grpc.server_streaming(open, req).await)
        })
    }
}

/// The taken-over method as tonic calls it.
struct Open<C>(Arc<C>);

impl<C: EncodedCall> ServerStreamingService<C::Request> for Open<C> {
    type Response = Bytes;
    type ResponseStream = C::Stream;
    // Opening checks and starts a task; it never waits, so no future of its own.
    type Future = std::future::Ready<Result<Response<C::Stream>, Status>>;

    fn call(&mut self, req: Request<C::Request>) -> Self::Future {
        std::future::ready(self.0.open(req))
    }
}

#[cfg(test)]
mod tests;
