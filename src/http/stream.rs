//! Whole lists answered as JSON written chunk by chunk as the UserActor reads them (issue #12):
//! a directory of 100,000 users is never held in memory whole, nor serialized twice, and its
//! first bytes leave before its last record is read. The first chunk is read before the answer
//! starts, so a refusal or an outage still gets its status and the dialect's error shape; a
//! failure after that ends the connection without the closing bracket, which no client can take
//! for a complete list.

use actix_web::web::Bytes;
use actix_web::HttpResponse;
use futures::stream;
use serde::Serialize;
use tessera_actors::user_actor::{ListUsers, MAX_CHUNK};
use tessera_actors::{DomainError, Principal, TenantId, UserSummary};

use super::{ask, AppState};

/// What surrounds the records: `[` … `]`, or an envelope such as `{"data":[` … `]}`.
#[derive(Debug, Clone, Copy)]
pub struct Envelope {
    pub open: &'static str,
    pub close: &'static str,
}

/// A bare JSON array (SOAT).
pub const ARRAY: Envelope = Envelope { open: "[", close: "]" };

/// Every user of the tenant in creation order, each as `render` shows its summary inside
/// `envelope`.
pub async fn users<S: Serialize + 'static>(
    state: &AppState,
    tenant: TenantId,
    by: Principal,
    envelope: Envelope,
    render: fn(&UserSummary) -> S,
) -> Result<HttpResponse, DomainError> {
    let users = state.domain.users.clone();
    let chunk = move |after| {
        let message = ListUsers { tenant: tenant.clone(), by: by.clone(), after, limit: MAX_CHUNK };
        let users = users.clone();
        async move { ask(&users, message).await }
    };
    let first = chunk(None).await?;
    let next = move |last: &UserSummary| chunk(Some(ListUsers::after(last)));
    Ok(respond(envelope, first, next, render))
}

/// Where the writer is: the chunk to write next, or the record the next chunk starts after
/// (neither once the list is closed), and whether a record was written already (so the next
/// one needs a comma).
struct Writer<T> {
    chunk: Option<Vec<T>>,
    resume: Option<T>,
    wrote_any: bool,
}

/// A 200 whose body writes `first`, then each chunk `next(last record)` reads, until a chunk is
/// shorter than [`MAX_CHUNK`]. Each chunk's bytes leave before the next chunk is read.
fn respond<T, S, N, F>(envelope: Envelope, first: Vec<T>, next: N, render: fn(&T) -> S) -> HttpResponse
where
    T: 'static,
    S: Serialize + 'static,
    N: Fn(&T) -> F + 'static,
    F: std::future::Future<Output = Result<Vec<T>, DomainError>>,
{
    let mut opening = envelope.open.as_bytes().to_vec();
    let start = Writer { chunk: Some(first), resume: None, wrote_any: false };
    let next = std::rc::Rc::new(next);
    let chunks = stream::unfold(start, move |mut writer| {
        let next = next.clone();
        let mut bytes = std::mem::take(&mut opening);
        async move {
            let mut chunk = match (writer.chunk.take(), writer.resume.take()) {
                (Some(chunk), _) => chunk,
                (None, Some(last)) => match next(&last).await {
                    Ok(chunk) => chunk,
                    Err(error) => return Some((Err(broken(error)), writer)),
                },
                (None, None) => return None,
            };
            for record in &chunk {
                if writer.wrote_any {
                    bytes.push(b',');
                }
                writer.wrote_any = true;
                if let Err(error) = serde_json::to_writer(&mut bytes, &render(record)) {
                    let error = DomainError::Unavailable(format!("encoding a list: {error}"));
                    return Some((Err(broken(error)), writer));
                }
            }
            if u64::try_from(chunk.len()).is_ok_and(|len| len >= MAX_CHUNK) {
                writer.resume = chunk.pop();
            } else {
                bytes.extend_from_slice(envelope.close.as_bytes());
            }
            Some((Ok(Bytes::from(bytes)), writer))
        }
    });
    HttpResponse::Ok().content_type("application/json").streaming(chunks)
}

/// Logs why a list stopped half-way; actix then ends the connection.
fn broken(error: DomainError) -> actix_web::Error {
    tracing::warn!(%error, "a streamed list stopped before its end");
    actix_web::error::ErrorServiceUnavailable("list interrupted")
}
