//! The admin console (`/console`, and `/t/{tenant}/console`): server-rendered pages for
//! administrators, over the same actor messages as the APIs. It adds no rule of its own: what a
//! user cannot do through the API they cannot do here, and what they may not do is not shown.

mod layout;
mod session;
mod users;

use actix_web::{web, HttpResponse};

use crate::http::routes::resource;
pub use layout::{error_summary, field_errors, pager, Section};
pub use session::{Console, ConsoleError, Posted};

/// Registers the console's pages (inside the tenant scope and at the root).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/console").get(landing));
    users::routes(cfg);
}

/// `GET /console`: the first section the user may open.
async fn landing(console: Console) -> HttpResponse {
    console.redirect(Section::first_visible(&console).href())
}
