//! Console › Tenants (the operator's section, in the default tenant): list the tenants, create
//! one with its first admin, change a tenant's hostnames and settings, and delete one after the
//! operator has typed its id. Every action is the `tenants:*` message `/api/v1/tenants` sends; the
//! domain refuses callers outside the default tenant and the deletion of the default tenant.

use std::str::FromStr;

use actix::{Handler, Message};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;
use tessera_actors::model::tenant_limits as limits;
use tessera_actors::provisioning_actor::{
    CreateTenant, DeleteTenant, FirstAdmin, GetTenant, ListTenants, ProvisioningActor, SettingsChange, TenantCaller,
    TenantView, UpdateTenant,
};
use tessera_actors::{Conflict, DomainError, FieldErrors};

use super::audit::when;
use super::{error_summary, field_errors, Console, ConsoleError, Done, Posted, Section};
use crate::http::routes::resource;
use crate::http::{ask, tenant_base_url};

/// Registers the tenants pages.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/console/tenants").get(list).post(create))
        .service(resource("/console/tenants/{tenant_id}").get(show).post(update))
        .service(resource("/console/tenants/{tenant_id}/delete").get(confirm_delete).post(delete));
}

/// An optional whole number typed in a form: `None` when left empty, else the number, or a
/// message on `field` when it is not one.
pub(super) fn whole_number<T: FromStr>(errors: &mut FieldErrors, field: &str, text: &str) -> Option<T> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let number = text.parse().ok();
    if number.is_none() {
        errors.entry(field.to_owned()).or_default().push("must be a whole number".to_owned());
    }
    number
}

/// The console user, as the tenant lifecycle messages name their caller.
fn caller(console: &Console) -> TenantCaller {
    TenantCaller::Principal(Box::new(console.principal.clone()))
}

/// Sends a tenant lifecycle message; domain refusals come back as they are.
async fn tenants<M, T>(console: &Console, message: M) -> Result<T, DomainError>
where
    M: Message<Result = Result<T, DomainError>> + Send + 'static,
    ProvisioningActor: Handler<M>,
    T: Send + 'static,
{
    ask(&console.state.domain.provisioning, message).await
}

/// The tenant id of the path.
fn path_tenant(req: &HttpRequest) -> String {
    req.match_info().get("tenant_id").unwrap_or_default().to_owned()
}

fn tenant_path(id: &str) -> String {
    format!("/tenants/{id}")
}

/// Where a tenant is served.
fn base_of(console: &Console, view: &TenantView) -> String {
    tenant_base_url(&console.state.external_url, &view.tenant.id, &view.tenant.hostnames)
}

/// Hostnames typed one per line (or separated by commas or spaces).
fn hostnames(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c.is_whitespace()).filter(|host| !host.is_empty()).map(str::to_owned).collect()
}

/// A conflict shown beside the field it concerns.
fn conflict_errors(conflict: Conflict) -> FieldErrors {
    let field = if conflict == Conflict::HostnameTaken { "hostnames" } else { "id" };
    FieldErrors::from([(field.to_owned(), vec![conflict.to_string()])])
}

/// The notice code of a page's query; a query that does not parse is a 400 page.
pub(super) fn done(
    console: &Console,
    query: Result<web::Query<Done>, actix_web::Error>,
) -> Result<Option<String>, ConsoleError> {
    Ok(query.map_err(|_| console.bad_query())?.into_inner().done)
}

/// `GET /console/tenants`: every tenant, and the form that creates one.
async fn list(
    console: Console,
    query: Result<web::Query<Done>, actix_web::Error>,
) -> Result<HttpResponse, ConsoleError> {
    let done = done(&console, query)?;
    let body = list_page(&console, &NewTenantForm::default(), &FieldErrors::new()).await?;
    Ok(console.page(StatusCode::OK, Section::Tenants, "Tenants", done.as_deref(), body))
}

async fn list_page(console: &Console, form: &NewTenantForm, errors: &FieldErrors) -> Result<Markup, ConsoleError> {
    let views = tenants(console, ListTenants { by: caller(console) }).await.map_err(|error| console.fail(error))?;
    Ok(html! {
        table {
            caption.visually-hidden { "Tenants" }
            thead { tr { th scope="col" { "Id" } th scope="col" { "Name" } th scope="col" { "Served at" } th scope="col" { "Status" } th scope="col" { "Created" } } }
            tbody {
                @for view in &views {
                    @let id = view.tenant.id.as_str();
                    tr {
                        td { a href=(console.url(&tenant_path(id))) { (id) } }
                        td { (view.tenant.display_name) }
                        td { code { (base_of(console, view)) } }
                        td { (status_badge(view)) }
                        td { (when(view.tenant.created_at)) }
                    }
                }
            }
        }
        (new_tenant_form(console, form, errors))
    })
}

fn status_badge(view: &TenantView) -> Markup {
    html! {
        @if view.tenant.is_active() { span.badge { "active" } } @else { span.badge.off { "deleting" } }
    }
}

/// The "new tenant" form.
#[derive(Deserialize, Default)]
struct NewTenantForm {
    #[serde(default)]
    id: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    hostnames: String,
    #[serde(default)]
    admin_username: String,
    #[serde(default)]
    admin_password: String,
}

fn new_tenant_form(console: &Console, form: &NewTenantForm, errors: &FieldErrors) -> Markup {
    html! {
        h2 id="new-tenant" { "New tenant" }
        form.card method="post" action=(console.url("/tenants")) {
            (console.csrf_field())
            (error_summary(errors))
            div.row {
                div {
                    label for="new-id" { "Id (lowercase letters, digits and dashes)" }
                    input #new-id type="text" name="id" value=(form.id) maxlength="63" autocomplete="off" required;
                    (field_errors(errors, "id"))
                }
                div {
                    label for="new-display-name" { "Name (optional)" }
                    input #new-display-name type="text" name="display_name" value=(form.display_name) maxlength=(limits::DISPLAY_NAME);
                    (field_errors(errors, "display_name"))
                }
            }
            (hostnames_field("new-hostnames", &form.hostnames, errors))
            div.row {
                div {
                    label for="new-admin-username" { "First admin's username (optional)" }
                    input #new-admin-username type="text" name="admin_username" value=(form.admin_username) maxlength="254" autocomplete="off";
                    (field_errors(errors, "admin.username"))
                }
                div {
                    label for="new-admin-password" { "First admin's password" }
                    input #new-admin-password type="password" name="admin_password" autocomplete="new-password";
                    (field_errors(errors, "admin.password"))
                }
            }
            p.muted { "Without hostnames the tenant is served under " code { (console.state.external_url) "/t/<id>" } "." }
            p { button type="submit" { "Create tenant" } }
        }
    }
}

fn hostnames_field(id: &str, value: &str, errors: &FieldErrors) -> Markup {
    html! {
        div {
            label for=(id) { "Hostnames (one per line, optional; the first makes the tenant's base URL)" }
            textarea id=(id) name="hostnames" rows="3" { (value) }
            (field_errors(errors, "hostnames"))
        }
    }
}

/// `POST /console/tenants`: creates a tenant (and its first admin, when one is named).
async fn create(console: Console, Posted(form): Posted<NewTenantForm>) -> Result<HttpResponse, ConsoleError> {
    let admin = (!form.admin_username.trim().is_empty() || !form.admin_password.is_empty())
        .then(|| FirstAdmin { username: form.admin_username.trim().to_owned(), password: form.admin_password.clone() });
    let display_name = Some(form.display_name.trim().to_owned()).filter(|name| !name.is_empty());
    let message = CreateTenant {
        by: caller(&console),
        id: form.id.trim().to_owned(),
        display_name,
        hostnames: hostnames(&form.hostnames),
        settings: SettingsChange::default(),
        admin,
    };
    let (status, errors) = match tenants(&console, message).await {
        Ok(view) => return Ok(console.redirect(&format!("{}?done=created", tenant_path(view.tenant.id.as_str())))),
        Err(DomainError::Invalid(errors)) => (StatusCode::UNPROCESSABLE_ENTITY, errors),
        Err(DomainError::Conflict(conflict)) => (StatusCode::CONFLICT, conflict_errors(conflict)),
        Err(error) => return Err(console.fail(error)),
    };
    let body = list_page(&console, &form, &errors).await?;
    Ok(console.page(status, Section::Tenants, "Tenants", None, body))
}

/// The settings form, as shown (the tenant's values) or as posted.
#[derive(Deserialize, Default)]
struct SettingsForm {
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    hostnames: String,
    #[serde(default)]
    password_min_length: String,
    #[serde(default)]
    session_lifetime_minutes: String,
    #[serde(default)]
    api_key_max_lifetime_days: String,
    /// A checkbox: present when checked.
    local_auth_enabled: Option<String>,
}

impl SettingsForm {
    /// The form filled with `view`'s values.
    fn of(view: &TenantView) -> Self {
        let number = |value: Option<u32>| value.map(|value| value.to_string()).unwrap_or_default();
        let settings = &view.tenant.settings;
        SettingsForm {
            display_name: view.tenant.display_name.clone(),
            hostnames: view.tenant.hostnames.join("\n"),
            password_min_length: number(settings.password_min_length),
            session_lifetime_minutes: number(settings.session_lifetime_minutes),
            api_key_max_lifetime_days: number(settings.api_key_max_lifetime_days),
            local_auth_enabled: view.local_auth_enabled.then(|| "on".to_owned()),
        }
    }

    /// Every setting as the form states it (an empty number returns to the default), or the
    /// fields that are not numbers.
    fn change(&self) -> Result<SettingsChange, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut number = |field: &str, text: &str| Some(whole_number(&mut errors, &format!("settings.{field}"), text));
        let change = SettingsChange {
            password_min_length: number("password_min_length", &self.password_min_length),
            session_lifetime_minutes: number("session_lifetime_minutes", &self.session_lifetime_minutes),
            api_key_max_lifetime_days: number("api_key_max_lifetime_days", &self.api_key_max_lifetime_days),
            local_auth_enabled: Some(self.local_auth_enabled.is_some()),
        };
        if errors.is_empty() {
            Ok(change)
        } else {
            Err(errors)
        }
    }
}

/// `GET /console/tenants/{tenant_id}`: the tenant, where it is served, its settings.
async fn show(
    req: HttpRequest,
    console: Console,
    query: Result<web::Query<Done>, actix_web::Error>,
) -> Result<HttpResponse, ConsoleError> {
    let done = done(&console, query)?;
    let view = get_tenant(&console, &path_tenant(&req)).await?;
    let body = tenant_page(&console, &view, &SettingsForm::of(&view), &FieldErrors::new());
    Ok(console.page(StatusCode::OK, Section::Tenants, &view.tenant.display_name, done.as_deref(), body))
}

async fn get_tenant(console: &Console, id: &str) -> Result<TenantView, ConsoleError> {
    let message = GetTenant { by: caller(console), id: id.to_owned() };
    tenants(console, message).await.map_err(|error| console.fail(error))
}

/// One URL with its copy button.
fn url_row(label: &str, id: &str, url: &str) -> Markup {
    html! {
        dt { (label) }
        dd { code id=(id) { (url) } " " button.secondary type="button" data-copy=(id) { "Copy" } }
    }
}

fn tenant_page(console: &Console, view: &TenantView, form: &SettingsForm, errors: &FieldErrors) -> Markup {
    let tenant = &view.tenant;
    let base = base_of(console, view);
    let path = tenant_path(tenant.id.as_str());
    html! {
        p { a href=(console.url("/tenants")) { "← All tenants" } }
        div.card {
            dl {
                dt { "Id" } dd { code { (tenant.id.as_str()) } }
                dt { "Status" } dd { (status_badge(view)) }
                (url_row("Base URL", "tenant-base-url", &base))
                (url_row("SCIM base URL", "tenant-scim-url", &format!("{base}/scim/v2")))
                (url_row("Console", "tenant-console-url", &format!("{base}/console")))
                dt { "Created" } dd { (when(tenant.created_at)) }
                dt { "Changed" } dd { (when(tenant.updated_at)) }
            }
        }
        @if tenant.is_active() {
            h2 { "Settings" }
            (settings_form(console, &path, form, errors))
            h2 { "Delete" }
            @if tenant.id.is_default() {
                p.muted { "The default tenant serves the bare paths and is never deleted." }
            } @else {
                p { a.button.secondary href=(console.url(&format!("{path}/delete"))) { "Delete this tenant…" } }
            }
        } @else {
            p { "This tenant is being deleted: it is served nowhere, and disappears once its records are removed." }
        }
    }
}

/// One optional number of the settings form, with its allowed range.
fn number_field(
    name: &str,
    label: &str,
    value: &str,
    range: &std::ops::RangeInclusive<u32>,
    errors: &FieldErrors,
) -> Markup {
    html! {
        div {
            label for=(name) { (label) " (" (range.start()) "–" (range.end()) "; empty: the default)" }
            input id=(name) type="number" name=(name) value=(value) min=(range.start()) max=(range.end());
            (field_errors(errors, &format!("settings.{name}")))
        }
    }
}

fn settings_form(console: &Console, path: &str, form: &SettingsForm, errors: &FieldErrors) -> Markup {
    html! {
        form.card method="post" action=(console.url(path)) {
            (console.csrf_field())
            (error_summary(errors))
            div.row {
                div {
                    label for="display_name" { "Name" }
                    input #display_name type="text" name="display_name" value=(form.display_name) maxlength=(limits::DISPLAY_NAME) required;
                    (field_errors(errors, "display_name"))
                }
            }
            (hostnames_field("hostnames", &form.hostnames, errors))
            div.row {
                (number_field("password_min_length", "Minimum password length", &form.password_min_length, &limits::PASSWORD_MIN_LENGTH, errors))
                (number_field("session_lifetime_minutes", "Session lifetime in minutes", &form.session_lifetime_minutes, &limits::SESSION_LIFETIME_MINUTES, errors))
                (number_field("api_key_max_lifetime_days", "Longest API key lifetime in days", &form.api_key_max_lifetime_days, &limits::API_KEY_MAX_LIFETIME_DAYS, errors))
            }
            p {
                input #local_auth_enabled type="checkbox" name="local_auth_enabled" checked[form.local_auth_enabled.is_some()];
                " " label for="local_auth_enabled" { "People may sign in with a password" }
            }
            p { button type="submit" { "Save" } }
        }
    }
}

/// `POST /console/tenants/{tenant_id}`: the name, hostnames and settings as the form states them.
async fn update(
    req: HttpRequest,
    console: Console,
    Posted(form): Posted<SettingsForm>,
) -> Result<HttpResponse, ConsoleError> {
    let id = path_tenant(&req);
    let (status, errors) = match form.change() {
        Err(errors) => (StatusCode::UNPROCESSABLE_ENTITY, errors),
        Ok(settings) => {
            let message = UpdateTenant {
                by: caller(&console),
                id: id.clone(),
                display_name: Some(form.display_name.clone()),
                hostnames: Some(hostnames(&form.hostnames)),
                settings,
            };
            match tenants(&console, message).await {
                Ok(_) => return Ok(console.redirect(&format!("{}?done=saved", tenant_path(&id)))),
                Err(DomainError::Invalid(errors)) => (StatusCode::UNPROCESSABLE_ENTITY, errors),
                Err(DomainError::Conflict(conflict)) => (StatusCode::CONFLICT, conflict_errors(conflict)),
                Err(error) => return Err(console.fail(error)),
            }
        }
    };
    let view = get_tenant(&console, &id).await?;
    let body = tenant_page(&console, &view, &form, &errors);
    Ok(console.page(status, Section::Tenants, &view.tenant.display_name, None, body))
}

/// `GET /console/tenants/{tenant_id}/delete`: what deleting removes, and the typed confirmation.
async fn confirm_delete(req: HttpRequest, console: Console) -> Result<HttpResponse, ConsoleError> {
    let view = get_tenant(&console, &path_tenant(&req)).await?;
    Ok(delete_page(&console, &view, StatusCode::OK, &FieldErrors::new()))
}

fn delete_page(console: &Console, view: &TenantView, status: StatusCode, errors: &FieldErrors) -> HttpResponse {
    let id = view.tenant.id.as_str();
    let path = tenant_path(id);
    let body = html! {
        div.card {
            p { "Delete the tenant " strong { (id) } " (" (view.tenant.display_name) ")? It stops being served at once, and every user, group, policy, API key, session and identity provider of it is removed. This cannot be undone." }
            form method="post" action=(console.url(&format!("{path}/delete"))) {
                (console.csrf_field())
                (error_summary(errors))
                div {
                    label for="confirm" { "Type the tenant's id, " code { (id) } ", to confirm" }
                    input #confirm type="text" name="confirm" autocomplete="off" required;
                    (field_errors(errors, "confirm"))
                }
                p {
                    button.danger type="submit" { "Delete tenant" } " "
                    a href=(console.url(&path)) { "Cancel" }
                }
            }
        }
    };
    console.page(status, Section::Tenants, "Delete tenant", None, body)
}

/// The typed confirmation.
#[derive(Deserialize)]
struct DeleteForm {
    #[serde(default)]
    confirm: String,
}

/// `POST /console/tenants/{tenant_id}/delete`: deletes the tenant when the typed id matches;
/// otherwise nothing is deleted (422).
async fn delete(
    req: HttpRequest,
    console: Console,
    Posted(form): Posted<DeleteForm>,
) -> Result<HttpResponse, ConsoleError> {
    let view = get_tenant(&console, &path_tenant(&req)).await?;
    let id = view.tenant.id.as_str();
    if form.confirm.trim() != id {
        let message = format!("does not match the tenant's id ({id}); nothing was deleted");
        let errors = FieldErrors::from([("confirm".to_owned(), vec![message])]);
        return Ok(delete_page(&console, &view, StatusCode::UNPROCESSABLE_ENTITY, &errors));
    }
    match tenants(&console, DeleteTenant { by: caller(&console), id: id.to_owned() }).await {
        Ok(_) => Ok(console.redirect("/tenants?done=deleted")),
        // The default tenant, for one.
        Err(DomainError::Invalid(errors)) => {
            Ok(delete_page(&console, &view, StatusCode::UNPROCESSABLE_ENTITY, &errors))
        }
        Err(error) => Err(console.fail(error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostnames_are_read_one_per_line_or_separated() {
        assert_eq!(
            hostnames(" id.acme.test\r\nsso.acme.test, x.test \n\n"),
            ["id.acme.test", "sso.acme.test", "x.test"]
        );
        assert!(hostnames("  \n").is_empty());
    }

    #[test]
    fn numbers_are_optional_and_named_when_unreadable() {
        let mut errors = FieldErrors::new();
        assert_eq!(whole_number::<u32>(&mut errors, "n", " 12 "), Some(12));
        assert_eq!(whole_number::<u32>(&mut errors, "n", ""), None);
        assert!(errors.is_empty());
        assert_eq!(whole_number::<u32>(&mut errors, "n", "-1"), None);
        assert_eq!(errors["n"], ["must be a whole number"]);
    }

    #[test]
    fn the_settings_form_states_every_setting() {
        let form = SettingsForm {
            password_min_length: "12".into(),
            session_lifetime_minutes: "x".into(),
            ..Default::default()
        };
        assert!(form.change().unwrap_err().contains_key("settings.session_lifetime_minutes"));
        let form = SettingsForm { password_min_length: "12".into(), ..Default::default() };
        let change = form.change().unwrap();
        assert_eq!(change.password_min_length, Some(Some(12)));
        assert_eq!(change.session_lifetime_minutes, Some(None), "empty: back to the default");
        assert_eq!(change.local_auth_enabled, Some(false), "an unchecked box is not sent");
    }
}
