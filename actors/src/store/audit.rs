//! The audit trail's storage: events keyed `[tenant, at, eid]`, read newest first as a
//! record-id range of one tenant (never a scan of other tenants), appended on their own or
//! carried by a write's own transaction (`super::db`).

use chrono::{DateTime, Utc};
use surrealdb::types::SurrealValue;
use uuid::Uuid;

use super::{Store, StoreError};
use crate::audit::{AuditActor, AuditEvent, AuditOutcome};
use crate::model::TenantId;

/// An event as stored.
#[derive(Debug, Clone, SurrealValue)]
#[surreal(crate = "surrealdb::types")]
pub(crate) struct AuditRow {
    tenant: String,
    eid: String,
    at: DateTime<Utc>,
    actor_type: String,
    actor_user: Option<String>,
    actor_key: Option<String>,
    action: String,
    target: String,
    outcome: String,
    client: Option<String>,
    request_id: Option<String>,
}

impl From<&AuditEvent> for AuditRow {
    fn from(event: &AuditEvent) -> Self {
        let (actor_type, actor_user, actor_key) = match &event.actor {
            AuditActor::User { user_id } => ("user", Some(user_id.clone()), None),
            AuditActor::ApiKey { user_id, api_key_id } => ("api_key", Some(user_id.clone()), Some(api_key_id.clone())),
            AuditActor::Anonymous => ("anonymous", None, None),
            AuditActor::System => ("system", None, None),
        };
        AuditRow {
            tenant: event.tenant.as_str().to_owned(),
            eid: event.id.to_string(),
            at: event.at,
            actor_type: actor_type.to_owned(),
            actor_user,
            actor_key,
            action: event.action.clone(),
            target: event.target.clone(),
            outcome: event.outcome.as_str().to_owned(),
            client: event.client.clone(),
            request_id: event.request_id.clone(),
        }
    }
}

impl AuditRow {
    fn into_event(self) -> Option<AuditEvent> {
        let actor = match (self.actor_type.as_str(), self.actor_user, self.actor_key) {
            ("user", Some(user_id), _) => AuditActor::User { user_id },
            ("api_key", Some(user_id), Some(api_key_id)) => AuditActor::ApiKey { user_id, api_key_id },
            ("anonymous", ..) => AuditActor::Anonymous,
            _ => AuditActor::System,
        };
        Some(AuditEvent {
            id: Uuid::parse_str(&self.eid).ok()?,
            tenant: TenantId::parse(&self.tenant)?,
            at: self.at,
            actor,
            action: self.action,
            target: self.target,
            outcome: AuditOutcome::parse(&self.outcome)?,
            client: self.client,
            request_id: self.request_id,
        })
    }
}

/// Appends one event (bound as `$audit_event`): an `UPSERT` of its own record id, so that
/// restating an event a write already carried stores it once.
pub(crate) const CARRY_EVENT: &str = "UPSERT type::record('audit_event', [$audit_event.tenant, $audit_event.at, \
     $audit_event.eid]) CONTENT $audit_event RETURN NONE;\n";

/// The statement a write's transaction runs to carry its events (bound as `$audit_events`,
/// see [`carried_rows`]): one set-based insert, each event under its own record id, updated
/// when stored already (a write made of several transactions may name its target only in a
/// later one), so that each event is stored once, as the write last described it. (An `UPSERT` per event in a `FOR` loop cost a /Bulk of 1,000 users more than half its
/// time.)
pub(crate) const CARRY_EVENTS: &str = "INSERT INTO audit_event $audit_events ON DUPLICATE KEY UPDATE \
     action = $input.action, target = $input.target, outcome = $input.outcome RETURN NONE;\n";

/// The rows [`CARRY_EVENTS`] inserts: each event's row with its record id.
pub(crate) fn carried_rows(events: &[AuditEvent]) -> Vec<surrealdb::types::Value> {
    events
        .iter()
        .map(|event| {
            let mut row = AuditRow::from(event).into_value();
            if let surrealdb::types::Value::Object(object) = &mut row {
                let key = surrealdb::types::Array::from(vec![
                    surrealdb::types::Value::String(event.tenant.as_str().to_owned()),
                    surrealdb::types::Value::Datetime(event.at.into()),
                    surrealdb::types::Value::String(event.id.to_string()),
                ]);
                object.insert(
                    "id".to_owned(),
                    surrealdb::types::Value::RecordId(surrealdb::types::RecordId::new("audit_event", key)),
                );
            }
            row
        })
        .collect()
}

/// Which events a listing wants (all conditions together), newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// At or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Before this time.
    pub to: Option<DateTime<Utc>>,
    /// Before this event (`at`, `id`): the cursor of the previous page.
    pub before: Option<(DateTime<Utc>, Uuid)>,
    /// A user (`usr_…`) or API key (`key_…`) id.
    pub actor: Option<String>,
    /// An exact action, or a module's actions as `module:*`.
    pub action: Option<String>,
    pub target: Option<String>,
    pub outcome: Option<AuditOutcome>,
    pub limit: u32,
}

/// The start of a page of the trail (its conditions and order follow).
pub(super) const FEED_PAGE: &str = "SELECT * FROM audit_event";

/// The time part of a feed key: microseconds counted down from a far future, 18 digits, so
/// that newer events sort first. Schema version 16 computes the same for every stored event.
fn countdown(at: DateTime<Utc>) -> String {
    format!("{:018}", 999_999_999_999_999_999_i64 - at.timestamp_micros())
}

/// The `audit_event.feed_key` of an event (`<tenant> <countdown(at)> <eid>`).
pub(crate) fn feed_key(tenant: &str, at: DateTime<Utc>, eid: &str) -> String {
    format!("{tenant} {} {eid}", countdown(at))
}

/// The exclusive bounds of a page's keys: after the cursor's event or the keys of events at or
/// after `to` (whichever is later in the feed), and before the keys of events before `from`.
/// `~` sorts after every character of an id, `!` after the space that follows the tenant.
fn feed_bounds(tenant: &TenantId, query: &AuditQuery) -> (String, String) {
    let tenant = tenant.as_str();
    let mut after = format!("{tenant} ");
    if let Some(to) = query.to {
        after = after.max(format!("{tenant} {}~", countdown(to)));
    }
    if let Some((at, id)) = query.before {
        after = after.max(feed_key(tenant, at, &id.to_string()));
    }
    let until = match query.from {
        Some(from) => format!("{tenant} {}~", countdown(from)),
        None => format!("{tenant}!"),
    };
    (after, until)
}

impl Store {
    /// Appends one event on its own (an `UPSERT` of its record id, so appending an event a
    /// write already carried only restates it).
    pub async fn append_audit_event(&self, event: &AuditEvent) -> Result<(), StoreError> {
        let row = AuditRow::from(event);
        self.retrying(|| async {
            self.db.query(CARRY_EVENT).bind(("audit_event", row.clone())).await.and_then(super::first_failure)
        })
        .await
    }

    /// One page of a tenant's events, newest first: the `audit_feed` index read forward between
    /// two keys (the later of `to` and the cursor, and `from`), filtered as it is read, stopping
    /// at the page's end.
    pub async fn list_audit_events(
        &self,
        tenant: &TenantId,
        query: &AuditQuery,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let mut conditions = vec!["feed_key > $after", "feed_key < $until"];
        if query.actor.is_some() {
            conditions.push("(actor_user = $actor OR actor_key = $actor)");
        }
        match query.action.as_deref() {
            Some(action) if action.ends_with(":*") => conditions.push("string::starts_with(action, $action_prefix)"),
            Some(_) => conditions.push("action = $action"),
            None => {}
        }
        if query.target.is_some() {
            conditions.push("target = $target");
        }
        if query.outcome.is_some() {
            conditions.push("outcome = $outcome");
        }
        let statement = format!("{FEED_PAGE} WHERE {} ORDER BY feed_key LIMIT $limit", conditions.join(" AND "));
        let (after, until) = feed_bounds(tenant, query);
        let mut response = self
            .db
            .query(statement)
            .bind(("after", after))
            .bind(("until", until))
            .bind(("actor", query.actor.clone()))
            .bind(("action", query.action.clone()))
            .bind(("action_prefix", query.action.as_deref().map(|action| action.trim_end_matches('*').to_owned())))
            .bind(("target", query.target.clone()))
            .bind(("outcome", query.outcome.map(|outcome| outcome.as_str().to_owned())))
            .bind(("limit", i64::from(query.limit)))
            .await?;
        let rows: Vec<AuditRow> = response.take(0)?;
        Ok(rows.into_iter().filter_map(AuditRow::into_event).collect())
    }

    /// Deletes every event older than `cutoff` (the retention purge), through the `at` index;
    /// returns how many.
    pub async fn purge_audit_events(&self, cutoff: DateTime<Utc>) -> Result<usize, StoreError> {
        let mut response = self
            .retrying(|| async {
                self.db.query("DELETE audit_event WHERE at < $cutoff RETURN BEFORE").bind(("cutoff", cutoff)).await
            })
            .await?;
        let deleted: Vec<surrealdb::types::Value> = response.take(0)?;
        Ok(deleted.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::RequestOrigin;
    use crate::store::test_store;

    fn event(tenant: &str, action: &str, at: DateTime<Utc>) -> AuditEvent {
        let mut event = AuditEvent::new(
            TenantId::parse(tenant).unwrap(),
            AuditActor::User { user_id: "usr_1".into() },
            action,
            format!("srn:{tenant}:user:*"),
            &RequestOrigin::default(),
        );
        event.at = at;
        event
    }

    #[tokio::test]
    async fn pages_newest_first_within_one_tenant_with_filters() {
        let store = test_store().await;
        let start = Utc::now() - chrono::Duration::minutes(10);
        for minute in 0..6 {
            let action = if minute % 2 == 0 { "users:CreateUser" } else { "groups:CreateGroup" };
            store.append_audit_event(&event("acme", action, start + chrono::Duration::minutes(minute))).await.unwrap();
            store
                .append_audit_event(&event("globex", action, start + chrono::Duration::minutes(minute)))
                .await
                .unwrap();
        }
        let acme = TenantId::parse("acme").unwrap();
        let first = store.list_audit_events(&acme, &AuditQuery { limit: 4, ..AuditQuery::default() }).await.unwrap();
        assert_eq!(first.len(), 4);
        assert!(first.windows(2).all(|pair| pair[0].at > pair[1].at), "newest first");
        assert!(first.iter().all(|event| event.tenant == acme));
        let last = first.last().unwrap();
        let query = AuditQuery { limit: 4, before: Some((last.at, last.id)), ..AuditQuery::default() };
        let second = store.list_audit_events(&acme, &query).await.unwrap();
        assert_eq!(second.len(), 2, "the rest, none twice");
        assert!(second[0].at < last.at);
        let groups = AuditQuery { limit: 10, action: Some("groups:*".into()), ..AuditQuery::default() };
        assert_eq!(store.list_audit_events(&acme, &groups).await.unwrap().len(), 3);
        let window = AuditQuery {
            limit: 10,
            from: Some(start + chrono::Duration::minutes(1)),
            to: Some(start + chrono::Duration::minutes(3)),
            ..AuditQuery::default()
        };
        assert_eq!(store.list_audit_events(&acme, &window).await.unwrap().len(), 2, "from inclusive, to exclusive");
        // The page is one index read between two keys of the tenant, stopping at the page's end
        // (no sort, no scan of the tenant's other events).
        let mut plan = store
            .db
            .query(format!(
                "{FEED_PAGE} WHERE feed_key > $after AND feed_key < $until ORDER BY feed_key LIMIT 3 EXPLAIN"
            ))
            .bind(("after", "acme "))
            .bind(("until", "acme!"))
            .await
            .unwrap();
        let plan: surrealdb::types::Value = plan.take(0).unwrap();
        let plan = format!("{plan:?}");
        assert!(plan.contains("audit_feed") && plan.contains("\"limit\": String(\"3\")"), "{plan}");
        assert!(plan.contains("\"access\": String(\">") && !plan.contains("Sort"), "{plan}");
        // The key the database computes is the one the bounds are made of.
        let stored: Vec<String> = store
            .db
            .query("SELECT VALUE feed_key FROM audit_event WHERE tenant = 'acme'")
            .await
            .unwrap()
            .take(0)
            .unwrap();
        let expected = feed_key("acme", first[0].at, &first[0].id.to_string());
        assert!(stored.contains(&expected), "{expected} not in {stored:?}");
        // Retention: everything before the cutoff goes, in every tenant.
        assert_eq!(store.purge_audit_events(start + chrono::Duration::minutes(3)).await.unwrap(), 6);
        assert_eq!(
            store.list_audit_events(&acme, &AuditQuery { limit: 10, ..AuditQuery::default() }).await.unwrap().len(),
            3
        );
    }

    /// A write and its event commit together: a write that commits stores the event in its own
    /// transaction (no sink runs here), and a write that is refused leaves no event behind.
    #[tokio::test]
    async fn a_write_carries_its_event_in_its_own_transaction() {
        use crate::audit::record;
        use crate::error::DomainError;
        use crate::model::{Role, User};
        let store = test_store().await;
        let tenant = TenantId::default_tenant();
        let event = |action: &str| {
            AuditEvent::new(
                tenant.clone(),
                AuditActor::System,
                action,
                "srn:default:user:*".into(),
                &RequestOrigin::default(),
            )
        };
        let user = User::new("carried".into(), None, Role::Unprivileged, None);
        let stored: Result<(), DomainError> =
            record(event("users:CreateUser"), async { Ok(store.create_user(&tenant, &user).await?) }).await;
        stored.unwrap();
        let all = AuditQuery { limit: 10, ..AuditQuery::default() };
        let events = store.list_audit_events(&tenant, &all).await.unwrap();
        assert_eq!(events.len(), 1, "the transaction carried the event");
        assert_eq!(events[0].action, "users:CreateUser");
        let twin = User::new("carried".into(), None, Role::Unprivileged, None);
        let refused: Result<(), DomainError> =
            record(event("users:DeleteUser"), async { Ok(store.create_user(&tenant, &twin).await?) }).await;
        assert!(refused.is_err());
        let events = store.list_audit_events(&tenant, &all).await.unwrap();
        assert_eq!(events.len(), 1, "the refused write's transaction stored nothing: {events:?}");
    }
}
