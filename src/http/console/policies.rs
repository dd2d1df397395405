//! Console › Policies: the list, a JSON editor to create and change a policy (the validator's
//! messages shown beside the text, which is kept as typed), delete after a confirmation, and the
//! "who can do what" simulator. Every action is one actor message; the simulator's answer and
//! who may ask it are the actor's (`SimulateAccess`).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;
use tessera_actors::model::{Kind, Policy};
use tessera_actors::policy::{catalog, Decision};
use tessera_actors::user_actor::{
    CreatePolicy, DeletePolicy, GetPolicy, ListPolicies, Reason, SimulateAccess, Simulation, UpdatePolicy,
};
use tessera_actors::{DomainError, FieldErrors};
use uuid::Uuid;

use super::{
    error_summary, field_errors, pager, path_id, span, split_more, Console, ConsoleError, Empty, Posted, Section,
};
use crate::http::ask;
use crate::http::routes::resource;

/// Policies shown per page of the list.
const PER_PAGE: usize = 50;

/// What a new policy's editor starts with: the shape of a document, ready to edit.
const TEMPLATE: &str = r#"{
  "statement": [
    {
      "effect": "Allow",
      "action": ["users:GetUser"],
      "resource": ["*"]
    }
  ]
}"#;

/// Registers the policies pages (the fixed paths before `{policy_id}`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/console/policies").get(list).post(create))
        .service(resource("/console/policies/new").get(new))
        .service(resource("/console/policies/simulate").get(simulate))
        .service(resource("/console/policies/{policy_id}").get(show).post(update))
        .service(resource("/console/policies/{policy_id}/delete").get(confirm_delete).post(delete));
}

/// The console path of a policy's page.
pub(super) fn policy_path(id: Uuid) -> String {
    format!("/policies/{}", Kind::Policy.public_id(id))
}

/// `?page=…&done=…` of a list or a record's page.
#[derive(Deserialize, Default)]
pub(super) struct PageQuery {
    pub page: Option<u64>,
    pub done: Option<String>,
}

/// The items of page `page` (1-based) of `items`, and whether more follow.
pub(super) fn page_of<T>(items: &[T], page: u64, per_page: usize) -> (&[T], bool) {
    let start = usize::try_from(page.saturating_sub(1)).unwrap_or(usize::MAX).saturating_mul(per_page);
    let start = start.min(items.len());
    let end = start.saturating_add(per_page).min(items.len());
    (&items[start..end], end < items.len())
}

/// `GET /console/policies`
async fn list(
    console: Console,
    query: Result<web::Query<PageQuery>, actix_web::Error>,
) -> Result<HttpResponse, ConsoleError> {
    let query = query.map_err(|_| console.bad_query())?.into_inner();
    let page = query.page.unwrap_or(1).max(1);
    let span = Some(span(page, PER_PAGE));
    let message = ListPolicies { tenant: console.tenant.clone(), by: console.principal.clone(), span };
    let policies = ask(&console.state.domain.users, message).await.map_err(|error| console.fail(error))?;
    let (shown, more) = split_more(policies, PER_PAGE);
    let all = Kind::Policy.srn_all(&console.tenant);
    let body = html! {
        p {
            @if console.can("policies:CreatePolicy", &all) { a.button href=(console.url("/policies/new")) { "New policy" } " " }
            @if console.can("policies:GetPolicy", &all) { a.button.secondary href=(console.url("/policies/simulate")) { "Who can do what?" } }
        }
        @if shown.is_empty() { p { "No policies yet." } } @else {
            table {
                caption.visually-hidden { "Policies" }
                thead { tr { th scope="col" { "Name" } th scope="col" { "Description" } th scope="col" { "Statements" } th scope="col" { "Updated" } } }
                tbody {
                    @for policy in shown {
                        tr {
                            td { a href=(console.url(&policy_path(policy.id))) { (policy.name) } }
                            td { (policy.description.as_deref().unwrap_or("—")) }
                            td { (policy.document.statement.len()) }
                            td { (policy.updated_at.format("%Y-%m-%d %H:%M UTC")) }
                        }
                    }
                }
            }
        }
        (pager(page, more, |page| format!("{}?page={page}", console.url("/policies"))))
    };
    Ok(console.page(StatusCode::OK, Section::Policies, "Policies", query.done.as_deref(), body))
}

/// The editor's form, as typed.
#[derive(Deserialize, Default)]
struct PolicyForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    document: String,
}

impl PolicyForm {
    /// The form filled with a stored policy (its document pretty-printed).
    fn of(policy: &Policy) -> Self {
        PolicyForm {
            name: policy.name.clone(),
            description: policy.description.clone().unwrap_or_default(),
            document: serde_json::to_string_pretty(&policy.document).unwrap_or_default(),
        }
    }

    /// The document as JSON: `Ok(None)` when blank (the actor says it is required), `Err` with
    /// the parser's message when it is not JSON at all.
    fn document(&self) -> Result<Option<Value>, String> {
        if self.document.trim().is_empty() {
            return Ok(None);
        }
        serde_json::from_str(&self.document).map(Some).map_err(|error| format!("document: not valid JSON — {error}"))
    }
}

/// What is wrong with a submitted policy: field messages, and the document's own messages
/// (the validator's, one per problem).
#[derive(Default)]
struct Problems {
    fields: FieldErrors,
    document: Vec<String>,
}

impl Problems {
    /// The problems a refusal describes, or `None` for a refusal that is no editing mistake.
    fn of(error: &DomainError) -> Option<Problems> {
        match error {
            DomainError::Invalid(fields) => Some(Problems { fields: fields.clone(), document: Vec::new() }),
            DomainError::InvalidPolicy(messages) => {
                Some(Problems { fields: FieldErrors::new(), document: messages.clone() })
            }
            _ => None,
        }
    }
}

/// The editor: name, description and the document, with every problem beside its field.
fn editor(console: &Console, action: &str, form: &PolicyForm, problems: &Problems, submit: &str) -> Markup {
    let described =
        (!problems.document.is_empty() || problems.fields.contains_key("document")).then_some("document-problems");
    html! {
        form.card method="post" action=(console.url(action)) {
            (console.csrf_field())
            (error_summary(&problems.fields))
            div.row {
                div {
                    label for="policy-name" { "Name" }
                    input #policy-name type="text" name="name" value=(form.name) maxlength="128" required;
                    (field_errors(&problems.fields, "name"))
                }
                div {
                    label for="policy-description" { "Description (optional)" }
                    input #policy-description type="text" name="description" value=(form.description) maxlength="1024";
                    (field_errors(&problems.fields, "description"))
                }
            }
            label for="policy-document" { "Document (JSON)" }
            textarea #policy-document name="document" spellcheck="false" aria-describedby=[described] { (form.document) }
            @if let Some(id) = described {
                div.errors id=(id) role="alert" {
                    p { "The document is not valid:" }
                    ul {
                        @for message in &problems.document { li { code { (message) } } }
                        @for message in problems.fields.get("document").into_iter().flatten() { li { "document " (message) } }
                    }
                }
            }
            (grammar())
            p { button type="submit" { (submit) } }
        }
    }
}

/// How a document is written, and the action catalog, folded away under the editor.
fn grammar() -> Markup {
    html! {
        details {
            summary { "How a document is written" }
            p {
                "Each statement has an " code { "effect" } " (" code { "Allow" } " or " code { "Deny" } "), an "
                code { "action" } " list (" code { "*" } ", " code { "module:*" } " or " code { "module:Operation" } "), "
                "an optional " code { "resource" } " list of SRN patterns (" code { "srn:<tenant>:user:*" } "; " code { "*" } " and "
                code { "?" } " match anything) and an optional " code { "condition" } " ("
                code { "StringEquals" } ", " code { "StringNotEquals" } ", " code { "StringLike" } " on "
                code { "soat:…" } " keys). A matching Deny wins over any Allow; nothing is allowed unless a statement allows it."
            }
            ul.plain {
                @for module in catalog::modules() {
                    li { code { (module) ":*" } " — " (catalog::operations(module).unwrap_or_default().join(", ")) }
                }
            }
        }
    }
}

/// The "new policy" page with `form` and `problems`.
fn new_page(console: &Console, status: StatusCode, form: &PolicyForm, problems: &Problems) -> HttpResponse {
    let body = html! {
        p { a href=(console.url("/policies")) { "← All policies" } }
        (editor(console, "/policies", form, problems, "Create policy"))
    };
    console.page(status, Section::Policies, "New policy", None, body)
}

/// `GET /console/policies/new`
async fn new(console: Console) -> HttpResponse {
    let form = PolicyForm { document: TEMPLATE.to_owned(), ..PolicyForm::default() };
    new_page(&console, StatusCode::OK, &form, &Problems::default())
}

/// `POST /console/policies`: creates a policy; a refused one comes back with its messages.
async fn create(console: Console, Posted(form): Posted<PolicyForm>) -> Result<HttpResponse, ConsoleError> {
    let document = match form.document() {
        Ok(document) => document,
        Err(message) => {
            let problems = Problems { document: vec![message], ..Problems::default() };
            return Ok(new_page(&console, StatusCode::UNPROCESSABLE_ENTITY, &form, &problems));
        }
    };
    let message = CreatePolicy {
        tenant: console.tenant.clone(),
        by: console.principal.clone(),
        name: Some(form.name.clone()),
        description: Some(form.description.trim().to_owned()).filter(|text| !text.is_empty()),
        document,
    };
    match ask(&console.state.domain.users, message).await {
        Ok(policy) => Ok(console.redirect(&format!("{}?done=created", policy_path(policy.id)))),
        Err(error) => match Problems::of(&error) {
            Some(problems) => Ok(new_page(&console, StatusCode::UNPROCESSABLE_ENTITY, &form, &problems)),
            None => Err(console.fail(error)),
        },
    }
}

/// The policy `id`, if the console user may read it.
async fn get_policy(console: &Console, id: Uuid) -> Result<Policy, ConsoleError> {
    let message = GetPolicy { tenant: console.tenant.clone(), by: console.principal.clone(), id };
    ask(&console.state.domain.users, message).await.map_err(|error| console.fail(error))
}

/// A policy's page: the editor for those who may change it, else the document to read.
fn policy_page(
    console: &Console,
    status: StatusCode,
    policy: &Policy,
    form: &PolicyForm,
    problems: &Problems,
    done: Option<&str>,
) -> HttpResponse {
    let srn = Kind::Policy.srn(&console.tenant, policy.id);
    let path = policy_path(policy.id);
    let body = html! {
        p { a href=(console.url("/policies")) { "← All policies" } }
        div.card {
            dl {
                dt { "Id" } dd { code { (Kind::Policy.public_id(policy.id)) } }
                dt { "Updated" } dd { (policy.updated_at.to_rfc3339()) }
            }
        }
        @if console.can("policies:UpdatePolicy", &srn) {
            (editor(console, &path, form, problems, "Save policy"))
        } @else {
            @if let Some(description) = &policy.description { p { (description) } }
            h2 { "Document" }
            pre.card { code { (form.document) } }
        }
        @if console.can("policies:DeletePolicy", &srn) {
            h2 { "Delete" }
            p { a.button.secondary href=(console.url(&format!("{path}/delete"))) { "Delete this policy…" } }
        }
    };
    console.page(status, Section::Policies, &policy.name, done, body)
}

/// `GET /console/policies/{policy_id}`
async fn show(
    req: HttpRequest,
    console: Console,
    query: Result<web::Query<PageQuery>, actix_web::Error>,
) -> Result<HttpResponse, ConsoleError> {
    let query = query.map_err(|_| console.bad_query())?.into_inner();
    let policy = get_policy(&console, path_id(&req, &console, "policy_id", Kind::Policy)?).await?;
    let form = PolicyForm::of(&policy);
    Ok(policy_page(&console, StatusCode::OK, &policy, &form, &Problems::default(), query.done.as_deref()))
}

/// `POST /console/policies/{policy_id}`: saves the name, description and document.
async fn update(
    req: HttpRequest,
    console: Console,
    Posted(form): Posted<PolicyForm>,
) -> Result<HttpResponse, ConsoleError> {
    let id = path_id(&req, &console, "policy_id", Kind::Policy)?;
    let document = match form.document() {
        Ok(document) => document,
        Err(message) => {
            let problems = Problems { document: vec![message], ..Problems::default() };
            return refused_update(&console, id, &form, &problems).await;
        }
    };
    let description = form.description.trim();
    let message = UpdatePolicy {
        tenant: console.tenant.clone(),
        by: console.principal.clone(),
        id,
        name: Some(form.name.clone()),
        description: Some(Some(description.to_owned()).filter(|text| !text.is_empty())),
        document,
    };
    match ask(&console.state.domain.users, message).await {
        Ok(policy) => Ok(console.redirect(&format!("{}?done=saved", policy_path(policy.id)))),
        Err(error) => match Problems::of(&error) {
            Some(problems) => refused_update(&console, id, &form, &problems).await,
            None => Err(console.fail(error)),
        },
    }
}

/// The policy's page again, with what was typed and why it was not saved.
async fn refused_update(
    console: &Console,
    id: Uuid,
    form: &PolicyForm,
    problems: &Problems,
) -> Result<HttpResponse, ConsoleError> {
    let policy = get_policy(console, id).await?;
    Ok(policy_page(console, StatusCode::UNPROCESSABLE_ENTITY, &policy, form, problems, None))
}

/// `GET /console/policies/{policy_id}/delete`
async fn confirm_delete(req: HttpRequest, console: Console) -> Result<HttpResponse, ConsoleError> {
    let policy = get_policy(&console, path_id(&req, &console, "policy_id", Kind::Policy)?).await?;
    let path = policy_path(policy.id);
    let body = html! {
        div.card {
            p { "Delete the policy " strong { (policy.name) } "? It is detached from every user, group and API key, and what it allowed stops at once. This cannot be undone." }
            form method="post" action=(console.url(&format!("{path}/delete"))) {
                (console.csrf_field())
                button.danger type="submit" { "Delete policy" } " "
                a href=(console.url(&path)) { "Cancel" }
            }
        }
    };
    Ok(console.page(StatusCode::OK, Section::Policies, "Delete policy", None, body))
}

/// `POST /console/policies/{policy_id}/delete`
async fn delete(req: HttpRequest, console: Console, _: Posted<Empty>) -> Result<HttpResponse, ConsoleError> {
    let id = path_id(&req, &console, "policy_id", Kind::Policy)?;
    let message = DeletePolicy { tenant: console.tenant.clone(), by: console.principal.clone(), id };
    ask(&console.state.domain.users, message).await.map_err(|error| console.fail(error))?;
    Ok(console.redirect("/policies?done=deleted"))
}

/// The simulator's question, as the query string asks it.
#[derive(Deserialize, Default)]
struct Question {
    user: Option<String>,
    action: Option<String>,
    resource: Option<String>,
}

impl Question {
    /// Whether anything was asked (a bare visit shows the form only).
    fn asked(&self) -> bool {
        [&self.user, &self.action, &self.resource].iter().any(|field| field.is_some())
    }
}

/// `GET /console/policies/simulate`: the question's form and, once asked, the answer.
async fn simulate(
    console: Console,
    question: Result<web::Query<Question>, actix_web::Error>,
) -> Result<HttpResponse, ConsoleError> {
    let question = question.map_err(|_| console.bad_query())?.into_inner();
    if !question.asked() {
        let body = simulator(&console, &question, &FieldErrors::new(), None);
        return Ok(console.page(StatusCode::OK, Section::Policies, "Who can do what", None, body));
    }
    let message = SimulateAccess {
        tenant: console.tenant.clone(),
        by: console.principal.clone(),
        user: question.user.clone().unwrap_or_default(),
        action: question.action.clone().unwrap_or_default(),
        resource: question.resource.clone(),
    };
    let (status, answer, errors) = match ask(&console.state.domain.users, message).await {
        Ok(simulation) => (StatusCode::OK, Some(simulation), FieldErrors::new()),
        Err(DomainError::Invalid(errors)) => (StatusCode::UNPROCESSABLE_ENTITY, None, errors),
        Err(DomainError::NotFound) => {
            let errors = FieldErrors::from([(
                "user".to_owned(),
                vec!["matches no user (give an id, a username or an email)".to_owned()],
            )]);
            (StatusCode::NOT_FOUND, None, errors)
        }
        Err(error) => return Err(console.fail(error)),
    };
    let body = simulator(&console, &question, &errors, answer.as_ref());
    Ok(console.page(status, Section::Policies, "Who can do what", None, body))
}

/// The simulator's form, and the answer below it.
fn simulator(console: &Console, question: &Question, errors: &FieldErrors, answer: Option<&Simulation>) -> Markup {
    html! {
        p { a href=(console.url("/policies")) { "← All policies" } }
        p.muted { "What would a user, signed in with a browser session, be answered for one action on one resource? Evaluated exactly as a real request is, on the user's own policies and those of their groups." }
        form.card method="get" action=(console.url("/policies/simulate")) {
            (error_summary(errors))
            div.row {
                div {
                    label for="sim-user" { "User (id, username or email)" }
                    input #sim-user type="text" name="user" value=[question.user.as_deref()] maxlength="254" required autocomplete="off";
                    (field_errors(errors, "user"))
                }
                div {
                    label for="sim-action" { "Action" }
                    input #sim-action type="text" name="action" list="actions" value=[question.action.as_deref()] maxlength="128" required autocomplete="off";
                    datalist #actions { @for action in catalog::all_actions() { option value=(action) {} } }
                    (field_errors(errors, "action"))
                }
            }
            label for="sim-resource" { "Resource SRN (blank: every resource of the action, such as " code { "srn:" (console.tenant) ":user:*" } ")" }
            input #sim-resource type="text" name="resource" value=[question.resource.as_deref()] maxlength="512" autocomplete="off";
            (field_errors(errors, "resource"))
            p { button type="submit" { "Check" } }
        }
        @if let Some(simulation) = answer { (verdict(console, simulation)) }
    }
}

/// The answer: the decision, why, and the policies that were considered.
fn verdict(console: &Console, simulation: &Simulation) -> Markup {
    let user = &simulation.user;
    let (class, word) = match simulation.decision {
        Decision::Allow => ("allow", "Allow"),
        Decision::Deny => ("deny", "Deny"),
        Decision::NotAllowed => ("deny", "Not allowed"),
    };
    html! {
        section.card aria-labelledby="answer" {
            h2 #answer { "Answer: " span class=(class) { (word) } }
            p {
                a href=(console.url(&format!("/users/{}", Kind::User.public_id(user.id)))) { (user.email_or_username()) }
                " · " code { (simulation.action) } " on " code { (simulation.resource) }
            }
            (reason(console, simulation))
            @if !simulation.policies.is_empty() {
                h3 { "Policies that apply to this user" }
                ul {
                    @for policy in &simulation.policies {
                        li { a href=(console.url(&policy_path(policy.id))) { (policy.name) } }
                    }
                }
            }
            p.muted { "An API key with policies of its own can only narrow this answer. A user's own sessions and API keys need no policy." }
        }
    }
}

/// Why the simulator decided as it did, with the deciding statement where there is one.
fn reason(console: &Console, simulation: &Simulation) -> Markup {
    html! {
        @match &simulation.reason {
            Reason::AdminRole => p { "The user has the admin role: the admin role allows everything, and policies are not consulted." },
            Reason::Disabled => p { "The account is disabled: none of its sessions or API keys is accepted, whatever its policies say." },
            Reason::DefaultTenantOnly => p { "Tenants and metrics are the operator's: only users of the default tenant may be allowed these actions." },
            Reason::Policies(None) => p { "No statement of the user's policies matches: nothing is allowed unless a statement allows it." },
            Reason::Policies(Some(deciding)) => {
                p {
                    "Decided by statement " strong { (deciding.index) } " (counting from 0) of the policy "
                    a href=(console.url(&policy_path(deciding.policy_id))) { (deciding.policy_name) } ":"
                }
                pre { code { (serde_json::to_string_pretty(&deciding.statement).unwrap_or_default()) } }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_slices_and_say_whether_more_follow() {
        let items: Vec<u32> = (0..5).collect();
        assert_eq!(page_of(&items, 1, 2), (&items[0..2], true));
        assert_eq!(page_of(&items, 3, 2), (&items[4..5], false));
        assert_eq!(page_of(&items, 9, 2), (&items[5..5], false));
        assert_eq!(page_of(&items, u64::MAX, 2), (&items[5..5], false));
        assert_eq!(page_of(&items, 0, 5), (&items[0..5], false));
    }

    #[test]
    fn the_document_is_parsed_or_its_error_explained() {
        let form = |document: &str| PolicyForm { document: document.to_owned(), ..PolicyForm::default() };
        assert_eq!(form("  ").document(), Ok(None));
        assert_eq!(form("{\"statement\": []}").document(), Ok(Some(serde_json::json!({"statement": []}))));
        let broken = form("{\"statement\": [").document().unwrap_err();
        assert!(broken.starts_with("document: not valid JSON"), "{broken}");
        assert!(broken.contains("line 1"), "{broken}");
    }
}
