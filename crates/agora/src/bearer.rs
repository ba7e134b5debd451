//! A gRPC interceptor that adds `authorization: Bearer <token>` to every call (clients of the
//! demo, the benchmarks and the admin commands).

use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::{Request, Status};

#[derive(Debug, Clone)]
pub struct Bearer(Option<MetadataValue<Ascii>>);

impl Bearer {
    /// Fails if the token is not printable ASCII.
    pub fn new(token: &str) -> anyhow::Result<Bearer> {
        Ok(Bearer(Some(format!("Bearer {token}").parse()?)))
    }
}

impl Interceptor for Bearer {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        if let Some(v) = &self.0 {
            req.metadata_mut().insert("authorization", v.clone());
        }
        Ok(req)
    }
}
