//! SCIM searches: a translated filter, an order and a page, answered by the database, always
//! within one tenant.

use surrealdb::types::SurrealValue;
use uuid::Uuid;

use super::rows::{GroupRow, UserRow, USER_FIELDS};
use super::{Store, StoreError};
use crate::model::{Group, TenantId, User};
use crate::scim::{Condition, SortKey};

/// What to read: the records matching `condition` (all when `None`), in `order` (creation
/// order when `None`), `count` of them from the 0-based `offset`.
#[derive(Debug, Clone)]
pub struct Page<'a> {
    pub condition: Option<&'a Condition>,
    pub order: Option<(&'a SortKey, bool)>,
    pub offset: u64,
    pub count: u64,
}

#[derive(Debug, SurrealValue)]
#[surreal(crate = "surrealdb::types")]
struct Total {
    count: i64,
}

#[derive(Debug, SurrealValue)]
#[surreal(crate = "surrealdb::types")]
struct Membership {
    gid: String,
    name: String,
    members: Vec<String>,
}

impl Store {
    /// The tenant's users matching `page`, with the total number matching.
    pub async fn search_users(&self, tenant: &TenantId, page: &Page<'_>) -> Result<(u64, Vec<User>), StoreError> {
        let (total, rows): (u64, Vec<UserRow>) = self.search("user", USER_FIELDS, "uid", tenant, page).await?;
        Ok((total, rows.into_iter().map(UserRow::into_user).collect::<Result<_, _>>()?))
    }

    /// The tenant's groups matching `page`, with the total number matching.
    pub async fn search_groups(&self, tenant: &TenantId, page: &Page<'_>) -> Result<(u64, Vec<Group>), StoreError> {
        let (total, rows): (u64, Vec<GroupRow>) =
            self.search("user_group", super::groups::GROUP_FIELDS, "gid", tenant, page).await?;
        Ok((total, rows.into_iter().map(GroupRow::into_group).collect::<Result<_, _>>()?))
    }

    async fn search<R: SurrealValue>(
        &self,
        table: &str,
        fields: &str,
        id_column: &str,
        tenant: &TenantId,
        page: &Page<'_>,
    ) -> Result<(u64, Vec<R>), StoreError> {
        let condition = match page.condition {
            Some(condition) => format!("tenant = $tenant AND ({})", condition.sql),
            None => "tenant = $tenant".to_owned(),
        };
        let order = match page.order {
            Some((_, descending)) => format!("sort_key {}, {id_column}", if descending { "DESC" } else { "ASC" }),
            None => format!("created_at, {id_column}"),
        };
        // SurrealDB orders by selected fields only: a sort key is selected under its own name.
        let selection = match page.order {
            Some((key, _)) => format!("{fields}, {} AS sort_key", key.0),
            None => fields.to_owned(),
        };
        let query = format!(
            "SELECT count() FROM {table} WHERE {condition} GROUP ALL;
             SELECT {selection} FROM {table} WHERE {condition} ORDER BY {order} LIMIT $count START $offset;"
        );
        let mut request = self
            .db
            .query(query)
            .bind(("tenant", tenant.as_str().to_owned()))
            .bind(("count", page.count))
            .bind(("offset", page.offset));
        if let Some(condition) = page.condition {
            for (name, value) in &condition.params {
                request = request.bind((name.clone(), value.clone()));
            }
        }
        let mut response = request.await?;
        let totals: Vec<Total> = response.take(0)?;
        let rows: Vec<R> = response.take(1)?;
        let total = totals.first().map_or(0, |total| u64::try_from(total.count).unwrap_or(0));
        Ok((total, rows))
    }

    /// The groups (id, name) each of `users` is a member of, in one query.
    pub async fn memberships(
        &self,
        tenant: &TenantId,
        users: &[Uuid],
    ) -> Result<Vec<(Uuid, Vec<(Uuid, String)>)>, StoreError> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = users.iter().map(Uuid::to_string).collect();
        let mut response = self
            .db
            .query("SELECT gid, name, members FROM user_group WHERE tenant = $tenant AND members CONTAINSANY $ids ORDER BY name")
            .bind(("tenant", tenant.as_str().to_owned()))
            .bind(("ids", ids.clone()))
            .await?;
        let rows: Vec<Membership> = response.take(0)?;
        let mut result: Vec<(Uuid, Vec<(Uuid, String)>)> = users.iter().map(|id| (*id, Vec::new())).collect();
        for row in rows {
            let Ok(gid) = Uuid::parse_str(&row.gid) else { continue };
            for (user, groups) in result.iter_mut() {
                if row.members.iter().any(|member| member == &user.to_string()) {
                    groups.push((gid, row.name.clone()));
                }
            }
        }
        Ok(result)
    }
}
