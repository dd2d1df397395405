//! `If-Match` for SOAT's full-replacement writes (a group's members, a user's or group's attached
//! policies): the version a write requires, so that two writers who read the same version cannot
//! silently overwrite each other (the loser gets 412).

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest};
use tessera_actors::scim::{parse_etags, Precondition};

/// The version an `If-Match` header requires: `None` without one (or with `*`), else the one
/// version named; a tag we did not issue, or several, can never match.
pub struct IfMatch(pub Option<u64>);

impl FromRequest for IfMatch {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let required = req.headers().get(header::IF_MATCH).and_then(|value| {
            match value.to_str().map(parse_etags).unwrap_or(Precondition::Foreign) {
                Precondition::Any => None,
                other => Some(other.single().unwrap_or(u64::MAX)),
            }
        });
        ready(Ok(IfMatch(required)))
    }
}
