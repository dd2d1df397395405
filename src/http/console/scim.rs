//! Console › scim (being built).

use actix_web::web;

/// Registers the pages of this section.
pub fn routes(_cfg: &mut web::ServiceConfig) {}
