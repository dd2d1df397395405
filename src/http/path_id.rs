//! The id segment of a route (`/users/{user_id}`, …). `web::Path<String>` cannot be used: under
//! `/t/{tenant}` the match holds two segments and would not deserialize into one string.

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};

/// The value of the route's one dynamic segment other than `tenant`.
pub struct PathId(pub String);

impl std::ops::Deref for PathId {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl FromRequest for PathId {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let id = req.match_info().iter().find(|(name, _)| *name != "tenant").map(|(_, value)| value.to_owned());
        ready(Ok(PathId(id.unwrap_or_default())))
    }
}
