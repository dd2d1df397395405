//! SCIM queries (RFC 7644 §3.4.2, §3.4.3): a filter translated for the database, a sort order
//! and an index page, over users, groups, or both (the root `/.search`).

use actix::{Context, Handler, Message, ResponseFuture};
use serde_json::Value;

use super::scim::ScimContext;
use super::ProvisioningActor;
use crate::auth::authorize;
use crate::error::DomainError;
use crate::model::Kind;
use crate::scim::{
    decode_cursor, encode_cursor, parse_filter, query_digest, render_group, render_user, translate, AttrPath,
    CursorState, ResourceKind, ScimProblem, SortKey,
};
use crate::store::{Page, Store};

/// A query over `kinds` (both, in this order, for the root `/.search`).
#[derive(Message)]
#[rtype(result = "Result<ScimPage, DomainError>")]
pub struct ScimSearch {
    pub context: ScimContext,
    pub kinds: Vec<ResourceKind>,
    pub filter: Option<String>,
    pub sort_by: Option<String>,
    pub descending: bool,
    /// 0-based offset of the first result (index paging).
    pub offset: u64,
    pub count: u64,
    /// Cursor paging (RFC 9865): `Some("")` for the first page, then a `nextCursor` /
    /// `previousCursor` this server issued for the same query.
    pub cursor: Option<String>,
}

/// One page of results and the total number matching.
#[derive(Debug, Clone)]
pub struct ScimPage {
    pub total: u64,
    pub resources: Vec<(ResourceKind, Value)>,
    /// With cursor paging: the cursors of the next page (absent on the last) and of the
    /// previous one (absent on the first).
    pub next_cursor: Option<String>,
    pub previous_cursor: Option<String>,
}

impl Handler<ScimSearch> for ProvisioningActor {
    type Result = ResponseFuture<Result<ScimPage, DomainError>>;

    fn handle(&mut self, message: ScimSearch, _: &mut Context<Self>) -> Self::Result {
        let (store, sealer) = (self.store.clone(), self.sealer.clone());
        let resource = match message.kinds.as_slice() {
            [kind] => kind.name(),
            _ => "Any",
        };
        let attempt = async move {
            for kind in &message.kinds {
                let (action, resource) = match kind {
                    ResourceKind::User => ("scim:ListUsers", Kind::User.srn_all(&message.context.tenant)),
                    ResourceKind::Group => ("scim:ListGroups", Kind::Group.srn_all(&message.context.tenant)),
                };
                authorize(&message.context.by, action, &resource)?;
            }
            let filter = message.filter.as_deref().map(parse_filter).transpose()?;
            let sort_path = message.sort_by.as_deref().map(AttrPath::parse).transpose()?;
            let mut plans = Vec::new();
            let mut refusal: Option<ScimProblem> = None;
            for kind in &message.kinds {
                // Over several kinds, a filter one of them cannot have matches none of it.
                let condition = match filter.as_ref().map(|filter| translate(*kind, filter)).transpose() {
                    Ok(condition) => condition,
                    Err(problem) if message.kinds.len() > 1 => {
                        refusal = Some(problem);
                        continue;
                    }
                    Err(problem) => return Err(problem.into()),
                };
                let sort = match &sort_path {
                    Some(path) => match SortKey::for_path(*kind, path) {
                        Ok(key) => Some(key),
                        Err(problem) if message.kinds.len() == 1 => return Err(problem.into()),
                        Err(_) => None,
                    },
                    None => None,
                };
                plans.push((*kind, condition, sort));
            }
            if plans.is_empty() {
                return Err(refusal.map_or(DomainError::NotFound, DomainError::from));
            }
            let kinds: Vec<&str> = message.kinds.iter().map(|kind| kind.name()).collect();
            let order = if message.descending { "descending" } else { "ascending" };
            let digest = query_digest(&[
                &kinds.join(","),
                message.filter.as_deref().unwrap_or(""),
                message.sort_by.as_deref().unwrap_or(""),
                order,
            ]);
            let now = chrono::Utc::now().timestamp();
            let start = match message.cursor.as_deref() {
                None | Some("") => message.offset,
                Some(cursor) => {
                    decode_cursor(cursor, |sealed| sealer.open(sealed), &digest, message.count, now)?.offset
                }
            };
            let (mut offset, mut remaining) = (start, message.count);
            let mut page = ScimPage { total: 0, resources: Vec::new(), next_cursor: None, previous_cursor: None };
            for (kind, condition, sort) in &plans {
                let query = Page {
                    condition: condition.as_ref(),
                    order: sort.as_ref().map(|key| (key, message.descending)),
                    offset,
                    count: remaining,
                };
                let (total, resources) = search(&store, &message.context, *kind, &query).await?;
                page.total += total;
                remaining -= resources.len() as u64;
                offset = offset.saturating_sub(total);
                page.resources.extend(resources.into_iter().map(|resource| (*kind, resource)));
            }
            if message.cursor.is_some() && message.count > 0 {
                let cursor = |offset: u64| {
                    let state = CursorState { offset, count: message.count, query: digest.clone(), issued: now };
                    encode_cursor(&state, |clear| sealer.seal(clear))
                };
                let end = start + page.resources.len() as u64;
                page.next_cursor = (end < page.total).then(|| cursor(end));
                page.previous_cursor = (start > 0).then(|| cursor(start.saturating_sub(message.count)));
            }
            Ok(page)
        };
        Box::pin(crate::metrics::observe(attempt, move |result| {
            crate::metrics::scim_operation(resource, "search", result)
        }))
    }
}

/// One kind's page, rendered.
async fn search(
    store: &Store,
    context: &ScimContext,
    kind: ResourceKind,
    page: &Page<'_>,
) -> Result<(u64, Vec<Value>), DomainError> {
    match kind {
        ResourceKind::User => {
            let (total, users) = store.search_users(&context.tenant, page).await?;
            let ids: Vec<_> = users.iter().map(|user| user.id).collect();
            let memberships = store.memberships(&context.tenant, &ids).await?;
            let resources = users
                .iter()
                .zip(memberships)
                .map(|(user, (_, groups))| render_user(user, &groups, &context.base_url))
                .collect();
            Ok((total, resources))
        }
        ResourceKind::Group => {
            let (total, groups) = store.search_groups(&context.tenant, page).await?;
            Ok((total, groups.iter().map(|group| render_group(group, &context.base_url)).collect()))
        }
    }
}
