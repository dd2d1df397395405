//! Tenant lifecycle: create (optionally with a first admin), read, change and delete whole
//! identity directories. Only the operator tenant's admins, its users whose policies allow the
//! `tenants:*` actions, and the operator on the database (the CLI) may.

use std::sync::Arc;

use actix::{Context, Handler, Message, ResponseFuture};
use chrono::Utc;
use serde_json::{Map, Value};

use super::ProvisioningActor;
use crate::auth::authorize;
use crate::configuration::stored_local_auth_enabled;
use crate::crypto::Sealer;
use crate::error::{DomainError, FieldErrors};
use crate::model::{
    parse_hostname, tenant_limits as limits, NewUser, Principal, Role, Tenant, TenantId, TenantSettings,
};
use crate::store::{Store, StoreError, TenantPatch, TENANT_TABLES};
use crate::tenant_directory::{TenantDirectory, POLL_INTERVAL};
use crate::user_actor::{BootstrapUser, PasswordCheck};
use crate::validate::PasswordRules;

/// Who asks: a caller of the operator tenant, or the operator itself (the CLI on the database,
/// or the dedicated metrics listener the operator bound).
#[derive(Clone)]
pub enum TenantCaller {
    Principal(Box<Principal>),
    Operator,
}

/// A tenant as the API shows it: the record and the settings kept in its configuration.
#[derive(Debug, Clone)]
pub struct TenantView {
    pub tenant: Arc<Tenant>,
    /// Whether people may sign in with a password (the configuration's `local_auth_enabled`).
    pub local_auth_enabled: bool,
}

/// The first admin of a new tenant.
#[derive(Clone)]
pub struct FirstAdmin {
    pub username: String,
    pub password: String,
}

/// Changes to a tenant's settings; `None` keeps one, `Some(None)` returns it to the default.
#[derive(Debug, Clone, Default)]
pub struct SettingsChange {
    pub password_min_length: Option<Option<u32>>,
    pub session_lifetime_minutes: Option<Option<u32>>,
    pub api_key_max_lifetime_days: Option<Option<u32>>,
    pub local_auth_enabled: Option<bool>,
}

/// Create a tenant.
#[derive(Message)]
#[rtype(result = "Result<TenantView, DomainError>")]
pub struct CreateTenant {
    pub by: TenantCaller,
    pub id: String,
    pub display_name: Option<String>,
    pub hostnames: Vec<String>,
    pub settings: SettingsChange,
    pub admin: Option<FirstAdmin>,
}

/// Read one tenant (also while it is being deleted).
#[derive(Message)]
#[rtype(result = "Result<TenantView, DomainError>")]
pub struct GetTenant {
    pub by: TenantCaller,
    pub id: String,
}

/// Read every tenant.
#[derive(Message)]
#[rtype(result = "Result<Vec<TenantView>, DomainError>")]
pub struct ListTenants {
    pub by: TenantCaller,
}

/// Change a tenant's display name, hostnames or settings.
#[derive(Message)]
#[rtype(result = "Result<TenantView, DomainError>")]
pub struct UpdateTenant {
    pub by: TenantCaller,
    pub id: String,
    pub display_name: Option<String>,
    pub hostnames: Option<Vec<String>>,
    pub settings: SettingsChange,
}

/// Start deleting a tenant: it is served nowhere from now on, and its records are removed
/// in the background in bounded batches. Returns the tenant as marked.
#[derive(Message)]
#[rtype(result = "Result<TenantView, DomainError>")]
pub struct DeleteTenant {
    pub by: TenantCaller,
    pub id: String,
}

/// The resource name of a tenant, in the operator tenant's namespace.
fn srn(id: &str) -> String {
    format!("srn:{}:tenant:{id}", TenantId::DEFAULT)
}

pub(crate) fn check_caller(by: &TenantCaller, action: &str, resource: &str) -> Result<(), DomainError> {
    match by {
        TenantCaller::Operator => Ok(()),
        TenantCaller::Principal(principal) if principal.tenant.is_default() => authorize(principal, action, resource),
        TenantCaller::Principal(_) => Err(DomainError::Forbidden),
    }
}

/// The audit event of an operator's tenant write (recorded in the operator tenant).
fn audit_event(by: &TenantCaller, action: &str, id: &str) -> crate::audit::AuditEvent {
    use crate::audit::{AuditActor, AuditEvent};
    match by {
        TenantCaller::Principal(principal) => AuditEvent::by(principal, action, srn(id)),
        TenantCaller::Operator => {
            AuditEvent::new(TenantId::default_tenant(), AuditActor::System, action, srn(id), &Default::default())
        }
    }
}

/// An id a request names: a tenant id shape, else it cannot exist.
fn existing_id(id: &str) -> Result<TenantId, DomainError> {
    TenantId::parse(id).ok_or(DomainError::NotFound)
}

fn check_display_name(errors: &mut FieldErrors, name: Option<&str>) -> Option<String> {
    let name = name?.trim();
    if name.is_empty() || name.chars().count() > limits::DISPLAY_NAME || name.chars().any(char::is_control) {
        let message = format!("must be 1 to {} characters, without control characters", limits::DISPLAY_NAME);
        errors.entry("display_name".to_owned()).or_default().push(message);
    }
    Some(name.to_owned())
}

fn check_hostnames(errors: &mut FieldErrors, hostnames: &[String]) -> Vec<String> {
    let mut parsed = Vec::new();
    for host in hostnames {
        match parse_hostname(host) {
            Some(host) if !parsed.contains(&host) => parsed.push(host),
            Some(_) => {}
            None => errors.entry("hostnames".to_owned()).or_default().push(format!("{host:?} is not a hostname")),
        }
    }
    if parsed.len() > limits::HOSTNAMES {
        errors.entry("hostnames".to_owned()).or_default().push(format!("at most {} hostnames", limits::HOSTNAMES));
    }
    parsed
}

fn apply_settings(errors: &mut FieldErrors, current: &TenantSettings, change: &SettingsChange) -> TenantSettings {
    let mut next = current.clone();
    let mut set =
        |field: &str, value: Option<Option<u32>>, range: std::ops::RangeInclusive<u32>, slot: &mut Option<u32>| {
            let Some(value) = value else { return };
            if value.is_some_and(|value| !range.contains(&value)) {
                let message = format!("must be between {} and {}", range.start(), range.end());
                errors.entry(format!("settings.{field}")).or_default().push(message);
            }
            *slot = value;
        };
    set("password_min_length", change.password_min_length, limits::PASSWORD_MIN_LENGTH, &mut next.password_min_length);
    set(
        "session_lifetime_minutes",
        change.session_lifetime_minutes,
        limits::SESSION_LIFETIME_MINUTES,
        &mut next.session_lifetime_minutes,
    );
    set(
        "api_key_max_lifetime_days",
        change.api_key_max_lifetime_days,
        limits::API_KEY_MAX_LIFETIME_DAYS,
        &mut next.api_key_max_lifetime_days,
    );
    next
}

fn invalid_unless_empty(errors: FieldErrors) -> Result<(), DomainError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(DomainError::Invalid(errors))
    }
}

/// The tenant with its `local_auth_enabled`, read from its configuration.
async fn view(store: &Store, tenant: Arc<Tenant>) -> Result<TenantView, DomainError> {
    let document = store.get_configuration(&tenant.id).await?;
    view_of(tenant, document.as_deref())
}

/// The tenant with the `local_auth_enabled` of its configuration `document` (`None`: defaults).
fn view_of(tenant: Arc<Tenant>, document: Option<&str>) -> Result<TenantView, DomainError> {
    let local_auth_enabled = stored_local_auth_enabled(document)
        .map_err(|error| DomainError::Storage(format!("stored configuration is unreadable: {error}")))?;
    Ok(TenantView { tenant, local_auth_enabled })
}

/// Sets `local_auth_enabled` in the tenant's configuration (where the sign-in paths read it).
async fn set_local_auth(store: &Store, sealer: &Sealer, tenant: &TenantId, enabled: bool) -> Result<(), DomainError> {
    let mut changes = Map::new();
    changes.insert("local_auth_enabled".to_owned(), Value::Bool(enabled));
    // No provider changes, so no URL is derived from the base URL.
    super::configuration::change(store, sealer, tenant, &changes, "").await.map(|_| ())
}

/// Removes every record of a tenant in bounded, paced batches, then the tenant itself. Waits first
/// for every replica to have stopped serving the tenant, and sweeps twice, so that a write
/// that was already under way when the deletion started is removed too.
pub(crate) async fn purge(store: Store, directory: TenantDirectory, tenant: TenantId) {
    tokio::time::sleep(POLL_INTERVAL * 4).await;
    match purge_all(&store, &tenant).await {
        Ok(()) => tracing::info!(tenant = %tenant, "tenant deleted"),
        Err((stage, error)) => {
            tracing::error!(tenant = %tenant, stage, %error, "tenant deletion interrupted; it resumes at the next start")
        }
    }
    if let Err(error) = directory.reload().await {
        tracing::warn!(%error, "cannot reload the tenant directory");
    }
}

/// Both sweeps of every table, then the tenant record; on failure, what was being removed (a
/// table, or `tenant`) and why.
async fn purge_all(store: &Store, tenant: &TenantId) -> Result<(), (&'static str, crate::store::StoreError)> {
    for sweep in 0..2 {
        for table in TENANT_TABLES {
            purge_table(store, tenant, table).await.map_err(|error| (*table, error))?;
        }
        if sweep == 0 {
            tokio::time::sleep(POLL_INTERVAL * 2).await;
        }
    }
    store.finish_tenant_deletion(tenant).await.map_err(|error| ("tenant", error))
}

/// Ids read per scan of a table while a tenant is deleted (see [`Store::tenant_record_ids`]).
const PURGE_SCAN: usize = 5_000;
/// Records deleted per transaction while a tenant is deleted: short transactions, so the other
/// tenants' writes never wait long behind one.
const PURGE_BATCH: usize = 500;

/// Empties one table of the tenant: bounded reads of its ids, each deleted in short, paced
/// transactions.
async fn purge_table(store: &Store, tenant: &TenantId, table: &'static str) -> Result<(), crate::store::StoreError> {
    loop {
        let ids = store.tenant_record_ids(tenant, table, PURGE_SCAN).await?;
        if ids.is_empty() {
            return Ok(());
        }
        for batch in ids.chunks(PURGE_BATCH) {
            let started = std::time::Instant::now();
            store.delete_tenant_records(tenant, batch).await?;
            // Paced: as long a pause as the batch took, so the purge uses at most half of the
            // store's time and the other tenants' requests keep their latency.
            let took = started.elapsed();
            tracing::debug!(tenant = %tenant, table, deleted = batch.len(), took_ms = took.as_millis() as u64, "purged a batch");
            tokio::time::sleep(took).await;
        }
    }
}

impl Handler<CreateTenant> for ProvisioningActor {
    type Result = ResponseFuture<Result<TenantView, DomainError>>;

    fn handle(&mut self, message: CreateTenant, _: &mut Context<Self>) -> Self::Result {
        let (store, sealer, users, directory) =
            (self.store.clone(), self.sealer.clone(), self.users.clone(), self.directory.clone());
        let audit = audit_event(&message.by, "tenants:CreateTenant", &message.id);
        let attempt = async move {
            check_caller(&message.by, "tenants:CreateTenant", &srn(&message.id))?;
            let mut errors = FieldErrors::new();
            let id = TenantId::parse(&message.id).filter(|id| !id.is_default());
            if id.is_none() {
                let text = "must be 1 to 63 lowercase letters, digits or dashes, starting with a letter or digit, not \"default\"";
                errors.entry("id".to_owned()).or_default().push(text.to_owned());
            }
            let display_name = check_display_name(&mut errors, message.display_name.as_deref());
            let hostnames = check_hostnames(&mut errors, &message.hostnames);
            let settings = apply_settings(&mut errors, &TenantSettings::default(), &message.settings);
            let admin_check = PasswordCheck {
                rules: PasswordRules::SOAT.at_least(settings.password_min_length),
                confirmation_required: false,
            };
            if let Some(admin) = &message.admin {
                for problem in crate::validate::username(&admin.username) {
                    errors.entry("admin.username".to_owned()).or_default().push(problem);
                }
                for problem in crate::validate::password(&admin.password, admin_check.rules) {
                    errors.entry("admin.password".to_owned()).or_default().push(problem);
                }
            }
            invalid_unless_empty(errors)?;
            let id = id.ok_or(DomainError::NotFound)?;
            let now = Utc::now();
            let tenant = Tenant {
                display_name: display_name.unwrap_or_else(|| id.to_string()),
                id: id.clone(),
                hostnames,
                settings,
                deleting_at: None,
                created_at: now,
                updated_at: now,
            };
            store.create_tenant(&tenant).await?;
            if let Some(enabled) = message.settings.local_auth_enabled {
                set_local_auth(&store, &sealer, &id, enabled).await?;
            }
            if let Some(admin) = message.admin {
                let user = NewUser {
                    username: admin.username,
                    email: None,
                    role: Role::Admin,
                    password: Some(admin.password),
                    password_confirmation: None,
                };
                super::ask_users(
                    &users,
                    BootstrapUser { tenant: id.clone(), user, check: admin_check, origin: Default::default() },
                )
                .await?;
            }
            directory.reload().await?;
            tracing::info!(tenant = %id, "created tenant");
            let tenant = directory.get(id.as_str()).ok_or(DomainError::NotFound)?;
            view(&store, tenant).await
        };
        Box::pin(crate::audit::record(audit, attempt))
    }
}

impl Handler<GetTenant> for ProvisioningActor {
    type Result = ResponseFuture<Result<TenantView, DomainError>>;

    fn handle(&mut self, message: GetTenant, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        Box::pin(async move {
            check_caller(&message.by, "tenants:GetTenant", &srn(&message.id))?;
            let id = existing_id(&message.id)?;
            let tenant = store.get_tenant(&id).await?.ok_or(DomainError::NotFound)?;
            view(&store, Arc::new(tenant)).await
        })
    }
}

impl Handler<ListTenants> for ProvisioningActor {
    type Result = ResponseFuture<Result<Vec<TenantView>, DomainError>>;

    fn handle(&mut self, message: ListTenants, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        Box::pin(async move {
            check_caller(&message.by, "tenants:ListTenants", &srn("*"))?;
            // Two reads, whatever the number of tenants: the tenants, then every configuration.
            let tenants = store.list_tenants().await?;
            let documents: std::collections::HashMap<String, String> =
                store.configuration_documents().await?.into_iter().collect();
            tenants
                .into_iter()
                .map(|tenant| {
                    let document = documents.get(tenant.id.as_str()).map(String::as_str);
                    view_of(Arc::new(tenant), document)
                })
                .collect()
        })
    }
}

impl Handler<UpdateTenant> for ProvisioningActor {
    type Result = ResponseFuture<Result<TenantView, DomainError>>;

    fn handle(&mut self, message: UpdateTenant, _: &mut Context<Self>) -> Self::Result {
        let (store, sealer, directory) = (self.store.clone(), self.sealer.clone(), self.directory.clone());
        let audit = audit_event(&message.by, "tenants:UpdateTenant", &message.id);
        let attempt = async move {
            check_caller(&message.by, "tenants:UpdateTenant", &srn(&message.id))?;
            let id = existing_id(&message.id)?;
            let current = store.get_tenant(&id).await?.filter(Tenant::is_active).ok_or(DomainError::NotFound)?;
            let mut errors = FieldErrors::new();
            let display_name = check_display_name(&mut errors, message.display_name.as_deref());
            let hostnames = message.hostnames.as_deref().map(|hosts| check_hostnames(&mut errors, hosts));
            let settings = apply_settings(&mut errors, &current.settings, &message.settings);
            invalid_unless_empty(errors)?;
            let patch =
                TenantPatch { display_name, hostnames, settings: (settings != current.settings).then_some(settings) };
            let updated = match store.update_tenant(&id, &patch).await {
                Err(StoreError::NotFound) => return Err(DomainError::NotFound),
                outcome => outcome?,
            };
            if let Some(enabled) = message.settings.local_auth_enabled {
                set_local_auth(&store, &sealer, &id, enabled).await?;
            }
            directory.reload().await?;
            tracing::info!(tenant = %id, "updated tenant");
            view(&store, Arc::new(updated)).await
        };
        Box::pin(crate::audit::record(audit, attempt))
    }
}

impl Handler<DeleteTenant> for ProvisioningActor {
    type Result = ResponseFuture<Result<TenantView, DomainError>>;

    fn handle(&mut self, message: DeleteTenant, _: &mut Context<Self>) -> Self::Result {
        let (store, directory) = (self.store.clone(), self.directory.clone());
        let audit = audit_event(&message.by, "tenants:DeleteTenant", &message.id);
        let attempt = async move {
            check_caller(&message.by, "tenants:DeleteTenant", &srn(&message.id))?;
            let id = existing_id(&message.id)?;
            if id.is_default() {
                return Err(DomainError::field("id", "the default tenant cannot be deleted"));
            }
            let marked = match store.start_tenant_deletion(&id).await {
                Err(StoreError::NotFound) => return Err(DomainError::NotFound),
                outcome => outcome?,
            };
            directory.reload().await?;
            tracing::info!(tenant = %id, "deleting tenant");
            let shown = view(&store, Arc::new(marked)).await?;
            actix::spawn(purge(store, directory, id));
            Ok(shown)
        };
        Box::pin(crate::audit::record(audit, attempt))
    }
}
