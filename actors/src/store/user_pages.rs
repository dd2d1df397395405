//! Pages of a tenant's users for people browsing a directory (the console): a prefix search on
//! username or email and a choice of order, answered by the database one page at a time.

use super::rows::{UserRow, USER_FIELDS};
use super::{Page, Store, StoreError};
use crate::model::{TenantId, User};
use crate::scim::{Condition, SortKey};
use crate::user_actor::UserOrder;

/// What to read: users whose username or email starts with `prefix` (lowercase), in `order`,
/// `limit` of them from the 0-based `offset`.
#[derive(Debug, Clone)]
pub struct UserPage<'a> {
    pub prefix: Option<&'a str>,
    pub order: UserOrder,
    pub descending: bool,
    pub offset: u64,
    pub limit: u64,
}

/// The largest character, so that `[prefix, prefix + MAX)` is the range of keys starting with it.
const AFTER_PREFIX: char = char::MAX;

impl Store {
    /// One page of users with the number matching; prefixes are key ranges of the username and
    /// email indexes, so a search reads only the users it finds.
    pub async fn page_users(&self, tenant: &TenantId, page: &UserPage<'_>) -> Result<(u64, Vec<User>), StoreError> {
        let condition = page.prefix.map(|prefix| Condition {
            sql: "(username_key >= $from AND username_key < $to) OR (email_key >= $from AND email_key < $to)"
                .to_owned(),
            params: vec![
                ("from".to_owned(), prefix.into()),
                ("to".to_owned(), format!("{prefix}{AFTER_PREFIX}").into()),
            ],
            index: None,
        });
        let key = match page.order {
            UserOrder::Created => page.descending.then(|| SortKey("created_at".to_owned())),
            UserOrder::Username => Some(SortKey("username_key".to_owned())),
            UserOrder::Email => Some(SortKey("email_key".to_owned())),
            UserOrder::LastSignIn => Some(SortKey("last_signed_in_at".to_owned())),
        };
        let descending = page.descending;
        let order = key.as_ref().map(|key| (key, descending));
        let scan = Page { condition: condition.as_ref(), order, offset: page.offset, count: page.limit };
        let (total, rows): (u64, Vec<UserRow>) = self.search("user", USER_FIELDS, "uid", tenant, &scan).await?;
        Ok((total, rows.into_iter().map(UserRow::into_user).collect::<Result<_, _>>()?))
    }
}
