//! Console › Identity providers: the tenant's OIDC and SAML providers and password sign-in,
//! read and changed with the messages behind `/v0/configuration` (`GetConfiguration`,
//! `UpdateConfiguration`), so the validation and its messages are the domain's. Each provider
//! shows the URLs to register at it (OIDC redirect URI; SAML SP metadata and ACS URLs) with copy
//! buttons, and a link that starts a sign-in through it.
//!
//! Client secrets are write-only: a stored one is never put in a page, and an edit that leaves
//! the field empty keeps it. A form changes one provider: it is applied to the configuration as
//! read just before the write (the configuration message replaces whole provider lists and takes
//! no version, so a list change landing between that read and the write would be replaced).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tessera_actors::configuration::{Configuration, OidcProvider, SamlProvider};
use tessera_actors::provisioning_actor::{self, ChangeProvider, GetConfiguration, ProviderChange, UpdateConfiguration};
use tessera_actors::{DomainError, FieldErrors};

use super::{error_summary, field_errors, Console, ConsoleError, Done, Empty, Posted, Section};
use crate::http::ask;
use crate::http::routes::resource;

/// Registers the identity providers pages; each protocol has the same five routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/console/providers").get(list))
        .service(resource("/console/providers/local-auth").post(set_local_auth))
        .service(resource("/console/providers/oidc").get(new_form::<OidcForm>).post(create::<OidcForm>))
        .service(resource("/console/providers/oidc/{provider}").get(edit_form::<OidcForm>).post(update::<OidcForm>))
        .service(
            resource("/console/providers/oidc/{provider}/delete")
                .get(confirm_delete::<OidcForm>)
                .post(delete::<OidcForm>),
        )
        .service(resource("/console/providers/saml").get(new_form::<SamlForm>).post(create::<SamlForm>))
        .service(resource("/console/providers/saml/{provider}").get(edit_form::<SamlForm>).post(update::<SamlForm>))
        .service(
            resource("/console/providers/saml/{provider}/delete")
                .get(confirm_delete::<SamlForm>)
                .post(delete::<SamlForm>),
        );
}

/// The resource name the configuration messages authorize against.
fn configuration_srn(console: &Console) -> String {
    format!("srn:{}:configuration:*", console.tenant)
}

/// Whether the console user may change the configuration (to show the forms; the actor
/// decides again).
fn may_update(console: &Console) -> bool {
    console.can("identity-providers:UpdateConfiguration", &configuration_srn(console))
}

/// The tenant's configuration (refused without `identity-providers:GetConfiguration`).
async fn configuration(console: &Console) -> Result<Configuration, DomainError> {
    let message = GetConfiguration { tenant: console.tenant.clone(), by: console.principal.clone() };
    Ok(ask(&console.state.domain.provisioning, message).await?.configuration)
}

/// Applies `changes` (keys replace, lists replace whole lists) as `/v0/configuration` does.
async fn change(console: &Console, changes: Map<String, Value>) -> Result<Configuration, DomainError> {
    let message = UpdateConfiguration {
        tenant: console.tenant.clone(),
        by: console.principal.clone(),
        changes,
        base_url: console.base.clone(),
    };
    Ok(ask(&console.state.domain.provisioning, message).await?.configuration)
}

/// `GET /console/providers`: password sign-in and every provider with its URLs.
async fn list(console: Console, done: web::Query<Done>) -> Result<HttpResponse, ConsoleError> {
    let config = configuration(&console).await.map_err(|error| console.fail(error))?;
    let editable = may_update(&console);
    let body = html! {
        (local_auth(&console, &config, editable))
        p.muted { "Test sign-in opens a provider's sign-in in a new tab; completing it signs this browser in as that person (use a private window to keep this session)." }
        h2 { "OpenID Connect" }
        @if config.openid_connect_providers.is_empty() { p { "No OpenID Connect provider." } }
        @for provider in &config.openid_connect_providers { (provider_card::<OidcForm>(&console, &provider.id, &provider.label, oidc_details(&console, provider), editable)) }
        @if editable { p { a.button href=(console.url("/providers/oidc")) { "Add an OpenID Connect provider" } } }
        h2 { "SAML 2.0" }
        @if config.saml_identity_providers.is_empty() { p { "No SAML provider." } }
        @for provider in &config.saml_identity_providers { (provider_card::<SamlForm>(&console, &provider.id, &provider.label, saml_details(provider), editable)) }
        @if editable { p { a.button href=(console.url("/providers/saml")) { "Add a SAML provider" } } }
    };
    Ok(console.page(StatusCode::OK, Section::Providers, "Identity providers", done.done.as_deref(), body))
}

/// Password sign-in: its state, and the button that turns it on or off.
fn local_auth(console: &Console, config: &Configuration, editable: bool) -> Markup {
    let enabled = config.local_auth_enabled;
    html! {
        h2 { "Password sign-in" }
        div.card {
            p {
                "Signing in with a username or email and a password is "
                @if enabled { span.badge { "on" } } @else { span.badge.off { "off" } } "."
            }
            @if editable {
                form method="post" action=(console.url("/providers/local-auth")) {
                    (console.csrf_field())
                    input type="hidden" name="enabled" value=(!enabled);
                    @if enabled {
                        p.muted { "Turned off, only the providers below sign people in: keep one that works for an administrator." }
                        button.danger type="submit" { "Turn password sign-in off" }
                    } @else {
                        button type="submit" { "Turn password sign-in on" }
                    }
                }
            }
        }
    }
}

/// The password sign-in form.
#[derive(Deserialize)]
struct LocalAuthForm {
    enabled: bool,
}

/// `POST /console/providers/local-auth`
async fn set_local_auth(console: Console, Posted(form): Posted<LocalAuthForm>) -> Result<HttpResponse, ConsoleError> {
    let changes = Map::from_iter([("local_auth_enabled".to_owned(), Value::Bool(form.enabled))]);
    change(&console, changes).await.map_err(|error| console.fail(error))?;
    Ok(console.redirect("/providers?done=saved"))
}

/// A URL to copy: the text in an element with an id, and the button that copies it.
fn copyable(element: &str, url: &str) -> Markup {
    html! { code id=(element) { (url) } " " button.secondary type="button" data-copy=(element) { "Copy" } }
}

/// One provider: its label and id, the `details` of its protocol, and its actions.
fn provider_card<F: ProviderForm>(console: &Console, id: &str, label: &str, details: Markup, editable: bool) -> Markup {
    let path = F::PROTOCOL.path(Some(id));
    html! {
        div.card {
            h3 { (label) " " span.muted { "(" code { (id) } ")" } }
            (details)
            p {
                a.button.secondary href=(F::PROTOCOL.sign_in_url(&console.base, id)) target="_blank" rel="noopener" {
                    "Test sign-in" span.visually-hidden { " with " (label) }
                }
                @if editable {
                    " " a href=(console.url(&path)) { "Edit" span.visually-hidden { " " (label) } }
                    " " a href=(console.url(&format!("{path}/delete"))) { "Delete…" span.visually-hidden { " " (label) } }
                }
            }
        }
    }
}

/// What an OIDC provider needs registered, and how it is set up (never its secret).
fn oidc_details(console: &Console, provider: &OidcProvider) -> Markup {
    html! {
        dl {
            dt { "Redirect URI (register it at the provider)" }
            dd { (copyable(&format!("oidc-{}-redirect", provider.id), &provider.effective_redirect_uri(&console.base))) }
            dt { "Discovery document" } dd { code { (provider.discovery_document_uri) } }
            dt { "Client id" } dd { code { (provider.client_id) } }
            dt { "Client secret" }
            dd { @if provider.client_secret.is_empty() { span.badge.off { "unreadable: enter it again" } } @else { "stored (not shown)" } }
            dt { "Scope" } dd { code { (provider.scope) } }
            dt { "New users" } dd { (accounts(provider.auto_create_users, provider.link_existing_by_email)) }
        }
    }
}

/// What a SAML provider needs registered (our SP metadata and ACS), and how it is set up.
fn saml_details(provider: &SamlProvider) -> Markup {
    let (metadata, acs) = saml_urls(provider);
    html! {
        dl {
            dt { "SP metadata URL (the SP entity id; register it at the IdP)" }
            dd { (copyable(&format!("saml-{}-metadata", provider.id), &metadata)) }
            dt { "Assertion consumer service (ACS) URL" }
            dd { (copyable(&format!("saml-{}-acs", provider.id), &acs)) }
            dt { "Signatures" }
            dd {
                "requests " (on(provider.sign_requests)) ", metadata " (on(provider.sign_metadata))
                ", assertions required " (on(provider.signed_assertion_in_resp)) ", envelopes required " (on(provider.signed_envelopes_in_resp))
            }
            dt { "New users" } dd { (accounts(provider.auto_create_users, provider.link_existing_by_email)) }
        }
    }
}

/// The SP metadata and ACS URLs of a SAML provider (as the SP serves them).
fn saml_urls(provider: &SamlProvider) -> (String, String) {
    (provider.sp_metadata_url(), provider.acs_url())
}

/// "yes" or "no".
fn on(flag: bool) -> &'static str {
    if flag {
        "yes"
    } else {
        "no"
    }
}

/// How a first sign-in finds or makes its account.
fn accounts(auto_create: bool, link_by_email: bool) -> Markup {
    html! {
        (if auto_create { "created on first sign-in" } else { "only existing accounts sign in" })
        @if link_by_email { "; " strong { "linked to an existing account by email" } }
    }
}

/// The two protocols, which share the pages' code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    Oidc,
    Saml,
}

impl Protocol {
    /// The domain's name for the protocol.
    fn domain(self) -> provisioning_actor::Protocol {
        match self {
            Protocol::Oidc => provisioning_actor::Protocol::Oidc,
            Protocol::Saml => provisioning_actor::Protocol::Saml,
        }
    }

    /// The configuration key of the protocol's provider list.
    fn list_key(self) -> &'static str {
        provisioning_actor::list_key(self.domain())
    }

    /// The console path of the "add" form (`None`) or of a provider.
    fn path(self, id: Option<&str>) -> String {
        let slug = match self {
            Protocol::Oidc => "oidc",
            Protocol::Saml => "saml",
        };
        match id {
            Some(id) => format!("/providers/{slug}/{id}"),
            None => format!("/providers/{slug}"),
        }
    }

    /// Where a sign-in through a provider starts (the links of the sign-in page).
    fn sign_in_url(self, base: &str, id: &str) -> String {
        match self {
            Protocol::Oidc => format!("{base}/auth/oidc/{id}"),
            Protocol::Saml => format!("{base}/auth/saml/auth/signin/{id}"),
        }
    }

    /// A name for titles.
    fn name(self) -> &'static str {
        match self {
            Protocol::Oidc => "OpenID Connect provider",
            Protocol::Saml => "SAML provider",
        }
    }
}

/// A provider's form: what the add and edit pages of one protocol differ in.
trait ProviderForm: DeserializeOwned + Sized + 'static {
    /// The protocol whose list and routes the form is for.
    const PROTOCOL: Protocol;

    /// The empty form of a new provider.
    fn blank() -> Self;

    /// The form of a stored provider, secrets left empty; `None` when there is none.
    fn stored(config: &Configuration, id: &str) -> Option<Self>;

    /// The form for the provider at `id` (an edit keeps the id of its path).
    fn with_id(self, id: String) -> Self;

    /// The fields as the configuration's JSON, laid over the stored provider's (`{}` for a new
    /// one), so what the form does not show, and an empty secret, stay as stored.
    fn fields(&self) -> Map<String, Value>;

    /// The inputs, with `errors` beside them; `editing` shows the id read-only.
    fn inputs(&self, errors: &FieldErrors, editing: bool) -> Markup;
}

/// A form of a provider at `id`, or of a new one.
struct FormPage<'a, F> {
    form: &'a F,
    editing: Option<&'a str>,
    errors: &'a FieldErrors,
}

/// The add or edit page with `errors` beside the fields.
fn form_page<F: ProviderForm>(console: &Console, status: StatusCode, page: FormPage<'_, F>) -> HttpResponse {
    let protocol = F::PROTOCOL;
    let title = match page.editing {
        Some(id) => format!("Edit {} {id}", protocol.name()),
        None => format!("New {}", protocol.name()),
    };
    let body = html! {
        p { a href=(console.url("/providers")) { "← All identity providers" } }
        form.card method="post" action=(console.url(&protocol.path(page.editing))) {
            (console.csrf_field())
            (error_summary(page.errors))
            (page.form.inputs(page.errors, page.editing.is_some()))
            p { button type="submit" { @if page.editing.is_some() { "Save" } @else { "Add provider" } } }
        }
    };
    console.page(status, Section::Providers, &title, None, body)
}

/// The `{provider}` of the path.
fn path_provider(req: &HttpRequest) -> String {
    req.match_info().get("provider").unwrap_or_default().to_owned()
}

/// `GET /console/providers/{oidc,saml}`: the add form.
async fn new_form<F: ProviderForm>(console: Console) -> Result<HttpResponse, ConsoleError> {
    configuration(&console).await.map_err(|error| console.fail(error))?;
    let page = FormPage { form: &F::blank(), editing: None, errors: &FieldErrors::new() };
    Ok(form_page(&console, StatusCode::OK, page))
}

/// `GET /console/providers/{oidc,saml}/{provider}`: the edit form (no secret in it).
async fn edit_form<F: ProviderForm>(req: HttpRequest, console: Console) -> Result<HttpResponse, ConsoleError> {
    let id = path_provider(&req);
    let config = configuration(&console).await.map_err(|error| console.fail(error))?;
    let form = F::stored(&config, &id).ok_or_else(|| console.fail(DomainError::NotFound))?;
    let page = FormPage { form: &form, editing: Some(&id), errors: &FieldErrors::new() };
    Ok(form_page(&console, StatusCode::OK, page))
}

/// `POST /console/providers/{oidc,saml}`: adds a provider.
async fn create<F: ProviderForm>(console: Console, Posted(form): Posted<F>) -> Result<HttpResponse, ConsoleError> {
    save(&console, form, None).await
}

/// `POST /console/providers/{oidc,saml}/{provider}`: changes a provider (not its id).
async fn update<F: ProviderForm>(
    req: HttpRequest,
    console: Console,
    Posted(form): Posted<F>,
) -> Result<HttpResponse, ConsoleError> {
    let id = path_provider(&req);
    save(&console, form.with_id(id.clone()), Some(&id)).await
}

/// Where the provider `id` is in the protocol's list as `config` has it (for placing the
/// domain's messages; the change itself applies to the list as the write finds it).
fn position(config: &Configuration, protocol: Protocol, id: &str) -> Option<usize> {
    match protocol {
        Protocol::Oidc => config.openid_connect_providers.iter().position(|provider| provider.id == id),
        Protocol::Saml => config.saml_identity_providers.iter().position(|provider| provider.id == id),
    }
}

/// How many providers of the protocol `config` has (where an added one lands).
fn count(config: &Configuration, protocol: Protocol) -> usize {
    match protocol {
        Protocol::Oidc => config.openid_connect_providers.len(),
        Protocol::Saml => config.saml_identity_providers.len(),
    }
}

/// Applies one provider change with `ChangeProvider`.
async fn change_provider(console: &Console, protocol: Protocol, change: ProviderChange) -> Result<(), DomainError> {
    let message = ChangeProvider {
        tenant: console.tenant.clone(),
        by: console.principal.clone(),
        protocol: protocol.domain(),
        change,
        base_url: console.base.clone(),
    };
    ask(&console.state.domain.provisioning, message).await.map(|_| ())
}

/// Adds the form's provider (`editing`: changes the one with that id); refused input comes back
/// with the domain's messages beside the fields (422).
async fn save<F: ProviderForm>(
    console: &Console,
    form: F,
    editing: Option<&str>,
) -> Result<HttpResponse, ConsoleError> {
    let config = configuration(console).await.map_err(|error| console.fail(error))?;
    let (index, change) = match editing {
        Some(id) => {
            let index = position(&config, F::PROTOCOL, id).ok_or_else(|| console.fail(DomainError::NotFound))?;
            (index, ProviderChange::Edit(id.to_owned(), form.fields()))
        }
        None => (count(&config, F::PROTOCOL), ProviderChange::Add(form.fields())),
    };
    let (status, errors) = match change_provider(console, F::PROTOCOL, change).await {
        Ok(()) => {
            let done = if editing.is_some() { "saved" } else { "created" };
            return Ok(console.redirect(&format!("/providers?done={done}")));
        }
        Err(DomainError::InvalidDocument(document)) => {
            (StatusCode::UNPROCESSABLE_ENTITY, provider_errors(&document, F::PROTOCOL.list_key(), index))
        }
        Err(DomainError::Conflict(conflict)) => {
            (StatusCode::CONFLICT, FieldErrors::from([("configuration".to_owned(), vec![conflict.to_string()])]))
        }
        Err(error) => return Err(console.fail(error)),
    };
    Ok(form_page(console, status, FormPage { form: &form, editing, errors: &errors }))
}

/// The domain's error document (shaped like the configuration: a provider list has one object
/// of field messages per element) as the messages of the form of the provider at `index`.
/// Other keys' messages go to the summary under their own key.
fn provider_errors(document: &Value, list_key: &str, index: usize) -> FieldErrors {
    let mut errors = FieldErrors::new();
    let Value::Object(keys) = document else {
        push(&mut errors, "configuration", document);
        return errors;
    };
    for (key, value) in keys {
        match value {
            Value::Array(items) if key == list_key => list_errors(&mut errors, key, items, index),
            _ => push(&mut errors, key, value),
        }
    }
    errors
}

/// The messages of a provider list: the element at `index` is the form's, others are named by
/// their place; messages about the list itself go to `id` when they name a provider id (a
/// duplicate), else to the summary.
fn list_errors(errors: &mut FieldErrors, key: &str, items: &[Value], index: usize) {
    for (position, item) in items.iter().enumerate() {
        match item {
            Value::Object(fields) if position == index => {
                fields.iter().for_each(|(field, messages)| push(errors, field, messages))
            }
            Value::Object(fields) => fields
                .iter()
                .for_each(|(field, messages)| push(errors, &format!("{key}[{position}].{field}"), messages)),
            Value::String(message) if message.contains("provider id") => push(errors, "id", item),
            _ => push(errors, key, item),
        }
    }
}

/// Adds the message(s) of `messages` (a string or a list of them) to `field`.
fn push(errors: &mut FieldErrors, field: &str, messages: &Value) {
    let texts: Vec<String> = match messages {
        Value::Array(items) => items.iter().map(text).collect(),
        other => vec![text(other)],
    };
    errors.entry(field.to_owned()).or_default().extend(texts);
}

/// A message as text (strings without their quotes).
fn text(value: &Value) -> String {
    value.as_str().map(str::to_owned).unwrap_or_else(|| value.to_string())
}

/// `GET /console/providers/{oidc,saml}/{provider}/delete`: which provider, and the button.
async fn confirm_delete<F: ProviderForm>(req: HttpRequest, console: Console) -> Result<HttpResponse, ConsoleError> {
    let id = path_provider(&req);
    let config = configuration(&console).await.map_err(|error| console.fail(error))?;
    F::stored(&config, &id).ok_or_else(|| console.fail(DomainError::NotFound))?;
    let path = F::PROTOCOL.path(Some(&id));
    let body = html! {
        div.card {
            p { "Delete the " (F::PROTOCOL.name()) " " code { (id) } "? Nobody can sign in through it any more; the accounts of people who did remain. This cannot be undone." }
            form method="post" action=(console.url(&format!("{path}/delete"))) {
                (console.csrf_field())
                button.danger type="submit" { "Delete provider" } " "
                a href=(console.url("/providers")) { "Cancel" }
            }
        }
    };
    Ok(console.page(StatusCode::OK, Section::Providers, "Delete identity provider", None, body))
}

/// `POST /console/providers/{oidc,saml}/{provider}/delete`: the list without it.
async fn delete<F: ProviderForm>(
    req: HttpRequest,
    console: Console,
    _: Posted<Empty>,
) -> Result<HttpResponse, ConsoleError> {
    let id = path_provider(&req);
    change_provider(&console, F::PROTOCOL, ProviderChange::Remove(id)).await.map_err(|error| console.fail(error))?;
    Ok(console.redirect("/providers?done=deleted"))
}

/// A labelled input of a provider form, its messages under it.
struct Input<'a> {
    name: &'a str,
    label: &'a str,
    kind: &'a str,
    hint: Option<&'a str>,
}

impl Input<'_> {
    /// A text-like input (`text`, `url`, `password`) holding `value`.
    fn render(&self, value: &str, errors: &FieldErrors) -> Markup {
        let id = format!("field-{}", self.name);
        html! {
            div {
                label for=(id) { (self.label) }
                @if let Some(hint) = self.hint { p.muted id={ "hint-" (self.name) } { (hint) } }
                input id=(id) type=(self.kind) name=(self.name) value=(value)
                    autocomplete=(if self.kind == "password" { "new-password" } else { "off" })
                    aria-describedby=[describedby(self, errors)] aria-invalid=[errors.contains_key(self.name).then_some("true")];
                (field_errors(errors, self.name))
            }
        }
    }

    /// A text area holding `value`.
    fn area(&self, value: &str, errors: &FieldErrors) -> Markup {
        let id = format!("field-{}", self.name);
        html! {
            div {
                label for=(id) { (self.label) }
                @if let Some(hint) = self.hint { p.muted id={ "hint-" (self.name) } { (hint) } }
                textarea id=(id) name=(self.name) spellcheck="false"
                    aria-describedby=[describedby(self, errors)] aria-invalid=[errors.contains_key(self.name).then_some("true")] { (value) }
                (field_errors(errors, self.name))
            }
        }
    }

    /// A checkbox, `checked` or not (an unchecked box sends nothing: the form reads that as off).
    fn checkbox(&self, checked: bool, errors: &FieldErrors) -> Markup {
        html! {
            div {
                label {
                    input type="checkbox" name=(self.name) value="true" checked[checked]
                        aria-describedby=[describedby(self, errors)];
                    " " (self.label)
                }
                @if let Some(hint) = self.hint { p.muted id={ "hint-" (self.name) } { (hint) } }
                (field_errors(errors, self.name))
            }
        }
    }
}

/// The ids of the hint and the messages that describe an input.
fn describedby(input: &Input<'_>, errors: &FieldErrors) -> Option<String> {
    let ids: Vec<String> = [
        input.hint.map(|_| format!("hint-{}", input.name)),
        errors.contains_key(input.name).then(|| format!("error-{}", input.name)),
    ]
    .into_iter()
    .flatten()
    .collect();
    (!ids.is_empty()).then(|| ids.join(" "))
}

/// The id input: free on a new provider, shown read-only on an edit (the id is in every URL
/// registered at the provider; to change it, add a new provider).
fn id_input(id: &str, errors: &FieldErrors, editing: bool) -> Markup {
    let input = Input {
        name: "id",
        label: "Id (letters, digits, - and _; part of the provider's URLs)",
        kind: "text",
        hint: None,
    };
    html! {
        @if editing {
            div { p { strong { "Id" } " " code { (id) } } }
        } @else {
            (input.render(id, errors))
        }
    }
}

/// A checkbox's value: present means on.
fn is_on(value: &Option<String>) -> bool {
    value.as_deref().is_some_and(|value| !value.is_empty() && value != "false")
}

/// A checkbox's field value from a stored flag.
fn flag(on: bool) -> Option<String> {
    on.then(|| "true".to_owned())
}

/// `value` as a JSON string, or `null` when empty (the domain's default then applies).
fn or_null(value: &str) -> Value {
    if value.trim().is_empty() {
        Value::Null
    } else {
        Value::String(value.to_owned())
    }
}

/// The OIDC provider form.
#[derive(Deserialize, Default)]
#[serde(default)]
struct OidcForm {
    id: String,
    label: String,
    discovery_document_uri: String,
    client_id: String,
    /// Write-only: empty keeps the stored secret.
    client_secret: String,
    scope: String,
    redirect_uri: String,
    auto_create_users: Option<String>,
    link_existing_by_email: Option<String>,
}

impl ProviderForm for OidcForm {
    const PROTOCOL: Protocol = Protocol::Oidc;

    fn blank() -> Self {
        OidcForm::default()
    }

    fn stored(config: &Configuration, id: &str) -> Option<Self> {
        let provider = config.oidc_provider(id)?;
        Some(OidcForm {
            id: provider.id.clone(),
            label: provider.label.clone(),
            discovery_document_uri: provider.discovery_document_uri.clone(),
            client_id: provider.client_id.clone(),
            client_secret: String::new(),
            scope: provider.scope.clone(),
            redirect_uri: provider.redirect_uri.clone().unwrap_or_default(),
            auto_create_users: flag(provider.auto_create_users),
            link_existing_by_email: flag(provider.link_existing_by_email),
        })
    }

    fn with_id(self, id: String) -> Self {
        OidcForm { id, ..self }
    }

    fn fields(&self) -> Map<String, Value> {
        let mut fields = Map::from_iter([
            ("id".to_owned(), json!(self.id)),
            ("label".to_owned(), json!(self.label)),
            ("discovery_document_uri".to_owned(), json!(self.discovery_document_uri)),
            ("client_id".to_owned(), json!(self.client_id)),
            ("scope".to_owned(), or_null(&self.scope)),
            ("redirect_uri".to_owned(), or_null(&self.redirect_uri)),
            ("auto_create_users".to_owned(), json!(is_on(&self.auto_create_users))),
            ("link_existing_by_email".to_owned(), json!(is_on(&self.link_existing_by_email))),
        ]);
        if !self.client_secret.is_empty() {
            fields.insert("client_secret".to_owned(), json!(self.client_secret));
        }
        fields
    }

    fn inputs(&self, errors: &FieldErrors, editing: bool) -> Markup {
        let secret_hint = if editing {
            "Leave empty to keep the stored secret (it is never shown)."
        } else {
            "It is never shown again."
        };
        html! {
            div.row {
                (id_input(&self.id, errors, editing))
                (Input { name: "label", label: "Label (on the sign-in button)", kind: "text", hint: None }.render(&self.label, errors))
            }
            (Input { name: "discovery_document_uri", label: "Discovery document URI", kind: "url",
                     hint: Some("The provider's …/.well-known/openid-configuration") }.render(&self.discovery_document_uri, errors))
            div.row {
                (Input { name: "client_id", label: "Client id", kind: "text", hint: None }.render(&self.client_id, errors))
                (Input { name: "client_secret", label: "Client secret", kind: "password", hint: Some(secret_hint) }.render("", errors))
            }
            div.row {
                (Input { name: "scope", label: "Scope", kind: "text", hint: Some("Empty: openid email profile.") }.render(&self.scope, errors))
                (Input { name: "redirect_uri", label: "Redirect URI", kind: "url",
                         hint: Some("Empty: this server's callback for the id.") }.render(&self.redirect_uri, errors))
            }
            (Input { name: "auto_create_users", label: "Create an account on a first sign-in that matches none", kind: "checkbox", hint: None }
                .checkbox(is_on(&self.auto_create_users), errors))
            (Input { name: "link_existing_by_email", label: "Link a first sign-in to an existing account with its verified email", kind: "checkbox",
                     hint: Some("Risky: whoever controls the address at this provider takes that account over.") }
                .checkbox(is_on(&self.link_existing_by_email), errors))
        }
    }
}

/// The SAML provider form.
#[derive(Deserialize, Default)]
#[serde(default)]
struct SamlForm {
    id: String,
    label: String,
    metadata: String,
    base_url: String,
    sign_requests: Option<String>,
    sign_metadata: Option<String>,
    signed_assertion_in_resp: Option<String>,
    signed_envelopes_in_resp: Option<String>,
    auto_create_users: Option<String>,
    link_existing_by_email: Option<String>,
}

impl ProviderForm for SamlForm {
    const PROTOCOL: Protocol = Protocol::Saml;

    /// Signed requests, metadata, assertions and envelopes start on, as the domain's defaults.
    fn blank() -> Self {
        let on = flag(true);
        SamlForm {
            sign_requests: on.clone(),
            sign_metadata: on.clone(),
            signed_assertion_in_resp: on.clone(),
            signed_envelopes_in_resp: on,
            ..SamlForm::default()
        }
    }

    fn stored(config: &Configuration, id: &str) -> Option<Self> {
        let provider = config.saml_provider(id)?;
        Some(SamlForm {
            id: provider.id.clone(),
            label: provider.label.clone(),
            metadata: provider.metadata.clone(),
            base_url: provider.base_url.clone(),
            sign_requests: flag(provider.sign_requests),
            sign_metadata: flag(provider.sign_metadata),
            signed_assertion_in_resp: flag(provider.signed_assertion_in_resp),
            signed_envelopes_in_resp: flag(provider.signed_envelopes_in_resp),
            auto_create_users: flag(provider.auto_create_users),
            link_existing_by_email: flag(provider.link_existing_by_email),
        })
    }

    fn with_id(self, id: String) -> Self {
        SamlForm { id, ..self }
    }

    fn fields(&self) -> Map<String, Value> {
        Map::from_iter([
            ("id".to_owned(), json!(self.id)),
            ("label".to_owned(), json!(self.label)),
            ("metadata".to_owned(), json!(self.metadata)),
            ("base_url".to_owned(), or_null(&self.base_url)),
            ("sign_requests".to_owned(), json!(is_on(&self.sign_requests))),
            ("sign_metadata".to_owned(), json!(is_on(&self.sign_metadata))),
            ("signed_assertion_in_resp".to_owned(), json!(is_on(&self.signed_assertion_in_resp))),
            ("signed_envelopes_in_resp".to_owned(), json!(is_on(&self.signed_envelopes_in_resp))),
            ("auto_create_users".to_owned(), json!(is_on(&self.auto_create_users))),
            ("link_existing_by_email".to_owned(), json!(is_on(&self.link_existing_by_email))),
        ])
    }

    fn inputs(&self, errors: &FieldErrors, editing: bool) -> Markup {
        let checkbox = |name: &'static str, label: &'static str, value: &Option<String>| {
            Input { name, label, kind: "checkbox", hint: None }.checkbox(is_on(value), errors)
        };
        html! {
            div.row {
                (id_input(&self.id, errors, editing))
                (Input { name: "label", label: "Label (on the sign-in button)", kind: "text", hint: None }.render(&self.label, errors))
            }
            (Input { name: "metadata", label: "IdP metadata (XML)", kind: "textarea",
                     hint: Some("The identity provider's SAML metadata document, with its IDPSSODescriptor.") }.area(&self.metadata, errors))
            (Input { name: "base_url", label: "Base of the SP URLs", kind: "url",
                     hint: Some("Empty: this server's /auth/saml.") }.render(&self.base_url, errors))
            fieldset {
                legend { "Signatures" }
                (checkbox("sign_requests", "Sign authentication requests", &self.sign_requests))
                (checkbox("sign_metadata", "Sign the SP metadata", &self.sign_metadata))
                (checkbox("signed_assertion_in_resp", "Require signed assertions", &self.signed_assertion_in_resp))
                (checkbox("signed_envelopes_in_resp", "Require signed responses (envelopes)", &self.signed_envelopes_in_resp))
            }
            (checkbox("auto_create_users", "Create an account on a first sign-in that matches none", &self.auto_create_users))
            (Input { name: "link_existing_by_email", label: "Link a first sign-in to an existing account with its email", kind: "checkbox",
                     hint: Some("Risky: whoever controls the address at this provider takes that account over.") }
                .checkbox(is_on(&self.link_existing_by_email), errors))
        }
    }
}
