//! Console › Groups: the list, create, and on a group's page rename, members (add by username,
//! email or id, or pick from a search; remove), attached policies (attach, detach: each a
//! replacement of the list at the version read, so a concurrent edit is reported instead of
//! overwritten) and delete after a confirmation. Every action is one actor message.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;
use tessera_actors::model::{Group, Kind, Policy};
use tessera_actors::store::GroupPatch;
use tessera_actors::user_actor::{
    CreateGroup, DeleteGroup, GetGroup, GetGroupPolicies, GetUser, ListGroups, ListPolicies, SearchUsers,
    SetGroupPolicies, UpdateGroup, UserOrder, UserRef,
};
use tessera_actors::{Conflict, DomainError, FieldErrors, User};
use uuid::Uuid;

use super::policies::{page_of, policy_path, PageQuery};
use super::{
    error_summary, field_errors, pager, path_id, span, split_more, Console, ConsoleError, Empty, Posted, Section,
};
use crate::http::ask;
use crate::http::routes::resource;

/// Groups shown per page of the list.
const PER_PAGE: usize = 50;
/// Members shown per page of a group's page (each is read by id).
const MEMBERS_PER_PAGE: usize = 25;
/// Users a member search offers to pick from.
const PICKS: u64 = 10;

/// Registers the groups pages.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/console/groups").get(list).post(create))
        .service(resource("/console/groups/{group_id}").get(show).post(rename))
        .service(resource("/console/groups/{group_id}/members").post(add_member))
        .service(resource("/console/groups/{group_id}/members/{user_id}/remove").post(remove_member))
        .service(resource("/console/groups/{group_id}/policies").post(attach))
        .service(resource("/console/groups/{group_id}/policies/{policy_id}/detach").post(detach))
        .service(resource("/console/groups/{group_id}/delete").get(confirm_delete).post(delete));
}

/// The console path of a group's page.
fn group_path(id: Uuid) -> String {
    format!("/groups/{}", Kind::Group.public_id(id))
}

/// The group the path names (`grp_…` or a UUID), or a 404 page.
fn group_id(req: &HttpRequest, console: &Console) -> Result<Uuid, ConsoleError> {
    path_id(req, console, "group_id", Kind::Group)
}

/// One field's message as the errors a form shows.
fn field_error(field: &str, message: impl Into<String>) -> FieldErrors {
    FieldErrors::from([(field.to_owned(), vec![message.into()])])
}

/// `GET /console/groups`
async fn list(
    console: Console,
    query: Result<web::Query<PageQuery>, actix_web::Error>,
) -> Result<HttpResponse, ConsoleError> {
    let query = query.map_err(|_| console.bad_query())?.into_inner();
    let body = list_page(&console, query.page.unwrap_or(1), &GroupForm::default(), &FieldErrors::new()).await?;
    Ok(console.page(StatusCode::OK, Section::Groups, "Groups", query.done.as_deref(), body))
}

/// The list's page `page` and, for those who may create groups, the new-group form.
async fn list_page(
    console: &Console,
    page: u64,
    form: &GroupForm,
    errors: &FieldErrors,
) -> Result<Markup, ConsoleError> {
    let page = page.max(1);
    let span = Some(span(page, PER_PAGE));
    let message = ListGroups { tenant: console.tenant.clone(), by: console.principal.clone(), span };
    let groups = ask(&console.state.domain.users, message).await.map_err(|error| console.fail(error))?;
    let (shown, more) = split_more(groups, PER_PAGE);
    let may_create = console.can("groups:CreateGroup", &Kind::Group.srn_all(&console.tenant));
    Ok(html! {
        @if shown.is_empty() { p { "No groups yet." } } @else {
            table {
                caption.visually-hidden { "Groups" }
                thead { tr { th scope="col" { "Name" } th scope="col" { "Description" } th scope="col" { "Members" } th scope="col" { "Policies" } th scope="col" { "Created" } } }
                tbody {
                    @for group in shown {
                        tr {
                            td { a href=(console.url(&group_path(group.id))) { (group.name) } }
                            td { (group.description.as_deref().unwrap_or("—")) }
                            td { (group.members.len()) }
                            td { (group.policy_ids.len()) }
                            td { (group.created_at.format("%Y-%m-%d")) }
                        }
                    }
                }
            }
        }
        (pager(page, more, |page| format!("{}?page={page}", console.url("/groups"))))
        @if may_create {
            h2 { "New group" }
            form.card method="post" action=(console.url("/groups")) {
                (console.csrf_field())
                (group_fields(form, errors, "new-group"))
                p { button type="submit" { "Create group" } }
            }
        }
    })
}

/// The name and description form (a new group's, or a group's own).
#[derive(Deserialize, Default, Clone)]
struct GroupForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
}

impl GroupForm {
    fn of(group: &Group) -> Self {
        GroupForm { name: group.name.clone(), description: group.description.clone().unwrap_or_default() }
    }

    /// The description to store: a blank one is none.
    fn description(&self) -> Option<String> {
        Some(self.description.trim().to_owned()).filter(|text| !text.is_empty())
    }
}

/// The name and description inputs, their ids prefixed with `id` (two forms may share a page).
fn group_fields(form: &GroupForm, errors: &FieldErrors, id: &str) -> Markup {
    html! {
        (error_summary(errors))
        div.row {
            div {
                label for={ (id) "-name" } { "Name" }
                input id={ (id) "-name" } type="text" name="name" value=(form.name) maxlength="128" required;
                (field_errors(errors, "name"))
            }
            div {
                label for={ (id) "-description" } { "Description (optional)" }
                input id={ (id) "-description" } type="text" name="description" value=(form.description) maxlength="1024";
                (field_errors(errors, "description"))
            }
        }
    }
}

/// The errors a refused name or description shows, with the page's status; `None` for a
/// refusal that is no editing mistake.
fn naming_problem(error: &DomainError) -> Option<(StatusCode, FieldErrors)> {
    match error {
        DomainError::Invalid(errors) => Some((StatusCode::UNPROCESSABLE_ENTITY, errors.clone())),
        DomainError::Conflict(Conflict::GroupNameTaken) => {
            Some((StatusCode::CONFLICT, field_error("name", Conflict::GroupNameTaken.to_string())))
        }
        _ => None,
    }
}

/// `POST /console/groups`
async fn create(console: Console, Posted(form): Posted<GroupForm>) -> Result<HttpResponse, ConsoleError> {
    let message = CreateGroup {
        tenant: console.tenant.clone(),
        by: console.principal.clone(),
        name: Some(form.name.clone()),
        description: form.description(),
        members: Vec::new(),
    };
    match ask(&console.state.domain.users, message).await {
        Ok(group) => Ok(console.redirect(&format!("{}?done=created", group_path(group.id)))),
        Err(error) => {
            let (status, errors) = naming_problem(&error).ok_or_else(|| console.fail(error))?;
            let body = list_page(&console, 1, &form, &errors).await?;
            Ok(console.page(status, Section::Groups, "Groups", None, body))
        }
    }
}

/// What a group's page shows besides the group: the member search, the members' page, and
/// what a refused form said.
#[derive(Default)]
struct View {
    /// The member search (`?q=`).
    search: Option<String>,
    page: u64,
    /// The name form as typed, when it was refused.
    naming: Option<GroupForm>,
    /// The member typed into the add form, when it was refused.
    member: Option<String>,
    errors: FieldErrors,
    /// Why the policies were not changed (someone else changed them meanwhile).
    policies_changed: bool,
}

/// `?q=…&page=…&done=…` of a group's page.
#[derive(Deserialize, Default)]
struct GroupQuery {
    q: Option<String>,
    page: Option<u64>,
    done: Option<String>,
}

/// `GET /console/groups/{group_id}`
async fn show(
    req: HttpRequest,
    console: Console,
    query: Result<web::Query<GroupQuery>, actix_web::Error>,
) -> Result<HttpResponse, ConsoleError> {
    let query = query.map_err(|_| console.bad_query())?.into_inner();
    let view = View { search: query.q, page: query.page.unwrap_or(1), ..View::default() };
    respond(&console, group_id(&req, &console)?, StatusCode::OK, &view, query.done.as_deref()).await
}

/// A group's page with `view`, answered with `status`.
async fn respond(
    console: &Console,
    id: Uuid,
    status: StatusCode,
    view: &View,
    done: Option<&str>,
) -> Result<HttpResponse, ConsoleError> {
    let message = GetGroup { tenant: console.tenant.clone(), by: console.principal.clone(), id };
    let group = ask(&console.state.domain.users, message).await.map_err(|error| console.fail(error))?;
    let body = group_page(console, &group, view).await?;
    Ok(console.page(status, Section::Groups, &group.name, done, body))
}

/// A group's page: its record, name form, members and policies, each form only for those who
/// may use it.
async fn group_page(console: &Console, group: &Group, view: &View) -> Result<Markup, ConsoleError> {
    let srn = Kind::Group.srn(&console.tenant, group.id);
    let path = group_path(group.id);
    let may_update = console.can("groups:UpdateGroup", &srn);
    let naming = view.naming.clone().unwrap_or_else(|| GroupForm::of(group));
    Ok(html! {
        p { a href=(console.url("/groups")) { "← All groups" } }
        (error_summary(&only(&view.errors, &SHOWN_IN_FORMS, false)))
        div.card {
            dl {
                dt { "Id" } dd { code { (Kind::Group.public_id(group.id)) } }
                dt { "Description" } dd { (group.description.as_deref().unwrap_or("—")) }
                @if let Some(external) = &group.external_id {
                    dt { "External id (SCIM)" } dd { code { (external) } " — provisioned by an identity provider, which may overwrite changes made here" }
                }
                dt { "Created" } dd { (group.created_at.to_rfc3339()) }
            }
        }
        @if may_update {
            h2 { "Name and description" }
            form.card method="post" action=(console.url(&path)) {
                (console.csrf_field())
                (group_fields(&naming, &only(&view.errors, &["name", "description"], true), "group"))
                p { button type="submit" { "Save" } }
            }
        }
        (members_section(console, group, view, may_update).await?)
        (policies_section(console, group, view).await?)
        @if console.can("groups:DeleteGroup", &srn) {
            h2 { "Delete" }
            p { a.button.secondary href=(console.url(&format!("{path}/delete"))) { "Delete this group…" } }
        }
    })
}

/// Field names some form of a group's page shows beside its input.
const SHOWN_IN_FORMS: [&str; 4] = ["name", "description", "user", "policy_id"];

/// The messages of `errors` for `fields` only (`keep`), or for the other fields (`!keep`): each
/// form of a page shows its own, the page's top what no form shows.
fn only(errors: &FieldErrors, fields: &[&str], keep: bool) -> FieldErrors {
    errors
        .iter()
        .filter(|(field, _)| fields.contains(&field.as_str()) == keep)
        .map(|(field, messages)| (field.clone(), messages.clone()))
        .collect()
}

/// The records of `ids`, read at once, each where the console user may read it (else only the
/// id is shown).
async fn members(console: &Console, ids: &[Uuid]) -> Vec<(Uuid, Option<User>)> {
    let reads: Vec<_> = ids
        .iter()
        .map(|id| {
            let users = console.state.domain.users.clone();
            let message =
                GetUser { tenant: console.tenant.clone(), by: console.principal.clone(), user: UserRef::Id(*id) };
            actix_web::rt::spawn(async move { ask(&users, message).await.ok() })
        })
        .collect();
    let mut found = Vec::with_capacity(ids.len());
    for (id, read) in ids.iter().zip(reads) {
        found.push((*id, read.await.ok().flatten()));
    }
    found
}

/// The members on page `view.page`, with remove buttons, the add form and the member search.
async fn members_section(
    console: &Console,
    group: &Group,
    view: &View,
    may_update: bool,
) -> Result<Markup, ConsoleError> {
    let page = view.page.max(1);
    let (ids, more) = page_of(&group.members, page, MEMBERS_PER_PAGE);
    let members = members(console, ids).await;
    let path = group_path(group.id);
    let picks = if may_update { picks(console, group, view.search.as_deref()).await? } else { None };
    let link = |page: u64| format!("{}?page={page}#members", console.url(&path));
    Ok(html! {
        h2 #members { "Members" }
        @if members.is_empty() { p { "No members." } } @else {
            table {
                caption.visually-hidden { "Members" }
                thead { tr { th scope="col" { "User" } th scope="col" { "Email" } th scope="col" { span.visually-hidden { "Actions" } } } }
                tbody {
                    @for (id, user) in &members {
                        tr {
                            td {
                                a href=(console.url(&format!("/users/{}", Kind::User.public_id(*id)))) {
                                    (user.as_ref().map_or_else(|| Kind::User.public_id(*id), |user| user.username.clone()))
                                }
                            }
                            td { (user.as_ref().and_then(|user| user.email.as_deref()).unwrap_or("—")) }
                            td {
                                @if may_update {
                                    form.inline method="post" action=(console.url(&format!("{path}/members/{}/remove", Kind::User.public_id(*id)))) {
                                        (console.csrf_field())
                                        button.secondary type="submit" aria-label={ "Remove " (user.as_ref().map_or("this member", |user| user.username.as_str())) } { "Remove" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            (pager(page, more, link))
        }
        @if may_update {
            form.card method="post" action=(console.url(&format!("{path}/members"))) {
                (console.csrf_field())
                label for="member-user" { "Add a member (username, email or id)" }
                input #member-user type="text" name="user" value=[view.member.as_deref()] maxlength="254" required autocomplete="off";
                (field_errors(&view.errors, "user"))
                p { button type="submit" { "Add member" } }
            }
            @if let Some(picks) = picks { (picks) }
        }
    })
}

/// The member search of `group` (for callers who may list users): a search form and, for
/// `search`, the users found who are not members yet, each with an "Add" button.
async fn picks(console: &Console, group: &Group, search: Option<&str>) -> Result<Option<Markup>, ConsoleError> {
    if !console.can("users:ListUsers", &Kind::User.srn_all(&console.tenant)) {
        return Ok(None);
    }
    let search = search.map(str::trim).filter(|text| !text.is_empty());
    let found = match search {
        Some(text) => search_users(console, text).await?,
        None => Vec::new(),
    };
    let found: Vec<User> = found.into_iter().filter(|user| !group.members.contains(&user.id)).collect();
    let path = console.url(&group_path(group.id));
    Ok(Some(html! {
        form.card.row method="get" action=(path) role="search" {
            div {
                label for="member-search" { "Find users to add (username or email starts with)" }
                input #member-search type="search" name="q" value=[search] maxlength="254";
            }
            div.fit { button.secondary type="submit" { "Find" } }
        }
        @if search.is_some() {
            @if found.is_empty() { p { "No users match who are not members already." } } @else {
                ul.plain {
                    @for user in &found {
                        li {
                            form.inline method="post" action={ (path) "/members" } {
                                (console.csrf_field())
                                input type="hidden" name="user" value=(Kind::User.public_id(user.id));
                                button.secondary type="submit" aria-label={ "Add " (user.username) } { "Add" }
                            }
                            " " (user.username) @if let Some(email) = &user.email { " · " (email) }
                        }
                    }
                }
            }
        }
    }))
}

/// The first users whose username or email starts with `text`.
async fn search_users(console: &Console, text: &str) -> Result<Vec<User>, ConsoleError> {
    let message = SearchUsers {
        tenant: console.tenant.clone(),
        by: console.principal.clone(),
        text: Some(text.to_owned()),
        order: UserOrder::Username,
        descending: false,
        offset: 0,
        limit: PICKS,
    };
    match ask(&console.state.domain.users, message).await {
        Ok(page) => Ok(page.users),
        // A search too long to be a name prefix finds nobody.
        Err(DomainError::Invalid(_)) => Ok(Vec::new()),
        Err(error) => Err(console.fail(error)),
    }
}

/// The attached policies (for those who may read them) with detach buttons and the attach form,
/// each carrying the version of the list shown.
async fn policies_section(console: &Console, group: &Group, view: &View) -> Result<Markup, ConsoleError> {
    let message = GetGroupPolicies { tenant: console.tenant.clone(), by: console.principal.clone(), id: group.id };
    let (attached, version) = match ask(&console.state.domain.users, message).await {
        Ok(found) => found,
        Err(DomainError::Forbidden) => return Ok(html! {}),
        Err(error) => return Err(console.fail(error)),
    };
    let may_attach = console.can("groups:AttachGroupPolicies", &Kind::Group.srn(&console.tenant, group.id));
    let candidates = if may_attach { attachable(console, &attached).await? } else { Vec::new() };
    let path = group_path(group.id);
    Ok(html! {
        h2 #policies { "Attached policies" }
        @if view.policies_changed {
            div.errors role="alert" {
                p { "Not saved: the group's policies were changed by someone else since the page was loaded. The list below is the current one; make the change again if it is still needed." }
            }
        }
        @if attached.is_empty() { p { "No policies are attached: the group grants nothing." } } @else {
            table {
                caption.visually-hidden { "Attached policies" }
                thead { tr { th scope="col" { "Policy" } th scope="col" { "Description" } th scope="col" { span.visually-hidden { "Actions" } } } }
                tbody {
                    @for policy in &attached {
                        tr {
                            td { a href=(console.url(&policy_path(policy.id))) { (policy.name) } }
                            td { (policy.description.as_deref().unwrap_or("—")) }
                            td {
                                @if may_attach {
                                    form.inline method="post" action=(console.url(&format!("{path}/policies/{}/detach", Kind::Policy.public_id(policy.id)))) {
                                        (console.csrf_field())
                                        input type="hidden" name="version" value=(version);
                                        button.secondary type="submit" aria-label={ "Detach " (policy.name) } { "Detach" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if may_attach && candidates.is_empty() {
            p.muted { "No other policy to attach: create one under Policies." }
        }
        @if may_attach && !candidates.is_empty() {
            form.card.row method="post" action=(console.url(&format!("{path}/policies"))) {
                (console.csrf_field())
                input type="hidden" name="version" value=(version);
                div {
                    label for="attach-policy" { "Attach a policy" }
                    select #attach-policy name="policy_id" {
                        @for policy in &candidates { option value=(Kind::Policy.public_id(policy.id)) { (policy.name) } }
                    }
                    (field_errors(&view.errors, "policy_id"))
                }
                div.fit { button type="submit" { "Attach" } }
            }
        }
    })
}

/// The policies that could be attached (those not attached yet), where the console user may
/// list policies.
async fn attachable(console: &Console, attached: &[Policy]) -> Result<Vec<Policy>, ConsoleError> {
    let message = ListPolicies { tenant: console.tenant.clone(), by: console.principal.clone(), span: None };
    match ask(&console.state.domain.users, message).await {
        Ok(policies) => Ok(policies.into_iter().filter(|policy| !attached.iter().any(|a| a.id == policy.id)).collect()),
        Err(DomainError::Forbidden) => Ok(Vec::new()),
        Err(error) => Err(console.fail(error)),
    }
}

/// Applies `patch` to the path's group, then back to its page with `done`; a refused change
/// comes back as the page with the refusal beside its form.
async fn change(
    req: &HttpRequest,
    console: &Console,
    patch: GroupPatch,
    mut view: View,
    done: &str,
) -> Result<HttpResponse, ConsoleError> {
    let id = group_id(req, console)?;
    let message = UpdateGroup { tenant: console.tenant.clone(), by: console.principal.clone(), id, patch };
    let error = match ask(&console.state.domain.users, message).await {
        Ok(group) => return Ok(console.redirect(&format!("{}?done={done}", group_path(group.id)))),
        Err(error) => error,
    };
    let (status, errors) = match error {
        DomainError::Missing(Kind::User) => (StatusCode::UNPROCESSABLE_ENTITY, field_error("user", "matches no user")),
        error => naming_problem(&error).ok_or_else(|| console.fail(error))?,
    };
    view.errors = errors;
    respond(console, id, status, &view, None).await
}

/// `POST /console/groups/{group_id}`: name and description.
async fn rename(
    req: HttpRequest,
    console: Console,
    Posted(form): Posted<GroupForm>,
) -> Result<HttpResponse, ConsoleError> {
    let patch =
        GroupPatch { name: Some(form.name.clone()), description: Some(form.description()), ..GroupPatch::default() };
    let view = View { naming: Some(form), ..View::default() };
    change(&req, &console, patch, view, "saved").await
}

/// The add-member form: a username, an email or an id.
#[derive(Deserialize)]
struct MemberForm {
    #[serde(default)]
    user: String,
}

/// `POST /console/groups/{group_id}/members`
async fn add_member(
    req: HttpRequest,
    console: Console,
    Posted(form): Posted<MemberForm>,
) -> Result<HttpResponse, ConsoleError> {
    let view = View { member: Some(form.user.clone()), ..View::default() };
    match find_user(&console, &form.user).await? {
        Some(user) => {
            let patch = GroupPatch { add_members: vec![user], ..GroupPatch::default() };
            change(&req, &console, patch, view, "added").await
        }
        None => {
            let view =
                View { errors: field_error("user", "matches no user (give a username, an email or an id)"), ..view };
            respond(&console, group_id(&req, &console)?, StatusCode::UNPROCESSABLE_ENTITY, &view, None).await
        }
    }
}

/// The user `text` names: an id as given (the actor checks it exists), else the user with that
/// email (or username, for users without email), else one whose username or email is exactly
/// `text` among those a search finds. `None` when nobody the console user may see matches.
async fn find_user(console: &Console, text: &str) -> Result<Option<Uuid>, ConsoleError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if let Some(id) = Kind::User.parse(text).or_else(|| Uuid::parse_str(text).ok()) {
        return Ok(Some(id));
    }
    let by_email = GetUser {
        tenant: console.tenant.clone(),
        by: console.principal.clone(),
        user: UserRef::Email(text.to_owned()),
    };
    match ask(&console.state.domain.users, by_email).await {
        Ok(user) => return Ok(Some(user.id)),
        Err(DomainError::NotFound | DomainError::Forbidden) => {}
        Err(error) => return Err(console.fail(error)),
    }
    if !console.can("users:ListUsers", &Kind::User.srn_all(&console.tenant)) {
        return Ok(None);
    }
    let wanted = text.to_lowercase();
    let exact = |name: &str| name.to_lowercase() == wanted;
    let found = search_users(console, text).await?;
    Ok(found
        .into_iter()
        .find(|user| exact(&user.username) || user.email.as_deref().is_some_and(exact))
        .map(|user| user.id))
}

/// `POST /console/groups/{group_id}/members/{user_id}/remove`
async fn remove_member(req: HttpRequest, console: Console, _: Posted<Empty>) -> Result<HttpResponse, ConsoleError> {
    let user = path_id(&req, &console, "user_id", Kind::User)?;
    let patch = GroupPatch { remove_members: vec![user], ..GroupPatch::default() };
    change(&req, &console, patch, View::default(), "removed").await
}

/// The attach form: a policy and the version of the list the page showed.
#[derive(Deserialize)]
struct AttachForm {
    #[serde(default)]
    policy_id: String,
    version: u64,
}

/// The detach form: the version of the list the page showed.
#[derive(Deserialize)]
struct VersionForm {
    version: u64,
}

/// Replaces the group's policy list by `edit` of the current one, only if the list is still at
/// `version` (the one the page showed): a concurrent change gets the "changed meanwhile" page.
async fn edit_policies(
    req: &HttpRequest,
    console: &Console,
    version: u64,
    edit: impl FnOnce(&mut Vec<Uuid>),
    done: &str,
) -> Result<HttpResponse, ConsoleError> {
    let id = group_id(req, console)?;
    let read = GetGroupPolicies { tenant: console.tenant.clone(), by: console.principal.clone(), id };
    let (current, _) = ask(&console.state.domain.users, read).await.map_err(|error| console.fail(error))?;
    let mut policy_ids: Vec<Uuid> = current.iter().map(|policy| policy.id).collect();
    edit(&mut policy_ids);
    let message = SetGroupPolicies {
        tenant: console.tenant.clone(),
        by: console.principal.clone(),
        id,
        policy_ids,
        expected_version: Some(version),
    };
    let view = match ask(&console.state.domain.users, message).await {
        Ok(()) => return Ok(console.redirect(&format!("{}?done={done}#policies", group_path(id)))),
        Err(DomainError::Conflict(Conflict::VersionMismatch)) => {
            (StatusCode::CONFLICT, View { policies_changed: true, ..View::default() })
        }
        Err(DomainError::Missing(Kind::Policy)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            View { errors: field_error("policy_id", "names no policy"), ..View::default() },
        ),
        Err(error) => return Err(console.fail(error)),
    };
    respond(console, id, view.0, &view.1, None).await
}

/// `POST /console/groups/{group_id}/policies`: attaches one policy.
async fn attach(
    req: HttpRequest,
    console: Console,
    Posted(form): Posted<AttachForm>,
) -> Result<HttpResponse, ConsoleError> {
    let Some(policy) = Kind::Policy.parse(form.policy_id.trim()) else {
        let view = View { errors: field_error("policy_id", "names no policy"), ..View::default() };
        return respond(&console, group_id(&req, &console)?, StatusCode::UNPROCESSABLE_ENTITY, &view, None).await;
    };
    edit_policies(&req, &console, form.version, |ids| ids.push(policy), "added").await
}

/// `POST /console/groups/{group_id}/policies/{policy_id}/detach`: detaches one policy.
async fn detach(
    req: HttpRequest,
    console: Console,
    Posted(form): Posted<VersionForm>,
) -> Result<HttpResponse, ConsoleError> {
    let policy = path_id(&req, &console, "policy_id", Kind::Policy)?;
    edit_policies(&req, &console, form.version, |ids| ids.retain(|id| *id != policy), "removed").await
}

/// `GET /console/groups/{group_id}/delete`
async fn confirm_delete(req: HttpRequest, console: Console) -> Result<HttpResponse, ConsoleError> {
    let id = group_id(&req, &console)?;
    let message = GetGroup { tenant: console.tenant.clone(), by: console.principal.clone(), id };
    let group = ask(&console.state.domain.users, message).await.map_err(|error| console.fail(error))?;
    let path = group_path(group.id);
    let body = html! {
        div.card {
            p { "Delete the group " strong { (group.name) } "? Its " (group.members.len()) " member(s) lose the policies attached to it at once; the users and the policies themselves remain. This cannot be undone." }
            form method="post" action=(console.url(&format!("{path}/delete"))) {
                (console.csrf_field())
                button.danger type="submit" { "Delete group" } " "
                a href=(console.url(&path)) { "Cancel" }
            }
        }
    };
    Ok(console.page(StatusCode::OK, Section::Groups, "Delete group", None, body))
}

/// `POST /console/groups/{group_id}/delete`
async fn delete(req: HttpRequest, console: Console, _: Posted<Empty>) -> Result<HttpResponse, ConsoleError> {
    let id = group_id(&req, &console)?;
    let message = DeleteGroup { tenant: console.tenant.clone(), by: console.principal.clone(), id };
    ask(&console.state.domain.users, message).await.map_err(|error| console.fail(error))?;
    Ok(console.redirect("/groups?done=deleted"))
}
