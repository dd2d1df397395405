//! The console's frame: the navigation (only the sections the user may use), notices after a
//! saved form, field errors beside their inputs, and the pager of every list.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use maud::{html, Markup};
use tessera_actors::model::Kind;
use tessera_actors::{FieldErrors, TenantId};

use super::session::Console;
use crate::http::html::{document, respond};

/// The console's sections, in navigation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Users,
    Groups,
    Policies,
    ApiKeys,
    Providers,
    Scim,
    Audit,
    Tenants,
}

impl Section {
    const ALL: [Section; 8] = [
        Section::Users,
        Section::Groups,
        Section::Policies,
        Section::ApiKeys,
        Section::Providers,
        Section::Scim,
        Section::Audit,
        Section::Tenants,
    ];

    fn label(self) -> &'static str {
        match self {
            Section::Users => "Users",
            Section::Groups => "Groups",
            Section::Policies => "Policies",
            Section::ApiKeys => "API keys",
            Section::Providers => "Identity providers",
            Section::Scim => "SCIM",
            Section::Audit => "Audit log",
            Section::Tenants => "Tenants",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Section::Users => "/users",
            Section::Groups => "/groups",
            Section::Policies => "/policies",
            Section::ApiKeys => "/api-keys",
            Section::Providers => "/providers",
            Section::Scim => "/scim",
            Section::Audit => "/audit",
            Section::Tenants => "/tenants",
        }
    }

    /// Whether the console user may open the section: the action its page reads with.
    pub fn visible(self, console: &Console) -> bool {
        let tenant: &TenantId = &console.tenant;
        match self {
            Section::Users => console.can("users:ListUsers", &Kind::User.srn_all(tenant)),
            Section::Groups => console.can("groups:ListGroups", &Kind::Group.srn_all(tenant)),
            Section::Policies => console.can("policies:ListPolicies", &Kind::Policy.srn_all(tenant)),
            // Everyone manages their own keys.
            Section::ApiKeys => true,
            Section::Providers => {
                console.can("identity-providers:GetConfiguration", &format!("srn:{tenant}:configuration:*"))
            }
            Section::Scim => console.principal.is_admin(),
            Section::Audit => console.can("audit:ListEvents", &format!("srn:{tenant}:audit-event:*")),
            Section::Tenants => {
                tenant.is_default()
                    && console.can("tenants:ListTenants", &format!("srn:{}:tenant:*", TenantId::DEFAULT))
            }
        }
    }

    /// The first section the user may open (the console's landing page).
    pub fn first_visible(console: &Console) -> Section {
        Section::ALL.into_iter().find(|section| section.visible(console)).unwrap_or(Section::ApiKeys)
    }

    /// The section's URL path below `/console`.
    pub fn href(self) -> &'static str {
        self.path()
    }
}

/// What a notice code (`?done=…` after a redirect) says; unknown codes say nothing, so no
/// text of a URL is ever shown as a message.
fn notice(code: &str) -> Option<&'static str> {
    Some(match code {
        "created" => "Created.",
        "saved" => "Saved.",
        "deleted" => "Deleted.",
        "revoked" => "Revoked.",
        "unlinked" => "Unlinked.",
        "disabled" => "The account is disabled and its sessions have ended.",
        "enabled" => "The account is enabled.",
        "password" => "The password is set; the user's other sessions have ended.",
        "added" => "Added.",
        "removed" => "Removed.",
        _ => return None,
    })
}

impl Console {
    /// A console page: the navigation with `section` current, an optional notice, and `body`.
    pub fn page(
        &self,
        status: StatusCode,
        section: Section,
        title: &str,
        done: Option<&str>,
        body: Markup,
    ) -> HttpResponse {
        let nav = html! {
            a.visually-hidden href="#main" { "Skip to content" }
            nav.console aria-label="Console" {
                @for candidate in Section::ALL {
                    @if candidate.visible(self) {
                        a href=(self.url(candidate.path()))
                          aria-current=[(candidate == section).then_some("page")] { (candidate.label()) }
                    }
                }
                span.who {
                    span { (self.principal.user.email_or_username()) }
                    form method="post" action={ (self.base) "/sign_out" } { (self.csrf_field()) button type="submit" { "Sign out" } }
                }
            }
        };
        let body = html! {
            @if let Some(text) = done.and_then(notice) { p.notice role="status" { (text) } }
            (body)
        };
        respond(status, document(&self.base, title, Some(nav), body))
    }
}

/// The messages for one field, shown under its input.
pub fn field_errors(errors: &FieldErrors, field: &str) -> Markup {
    html! {
        @if let Some(messages) = errors.get(field) {
            @for message in messages { p.field-error id={ "error-" (field) } { (field) " " (message) } }
        }
    }
}

/// Every message of `errors` as a list at the top of a form.
pub fn error_summary(errors: &FieldErrors) -> Markup {
    html! {
        @if !errors.is_empty() {
            div.errors role="alert" {
                p { "Not saved:" }
                ul { @for (field, messages) in errors { @for message in messages { li { (field) " " (message) } } } }
            }
        }
    }
}

/// The span to read for page `page` (1-based) of `per_page` items: one more than a page, so
/// that [`split_more`] can tell whether another follows.
pub fn span(page: u64, per_page: usize) -> tessera_actors::store::Span {
    let per_page = per_page as u64;
    tessera_actors::store::Span { offset: page.max(1).saturating_sub(1).saturating_mul(per_page), limit: per_page + 1 }
}

/// A page read with [`span`]: its items, and whether more follow.
pub fn split_more<T>(mut items: Vec<T>, per_page: usize) -> (Vec<T>, bool) {
    let more = items.len() > per_page;
    items.truncate(per_page);
    (items, more)
}

/// "Previous · Page N · Next" for a list read a page at a time (no list counts the tenant);
/// `more` says whether a next page exists; links go to `href(page)`.
pub fn pager(page: u64, more: bool, href: impl Fn(u64) -> String) -> Markup {
    html! {
        nav.pager aria-label="Pages" {
            @if page > 1 { a href=(href(page - 1)) rel="prev" { "Previous" } }
            span { "Page " (page) }
            @if more { a href=(href(page + 1)) rel="next" { "Next" } }
        }
    }
}
