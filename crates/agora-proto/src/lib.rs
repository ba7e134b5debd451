//! Generated code for the `agora.v1` protobuf package, and its encoded descriptor set.
//!
//! Nothing here is written by hand: the node crates convert between these types and the
//! domain model in their own `convert` modules.

#![allow(clippy::all, clippy::pedantic, missing_docs)]

/// The `agora.v1` package: messages, `SiteService` client and server.
pub mod v1 {
    tonic::include_proto!("agora.v1");
}

/// Encoded `FileDescriptorSet` of every `agora.v1` file, served by gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/agora_descriptor.bin"));
