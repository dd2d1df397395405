//! Pages of a tenant's users for people browsing a directory (the console): in an order read
//! from an index, or found by a prefix of a username or email, one page at a time. Neither sorts
//! nor counts the tenant: a page says whether another follows.

use std::collections::HashSet;

use super::rows::{UserRow, USER_FIELDS};
use super::{Store, StoreError};
use crate::model::{TenantId, User};
use crate::user_actor::UserOrder;

/// What to read: users whose username or email starts with `prefix` (a lowercase key; then in
/// name order), else all in `order`; `limit` of them from the 0-based `offset`.
#[derive(Debug, Clone)]
pub struct UserPage<'a> {
    pub prefix: Option<&'a str>,
    pub order: UserOrder,
    pub descending: bool,
    pub offset: u64,
    pub limit: u64,
}

/// One page of users, and whether more follow.
#[derive(Debug, Clone)]
pub struct UsersPage {
    pub users: Vec<User>,
    pub more: bool,
}

/// The largest character, so that `[prefix, prefix + MAX)` holds exactly the keys starting with it.
const AFTER_PREFIX: char = char::MAX;

/// A page of users in `order` (each order has its index; see schema version 15).
pub(super) fn ordered_query(order: UserOrder, descending: bool) -> String {
    let direction = if descending { "DESC" } else { "ASC" };
    let order = match order {
        UserOrder::Created => format!("created_at {direction}, uid {direction}"),
        UserOrder::Username => format!("username_key {direction}"),
        UserOrder::Email => format!("email_key {direction}"),
        UserOrder::LastSignIn => format!("last_signed_in_at {direction}"),
    };
    format!("SELECT {USER_FIELDS} FROM user WHERE tenant = $tenant ORDER BY {order} LIMIT $count START $offset")
}

/// The owners of the sign-in names (usernames and emails) whose `name_key` (`<tenant> <key>`,
/// schema version 16) is in `[$from, $to)`, in name order: one index read between two bounds,
/// stopping at `$count`, so it reads the matching names only.
pub(super) const NAMES_IN_RANGE: &str =
    "SELECT VALUE uid FROM sign_in_name WHERE name_key >= $from AND name_key < $to ORDER BY name_key LIMIT $count";

/// The users of `$ids`, read by record id.
pub(super) fn users_by_ids_query() -> String {
    format!("SELECT {USER_FIELDS} FROM array::map($ids, |$uid| type::record('user', [$tenant, $uid]))")
}

impl Store {
    /// One page of users, read in order from an index or found by a name prefix.
    pub async fn page_users(&self, tenant: &TenantId, page: &UserPage<'_>) -> Result<UsersPage, StoreError> {
        // One more than the page tells whether another follows.
        let wanted = page.limit + 1;
        let mut users = match page.prefix {
            None => {
                let mut response = self
                    .db
                    .query(ordered_query(page.order, page.descending))
                    .bind(("tenant", tenant.as_str().to_owned()))
                    .bind(("count", wanted))
                    .bind(("offset", page.offset))
                    .await?;
                let rows: Vec<UserRow> = response.take(0)?;
                rows.into_iter().map(UserRow::into_user).collect::<Result<Vec<_>, _>>()?
            }
            Some(prefix) => self.users_named(tenant, prefix, page.offset, wanted).await?,
        };
        let more = users.len() as u64 > page.limit;
        users.truncate(usize::try_from(page.limit).unwrap_or(usize::MAX));
        Ok(UsersPage { users, more })
    }

    /// Up to `count` users from `offset` among those owning a name that starts with `prefix`,
    /// in name order (a user owning two matching names counts once, at its first).
    async fn users_named(
        &self,
        tenant: &TenantId,
        prefix: &str,
        offset: u64,
        count: u64,
    ) -> Result<Vec<User>, StoreError> {
        // A user owns at most two names, so twice the names hold enough distinct users.
        let names = (offset + count).saturating_mul(2);
        let mut response = self
            .db
            .query(NAMES_IN_RANGE)
            .bind(("from", format!("{tenant} {prefix}")))
            .bind(("to", format!("{tenant} {prefix}{AFTER_PREFIX}")))
            .bind(("count", names))
            .await?;
        let owners: Vec<String> = response.take(0)?;
        let mut seen = HashSet::with_capacity(owners.len());
        let ids: Vec<String> = owners
            .into_iter()
            .filter(|owner| seen.insert(owner.clone()))
            .skip(usize::try_from(offset).unwrap_or(usize::MAX))
            .take(usize::try_from(count).unwrap_or(usize::MAX))
            .collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut response = self
            .db
            .query(users_by_ids_query())
            .bind(("tenant", tenant.as_str().to_owned()))
            .bind(("ids", ids.clone()))
            .await?;
        let rows: Vec<UserRow> = response.take(0)?;
        let mut users: Vec<User> = rows.into_iter().map(UserRow::into_user).collect::<Result<Vec<_>, _>>()?;
        // In name order, as the names were found.
        users.sort_by_key(|user| ids.iter().position(|id| *id == user.id.to_string()));
        Ok(users)
    }
}
