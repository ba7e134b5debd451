//! `agora.v1.NationalService` as the node serves it: `Watch` through a codec that sends each
//! answer as bytes encoded once per record and shared by every stream
//! (`agora_sync::wire`), every other call through the generated server. Same service name,
//! same path, same messages on the wire: clients see no difference.
//!
//! Why a service in front of the generated one, rather than a codec for the whole
//! service: tonic's generated server picks its codec per method at build time, and only
//! `Watch` answers many streams with the same message; the other calls keep prost's codec
//! and the generated code as they are.

use std::convert::Infallible;
use std::sync::Arc;

use tonic::body::Body;
use tonic::codegen::{BoxFuture, Context, Poll, Service, http};
use tonic::server::{Grpc, NamedService, ServerStreamingService};
use tonic::{Request, Response, Status};

use agora_proto::v1 as pb;
use agora_proto::v1::national_service_server::NationalServiceServer;
use agora_sync::wire::Encoded;

use crate::service::{EncodedWatch, National};

/// The generated server, with `Watch` taken over.
#[derive(Clone)]
pub struct NationalRoutes {
    generated: NationalServiceServer<National>,
    national: Arc<National>,
}

impl NationalRoutes {
    pub fn new(national: Arc<National>) -> Self {
        NationalRoutes {
            generated: NationalServiceServer::from_arc(Arc::clone(&national)),
            national,
        }
    }
}

impl NamedService for NationalRoutes {
    const NAME: &'static str = <NationalServiceServer<National> as NamedService>::NAME;
}

/// Whether `path` is `/agora.v1.NationalService/Watch` (built from the generated name, so
/// it follows the proto).
fn is_watch(path: &str) -> bool {
    path.strip_prefix('/')
        .and_then(|p| p.strip_prefix(NationalRoutes::NAME))
        == Some("/Watch")
}

impl Service<http::Request<Body>> for NationalRoutes {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // Neither path holds back a call (the generated server is always ready).
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        if !is_watch(req.uri().path()) {
            return self.generated.call(req);
        }
        let watch = Watch(Arc::clone(&self.national));
        Box::pin(async move {
            // As the generated server is built (`from_arc`, nothing configured): no
            // compression either way, its default message size limits. Layers (limits,
            // metrics, timeout) wrap the whole service, this path included.
            let mut grpc = Grpc::new(Encoded::<pb::WatchRequest>::default());
            Ok(grpc.server_streaming(watch, req).await)
        })
    }
}

/// The `Watch` call: the same checks and statuses as every national call
/// ([`National::open_watch`]).
struct Watch(Arc<National>);

impl ServerStreamingService<pb::WatchRequest> for Watch {
    type Response = bytes::Bytes;
    type ResponseStream = EncodedWatch;
    type Future = BoxFuture<Response<EncodedWatch>, Status>;

    fn call(&mut self, req: Request<pb::WatchRequest>) -> Self::Future {
        let national = Arc::clone(&self.0);
        Box::pin(async move { national.open_watch(req) })
    }
}

#[cfg(test)]
mod tests {
    use super::is_watch;

    #[test]
    fn only_the_watch_path_is_taken_over() {
        assert!(is_watch("/agora.v1.NationalService/Watch"));
        for other in [
            "/agora.v1.NationalService/Federate",
            "/agora.v1.NationalService/WatchX",
            "/agora.v1.NationalService/GetOverview",
            "/agora.v1.SiteService/Watch",
            "/agora.v1.NationalServiceX/Watch",
            "/Watch",
        ] {
            assert!(!is_watch(other), "{other}");
        }
    }
}
