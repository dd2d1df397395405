//! The plans of the queries requests and sign-ins run (issue #12): each is answered from an
//! index read at the looked-up value or from record ids, never by scanning a tenant's table.
//! The queries that still read a whole tenant are listed as known gaps, asserted as such.

use chrono::{Duration, Utc};
use uuid::Uuid;

use super::{api_keys, groups, identities, policies, scim, sessions, user_pages, users, Store};
use crate::model::{ApiKey, Group, IdentityKey, Policy, Role, Session, TenantId, User};
use crate::policy::PolicyDocument;
use crate::user_actor::UserOrder;
use crate::validate::unique_key;

/// The values a planned query may refer to; every query gets all of them bound.
struct Binds {
    tenant: TenantId,
    uid: String,
    key: String,
    issuer: String,
    subject: String,
    ids: Vec<String>,
}

/// The plan of `query` (one statement) with ` EXPLAIN` appended.
async fn explain(store: &Store, query: &str, binds: &Binds) -> String {
    let mut response = store
        .db
        .query(format!("{query} EXPLAIN"))
        .bind(("tenant", binds.tenant.as_str().to_owned()))
        .bind(("uid", binds.uid.clone()))
        .bind(("user", binds.uid.clone()))
        .bind(("key", binds.key.clone()))
        .bind(("issuer", binds.issuer.clone()))
        .bind(("subject", binds.subject.clone()))
        .bind(("ids", binds.ids.clone()))
        .bind(("from", "user".to_owned()))
        .bind(("to", format!("user{}", char::MAX)))
        .bind(("count", 26))
        .bind(("at", Utc::now()))
        .bind(("id", binds.uid.clone()))
        .bind(("offset", 0))
        .await
        .expect("explain");
    let plan: surrealdb::types::Value = response.take(0).expect("plan");
    format!("{plan:?}")
}

/// Statement `index` of a script of several.
fn after_statement(script: String, index: usize) -> String {
    script.split(';').map(str::trim).filter(|statement| !statement.is_empty()).nth(index).expect("statement").to_owned()
}

/// A page of a list, as the SOAT `limit`/`offset` ask for one.
const SPAN: super::Span = super::Span { offset: 0, limit: 26 };

/// How a query is answered.
enum Verdict {
    /// Record ids only: no index and no table is iterated.
    RecordId,
    /// A record-id range (one user's memberships): no index and no table is iterated.
    RecordRange,
    /// The named index alone, read at the tenant and this value.
    Point(&'static str, String),
    /// The named index alone, read by the tenant for its first entry only.
    First(&'static str),
    /// A page: the named index alone, read in its order from the tenant's first entry and
    /// stopping at the page's end (`LIMIT`), so no sort and no count of the tenant.
    Ordered(&'static str),
    /// The named index alone, read between two bounds and stopping at the page's end.
    Between(&'static str),
    /// A chunk of a whole list: the named index alone, entered at the previous chunk's last
    /// key and stopping at the chunk's end.
    After(&'static str),
    /// Known gap (issue #12): the named index is read for the whole tenant.
    Gap(&'static str),
}

impl Verdict {
    /// Panics unless `plan` is answered as this verdict says.
    fn check(&self, name: &str, plan: &str) {
        assert!(!plan.contains("TableScan") && !plan.contains("Iterate Table"), "{name} scans a table:\n{plan}");
        let reads = plan.matches("\"index\": String(").count();
        match self {
            Verdict::RecordId => {
                assert!(plan.contains("DynamicScan") && reads == 0, "{name}: expected record-id reads only:\n{plan}");
            }
            Verdict::RecordRange => {
                assert!(plan.contains("RecordIdScan") && reads == 0, "{name}: expected a record-id range:\n{plan}");
            }
            Verdict::Point(index, value) => {
                let read = format!("\"access\": String(\"['default', '{value}']\"), ");
                assert!(plan.contains(&read), "{name}: the index is not read at {value}:\n{plan}");
                Verdict::only(name, index, reads, plan);
            }
            Verdict::First(index) => {
                assert!(plan.contains("\"limit\": String(\"1\")"), "{name}: expected one entry:\n{plan}");
                Verdict::only(name, index, reads, plan);
            }
            Verdict::Ordered(index) => {
                let bounded = plan.contains("\"limit\": String(\"$count\")") && !plan.contains("Sort");
                assert!(bounded, "{name}: expected an ordered index read stopping at the page:\n{plan}");
                Verdict::only(name, index, reads, plan);
            }
            Verdict::Between(index) => {
                let bounded = plan.contains("\"access\": String(\">='user' <'user")
                    && plan.contains("\"limit\": String(\"$count\")")
                    && !plan.contains("Sort");
                assert!(bounded, "{name}: expected a read between two bounds, stopping at the page:\n{plan}");
                Verdict::only(name, index, reads, plan);
            }
            Verdict::After(index) => {
                let entered = plan.contains(" MoreThan ") && plan.contains("\"limit\": String(\"$count\")");
                assert!(
                    entered && !plan.contains("Sort"),
                    "{name}: expected a read from a key, stopping at the chunk:\n{plan}"
                );
                Verdict::only(name, index, reads, plan);
            }
            Verdict::Gap(index) => {
                let tenant_only = plan.contains("\"access\": String(\"= 'default'\")")
                    || plan.contains("\"access\": String(\"['default']\")");
                assert!(tenant_only, "{name} no longer reads the whole tenant: update the known gaps:\n{plan}");
                Verdict::only(name, index, reads, plan);
            }
        }
    }

    /// `index` is the one index read, once.
    fn only(name: &str, index: &str, reads: usize, plan: &str) {
        let read = format!("\"index\": String(\"{index}\")");
        assert!(plan.contains(&read) && reads == 1, "{name}: expected {index} alone:\n{plan}");
    }
}

/// Two tenants with users, groups, policies, keys, sessions and identities; returns what the
/// plans look up in the default tenant.
async fn populated() -> (Store, Binds) {
    let store = super::test_store().await;
    let other = TenantId::parse("acme").unwrap();
    store.ensure_tenant(&other).await.unwrap();
    let now = Utc::now();
    let mut last = None;
    for tenant in [TenantId::default_tenant(), other] {
        let mut policy_ids = Vec::new();
        for i in 0..5 {
            let policy = Policy {
                id: Uuid::new_v4(),
                name: format!("policy{i}"),
                description: None,
                document: PolicyDocument { statement: Vec::new() },
                created_at: now,
                updated_at: now,
            };
            store.create_policy(&tenant, &policy).await.unwrap();
            policy_ids.push(policy.id);
        }
        for i in 0..2 {
            store.create_user(&tenant, &User::new(format!("admin{i}"), None, Role::Admin, None)).await.unwrap();
        }
        let mut members = Vec::new();
        for i in 0..30 {
            let mut user = User::new(format!("user{i}"), Some(format!("user{i}@x.test")), Role::Unprivileged, None);
            user.policy_ids = vec![policy_ids[i % 5]];
            let identity =
                IdentityKey { provider: "oidc".into(), issuer: "https://idp.test".into(), subject: format!("sub-{i}") };
            store.create_linked_user(&tenant, &user, &identity, None).await.unwrap();
            for _ in 0..2 {
                let session = Session {
                    id: Uuid::new_v4(),
                    user_id: user.id,
                    method: "email".into(),
                    created_at: now,
                    expires_at: now + Duration::hours(1),
                };
                store.create_session(&tenant, &session).await.unwrap();
            }
            let key = ApiKey {
                id: Uuid::new_v4(),
                user_id: user.id,
                name: format!("key{i}"),
                key_prefix: "sk_12345".into(),
                policy_ids: vec![policy_ids[(i + 1) % 5]],
                narrowed: true,
                expires_at: None,
                created_at: now,
                updated_at: now,
            };
            store.create_api_key(&tenant, &key, &format!("{}-hash-{i}", tenant.as_str()), 25).await.unwrap();
            members.push(user.id);
            if tenant.is_default() && i == 7 {
                last = Some((user, policy_ids.clone()));
            }
        }
        for (i, chunk) in members.chunks(10).enumerate() {
            let group = Group {
                id: Uuid::new_v4(),
                name: format!("group{i}"),
                description: None,
                external_id: None,
                members: chunk.to_vec(),
                policy_ids: vec![policy_ids[i]],
                version: 1,
                created_at: now,
                updated_at: now,
            };
            store.create_group(&tenant, &group).await.unwrap();
        }
    }
    let (user, policy_ids) = last.unwrap();
    let binds = Binds {
        tenant: TenantId::default_tenant(),
        uid: user.id.to_string(),
        key: unique_key("USER7"),
        issuer: "https://idp.test".into(),
        subject: "sub-7".into(),
        ids: policy_ids[..2].iter().map(Uuid::to_string).collect(),
    };
    (store, binds)
}

/// Every query a request or a sign-in runs (other than single record-id reads such as
/// `get_user`, `get_session`, `get_group`, `get_api_key`) is answered from an index read at the
/// looked-up value or from record ids; the queries that still read a whole tenant are the
/// known gaps of issue #12, asserted as such so that this list stays true.
#[tokio::test]
async fn request_path_queries_read_indexes_or_record_ids() {
    let (store, binds) = populated().await;
    let user_fields = super::rows::USER_FIELDS;
    let uid = binds.uid.clone();
    // The checks inside write scripts are tested as the statements they embed.
    assert!(policies::CHECK_POLICIES.contains(policies::EXISTING_POLICIES));
    assert!(groups::CHECK_MEMBERS.contains(groups::EXISTING_MEMBERS));
    assert!(users::ADMINS_LEFT.contains(users::OTHER_ADMINS));
    let cases: Vec<(&str, String, Verdict)> = vec![
        // Sign-in by password: the sign-in name, then its user, both by record id.
        ("find_user_by_login", users::find_one_query("(username_key = $key OR email_key = $key)"), Verdict::RecordId),
        ("find_user_by_email", users::find_one_query("email_key = $key"), Verdict::RecordId),
        // A session token: the session and its user by record id.
        ("get_user", format!("SELECT {user_fields} FROM type::record('user', [$tenant, $uid])"), Verdict::RecordId),
        // Upstream sign-in: the link by record id; linking checks the user's links.
        ("find_identity", identities::FIND_IDENTITY.to_owned(), Verdict::RecordId),
        (
            "link_matched (links of the user)",
            identities::LINKS_OF_USER.to_owned(),
            Verdict::Point("identity_user", uid.clone()),
        ),
        ("list_identities", identities::IDENTITIES_OF_USER.to_owned(), Verdict::Point("identity_user", uid.clone())),
        // Keys and sessions of a user, in creation order from the schema-17 indexes.
        (
            "list_sessions(user)",
            sessions::list_sessions_query(true, None),
            Verdict::Point("session_user_created", uid.clone()),
        ),
        (
            "list_api_keys(user)",
            api_keys::list_api_keys_query(true, None),
            Verdict::Point("api_key_user_created", uid.clone()),
        ),
        (
            "create_api_key (live keys of the user)",
            api_keys::LIVE_KEYS_OF_USER.to_owned(),
            Verdict::Point("api_key_user", uid.clone()),
        ),
        // The policies of a user, a group or a narrowed key, and the checks of ids a write
        // names: by record id.
        ("get_policies", format!("SELECT pid, name, created_at FROM {}", policies::POLICIES_BY_ID), Verdict::RecordId),
        ("CHECK_POLICIES", policies::EXISTING_POLICIES.to_owned(), Verdict::RecordId),
        ("CHECK_MEMBERS", groups::EXISTING_MEMBERS.replace("$members", "$ids"), Verdict::RecordId),
        // The last-admin check reads the tenant's admins.
        ("ADMINS_LEFT", users::OTHER_ADMINS.to_owned(), Verdict::Point("user_role", "admin".to_owned())),
        ("has_users", users::HAS_USERS.to_owned(), Verdict::First("user_created")),
        // The groups of a user: a record-id range of its memberships (schema 14), then the
        // groups by record id.
        (
            "memberships of a user",
            format!("SELECT VALUE gid FROM {}", groups::MEMBERSHIPS_OF_USER),
            Verdict::RecordRange,
        ),
        ("user_policy_documents (groups of a user)", policies::group_policy_ids(), Verdict::RecordId),
        ("memberships (SCIM groups of users)", scim::memberships_query(), Verdict::RecordId),
        // Console pages of users (schema 15): in each order from its index, a page at a time;
        // a prefix search is a record-id range of sign-in names, then users by record id.
        ("page_users(created)", user_pages::ordered_query(UserOrder::Created, false), Verdict::Ordered("user_created")),
        (
            "page_users(created desc)",
            user_pages::ordered_query(UserOrder::Created, true),
            Verdict::Ordered("user_created"),
        ),
        (
            "page_users(username)",
            user_pages::ordered_query(UserOrder::Username, false),
            Verdict::Ordered("user_username"),
        ),
        ("page_users(email desc)", user_pages::ordered_query(UserOrder::Email, true), Verdict::Ordered("user_email")),
        (
            "page_users(last sign-in)",
            user_pages::ordered_query(UserOrder::LastSignIn, true),
            Verdict::Ordered("user_last_sign_in"),
        ),
        ("page_users(prefix: names)", user_pages::NAMES_IN_RANGE.to_owned(), Verdict::Between("sign_in_name_key")),
        ("page_users(prefix: users)", user_pages::users_by_ids_query(), Verdict::RecordId),
        // Whole lists, chunk after chunk: the first, then each entered at the last one's key.
        ("list_users(first chunk)", users::users_after_query(false), Verdict::Ordered("user_created")),
        (
            "list_users(chunk: same instant)",
            after_statement(users::users_after_query(true), 0),
            Verdict::After("user_created"),
        ),
        (
            "list_users(chunk: later)",
            after_statement(users::users_after_query(true), 1),
            Verdict::After("user_created"),
        ),
        // SOAT lists with `limit`/`offset`: a page in creation order from the schema-15 index.
        ("list_groups(span)", groups::list_groups_query(Some(SPAN)), Verdict::Ordered("group_created")),
        ("list_policies(span)", policies::list_policies_query(Some(SPAN)), Verdict::Ordered("policy_created")),
        // ... and keys and sessions, of the tenant or of one user, from the schema-17 indexes.
        ("list_api_keys(span)", api_keys::list_api_keys_query(false, Some(SPAN)), Verdict::Ordered("api_key_created")),
        (
            "list_api_keys(user, span)",
            api_keys::list_api_keys_query(true, Some(SPAN)),
            Verdict::Ordered("api_key_user_created"),
        ),
        ("list_sessions(span)", sessions::list_sessions_query(false, Some(SPAN)), Verdict::Ordered("session_created")),
        (
            "list_sessions(user, span)",
            sessions::list_sessions_query(true, Some(SPAN)),
            Verdict::Ordered("session_user_created"),
        ),
        // Known gaps.
        // Whole-tenant lists in creation order (unpaged).
        ("list_groups", groups::list_groups_query(None), Verdict::Gap("group_created")),
        ("list_policies", policies::list_policies_query(None), Verdict::Gap("policy_created")),
        ("list_api_keys(tenant)", api_keys::list_api_keys_query(false, None), Verdict::Gap("api_key_created")),
        ("list_sessions(tenant)", sessions::list_sessions_query(false, None), Verdict::Gap("session_created")),
    ];
    for (name, query, verdict) in cases {
        let plan = explain(&store, &query, &binds).await;
        verdict.check(name, &plan);
    }
}

/// A tenant's deletion reads each table's records of the tenant from an index that starts with
/// the tenant, a bounded number at a time: never a scan of the table (every tenant's records).
#[tokio::test]
async fn purge_reads_each_tables_tenant_from_an_index() {
    let (store, binds) = populated().await;
    let (from, to) = super::tenants::tenant_key_bounds(&binds.tenant);
    for table in super::TENANT_TABLES {
        let mut response = store
            .db
            .query(format!("{} EXPLAIN", super::tenants::tenant_ids_query(table)))
            .bind(("table", (*table).to_owned()))
            .bind(("tenant", binds.tenant.as_str().to_owned()))
            .bind(("from", from.clone()))
            .bind(("to", to.clone()))
            .bind(("limit", 1000))
            .await
            .expect("explain");
        let plan: surrealdb::types::Value = response.take(0).expect("plan");
        let plan = format!("{plan:?}");
        assert!(!plan.contains("TableScan") && !plan.contains("Iterate Table"), "{table}: the purge scans it:\n{plan}");
        let reads = plan.matches("\"index\": String(").count();
        assert!(
            reads == 1 && plan.contains("\"limit\": String(\"$limit\")"),
            "{table}: expected one bounded index read:\n{plan}"
        );
    }
}
