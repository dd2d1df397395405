//! The change feed behind the principal cache: LIVE queries on the tables a principal is made
//! of (users, sessions, API keys, policies, groups, memberships), so that a change written
//! through any replica sharing the database invalidates this replica's cached principals within
//! milliseconds. It reads ids and tenants only, across tenants (housekeeping, like the purges).

use futures::StreamExt;
use surrealdb::types::{Action, Value};
use surrealdb::Notification;
use uuid::Uuid;

use super::{Scope, Store, StoreError};

/// The LIVE queries, in the order [`apply`] reads them.
const FEEDS: &str = "LIVE SELECT tenant, uid FROM user;
     LIVE SELECT tenant, sid FROM session;
     LIVE SELECT tenant, kid FROM api_key;
     LIVE SELECT tenant FROM policy;
     LIVE SELECT tenant FROM user_group;
     LIVE SELECT tenant, uid FROM membership;";

/// How long to wait before following again after the feed broke.
const RETRY: std::time::Duration = std::time::Duration::from_secs(1);

fn text<'a>(data: &'a Value, field: &str) -> Option<&'a str> {
    match data {
        Value::Object(object) => match object.get(field) {
            Some(Value::String(text)) => Some(text.as_str()),
            _ => None,
        },
        _ => None,
    }
}

fn id(data: &Value, field: &str) -> Option<Uuid> {
    text(data, field).and_then(|id| Uuid::parse_str(id).ok())
}

impl Store {
    /// Follows every replica's changes for as long as the process runs (on the store's own
    /// runtime), reconnecting after a failure; while it is down the cache trusts entries for
    /// [`super::FEED_DOWN_TTL`] only.
    pub fn follow_changes(&self) {
        let store = self.clone();
        super::store_runtime().spawn(async move {
            loop {
                let error = store.follow().await;
                store.principals.set_feed_up(false);
                tracing::warn!(error = ?error.err(), "the change feed stopped; cached credentials now live 1 s");
                tokio::time::sleep(RETRY).await;
            }
        });
    }

    async fn follow(&self) -> Result<(), StoreError> {
        // On a server the feed has its own connection, so that a burst of notifications never
        // queues behind (or ahead of) the requests' queries; an embedded engine is this process.
        let remote = self.config.endpoint.starts_with("ws") || self.config.endpoint.starts_with("http");
        let client = if remote {
            std::sync::Arc::new(super::client::Client::open(&self.config).await?)
        } else {
            self.db.0.clone()
        };
        let mut response = client.query(vec![FEEDS.to_owned()], Default::default()).await?;
        let mut feeds = Vec::new();
        for table in 0..6 {
            let stream = response.stream::<Notification<Value>>(table)?;
            feeds.push(stream.map(move |item| (table, item)).boxed());
        }
        let mut changes = futures::stream::select_all(feeds);
        // Whatever changed while nobody was listening is unknown: start afresh.
        self.principals.clear();
        self.principals.set_feed_up(true);
        tracing::info!("following changes for the principal cache");
        while let Some((table, item)) = changes.next().await {
            let notification = item?;
            if notification.action == Action::Killed {
                return Err(StoreError::Database("a live query was killed".into()));
            }
            self.apply(table, &notification);
        }
        Err(StoreError::Database("the change feed ended".into()))
    }

    /// Invalidates what one change can affect; a change it cannot read clears the cache.
    fn apply(&self, table: usize, notification: &Notification<Value>) {
        let data = &notification.data;
        let created = notification.action == Action::Create;
        let Some(tenant) = text(data, "tenant") else {
            self.principals.clear();
            return;
        };
        let scope = match table {
            // New users, sessions, keys and policies are in no cached principal yet.
            0..=3 if created => return,
            0 => id(data, "uid").map(|uid| Scope::User(tenant, uid)),
            1 => id(data, "sid").map(|sid| Scope::Session(tenant, sid)),
            2 => id(data, "kid").map(|kid| Scope::ApiKey(tenant, kid)),
            3 | 4 => Some(Scope::Tenant(tenant)),
            _ => id(data, "uid").map(|uid| Scope::User(tenant, uid)),
        };
        match scope {
            Some(scope) => self.principals.invalidate(scope),
            None => self.principals.clear(),
        }
    }
}
