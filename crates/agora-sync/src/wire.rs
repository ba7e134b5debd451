//! Answers encoded once and sent as they are: a gRPC codec for a server-streaming call
//! whose answers are protobuf messages already encoded ([`Bytes`]), so that a message
//! every stream sends alike (a national `Watch` change, the same for a hundred
//! dashboards) is encoded once, not once per stream. The request is decoded with prost
//! as usual. On the wire nothing changes: a client reads the ordinary message type.

use std::marker::PhantomData;

use bytes::{BufMut, Bytes};
use tonic::Status;
use tonic::codec::{Codec, EncodeBuf, Encoder};
use tonic_prost::ProstDecoder;

/// The message's protobuf encoding, to send through [`Encoded`].
pub fn encode(msg: &impl prost::Message) -> Bytes {
    Bytes::from(msg.encode_to_vec())
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

#[cfg(test)]
mod tests;
