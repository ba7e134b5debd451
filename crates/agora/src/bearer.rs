//! A gRPC interceptor that adds `authorization: Bearer <token>` to every call (clients of the
//! demo, the benchmarks, the admin commands and `agora import`), and the caller's language
//! when it has one.

use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::{Request, Status};

#[derive(Debug, Clone)]
pub struct Bearer(Option<MetadataValue<Ascii>>, Option<MetadataValue<Ascii>>);

impl Bearer {
    /// Fails if the token is not printable ASCII.
    pub fn new(token: &str) -> anyhow::Result<Bearer> {
        Ok(Bearer(Some(format!("Bearer {token}").parse()?), None))
    }

    /// Also asks the node to word its refusals in `lang` (`accept-language`).
    pub fn with_lang(mut self, lang: agora_model::Lang) -> Bearer {
        self.1 = lang.code().parse().ok();
        self
    }
}

impl Interceptor for Bearer {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        if let Some(v) = &self.0 {
            req.metadata_mut().insert("authorization", v.clone());
        }
        if let Some(v) = &self.1 {
            req.metadata_mut().insert("accept-language", v.clone());
        }
        Ok(req)
    }
}
