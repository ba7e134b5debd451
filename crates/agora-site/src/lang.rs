//! The language of a request: its `accept-language` metadata ("de", "fr-FR, en;q=0.8"),
//! held for the time of the call so that `service::status` can say a refusal in it. The
//! status code and the field's name stay the same in every language.

use std::pin::Pin;
use std::task::{Context, Poll};

use agora_model::Lang;
use tonic::codegen::{Service, http};
use tonic::server::NamedService;

tokio::task_local! {
    static LANG: Lang;
}

/// The language of the request being answered, if it asked for one Agora speaks.
pub fn current() -> Option<Lang> {
    LANG.try_with(|l| *l).ok()
}

/// The first language of an `accept-language` value that Agora speaks.
pub fn from_header(value: &str) -> Option<Lang> {
    value
        .split(',')
        .filter_map(|part| part.split(';').next())
        .find_map(Lang::parse)
}

/// Wraps a gRPC service: each call runs with the language its `accept-language` names.
#[derive(Debug, Clone)]
pub struct WithLang<S>(pub S);

type BoxFuture<T> = Pin<Box<dyn std::future::Future<Output = T> + Send>>;

impl<S, B> Service<http::Request<B>> for WithLang<S>
where
    S: Service<http::Request<B>> + Send,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let lang = req
            .headers()
            .get("accept-language")
            .and_then(|v| v.to_str().ok())
            .and_then(from_header);
        let answer = self.0.call(req);
        match lang {
            Some(l) => Box::pin(LANG.scope(l, answer)),
            None => Box::pin(answer),
        }
    }
}

impl<S: NamedService> NamedService for WithLang<S> {
    const NAME: &'static str = S::NAME;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_language_agora_speaks_wins() {
        assert_eq!(from_header("de-DE,de;q=0.9,en;q=0.8"), Some(Lang::De));
        assert_eq!(from_header("it, fr;q=0.5"), Some(Lang::Fr));
        assert_eq!(from_header("it"), None);
        assert_eq!(from_header(""), None);
    }
}
