//! Console › API keys: the signed-in user's own `sk_…` keys. Create one (a name, an optional
//! lifetime, and policies that narrow it when the user may list policies), see its secret once
//! on the answer to that POST (never in a URL, never stored), and delete one after a
//! confirmation. Every action is the API's actor message; the limits are the domain's.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use maud::{html, Markup};
use tessera_actors::model::{ApiKey, Kind, Policy};
use tessera_actors::user_actor::{CreateApiKey, DeleteApiKey, GetApiKey, IssuedApiKey, ListApiKeys, ListPolicies};
use tessera_actors::{Conflict, DomainError, FieldErrors};
use uuid::Uuid;

use super::{error_summary, field_errors, Console, ConsoleError, Done, Empty, Posted, Section};
use crate::http::ask;
use crate::http::routes::resource;

/// The id of the element holding a new key's secret, which its copy button names.
const SECRET_ELEMENT: &str = "new-api-key";

/// Registers the API keys pages.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/console/api-keys").get(list).post(create))
        .service(resource("/console/api-keys/{api_key_id}/delete").get(confirm_delete).post(delete));
}

/// The "new key" form as posted: its fields, kept to show again when refused. Read from the
/// raw pairs because the policy checkboxes repeat one name.
#[derive(Default)]
struct NewKeyForm {
    name: String,
    expires_in_days: String,
    policy_ids: Vec<String>,
}

impl NewKeyForm {
    /// The form from the posted `(name, value)` pairs (the CSRF field among them is ignored).
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut form = NewKeyForm::default();
        for (name, value) in pairs {
            match name.as_str() {
                "name" => form.name = value,
                "expires_in_days" => form.expires_in_days = value,
                "policy_id" => form.policy_ids.push(value),
                _ => {}
            }
        }
        form
    }

    /// The actor message, or what could not be read as a number or a policy id (the API
    /// answers such input 400 before any rule applies).
    fn message(&self, console: &Console) -> Result<CreateApiKey, FieldErrors> {
        let mut errors = FieldErrors::new();
        let expires_in_days = match self.expires_in_days.trim() {
            "" => None,
            days => {
                days.parse::<i64>().map_err(|_| add::<()>(&mut errors, "expires_in_days", "is not a whole number")).ok()
            }
        };
        let policy_ids: Vec<Uuid> = self
            .policy_ids
            .iter()
            .filter_map(|id| Kind::Policy.parse(id).or_else(|| add(&mut errors, "policy_ids", "names no policy")))
            .collect();
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(CreateApiKey {
            tenant: console.tenant.clone(),
            by: console.principal.clone(),
            name: Some(self.name.clone()),
            policy_ids,
            expires_in_days,
        })
    }
}

/// Adds `message` to `field`; `None`, so a failed parse can say why and yield nothing.
fn add<T>(errors: &mut FieldErrors, field: &str, message: &str) -> Option<T> {
    errors.entry(field.to_owned()).or_default().push(message.to_owned());
    None
}

/// `GET /console/api-keys`: the user's keys and the form for a new one.
async fn list(console: Console, done: web::Query<Done>) -> Result<HttpResponse, ConsoleError> {
    let body = keys_page(&console, None, &NewKeyForm::default(), &FieldErrors::new()).await?;
    Ok(console.page(StatusCode::OK, Section::ApiKeys, "API keys", done.done.as_deref(), body))
}

/// `POST /console/api-keys`: creates a key; the answer (201) is the only page that shows its
/// secret. Refused input comes back in the form with the domain's messages.
async fn create(console: Console, Posted(pairs): Posted<Vec<(String, String)>>) -> Result<HttpResponse, ConsoleError> {
    let form = NewKeyForm::from_pairs(pairs);
    let outcome = match form.message(&console) {
        Ok(message) => ask(&console.state.domain.users, message).await,
        Err(errors) => Err(DomainError::Invalid(errors)),
    };
    let (status, errors) = match outcome {
        Ok(issued) => {
            let body = keys_page(&console, Some(&issued), &NewKeyForm::default(), &FieldErrors::new()).await?;
            return Ok(console.page(StatusCode::CREATED, Section::ApiKeys, "API keys", Some("created"), body));
        }
        Err(DomainError::Invalid(errors)) => (StatusCode::UNPROCESSABLE_ENTITY, errors),
        Err(DomainError::Missing(Kind::Policy)) => {
            (StatusCode::UNPROCESSABLE_ENTITY, error_of("policy_ids", "names a policy that does not exist"))
        }
        Err(DomainError::Conflict(conflict @ Conflict::TooManyKeys)) => {
            (StatusCode::CONFLICT, error_of("keys", &format!("{conflict}: delete one first")))
        }
        Err(error) => return Err(console.fail(error)),
    };
    let body = keys_page(&console, None, &form, &errors).await?;
    Ok(console.page(status, Section::ApiKeys, "API keys", None, body))
}

/// One message for one field.
fn error_of(field: &str, message: &str) -> FieldErrors {
    FieldErrors::from([(field.to_owned(), vec![message.to_owned()])])
}

/// The user's own keys. Callers allowed `api-keys:ListApiKeys` get every key of the tenant
/// from the message (as from the API); this page is about one's own keys, so it shows those.
async fn own_keys(console: &Console) -> Result<Vec<ApiKey>, ConsoleError> {
    let message = ListApiKeys { tenant: console.tenant.clone(), by: console.principal.clone(), span: None };
    let keys = ask(&console.state.domain.users, message).await.map_err(|error| console.fail(error))?;
    Ok(keys.into_iter().filter(|key| key.user_id == console.principal.user.id).collect())
}

/// The tenant's policies when the user may list them (to narrow a key); `None` otherwise.
async fn policies(console: &Console) -> Result<Option<Vec<Policy>>, ConsoleError> {
    let message = ListPolicies { tenant: console.tenant.clone(), by: console.principal.clone(), span: None };
    match ask(&console.state.domain.users, message).await {
        Ok(policies) => Ok(Some(policies)),
        Err(DomainError::Forbidden) => Ok(None),
        Err(error) => Err(console.fail(error)),
    }
}

/// The page: the new key's secret (once, right after creating it), the list, and the form.
async fn keys_page(
    console: &Console,
    issued: Option<&IssuedApiKey>,
    form: &NewKeyForm,
    errors: &FieldErrors,
) -> Result<Markup, ConsoleError> {
    let keys = own_keys(console).await?;
    let policies = policies(console).await?;
    Ok(html! {
        @if let Some(issued) = issued { (secret_card(issued)) }
        p.muted { "Keys act as you on the API (" code { "Authorization: Bearer sk_…" } "). Policies picked for a key narrow it to what they allow." }
        @if keys.is_empty() {
            p { "You have no API keys." }
        } @else {
            (keys_table(console, &keys, policies.as_deref()))
        }
        (new_key_form(console, form, errors, policies.as_deref()))
    })
}

/// The new key's secret with its copy button, and the warning that it is shown this once.
fn secret_card(issued: &IssuedApiKey) -> Markup {
    html! {
        div.card role="status" {
            h2 { "Your new key " q { (issued.key.name) } }
            p { strong { "Copy it now." } " It is shown this once; Tessera keeps only a hash of it." }
            p {
                code.secret id=(SECRET_ELEMENT) { (issued.raw) } " "
                button.secondary type="button" data-copy=(SECRET_ELEMENT) { "Copy" }
            }
        }
    }
}

/// The keys as a table: name, prefix, what narrows them, lifetime, and a delete link.
fn keys_table(console: &Console, keys: &[ApiKey], policies: Option<&[Policy]>) -> Markup {
    let now = Utc::now();
    html! {
        table {
            caption.visually-hidden { "Your API keys" }
            thead { tr { th scope="col" { "Name" } th scope="col" { "Key" } th scope="col" { "Narrowed by" } th scope="col" { "Expires" } th scope="col" { "Created" } th scope="col" { span.visually-hidden { "Actions" } } } }
            tbody {
                @for key in keys {
                    tr {
                        td { (key.name) }
                        td { code { (key.key_prefix) "…" } }
                        td { (narrowing(key, policies)) }
                        td {
                            (key.expires_at.map(|at| at.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_else(|| "never".to_owned()))
                            @if !key.is_live(now) { " " span.badge.off { "expired" } }
                        }
                        td { (key.created_at.format("%Y-%m-%d")) }
                        td { a href=(console.url(&delete_path(key.id))) aria-label={ "Delete the key " (key.name) } { "Delete…" } }
                    }
                }
            }
        }
    }
}

/// What a key is narrowed by: policy names where the user may read them, else their ids.
fn narrowing(key: &ApiKey, policies: Option<&[Policy]>) -> Markup {
    let name = |id: &Uuid| {
        policies
            .and_then(|policies| policies.iter().find(|policy| policy.id == *id))
            .map(|policy| policy.name.clone())
            .unwrap_or_else(|| Kind::Policy.public_id(*id))
    };
    html! {
        @if !key.narrowed {
            span.muted { "nothing (acts with all your access)" }
        } @else if key.policy_ids.is_empty() {
            "its policies, since deleted (allows nothing)"
        } @else {
            @for (index, id) in key.policy_ids.iter().enumerate() { @if index > 0 { ", " } (name(id)) }
        }
    }
}

/// The "new key" form; the policy choice appears when the user may list policies.
fn new_key_form(console: &Console, form: &NewKeyForm, errors: &FieldErrors, policies: Option<&[Policy]>) -> Markup {
    let described = |field: &str| errors.contains_key(field).then(|| format!("error-{field}"));
    html! {
        h2 id="new-key" { "New API key" }
        form.card method="post" action=(console.url("/api-keys")) {
            (console.csrf_field())
            (error_summary(errors))
            div.row {
                div {
                    label for="key-name" { "Name" }
                    input #key-name type="text" name="name" value=(form.name) required autocomplete="off" aria-describedby=[described("name")];
                    (field_errors(errors, "name"))
                }
                div {
                    label for="key-expires" { "Expires after (days; empty: the tenant's limit, or never)" }
                    input #key-expires type="number" name="expires_in_days" value=(form.expires_in_days) min="1" step="1" inputmode="numeric" aria-describedby=[described("expires_in_days")];
                    (field_errors(errors, "expires_in_days"))
                }
            }
            @if let Some(policies) = policies.filter(|policies| !policies.is_empty()) {
                fieldset {
                    legend { "Narrow it to these policies (none: all your access)" }
                    @for policy in policies {
                        @let id = Kind::Policy.public_id(policy.id);
                        div {
                            label {
                                input type="checkbox" name="policy_id" value=(id) checked[form.policy_ids.contains(&id)];
                                " " (policy.name)
                            }
                        }
                    }
                    (field_errors(errors, "policy_ids"))
                }
            }
            (field_errors(errors, "keys"))
            p { button type="submit" { "Create key" } }
        }
    }
}

/// The confirmation page's path for a key.
fn delete_path(id: Uuid) -> String {
    format!("/api-keys/{}/delete", Kind::ApiKey.public_id(id))
}

/// The key id of the path (`key_…`); anything else is not found.
fn key_id(req: &HttpRequest, console: &Console) -> Result<Uuid, ConsoleError> {
    req.match_info()
        .get("api_key_id")
        .and_then(|id| Kind::ApiKey.parse(id))
        .ok_or_else(|| console.fail(DomainError::NotFound))
}

/// `GET /console/api-keys/{api_key_id}/delete`: which key, and the button that deletes it.
async fn confirm_delete(req: HttpRequest, console: Console) -> Result<HttpResponse, ConsoleError> {
    let message =
        GetApiKey { tenant: console.tenant.clone(), by: console.principal.clone(), id: key_id(&req, &console)? };
    let key = ask(&console.state.domain.users, message).await.map_err(|error| console.fail(error))?;
    let body = html! {
        div.card {
            p { "Delete the key " strong { (key.name) } " (" code { (key.key_prefix) "…" } ")? Whatever uses it is refused from then on. This cannot be undone." }
            form method="post" action=(console.url(&delete_path(key.id))) {
                (console.csrf_field())
                button.danger type="submit" { "Delete key" } " "
                a href=(console.url("/api-keys")) { "Cancel" }
            }
        }
    };
    Ok(console.page(StatusCode::OK, Section::ApiKeys, "Delete API key", None, body))
}

/// `POST /console/api-keys/{api_key_id}/delete`: the key stops working at once.
async fn delete(req: HttpRequest, console: Console, _: Posted<Empty>) -> Result<HttpResponse, ConsoleError> {
    let message =
        DeleteApiKey { tenant: console.tenant.clone(), by: console.principal.clone(), id: key_id(&req, &console)? };
    ask(&console.state.domain.users, message).await.map_err(|error| console.fail(error))?;
    Ok(console.redirect("/api-keys?done=deleted"))
}
