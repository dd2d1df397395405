//! Console › Audit log: the tenant's events newest first, filtered by time, actor, action (or a
//! module's actions as `module:*`), target and outcome, paged by cursor ("Older"). It reads with
//! the same `ListAuditEvents` message and `AuditQuery` as `GET /api/v1/audit-events`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Datelike, NaiveDateTime, Utc};
use maud::{html, Markup};
use tessera_actors::audit::{cursor_of, AuditActor, AuditEvent, AuditOutcome};
use tessera_actors::audit_filters::{present, AuditFilters, TimeFormat, MAX_FILTER_CHARS};
use tessera_actors::provisioning_actor::ListAuditEvents;
use tessera_actors::store::AuditQuery;
use tessera_actors::{DomainError, FieldErrors};

use super::{error_summary, field_errors, Console, ConsoleError, Section};
use crate::http::ask;
use crate::http::routes::resource;

/// Events per page.
const PER_PAGE: u32 = 50;

/// Registers the audit log page.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/console/audit").get(list));
}

/// The filters of the page's query string, as typed (empty fields count as absent; `limit` is
/// not the console's to choose: a page is [`PER_PAGE`] events).
type Filters = AuditFilters;

/// The store query the filters ask for (one more event than a page, to know whether there are
/// older ones), or the message of each filter that cannot be read.
fn query(filters: &Filters) -> Result<AuditQuery, FieldErrors> {
    filters.query(PER_PAGE + 1, TimeFormat { parse: time, message: TIME_MESSAGE })
}

const TIME_MESSAGE: &str = "must be a date and time (UTC), e.g. 2025-01-31T09:30";

/// A time as a `datetime-local` input sends it (read as UTC) or as RFC 3339; years 1 to 9999.
fn time(text: &str) -> Option<DateTime<Utc>> {
    let at = DateTime::parse_from_rfc3339(text).map(|at| at.with_timezone(&Utc)).ok().or_else(|| {
        ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%.f"]
            .into_iter()
            .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
            .map(|at| at.and_utc())
    })?;
    (1..=9999).contains(&at.year()).then_some(at)
}

/// `GET /console/audit?from&to&actor&action&target&outcome&cursor`: one page of the log.
async fn list(req: HttpRequest, console: Console) -> Result<HttpResponse, ConsoleError> {
    let filters = web::Query::<Filters>::from_query(req.query_string())
        .map_err(|_| console.bad_query())?
        .into_inner()
        .without_blanks();
    let query = match query(&filters) {
        Ok(query) => query,
        Err(errors) => return Ok(refused(&console, &filters, &errors)),
    };
    let message = ListAuditEvents { tenant: console.tenant.clone(), by: console.principal.clone(), query };
    let mut events = match ask(&console.state.domain.provisioning, message).await {
        Ok(events) => events,
        // The domain's own checks on the filters (e.g. from after to).
        Err(DomainError::Invalid(errors)) => return Ok(refused(&console, &filters, &errors)),
        Err(error) => return Err(console.fail(error)),
    };
    let older = (events.len() > PER_PAGE as usize).then(|| {
        events.truncate(PER_PAGE as usize);
        events.last().map(cursor_of)
    });
    let body = html! {
        (filter_form(&console, &filters, &FieldErrors::new()))
        @if events.is_empty() {
            p { "No events match." }
        } @else {
            (events_table(&events, "Audit events"))
        }
        (pages(&console, &filters, older.flatten()))
    };
    Ok(console.page(StatusCode::OK, Section::Audit, "Audit log", None, body))
}

/// The page for filters that cannot be read: 400, the form with its messages, no events.
fn refused(console: &Console, filters: &Filters, errors: &FieldErrors) -> HttpResponse {
    let body = filter_form(console, filters, errors);
    console.page(StatusCode::BAD_REQUEST, Section::Audit, "Audit log", None, body)
}

/// The filter form (a GET form, so a filtered view is a link).
fn filter_form(console: &Console, filters: &Filters, errors: &FieldErrors) -> Markup {
    let outcome = present(filters.outcome.as_deref()).unwrap_or("");
    html! {
        form.card method="get" action=(console.url("/audit")) role="search" {
            (error_summary(errors))
            div.row {
                (input("from", "From (UTC)", "datetime-local", &filters.from, errors))
                (input("to", "Until (UTC)", "datetime-local", &filters.to, errors))
                div {
                    label for="audit-outcome" { "Outcome" }
                    select #audit-outcome name="outcome" {
                        option value="" selected[outcome.is_empty()] { "Any" }
                        @for value in ["success", "denied", "failure"] {
                            option value=(value) selected[outcome == value] { (value) }
                        }
                    }
                    (field_errors(errors, "outcome"))
                }
            }
            div.row {
                (input("actor", "Actor (usr_… or key_…)", "text", &filters.actor, errors))
                (input("action", "Action (users:UpdateUser, or users:*)", "text", &filters.action, errors))
                (input("target", "Target (SRN)", "text", &filters.target, errors))
            }
            p {
                button type="submit" { "Filter" } " "
                a href=(console.url("/audit")) { "Clear filters" }
            }
        }
    }
}

/// One labelled filter input.
fn input(name: &str, label: &str, kind: &str, value: &Option<String>, errors: &FieldErrors) -> Markup {
    let id = format!("audit-{name}");
    html! {
        div {
            label for=(id) { (label) }
            input id=(id) type=(kind) name=(name) value=[value.as_deref()] maxlength=(MAX_FILTER_CHARS) step=[(kind == "datetime-local").then_some("1")];
            (field_errors(errors, name))
        }
    }
}

/// "Newest" (when paging) and "Older" (when there are older events), keeping the filters.
fn pages(console: &Console, filters: &Filters, older: Option<String>) -> Markup {
    let link = |cursor: Option<&str>| {
        let mut pairs = filters.set();
        pairs.extend(cursor.map(|cursor| ("cursor", cursor)));
        let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        if query.is_empty() {
            console.url("/audit")
        } else {
            format!("{}?{query}", console.url("/audit"))
        }
    };
    html! {
        nav.pager aria-label="Pages" {
            @if present(filters.cursor.as_deref()).is_some() { a href=(link(None)) { "Newest" } }
            @if let Some(cursor) = &older { a href=(link(Some(cursor))) rel="next" { "Older" } }
        }
    }
}

/// A time as the console shows it.
pub(super) fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// Who acted, as the log shows it.
fn actor(actor: &AuditActor) -> Markup {
    html! {
        @match actor {
            AuditActor::User { user_id } => code { (user_id) },
            AuditActor::ApiKey { user_id, api_key_id } => { code { (api_key_id) } " of " code { (user_id) } },
            AuditActor::Anonymous => span.muted { "anonymous" },
            AuditActor::System => span.muted { "system (operator)" },
        }
    }
}

/// A table of events (the audit log, and the SCIM page's last provisioning activity).
pub(super) fn events_table(events: &[AuditEvent], caption: &str) -> Markup {
    html! {
        table {
            caption.visually-hidden { (caption) }
            thead {
                tr {
                    th scope="col" { "Time" } th scope="col" { "Actor" } th scope="col" { "Action" }
                    th scope="col" { "Target" } th scope="col" { "Outcome" } th scope="col" { "Client" }
                    th scope="col" { "Request id" }
                }
            }
            tbody {
                @for event in events {
                    tr {
                        td { (when(event.at)) }
                        td { (actor(&event.actor)) }
                        td { code { (event.action) } }
                        td { code { (event.target) } }
                        td {
                            @if event.outcome == AuditOutcome::Success { span.badge { "success" } }
                            @else { span.badge.off { (event.outcome.as_str()) } }
                        }
                        td { (event.client.as_deref().unwrap_or("—")) }
                        td { (event.request_id.as_deref().unwrap_or("—")) }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_read_as_browsers_and_the_api_send_them() {
        let minute = time("2025-01-31T09:30").unwrap();
        assert_eq!(minute.to_rfc3339(), "2025-01-31T09:30:00+00:00");
        assert_eq!(time("2025-01-31T09:30:15").unwrap().to_rfc3339(), "2025-01-31T09:30:15+00:00");
        assert_eq!(time("2025-01-31T10:30:00+01:00"), Some(minute));
        for bad in ["yesterday", "2025-13-01T00:00", "+10000-01-01T00:00", ""] {
            assert_eq!(time(bad), None, "{bad}");
        }
    }

    #[test]
    fn unreadable_filters_are_named_and_empty_ones_ignored() {
        let filters = Filters {
            from: Some("soon".into()),
            outcome: Some("maybe".into()),
            cursor: Some("x".into()),
            actor: Some("  ".into()),
            ..Filters::default()
        };
        let errors = query(&filters.without_blanks()).unwrap_err();
        assert_eq!(errors.keys().map(String::as_str).collect::<Vec<_>>(), ["cursor", "from", "outcome"]);
        let query = query(&Filters { action: Some("users:*".into()), ..Filters::default() }).unwrap();
        assert_eq!((query.action.as_deref(), query.actor, query.limit), (Some("users:*"), None, PER_PAGE + 1));
    }
}
