//! The admin console (`/console`, and `/t/{tenant}/console`): server-rendered pages for
//! administrators, over the same actor messages as the APIs. It adds no rule of its own: what a
//! user cannot do through the API they cannot do here, and what they may not do is not shown.

mod api_keys;
mod audit;
mod groups;
mod layout;
mod policies;
mod providers;
mod scim;
mod session;
mod tenants;
mod users;

use actix_web::{web, HttpResponse};

use crate::http::routes::resource;
pub use layout::{error_summary, field_errors, pager, span, split_more, Section};
pub use session::{path_id, Console, ConsoleError, Done, Empty, Posted};

/// Registers the console's pages (inside the tenant scope and at the root).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/console").get(landing));
    users::routes(cfg);
    groups::routes(cfg);
    policies::routes(cfg);
    api_keys::routes(cfg);
    providers::routes(cfg);
    scim::routes(cfg);
    audit::routes(cfg);
    tenants::routes(cfg);
}

/// `GET /console`: the first section the user may open.
async fn landing(console: Console) -> HttpResponse {
    console.redirect(Section::first_visible(&console).href())
}
