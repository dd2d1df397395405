//! Console › SCIM: what an identity provider is configured with to provision this tenant — the
//! SCIM base URL and a provisioning token (the credential `tessera create-scim-token` issues,
//! shown once) — the tokens that exist, with revoke, and the last provisioning activity from the
//! audit trail. Issuing and listing are admin-only in the domain (`IssueScimToken`,
//! `ListScimTokens`); revoking is deleting the token's key.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;
use tessera_actors::audit::AuditEvent;
use tessera_actors::model::{ApiKey, Kind};
use tessera_actors::provisioning_actor::ListAuditEvents;
use tessera_actors::store::AuditQuery;
use tessera_actors::user_actor::provisioning_tokens::{IssueScimToken, ListScimTokens, KEY_DAYS};
use tessera_actors::user_actor::{DeleteApiKey, IssuedApiKey};
use tessera_actors::{DomainError, FieldErrors};

use super::audit::{events_table, when};
use super::tenants::{done, whole_number};
use super::{error_summary, field_errors, Console, ConsoleError, Done, Empty, Posted, Section};
use crate::http::ask;
use crate::http::routes::resource;

/// Provisioning events shown as the last activity.
const LAST_ACTIVITY: u32 = 10;

/// Registers the SCIM pages.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/console/scim").get(show))
        .service(resource("/console/scim/tokens").post(create))
        .service(resource("/console/scim/tokens/{api_key_id}/revoke").post(revoke));
}

/// `GET /console/scim`
async fn show(
    console: Console,
    query: Result<web::Query<Done>, actix_web::Error>,
) -> Result<HttpResponse, ConsoleError> {
    let done = done(&console, query)?;
    let body = scim_page(&console, None, &FieldErrors::new()).await?;
    Ok(console.page(StatusCode::OK, Section::Scim, "SCIM provisioning", done.as_deref(), body))
}

/// The tenant's provisioning tokens (refused unless the console user is an admin).
async fn tokens(console: &Console) -> Result<Vec<ApiKey>, ConsoleError> {
    let message = ListScimTokens { tenant: console.tenant.clone(), by: console.principal.clone() };
    ask(&console.state.domain.users, message).await.map_err(|error| console.fail(error))
}

/// The newest provisioning events (`scim:*`), or `None` when the console user may not read the
/// audit trail.
async fn last_activity(console: &Console) -> Result<Option<Vec<AuditEvent>>, ConsoleError> {
    let query = AuditQuery { action: Some("scim:*".to_owned()), limit: LAST_ACTIVITY, ..AuditQuery::default() };
    let message = ListAuditEvents { tenant: console.tenant.clone(), by: console.principal.clone(), query };
    match ask(&console.state.domain.provisioning, message).await {
        Ok(events) => Ok(Some(events)),
        Err(DomainError::Forbidden) => Ok(None),
        Err(error) => Err(console.fail(error)),
    }
}

/// The page: endpoint, the token just issued (if any), the tokens, the form, the activity.
async fn scim_page(
    console: &Console,
    issued: Option<&IssuedApiKey>,
    errors: &FieldErrors,
) -> Result<Markup, ConsoleError> {
    let tokens = tokens(console).await?;
    let activity = last_activity(console).await?;
    let base_url = format!("{}/scim/v2", console.base);
    Ok(html! {
        h2 { "Endpoint" }
        div.card {
            p { "Configure your identity provider (Okta, Entra ID, …) with this base URL and a provisioning token, sent as a Bearer token." }
            p {
                "SCIM base URL: " code #scim-base-url { (base_url) } " "
                button.secondary type="button" data-copy="scim-base-url" { "Copy" }
            }
        }
        @if let Some(issued) = issued { (issued_token(issued)) }
        h2 { "Provisioning tokens" }
        (token_table(console, &tokens))
        (new_token_form(console, errors))
        h2 { "Last provisioning activity" }
        @match &activity {
            None => p.muted { "Reading the audit trail is not allowed to you." },
            Some(events) if events.is_empty() => p { "No provisioning yet." },
            Some(events) => (events_table(events, "Last provisioning activity")),
        }
        @if activity.is_some() && Section::Audit.visible(console) {
            p { a href={ (console.url("/audit")) "?action=scim%3A*" } { "Every provisioning event in the audit log" } }
        }
    })
}

/// The token just issued: shown on this response only, never again.
fn issued_token(issued: &IssuedApiKey) -> Markup {
    html! {
        div.notice role="status" {
            p { strong { "Copy the new provisioning token now: it is not shown again." } }
            p {
                code #scim-token { (issued.raw) } " "
                button.secondary type="button" data-copy="scim-token" { "Copy" }
            }
            @if let Some(expires) = issued.key.expires_at { p { "It expires " (when(expires)) "." } }
        }
    }
}

fn token_table(console: &Console, tokens: &[ApiKey]) -> Markup {
    html! {
        @if tokens.is_empty() {
            p { "No provisioning token exists." }
        } @else {
            table {
                caption.visually-hidden { "Provisioning tokens" }
                thead { tr { th scope="col" { "Name" } th scope="col" { "Starts with" } th scope="col" { "Created" } th scope="col" { "Expires" } th scope="col" { span.visually-hidden { "Actions" } } } }
                tbody {
                    @for token in tokens {
                        @let id = Kind::ApiKey.public_id(token.id);
                        tr {
                            td { (token.name) }
                            td { code { (token.key_prefix) "…" } }
                            td { (when(token.created_at)) }
                            td { (token.expires_at.map(when).unwrap_or_else(|| "never".to_owned())) }
                            td {
                                form.inline method="post" action=(console.url(&format!("/scim/tokens/{id}/revoke")))
                                  data-confirm="Revoke this token? Provisioning with it stops at once." {
                                    (console.csrf_field())
                                    button.secondary type="submit" aria-label={ "Revoke the token " (token.key_prefix) "…" } { "Revoke" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn new_token_form(console: &Console, errors: &FieldErrors) -> Markup {
    html! {
        form.card method="post" action=(console.url("/scim/tokens")) {
            (console.csrf_field())
            (error_summary(errors))
            div.row {
                div {
                    label for="expires_in_days" { "Lifetime in days (" (KEY_DAYS.start()) "–" (KEY_DAYS.end()) "; empty: until revoked, or the tenant's limit)" }
                    input #expires_in_days type="number" name="expires_in_days" min=(KEY_DAYS.start()) max=(KEY_DAYS.end());
                    (field_errors(errors, "expires_in_days"))
                }
                div.fit { button type="submit" { "Create provisioning token" } }
            }
        }
    }
}

/// The new-token form.
#[derive(Deserialize)]
struct NewToken {
    #[serde(default)]
    expires_in_days: String,
}

/// `POST /console/scim/tokens`: issues a token and shows it once, on this response.
async fn create(console: Console, Posted(form): Posted<NewToken>) -> Result<HttpResponse, ConsoleError> {
    let mut errors = FieldErrors::new();
    let expires_in_days = whole_number(&mut errors, "expires_in_days", &form.expires_in_days);
    if errors.is_empty() {
        let message = IssueScimToken { tenant: console.tenant.clone(), by: console.principal.clone(), expires_in_days };
        match ask(&console.state.domain.users, message).await {
            Ok(issued) => {
                let body = scim_page(&console, Some(&issued), &errors).await?;
                return Ok(console.page(StatusCode::OK, Section::Scim, "SCIM provisioning", None, body));
            }
            Err(DomainError::Invalid(invalid)) => errors = invalid,
            Err(error) => return Err(console.fail(error)),
        }
    }
    let body = scim_page(&console, None, &errors).await?;
    Ok(console.page(StatusCode::UNPROCESSABLE_ENTITY, Section::Scim, "SCIM provisioning", None, body))
}

/// `POST /console/scim/tokens/{api_key_id}/revoke`: deletes a provisioning token's key (only
/// a provisioning token's: other keys are managed on their own page).
async fn revoke(req: HttpRequest, console: Console, _: Posted<Empty>) -> Result<HttpResponse, ConsoleError> {
    let id = req.match_info().get("api_key_id").and_then(|id| Kind::ApiKey.parse(id));
    let id = id.ok_or_else(|| console.fail(DomainError::NotFound))?;
    if !tokens(&console).await?.iter().any(|token| token.id == id) {
        return Err(console.fail(DomainError::NotFound));
    }
    let message = DeleteApiKey { tenant: console.tenant.clone(), by: console.principal.clone(), id };
    ask(&console.state.domain.users, message).await.map_err(|error| console.fail(error))?;
    Ok(console.redirect("/scim?done=revoked"))
}
