//! Console › Users: search and page through the directory, create a user, and on a user's page
//! edit the email and role, set a password, disable or enable, delete (after a confirmation),
//! revoke sessions and unlink identities. Every action is one actor message.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;
use tessera_actors::model::{Kind, LinkedIdentity, NewUser, UserChanges};
use tessera_actors::session_actor::{ListSessions, RevokeSession};
use tessera_actors::user_actor::{
    CreateUser, DeleteUser, GetUser, ListUserIdentities, PasswordCheck, SearchUsers, UnlinkUserIdentity, UpdateUser,
    UserOrder, UserRef,
};
use tessera_actors::validate::PasswordRules;
use tessera_actors::{DomainError, FieldErrors, Role, Session, User};
use uuid::Uuid;

use super::{error_summary, field_errors, pager, path_id, Console, ConsoleError, Done, Empty, Posted, Section};
use crate::http::ask;
use crate::http::routes::resource;

/// Users shown per page.
const PER_PAGE: u64 = 25;

/// The deepest page offered (5,000 users): each page reads those before it, so beyond this a
/// search narrows the list instead (keeping every page well under 50 ms at 100k users).
const MAX_PAGES: u64 = 200;

/// The console asks for a confirmation of new passwords and applies the longer Firezone rule
/// (a tenant's `password_min_length` replaces its minimum, as on every dialect).
const CHECK: PasswordCheck = PasswordCheck { rules: PasswordRules::FIREZONE, confirmation_required: true };

/// Registers the users pages.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/console/users").get(list).post(create))
        .service(resource("/console/users/{user_id}").get(show).post(update))
        .service(resource("/console/users/{user_id}/password").post(set_password))
        .service(resource("/console/users/{user_id}/status").post(set_status))
        .service(resource("/console/users/{user_id}/delete").get(confirm_delete).post(delete))
        .service(resource("/console/users/{user_id}/sessions/{session_id}/revoke").post(revoke_session))
        .service(resource("/console/users/{user_id}/identities/{identity_id}/unlink").post(unlink));
}

/// The list's query string.
#[derive(Deserialize, Default)]
struct ListQuery {
    q: Option<String>,
    sort: Option<String>,
    page: Option<u64>,
    done: Option<String>,
}

/// The orders offered (`sort=` value, label, order, descending), the first the default. Each is
/// read from its index in the direction SurrealDB reads fast; names sort A–Z only, since a
/// backward read of a large index costs in proportion to its size (see BENCHMARKS.md, Console).
const SORTS: [(&str, &str, UserOrder, bool); 5] = [
    ("username", "Username A–Z", UserOrder::Username, false),
    ("email", "Email A–Z", UserOrder::Email, false),
    ("newest", "Newest first", UserOrder::Created, true),
    ("oldest", "Oldest first", UserOrder::Created, false),
    ("recent_sign_in", "Signed in most recently", UserOrder::LastSignIn, true),
];

/// The sort a `sort=` value names (the default for anything else).
fn sort_of(sort: Option<&str>) -> (&'static str, &'static str, UserOrder, bool) {
    SORTS.into_iter().find(|(value, ..)| Some(*value) == sort).unwrap_or(SORTS[0])
}

/// The user id of the path (`usr_…` or a UUID).
fn user_id(req: &HttpRequest, console: &Console) -> Result<Uuid, ConsoleError> {
    path_id(req, console, "user_id", Kind::User)
}

fn user_path(id: Uuid) -> String {
    format!("/users/{}", Kind::User.public_id(id))
}

/// `GET /console/users`: search, sort and page through the users.
async fn list(
    console: Console,
    query: Result<web::Query<ListQuery>, actix_web::Error>,
) -> Result<HttpResponse, ConsoleError> {
    let query = query.map_err(|_| console.bad_query())?.into_inner();
    let page = list_page(&console, &query, &NewUserForm::default(), &FieldErrors::new()).await?;
    Ok(console.page(StatusCode::OK, Section::Users, "Users", query.done.as_deref(), page))
}

async fn list_page(
    console: &Console,
    query: &ListQuery,
    form: &NewUserForm,
    errors: &FieldErrors,
) -> Result<Markup, ConsoleError> {
    let (sort, _, order, descending) = sort_of(query.sort.as_deref());
    let page = query.page.unwrap_or(1).max(1);
    if page > MAX_PAGES {
        let text = format!("Pages go up to {MAX_PAGES}: search to narrow the list.");
        return Err(ConsoleError::new(StatusCode::UNPROCESSABLE_ENTITY, "Too far", text, &console.base));
    }
    let text = query.q.clone().filter(|text| !text.trim().is_empty());
    let search = SearchUsers {
        tenant: console.tenant.clone(),
        by: console.principal.clone(),
        text: text.clone(),
        order,
        descending,
        offset: (page - 1) * PER_PAGE,
        limit: PER_PAGE,
    };
    let found = ask(&console.state.domain.users, search).await.map_err(|error| console.fail(error))?;
    let users = found.users;
    let link = |page: u64| {
        let mut url = format!("{}?page={page}&sort={sort}", console.url("/users"));
        if let Some(text) = &text {
            url.push_str("&q=");
            url.push_str(&urlencode(text));
        }
        url
    };
    let may_create = console.can("users:CreateUser", &Kind::User.srn_all(&console.tenant));
    Ok(html! {
        form.card.row method="get" action=(console.url("/users")) role="search" {
            div {
                label for="q" { "Search by username or email (starts with)" }
                input #q type="search" name="q" value=[text.as_deref()] maxlength="254";
            }
            div {
                label for="sort" { "Sort (a search lists by name)" }
                select #sort name="sort" data-autosubmit {
                    @for (value, label, ..) in SORTS {
                        option value=(value) selected[value == sort] { (label) }
                    }
                }
            }
            div.fit { button type="submit" { "Search" } }
        }
        @if users.is_empty() {
            p { "No users match." }
        } @else {
            table {
                caption.visually-hidden { "Users" }
                thead { tr { th scope="col" { "Username" } th scope="col" { "Email" } th scope="col" { "Role" } th scope="col" { "Status" } th scope="col" { "Last sign-in" } th scope="col" { "Created" } } }
                tbody {
                    @for user in &users {
                        tr {
                            td { a href=(console.url(&user_path(user.id))) { (user.username) } }
                            td { (user.email.as_deref().unwrap_or("—")) }
                            td { (user.role.as_str()) }
                            td { (status_badge(user)) }
                            td { (user.last_signed_in_at.map(|at| at.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_else(|| "never".to_owned())) }
                            td { (user.created_at.format("%Y-%m-%d")) }
                        }
                    }
                }
            }
        }
        (pager(page, found.more && page < MAX_PAGES, link))
        @if found.more && page >= MAX_PAGES { p.muted { "More users follow: search to narrow the list." } }
        @if may_create { (new_user_form(console, form, errors)) }
    })
}

fn urlencode(text: &str) -> String {
    serde_urlencoded::to_string([("", text)]).map(|pair| pair[1..].to_owned()).unwrap_or_default()
}

fn status_badge(user: &User) -> Markup {
    html! {
        @if user.is_disabled() { span.badge.off { "disabled" } } @else { span.badge { "active" } }
    }
}

/// The "new user" form.
#[derive(Deserialize, Default)]
struct NewUserForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirmation: String,
}

fn new_user_form(console: &Console, form: &NewUserForm, errors: &FieldErrors) -> Markup {
    html! {
        h2 id="new-user" { "New user" }
        form.card method="post" action=(console.url("/users")) {
            (console.csrf_field())
            (error_summary(errors))
            div.row {
                div {
                    label for="new-username" { "Username" }
                    input #new-username type="text" name="username" value=(form.username) maxlength="254" autocomplete="off";
                    (field_errors(errors, "username"))
                }
                div {
                    label for="new-email" { "Email" }
                    input #new-email type="email" name="email" value=(form.email) maxlength="254" autocomplete="off";
                    (field_errors(errors, "email"))
                }
                div {
                    label for="new-role" { "Role" }
                    select #new-role name="role" {
                        option value="unprivileged" selected[form.role != "admin"] { "unprivileged" }
                        option value="admin" selected[form.role == "admin"] { "admin" }
                    }
                }
            }
            div.row {
                div {
                    label for="new-password" { "Password (optional)" }
                    input #new-password type="password" name="password" autocomplete="new-password";
                    (field_errors(errors, "password"))
                }
                div {
                    label for="new-password-confirmation" { "Confirm the password" }
                    input #new-password-confirmation type="password" name="password_confirmation" autocomplete="new-password";
                    (field_errors(errors, "password_confirmation"))
                }
            }
            p.muted { "Give a username, an email, or both; a user created with an email only signs in with it." }
            p { button type="submit" { "Create user" } }
        }
    }
}

fn role_of(value: &str, errors: &mut FieldErrors) -> Role {
    match value {
        "admin" => Role::Admin,
        "unprivileged" | "" => Role::Unprivileged,
        _ => {
            errors.entry("role".to_owned()).or_default().push("is not a role".to_owned());
            Role::Unprivileged
        }
    }
}

/// `POST /console/users`: creates a user; on invalid input the form comes back with messages.
async fn create(console: Console, Posted(form): Posted<NewUserForm>) -> Result<HttpResponse, ConsoleError> {
    let mut parse_errors = FieldErrors::new();
    let role = role_of(&form.role, &mut parse_errors);
    let email = Some(form.email.trim().to_owned()).filter(|email| !email.is_empty());
    let username = match form.username.trim() {
        "" => email.clone().unwrap_or_default(),
        username => username.to_owned(),
    };
    let password = Some(form.password.clone()).filter(|password| !password.is_empty());
    let user = NewUser {
        username,
        email,
        role,
        password_confirmation: password.as_ref().map(|_| form.password_confirmation.clone()),
        password,
    };
    let message =
        CreateUser { tenant: console.tenant.clone(), by: console.principal.clone(), user, check: CHECK, parse_errors };
    match ask(&console.state.domain.users, message).await {
        Ok(user) => Ok(console.redirect(&format!("{}?done=created", user_path(user.id)))),
        Err(DomainError::Invalid(errors)) => {
            let page = list_page(&console, &ListQuery::default(), &form, &errors).await?;
            Ok(console.page(StatusCode::UNPROCESSABLE_ENTITY, Section::Users, "Users", None, page))
        }
        Err(DomainError::Conflict(conflict)) => {
            let errors = FieldErrors::from([("username".to_owned(), vec![conflict.to_string()])]);
            let page = list_page(&console, &ListQuery::default(), &form, &errors).await?;
            Ok(console.page(StatusCode::CONFLICT, Section::Users, "Users", None, page))
        }
        Err(error) => Err(console.fail(error)),
    }
}

/// `GET /console/users/{user_id}`: the user, its forms, sessions and identities.
async fn show(req: HttpRequest, console: Console, done: web::Query<Done>) -> Result<HttpResponse, ConsoleError> {
    let id = user_id(&req, &console)?;
    let user = get_user(&console, id).await?;
    let body = user_page(&console, &user, &FieldErrors::new()).await?;
    Ok(console.page(StatusCode::OK, Section::Users, &user.username, done.done.as_deref(), body))
}

async fn get_user(console: &Console, id: Uuid) -> Result<User, ConsoleError> {
    let message = GetUser { tenant: console.tenant.clone(), by: console.principal.clone(), user: UserRef::Id(id) };
    ask(&console.state.domain.users, message).await.map_err(|error| console.fail(error))
}

/// What the console user may read about `user` beyond the record: `None` where refused.
async fn sessions_of(console: &Console, user: &User) -> Result<Option<Vec<Session>>, ConsoleError> {
    let message = ListSessions {
        tenant: console.tenant.clone(),
        by: console.principal.clone(),
        user: Some(Some(user.id)),
        span: None,
    };
    optional(console, ask(&console.state.domain.sessions, message).await)
}

async fn identities_of(console: &Console, user: &User) -> Result<Option<Vec<LinkedIdentity>>, ConsoleError> {
    let message = ListUserIdentities { tenant: console.tenant.clone(), by: console.principal.clone(), user: user.id };
    optional(console, ask(&console.state.domain.users, message).await)
}

fn optional<T>(console: &Console, outcome: Result<T, DomainError>) -> Result<Option<T>, ConsoleError> {
    match outcome {
        Ok(found) => Ok(Some(found)),
        Err(DomainError::Forbidden) => Ok(None),
        Err(error) => Err(console.fail(error)),
    }
}

async fn user_page(console: &Console, user: &User, errors: &FieldErrors) -> Result<Markup, ConsoleError> {
    let srn = Kind::User.srn(&console.tenant, user.id);
    let may_update = console.can("users:UpdateUser", &srn);
    let may_delete = console.can("users:DeleteUser", &srn);
    let sessions = sessions_of(console, user).await?;
    let identities = identities_of(console, user).await?;
    let base = user_path(user.id);
    let is_self = user.id == console.principal.user.id;
    Ok(html! {
        p { a href=(console.url("/users")) { "← All users" } }
        div.card {
            dl {
                dt { "Id" } dd { code { (Kind::User.public_id(user.id)) } }
                dt { "Status" } dd { (status_badge(user)) }
                dt { "Signed in last" } dd { (user.last_signed_in_at.map(|at| at.to_rfc3339()).unwrap_or_else(|| "never".to_owned())) " " (user.last_signed_in_method.as_deref().unwrap_or("")) }
                dt { "Created" } dd { (user.created_at.to_rfc3339()) }
                @if let Some(external) = &user.external_id { dt { "External id (SCIM)" } dd { code { (external) } } }
            }
        }
        @if may_update {
            h2 { "Account" }
            form.card method="post" action=(console.url(&base)) {
                (console.csrf_field())
                (error_summary(errors))
                div.row {
                    div {
                        label for="email" { "Email" }
                        input #email type="email" name="email" value=[user.email.as_deref()] maxlength="254";
                        (field_errors(errors, "email"))
                    }
                    div {
                        label for="role" { "Role" }
                        select #role name="role" disabled[is_self] {
                            option value="unprivileged" selected[user.role == Role::Unprivileged] { "unprivileged" }
                            option value="admin" selected[user.role == Role::Admin] { "admin" }
                        }
                        (field_errors(errors, "role"))
                    }
                }
                p { button type="submit" { "Save" } }
            }
            h2 { "Password" }
            form.card method="post" action=(console.url(&format!("{base}/password"))) {
                (console.csrf_field())
                div.row {
                    div {
                        label for="password" { "New password" }
                        input #password type="password" name="password" autocomplete="new-password" required;
                        (field_errors(errors, "password"))
                    }
                    div {
                        label for="password_confirmation" { "Confirm the new password" }
                        input #password_confirmation type="password" name="password_confirmation" autocomplete="new-password" required;
                        (field_errors(errors, "password_confirmation"))
                    }
                }
                p { button type="submit" { "Set password" } }
            }
            @if !is_self {
                h2 { "Access" }
                form.card method="post" action=(console.url(&format!("{base}/status"))) {
                    (console.csrf_field())
                    @if user.is_disabled() {
                        input type="hidden" name="disabled" value="false";
                        p { "The account is disabled: it cannot sign in and no credential of it is accepted." }
                        button type="submit" { "Enable account" }
                    } @else {
                        input type="hidden" name="disabled" value="true";
                        p { "Disabling ends every session at once and refuses the user's API keys until it is enabled." }
                        button.danger type="submit" { "Disable account" }
                    }
                }
            }
        }
        @if let Some(sessions) = &sessions {
            h2 { "Sessions" }
            @if sessions.is_empty() { p { "No active sessions." } } @else {
                table {
                    thead { tr { th scope="col" { "Signed in with" } th scope="col" { "Started" } th scope="col" { "Expires" } th scope="col" { span.visually-hidden { "Actions" } } } }
                    tbody {
                        @for session in sessions {
                            tr {
                                td { (session.method) }
                                td { (session.created_at.to_rfc3339()) }
                                td { (session.expires_at.to_rfc3339()) }
                                td {
                                    form.inline method="post" action=(console.url(&format!("{base}/sessions/{}/revoke", Kind::Session.public_id(session.id)))) {
                                        (console.csrf_field())
                                        button.secondary type="submit" aria-label={ "Revoke the session started " (session.created_at.to_rfc3339()) } { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(identities) = &identities {
            h2 { "Linked identities" }
            @if identities.is_empty() { p { "No identity from an identity provider is linked." } } @else {
                table {
                    thead { tr { th scope="col" { "Provider" } th scope="col" { "Issuer" } th scope="col" { "Subject" } th scope="col" { span.visually-hidden { "Actions" } } } }
                    tbody {
                        @for identity in identities {
                            tr {
                                td { (identity.provider.as_deref().unwrap_or("—")) }
                                td { code { (identity.issuer) } }
                                td { code { (identity.subject) } }
                                td {
                                    form.inline method="post" action=(console.url(&format!("{base}/identities/{}/unlink", identity.public_id()))) {
                                        (console.csrf_field())
                                        button.secondary type="submit" aria-label={ "Unlink " (identity.subject) } { "Unlink" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if may_delete && !is_self {
            h2 { "Delete" }
            p { a.button.secondary href=(console.url(&format!("{base}/delete"))) { "Delete this user…" } }
        }
    })
}

/// The account form.
#[derive(Deserialize)]
struct AccountForm {
    email: Option<String>,
    role: Option<String>,
}

/// Applies `changes` to the path's user; invalid input re-renders the user's page with messages.
async fn change(
    req: &HttpRequest,
    console: &Console,
    changes: UserChanges,
    parse_errors: FieldErrors,
    done: &str,
) -> Result<HttpResponse, ConsoleError> {
    let id = user_id(req, console)?;
    let message = UpdateUser {
        tenant: console.tenant.clone(),
        by: console.principal.clone(),
        user: UserRef::Id(id),
        changes,
        check: CHECK,
        parse_errors,
    };
    match ask(&console.state.domain.users, message).await {
        Ok(user) => Ok(console.redirect(&format!("{}?done={done}", user_path(user.id)))),
        Err(DomainError::Invalid(errors)) => {
            let user = get_user(console, id).await?;
            let body = user_page(console, &user, &errors).await?;
            Ok(console.page(StatusCode::UNPROCESSABLE_ENTITY, Section::Users, &user.username, None, body))
        }
        Err(DomainError::Conflict(conflict)) => {
            let user = get_user(console, id).await?;
            let errors = FieldErrors::from([("email".to_owned(), vec![conflict.to_string()])]);
            let body = user_page(console, &user, &errors).await?;
            Ok(console.page(StatusCode::CONFLICT, Section::Users, &user.username, None, body))
        }
        Err(error) => Err(console.fail(error)),
    }
}

/// `POST /console/users/{user_id}`: email and role.
async fn update(
    req: HttpRequest,
    console: Console,
    Posted(form): Posted<AccountForm>,
) -> Result<HttpResponse, ConsoleError> {
    let mut parse_errors = FieldErrors::new();
    let role = form.role.as_deref().map(|role| role_of(role, &mut parse_errors));
    let email = form.email.map(|email| email.trim().to_owned()).filter(|email| !email.is_empty());
    let changes = UserChanges { email, role, ..UserChanges::default() };
    change(&req, &console, changes, parse_errors, "saved").await
}

/// The password form.
#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirmation: String,
}

/// `POST /console/users/{user_id}/password`
async fn set_password(
    req: HttpRequest,
    console: Console,
    Posted(form): Posted<PasswordForm>,
) -> Result<HttpResponse, ConsoleError> {
    let mut parse_errors = FieldErrors::new();
    if form.password.is_empty() {
        parse_errors.insert("password".to_owned(), vec!["can't be blank".to_owned()]);
    }
    let changes = UserChanges {
        password: Some(form.password),
        password_confirmation: Some(form.password_confirmation),
        ..UserChanges::default()
    };
    change(&req, &console, changes, parse_errors, "password").await
}

/// The disable/enable form.
#[derive(Deserialize)]
struct StatusForm {
    disabled: bool,
}

/// `POST /console/users/{user_id}/status`
async fn set_status(
    req: HttpRequest,
    console: Console,
    Posted(form): Posted<StatusForm>,
) -> Result<HttpResponse, ConsoleError> {
    let changes = UserChanges { disabled: Some(form.disabled), ..UserChanges::default() };
    change(&req, &console, changes, FieldErrors::new(), if form.disabled { "disabled" } else { "enabled" }).await
}

/// `GET /console/users/{user_id}/delete`: what deleting removes, and the button that does it.
async fn confirm_delete(req: HttpRequest, console: Console) -> Result<HttpResponse, ConsoleError> {
    let user = get_user(&console, user_id(&req, &console)?).await?;
    let base = user_path(user.id);
    let body = html! {
        div.card {
            p { "Delete " strong { (user.email_or_username()) } "? Its sessions, API keys, group memberships and linked identities are removed with it. This cannot be undone." }
            form method="post" action=(console.url(&format!("{base}/delete"))) {
                (console.csrf_field())
                button.danger type="submit" { "Delete user" } " "
                a href=(console.url(&base)) { "Cancel" }
            }
        }
    };
    Ok(console.page(StatusCode::OK, Section::Users, "Delete user", None, body))
}

/// `POST /console/users/{user_id}/delete`
async fn delete(req: HttpRequest, console: Console, _: Posted<Empty>) -> Result<HttpResponse, ConsoleError> {
    let id = user_id(&req, &console)?;
    let message = DeleteUser { tenant: console.tenant.clone(), by: console.principal.clone(), user: UserRef::Id(id) };
    ask(&console.state.domain.users, message).await.map_err(|error| console.fail(error))?;
    Ok(console.redirect("/users?done=deleted"))
}

/// `POST /console/users/{user_id}/sessions/{session_id}/revoke`
async fn revoke_session(req: HttpRequest, console: Console, _: Posted<Empty>) -> Result<HttpResponse, ConsoleError> {
    let id = user_id(&req, &console)?;
    let session = path_id(&req, &console, "session_id", Kind::Session)?;
    // The session must be this user's: revoking through another user's page is refused.
    let sessions = sessions_of(&console, &get_user(&console, id).await?).await?.unwrap_or_default();
    if !sessions.iter().any(|candidate| candidate.id == session) {
        return Err(console.fail(DomainError::NotFound));
    }
    let message = RevokeSession { tenant: console.tenant.clone(), by: console.principal.clone(), session };
    ask(&console.state.domain.sessions, message).await.map_err(|error| console.fail(error))?;
    Ok(console.redirect(&format!("{}?done=revoked", user_path(id))))
}

/// `POST /console/users/{user_id}/identities/{identity_id}/unlink`
async fn unlink(req: HttpRequest, console: Console, _: Posted<Empty>) -> Result<HttpResponse, ConsoleError> {
    let id = user_id(&req, &console)?;
    let identity_id = req.match_info().get("identity_id").unwrap_or_default().to_owned();
    let message =
        UnlinkUserIdentity { tenant: console.tenant.clone(), by: console.principal.clone(), user: id, identity_id };
    ask(&console.state.domain.users, message).await.map_err(|error| console.fail(error))?;
    Ok(console.redirect(&format!("{}?done=unlinked", user_path(id))))
}
