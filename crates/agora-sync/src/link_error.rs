//! Why a gRPC link to a node failed, in a few words: tonic and hyper errors carry their cause
//! deep in a chain of sources (`Status` → transport error → hyper error → `io::Error`); logs
//! and the dashboard show the short cause found there instead of the whole chain.

use std::error::Error;
use std::fmt;
use std::io;

/// The cause of a failed link, as an operator would name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkCause {
    /// Nobody listens at the address (or a firewall rejects the connection).
    Refused,
    /// The connection was reset or broken mid-stream.
    Reset,
    /// The peer closed the connection.
    Closed,
    /// Connecting or waiting for an answer took too long.
    TimedOut,
    /// The TLS handshake or a certificate failed.
    Tls,
    /// The peer refused our token or credential (`UNAUTHENTICATED`).
    TokenRefused,
    /// Authenticated, but not allowed (`PERMISSION_DENIED`).
    NotAllowed,
    /// The host name could not be resolved.
    UnknownHost,
    /// The address is not a valid URL.
    BadAddress,
    /// The peer answered that it cannot serve now (`UNAVAILABLE`: shutting down, say).
    Unavailable,
    /// Anything else: the innermost message, or the peer's own words.
    Other(String),
}

impl fmt::Display for LinkCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LinkCause::Refused => "connection refused",
            LinkCause::Reset => "connection reset",
            LinkCause::Closed => "connection closed",
            LinkCause::TimedOut => "timed out",
            LinkCause::Tls => "TLS handshake failed",
            LinkCause::TokenRefused => "token refused",
            LinkCause::NotAllowed => "not allowed",
            LinkCause::UnknownHost => "unknown host",
            LinkCause::BadAddress => "invalid address",
            LinkCause::Unavailable => "unavailable",
            LinkCause::Other(s) => s,
        })
    }
}

/// Finds the short cause of a link failure in `e` and its sources: an `io::Error`'s kind or a
/// gRPC status code wins over text; text (hyper's "connection closed", a TLS or DNS failure)
/// is the fallback; otherwise the innermost message.
pub fn describe_link_error(e: &(dyn Error + 'static)) -> LinkCause {
    let chain: Vec<&(dyn Error + 'static)> =
        std::iter::successors(Some(e), |e: &&(dyn Error + 'static)| (*e).source()).collect();
    // The deepest io::Error says what the socket saw.
    if let Some(cause) = chain
        .iter()
        .rev()
        .filter_map(|e| e.downcast_ref::<io::Error>())
        .find_map(io_cause)
    {
        return cause;
    }
    for e in &chain {
        if let Some(s) = e.downcast_ref::<tonic::Status>()
            && let Some(cause) = status_cause(s)
        {
            return cause;
        }
    }
    for e in chain.iter().rev() {
        if let Some(cause) = text_cause(&e.to_string().to_lowercase()) {
            return cause;
        }
    }
    let innermost = chain.last().map_or_else(String::new, |e| e.to_string());
    LinkCause::Other(innermost)
}

fn io_cause(e: &io::Error) -> Option<LinkCause> {
    use io::ErrorKind as K;
    Some(match e.kind() {
        K::ConnectionRefused => LinkCause::Refused,
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe => LinkCause::Reset,
        K::UnexpectedEof | K::NotConnected => LinkCause::Closed,
        K::TimedOut => LinkCause::TimedOut,
        K::AddrNotAvailable | K::HostUnreachable | K::NetworkUnreachable => LinkCause::Refused,
        // An io::Error of another kind may wrap a TLS or DNS failure: let the text decide.
        _ => return None,
    })
}

fn status_cause(s: &tonic::Status) -> Option<LinkCause> {
    use tonic::Code as C;
    Some(match s.code() {
        C::Unauthenticated => LinkCause::TokenRefused,
        C::PermissionDenied => LinkCause::NotAllowed,
        C::DeadlineExceeded => LinkCause::TimedOut,
        C::Unavailable if s.source().is_none() => LinkCause::Unavailable,
        // The peer's own words say more than a code: a refused Hello, say.
        C::InvalidArgument
        | C::FailedPrecondition
        | C::OutOfRange
        | C::AlreadyExists
        | C::NotFound
        | C::ResourceExhausted
            if !s.message().is_empty() =>
        {
            LinkCause::Other(s.message().to_owned())
        }
        // Unknown, Cancelled, Internal, …: the transport error beneath (or the text) tells.
        _ => return None,
    })
}

fn text_cause(t: &str) -> Option<LinkCause> {
    let has = |words: &[&str]| words.iter().any(|w| t.contains(w));
    Some(if has(&["tls", "certificate", "handshake"]) {
        LinkCause::Tls
    } else if has(&["dns error", "failed to lookup", "name or service not known"]) {
        LinkCause::UnknownHost
    } else if has(&["invalid uri", "invalid format", "invalid authority"]) {
        LinkCause::BadAddress
    } else if has(&["timed out", "timeout", "deadline has elapsed"]) {
        LinkCause::TimedOut
    } else if has(&["connection refused"]) {
        LinkCause::Refused
    } else if has(&["connection reset", "broken pipe"]) {
        LinkCause::Reset
    } else if has(&["connection closed", "closed the stream", "channel closed"]) {
        LinkCause::Closed
    } else {
        return None;
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("wrapper: {0}")]
    struct Wrapper(#[source] Box<dyn Error + Send + Sync + 'static>);

    fn check(e: &(dyn Error + 'static), expected: LinkCause) {
        assert_eq!(describe_link_error(e), expected, "{e:?}");
    }

    #[test]
    fn a_socket_error_deep_in_the_chain_names_the_cause() {
        let reset = io::Error::new(
            io::ErrorKind::BrokenPipe,
            "stream closed because of a broken pipe",
        );
        check(
            &Wrapper(Box::new(Wrapper(Box::new(reset)))),
            LinkCause::Reset,
        );
        let timed_out = io::Error::from(io::ErrorKind::TimedOut);
        check(&Wrapper(Box::new(timed_out)), LinkCause::TimedOut);
    }

    #[test]
    fn status_codes_name_token_and_permission_failures() {
        check(
            &tonic::Status::unauthenticated("invalid token"),
            LinkCause::TokenRefused,
        );
        check(
            &tonic::Status::permission_denied("organiser only"),
            LinkCause::NotAllowed,
        );
        check(
            &tonic::Status::unavailable("shutting down"),
            LinkCause::Unavailable,
        );
        check(
            &tonic::Status::failed_precondition("site revoked"),
            LinkCause::Other("site revoked".into()),
        );
    }

    #[test]
    fn text_is_the_fallback_and_the_innermost_message_the_last_resort() {
        check(
            &tonic::Status::cancelled("operation was canceled: connection closed"),
            LinkCause::Closed,
        );
        check(
            &tonic::Status::unknown("invalid peer certificate: UnknownIssuer"),
            LinkCause::Tls,
        );
        check(
            &Wrapper("something odd".into()),
            LinkCause::Other("something odd".into()),
        );
    }

    #[tokio::test]
    async fn connecting_where_nobody_listens_is_refused() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        drop(listener);
        let err = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .expect("url")
            .connect()
            .await
            .expect_err("nobody listens");
        check(&err, LinkCause::Refused);
        assert_eq!(LinkCause::Refused.to_string(), "connection refused");
    }
}
