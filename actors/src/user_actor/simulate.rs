//! The "who can do what" simulator: what one user, signed in, would be answered for one action on
//! one resource, and which statement of which policy decided. It runs the code the real
//! authorization runs ([`crate::auth::allowed`], whose policy step is [`explain`]) on the same
//! policies (the user's own and its groups'), so its answer cannot differ from a real request's.

use actix::{Context, Handler, Message, ResponseFuture};
use uuid::Uuid;

use super::{resolve_authorized, UserActor, UserRef};
use crate::auth::{allowed, authorize};
use crate::error::{DomainError, FieldErrors};
use crate::model::{CredentialKind, Kind, Permissions, Policy, Principal, TenantId, User};
use crate::policy::{catalog, explain, Decision, Explanation, PolicyDocument, Request, Statement, MAX_STRING_BYTES};
use crate::store::Store;

/// Longest user reference accepted (an email's bound; ids and usernames are shorter).
const MAX_USER_BYTES: usize = 254;

/// What would `user` be answered for `action` on `resource`? Allowed to callers who may read
/// every policy (`policies:GetPolicy` on all of them) and that user (`users:GetUser`): the
/// answer reveals what the user's policies say.
#[derive(Message)]
#[rtype(result = "Result<Simulation, DomainError>")]
pub struct SimulateAccess {
    pub tenant: TenantId,
    pub by: Principal,
    /// The user: `usr_…`, a UUID, a username or an email (case-insensitive).
    pub user: String,
    /// A catalog action, `module:Operation`.
    pub action: String,
    /// The resource SRN; `None` (or blank) means the action's every-resource SRN
    /// ([`default_resource`]).
    pub resource: Option<String>,
}

/// The simulator's answer.
#[derive(Debug, Clone)]
pub struct Simulation {
    pub user: User,
    pub action: String,
    pub resource: String,
    /// What a request by the user with a browser session would get.
    pub decision: Decision,
    pub reason: Reason,
    /// The policies that apply to the user (its own and its groups'), in the order evaluated;
    /// empty for admins, whose policies are not consulted.
    pub policies: Vec<Policy>,
}

/// Why the simulator decided as it did.
#[derive(Debug, Clone)]
pub enum Reason {
    /// The admin role allows everything; no policy is consulted.
    AdminRole,
    /// The account is disabled: none of its credentials is accepted, whatever its policies say.
    Disabled,
    /// Tenants and metrics are the operator's: only users of the default tenant may ever be
    /// allowed these actions.
    DefaultTenantOnly,
    /// The user's policies decided; the statement that did, or `None` when none matched.
    Policies(Option<DecidingStatement>),
}

/// The statement that decided, and the policy it belongs to.
#[derive(Debug, Clone)]
pub struct DecidingStatement {
    pub policy_id: Uuid,
    pub policy_name: String,
    /// Its position in the policy's `statement` array (0-based).
    pub index: usize,
    pub statement: Statement,
}

/// The SRN that stands for every resource an action applies to (what list and create actions
/// are checked against), or `None` for an action of no known module.
pub fn default_resource(tenant: &TenantId, action: &str) -> Option<String> {
    let (module, operation) = action.split_once(':')?;
    let every = |kind: Kind| Some(kind.srn_all(tenant));
    match module {
        "users" => every(Kind::User),
        "groups" => every(Kind::Group),
        "policies" => every(Kind::Policy),
        "api-keys" => every(Kind::ApiKey),
        "sessions" => every(Kind::Session),
        "scim" if operation.contains("Group") => every(Kind::Group),
        "scim" => every(Kind::User),
        "identity-providers" => Some(format!("srn:{tenant}:configuration:*")),
        "audit" => Some(format!("srn:{tenant}:audit-event:*")),
        "tenants" => Some(format!("srn:{}:tenant:*", TenantId::DEFAULT)),
        "metrics" => Some(format!("srn:{}:metrics", TenantId::DEFAULT)),
        _ => None,
    }
}

/// Whether an action is only ever allowed to users of the default tenant.
fn default_tenant_only(action: &str) -> bool {
    matches!(action.split_once(':'), Some(("tenants" | "metrics", _)))
}

/// The action and resource of a request, checked: every problem at once.
fn checked_request(tenant: &TenantId, message: &SimulateAccess) -> Result<(String, String), DomainError> {
    let mut errors = FieldErrors::new();
    let mut problem = |field: &str, text: String| errors.entry(field.to_owned()).or_default().push(text);
    match message.user.trim() {
        "" => problem("user", "can't be blank".to_owned()),
        user if user.len() > MAX_USER_BYTES => problem("user", format!("should be at most {MAX_USER_BYTES} byte(s)")),
        _ => {}
    }
    let action = message.action.trim();
    if action.is_empty() {
        problem("action", "can't be blank".to_owned());
    } else if !catalog::is_known_action(action) {
        problem("action", "is not a known action".to_owned());
    }
    let resource = message.resource.as_deref().map(str::trim).filter(|resource| !resource.is_empty());
    if resource.is_some_and(|resource| resource.len() > MAX_STRING_BYTES) {
        problem("resource", format!("should be at most {MAX_STRING_BYTES} byte(s)"));
    }
    if !errors.is_empty() {
        return Err(DomainError::Invalid(errors));
    }
    let resource = resource.map(str::to_owned).or_else(|| default_resource(tenant, action)).unwrap_or_default();
    Ok((action.to_owned(), resource))
}

/// The user `text` names, if the caller may read it. A name that matches nobody is reported as
/// absent only to callers who could read any user, so existence is not revealed to others.
async fn resolve_user(store: &Store, tenant: &TenantId, by: &Principal, text: &str) -> Result<User, DomainError> {
    let text = text.trim();
    if let Some(id) = Kind::User.parse(text).or_else(|| Uuid::parse_str(text).ok()) {
        return resolve_authorized(store, tenant, by, &UserRef::Id(id), "users:GetUser").await;
    }
    match store.find_user_by_login(tenant, text).await? {
        Some(user) => {
            authorize(by, "users:GetUser", &Kind::User.srn(tenant, user.id))?;
            Ok(user)
        }
        None => {
            authorize(by, "users:GetUser", &Kind::User.srn_all(tenant))?;
            Err(DomainError::NotFound)
        }
    }
}

/// The principal the user would be with a browser session: what the real check sees.
fn signed_in(tenant: &TenantId, user: &User, policies: &[Policy]) -> Principal {
    Principal {
        tenant: tenant.clone(),
        user: user.clone(),
        credential: CredentialKind::Session(Uuid::nil()),
        permissions: Permissions { owner: policies.iter().map(|policy| policy.document.clone()).collect(), key: None },
        origin: Default::default(),
    }
}

/// The statement an explanation points at, with its policy.
fn deciding(policies: &[Policy], explanation: Explanation) -> Option<DecidingStatement> {
    let at = explanation.decided_by?;
    let policy = policies.get(at.document)?;
    Some(DecidingStatement {
        policy_id: policy.id,
        policy_name: policy.name.clone(),
        index: at.statement,
        statement: policy.document.statement.get(at.statement)?.clone(),
    })
}

/// Decides for `user` (pure): the checks of a real request in their order — the account, the
/// operator's actions, the admin role, then the policies.
fn simulate(tenant: &TenantId, user: User, action: String, resource: String, policies: Vec<Policy>) -> Simulation {
    let principal = signed_in(tenant, &user, &policies);
    let context = principal.context();
    let documents: Vec<&PolicyDocument> = policies.iter().map(|policy| &policy.document).collect();
    let explanation = explain(&documents, &Request { action: &action, resource: &resource, context: &context });
    let real = allowed(&principal, &action, &resource);
    let (decision, reason) = if user.is_disabled() {
        (Decision::NotAllowed, Reason::Disabled)
    } else if default_tenant_only(&action) && !tenant.is_default() {
        (Decision::NotAllowed, Reason::DefaultTenantOnly)
    } else if principal.is_admin() {
        (if real { Decision::Allow } else { Decision::NotAllowed }, Reason::AdminRole)
    } else {
        debug_assert_eq!(real, explanation.decision.is_allowed(), "the simulator decides as authorization does");
        (explanation.decision, Reason::Policies(deciding(&policies, explanation)))
    };
    Simulation { user, action, resource, decision, reason, policies }
}

impl Handler<SimulateAccess> for UserActor {
    type Result = ResponseFuture<Result<Simulation, DomainError>>;

    fn handle(&mut self, message: SimulateAccess, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        Box::pin(async move {
            let tenant = &message.tenant;
            authorize(&message.by, "policies:GetPolicy", &Kind::Policy.srn_all(tenant))?;
            let (action, resource) = checked_request(tenant, &message)?;
            let user = resolve_user(&store, tenant, &message.by, &message.user).await?;
            // As for a real request: an admin's policies are not read, they decide nothing.
            let policies = if user.role == crate::model::Role::Admin {
                Vec::new()
            } else {
                store.user_policy_documents(tenant, &user).await?
            };
            Ok(simulate(tenant, user, action, resource, policies))
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use serde_json::{json, Value};

    use super::*;
    use crate::model::Role;
    use crate::policy::validate;

    fn policy(name: &str, document: Value) -> Policy {
        let document = validate(&document).expect("valid test policy");
        let now = Utc::now();
        Policy {
            id: Uuid::new_v4(),
            name: name.to_owned(),
            description: None,
            document,
            created_at: now,
            updated_at: now,
        }
    }

    fn user(role: Role) -> User {
        User::new("ann".to_owned(), None, role, None)
    }

    fn run(tenant: &TenantId, user: User, action: &str, policies: Vec<Policy>) -> Simulation {
        let resource = default_resource(tenant, action).unwrap();
        simulate(tenant, user, action.to_owned(), resource, policies)
    }

    fn decided_by(simulation: &Simulation) -> Option<(&str, usize)> {
        match &simulation.reason {
            Reason::Policies(Some(statement)) => Some((statement.policy_name.as_str(), statement.index)),
            _ => None,
        }
    }

    #[test]
    fn policies_decide_and_the_deciding_statement_is_named() {
        let tenant = TenantId::default_tenant();
        let readers = policy(
            "readers",
            json!({"statement": [
                {"effect": "Allow", "action": ["users:ListUsers"]},
                {"effect": "Allow", "action": ["groups:*"]}
            ]}),
        );
        let guard = policy(
            "guard",
            json!({"statement": [{"effect": "Deny", "action": ["groups:DeleteGroup"], "resource": ["srn:default:group:*"]}]}),
        );
        let policies = vec![readers.clone(), guard.clone()];
        let listed = run(&tenant, user(Role::Unprivileged), "groups:ListGroups", policies.clone());
        assert_eq!(listed.decision, Decision::Allow);
        assert_eq!(decided_by(&listed), Some(("readers", 1)));
        let Reason::Policies(Some(statement)) = &listed.reason else { panic!("{listed:?}") };
        assert_eq!(statement.policy_id, readers.id);
        assert_eq!(statement.statement, readers.document.statement[1]);

        let deleted = run(&tenant, user(Role::Unprivileged), "groups:DeleteGroup", policies.clone());
        assert_eq!(deleted.decision, Decision::Deny);
        assert_eq!(decided_by(&deleted), Some(("guard", 0)));

        let other = run(&tenant, user(Role::Unprivileged), "policies:ListPolicies", policies);
        assert_eq!(other.decision, Decision::NotAllowed);
        assert!(matches!(other.reason, Reason::Policies(None)), "{other:?}");
    }

    #[test]
    fn conditions_see_the_users_own_context() {
        let tenant = TenantId::default_tenant();
        let only_ann = policy(
            "only-ann",
            json!({"statement": [{"effect": "Allow", "action": ["users:ListUsers"],
                   "condition": {"StringEquals": {"soat:username": "ann", "soat:credential": "session"}}}]}),
        );
        let ann = run(&tenant, user(Role::Unprivileged), "users:ListUsers", vec![only_ann.clone()]);
        assert_eq!(ann.decision, Decision::Allow);
        let bob = User::new("bob".to_owned(), None, Role::Unprivileged, None);
        assert_eq!(run(&tenant, bob, "users:ListUsers", vec![only_ann]).decision, Decision::NotAllowed);
    }

    #[test]
    fn admins_disabled_accounts_and_operator_actions() {
        let tenant = TenantId::default_tenant();
        let admin = run(&tenant, user(Role::Admin), "tenants:DeleteTenant", Vec::new());
        assert_eq!(admin.decision, Decision::Allow);
        assert!(matches!(admin.reason, Reason::AdminRole));

        let everything = policy("everything", json!({"statement": [{"effect": "Allow", "action": ["*"]}]}));
        let mut disabled = user(Role::Admin);
        disabled.disabled_at = Some(Utc::now());
        let refused = run(&tenant, disabled, "users:ListUsers", vec![everything.clone()]);
        assert_eq!(refused.decision, Decision::NotAllowed);
        assert!(matches!(refused.reason, Reason::Disabled));

        let acme = TenantId::parse("acme").unwrap();
        let elsewhere = run(&acme, user(Role::Admin), "tenants:ListTenants", Vec::new());
        assert_eq!(elsewhere.decision, Decision::NotAllowed);
        assert!(matches!(elsewhere.reason, Reason::DefaultTenantOnly));
        let at_home = run(&acme, user(Role::Unprivileged), "users:ListUsers", vec![everything]);
        assert_eq!(at_home.decision, Decision::Allow);
    }

    #[test]
    fn every_catalog_action_has_a_default_resource() {
        let tenant = TenantId::parse("acme").unwrap();
        for action in catalog::all_actions() {
            assert!(default_resource(&tenant, &action).is_some(), "{action}");
        }
        assert_eq!(default_resource(&tenant, "users:GetUser").as_deref(), Some("srn:acme:user:*"));
        assert_eq!(default_resource(&tenant, "scim:ListGroups").as_deref(), Some("srn:acme:group:*"));
        assert_eq!(default_resource(&tenant, "scim:CreateUser").as_deref(), Some("srn:acme:user:*"));
        assert_eq!(default_resource(&tenant, "api-keys:ListApiKeys").as_deref(), Some("srn:acme:api-key:*"));
        assert_eq!(default_resource(&tenant, "tenants:GetTenant").as_deref(), Some("srn:default:tenant:*"));
        assert_eq!(default_resource(&tenant, "nope:Nothing"), None);
        assert_eq!(default_resource(&tenant, "nothing"), None);
    }

    #[test]
    fn requests_are_checked_all_at_once() {
        let tenant = TenantId::default_tenant();
        let by = signed_in(&tenant, &user(Role::Admin), &[]);
        let message = |user: &str, action: &str, resource: Option<&str>| SimulateAccess {
            tenant: tenant.clone(),
            by: by.clone(),
            user: user.to_owned(),
            action: action.to_owned(),
            resource: resource.map(str::to_owned),
        };
        let Err(DomainError::Invalid(errors)) = checked_request(&tenant, &message(" ", "users:Nope", None)) else {
            panic!("refused")
        };
        assert_eq!(errors["user"], ["can't be blank"]);
        assert_eq!(errors["action"], ["is not a known action"]);
        let long = "x".repeat(MAX_STRING_BYTES + 1);
        let Err(DomainError::Invalid(errors)) = checked_request(&tenant, &message("ann", "", Some(&long))) else {
            panic!("refused")
        };
        assert_eq!(errors.keys().collect::<Vec<_>>(), ["action", "resource"]);
        let defaulted = checked_request(&tenant, &message("ann", " users:GetUser ", Some("  "))).unwrap();
        assert_eq!(defaulted, ("users:GetUser".to_owned(), "srn:default:user:*".to_owned()));
        let given = checked_request(&tenant, &message("ann", "users:GetUser", Some("srn:default:user:usr_1")));
        assert_eq!(given.unwrap().1, "srn:default:user:usr_1");
    }
}
