//! `tessera tenant create|list|get|update|delete`: the same verbs, the same output (the API's
//! JSON), either against a running server (`--url`: one call to `/api/v1/tenants`) or, as the
//! operator, on the database (the domain started in this process, `TenantCaller::Operator`).

use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Map, Value};
use tessera_actors::provisioning_actor::{
    CreateTenant, DeleteTenant, FirstAdmin, GetTenant, ListTenants, SettingsChange, TenantCaller, TenantView,
    UpdateTenant,
};
use tessera_actors::{Domain, DomainError};

use crate::cli::{Client, TenantCommand, TenantVerb};
use crate::http::{ask, tenant_base_url, TenantRecord};
use crate::settings::Settings;

/// How long `delete` on the database waits for the tenant's records to be removed.
const PURGE_WAIT: Duration = Duration::from_secs(60);
/// How often it looks.
const PURGE_POLL: Duration = Duration::from_millis(250);

/// A verb, read from the command line into the domain's terms.
enum Request {
    Create {
        id: String,
        display_name: Option<String>,
        hostnames: Vec<String>,
        settings: SettingsChange,
        admin: Option<FirstAdmin>,
    },
    List,
    Get(String),
    Update {
        id: String,
        display_name: Option<String>,
        hostnames: Option<Vec<String>>,
        settings: SettingsChange,
    },
    Delete(String),
}

/// Runs a tenant verb; `Ok(false)` when the server answered with an error.
pub fn run(config: Option<&Path>, command: TenantCommand) -> anyhow::Result<bool> {
    let request = Request::read(command.verb)?;
    match command.target.url {
        Some(url) => {
            let client = Client { url, token: command.target.token, tenant: None };
            let (method, path, body) = request.http();
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(crate::client::call(&client, method, &path, body))
        }
        None => on_database(config, request),
    }
}

impl Request {
    fn read(verb: TenantVerb) -> anyhow::Result<Request> {
        Ok(match verb {
            TenantVerb::Create {
                id,
                display_name,
                hostnames,
                password_min_length,
                session_lifetime_minutes,
                api_key_max_lifetime_days,
                local_auth_enabled,
                admin_username,
                admin_password_env,
            } => {
                let admin = match admin_username {
                    None => None,
                    Some(username) => Some(FirstAdmin { username, password: admin_password(&admin_password_env)? }),
                };
                let settings = SettingsChange {
                    password_min_length: password_min_length.map(Some),
                    session_lifetime_minutes: session_lifetime_minutes.map(Some),
                    api_key_max_lifetime_days: api_key_max_lifetime_days.map(Some),
                    local_auth_enabled,
                };
                Request::Create { id, display_name, hostnames, settings, admin }
            }
            TenantVerb::List => Request::List,
            TenantVerb::Get { id } => Request::Get(id),
            TenantVerb::Update {
                id,
                display_name,
                hostnames,
                clear_hostnames,
                password_min_length,
                session_lifetime_minutes,
                api_key_max_lifetime_days,
                local_auth_enabled,
            } => {
                let hostnames =
                    if clear_hostnames { Some(Vec::new()) } else { (!hostnames.is_empty()).then_some(hostnames) };
                let settings = SettingsChange {
                    password_min_length: password_min_length.map(|value| value.limit()),
                    session_lifetime_minutes: session_lifetime_minutes.map(|value| value.limit()),
                    api_key_max_lifetime_days: api_key_max_lifetime_days.map(|value| value.limit()),
                    local_auth_enabled,
                };
                Request::Update { id, display_name, hostnames, settings }
            }
            TenantVerb::Delete { id } => Request::Delete(id),
        })
    }

    /// The API call of the verb: method, path under `/api/v1`, body.
    fn http(self) -> (Method, String, Option<Value>) {
        match self {
            Request::Create { id, display_name, hostnames, settings, admin } => {
                let mut body = Map::new();
                body.insert("id".into(), json!(id));
                if let Some(name) = display_name {
                    body.insert("display_name".into(), json!(name));
                }
                if !hostnames.is_empty() {
                    body.insert("hostnames".into(), json!(hostnames));
                }
                if let Some(settings) = settings_json(&settings) {
                    body.insert("settings".into(), settings);
                }
                if let Some(admin) = admin {
                    body.insert("admin".into(), json!({"username": admin.username, "password": admin.password}));
                }
                (Method::POST, "/tenants".into(), Some(Value::Object(body)))
            }
            Request::List => (Method::GET, "/tenants".into(), None),
            Request::Get(id) => (Method::GET, format!("/tenants/{}", segment(&id)), None),
            Request::Update { id, display_name, hostnames, settings } => {
                let mut body = Map::new();
                if let Some(name) = display_name {
                    body.insert("display_name".into(), json!(name));
                }
                if let Some(hostnames) = hostnames {
                    body.insert("hostnames".into(), json!(hostnames));
                }
                if let Some(settings) = settings_json(&settings) {
                    body.insert("settings".into(), settings);
                }
                (Method::PATCH, format!("/tenants/{}", segment(&id)), Some(Value::Object(body)))
            }
            Request::Delete(id) => (Method::DELETE, format!("/tenants/{}", segment(&id)), None),
        }
    }
}

/// The first admin's password, from the environment variable named by `--admin-password-env`.
fn admin_password(variable: &str) -> anyhow::Result<String> {
    match std::env::var(variable) {
        Ok(password) if !password.is_empty() => Ok(password),
        _ => anyhow::bail!(
            "--admin-username needs the admin's password in the environment variable {variable} \
             (set it, or name another with --admin-password-env)"
        ),
    }
}

/// `settings` of a request body: only the settings the change names; `null` resets one.
fn settings_json(change: &SettingsChange) -> Option<Value> {
    let mut settings = Map::new();
    let limits = [
        ("password_min_length", change.password_min_length),
        ("session_lifetime_minutes", change.session_lifetime_minutes),
        ("api_key_max_lifetime_days", change.api_key_max_lifetime_days),
    ];
    for (key, value) in limits {
        if let Some(value) = value {
            settings.insert(key.into(), json!(value));
        }
    }
    if let Some(enabled) = change.local_auth_enabled {
        settings.insert("local_auth_enabled".into(), json!(enabled));
    }
    (!settings.is_empty()).then_some(Value::Object(settings))
}

/// An id as one URL path segment (anything but unreserved characters percent-encoded).
fn segment(id: &str) -> String {
    id.bytes()
        .map(|byte| match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => char::from(byte).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// The verb as the operator on the database: the domain runs in this process.
fn on_database(config: Option<&Path>, request: Request) -> anyhow::Result<bool> {
    let settings = Settings::load(config)?;
    if settings.database.endpoint.starts_with("mem://") {
        anyhow::bail!(
            "database.endpoint is mem://, which ends with this process: give --url (or TESSERA_URL) to manage \
             the tenants of a running server, or configure the database"
        );
    }
    crate::init_logging(&settings);
    actix_web::rt::System::new().block_on(async move {
        let mut domain_settings = settings.domain()?;
        domain_settings.bootstrap_admin = None;
        let domain = Domain::start(domain_settings).await?;
        let external_url = settings.server.external_url.as_str();
        let show = |view: &TenantView| {
            TenantRecord::new(view, tenant_base_url(external_url, &view.tenant.id, &view.tenant.hostnames))
        };
        let by = TenantCaller::Operator;
        match request {
            Request::Create { id, display_name, hostnames, settings, admin } => {
                let message = CreateTenant { by, id: id.clone(), display_name, hostnames, settings, admin };
                let view = ask(&domain.provisioning, message).await.map_err(|error| explain(&id, error))?;
                print(&show(&view))?;
            }
            Request::List => {
                let views = ask(&domain.provisioning, ListTenants { by }).await.map_err(|error| explain("", error))?;
                print(&views.iter().map(show).collect::<Vec<_>>())?;
            }
            Request::Get(id) => {
                let view = ask(&domain.provisioning, GetTenant { by, id: id.clone() })
                    .await
                    .map_err(|error| explain(&id, error))?;
                print(&show(&view))?;
            }
            Request::Update { id, display_name, hostnames, settings } => {
                let message = UpdateTenant { by, id: id.clone(), display_name, hostnames, settings };
                let view = ask(&domain.provisioning, message).await.map_err(|error| explain(&id, error))?;
                print(&show(&view))?;
            }
            Request::Delete(id) => {
                let view = delete(&domain, &id).await?;
                print(&show(&view))?;
                wait_for_purge(&domain, &id).await?;
            }
        }
        Ok(true)
    })
}

/// Starts the deletion; a tenant already being deleted (an earlier run that stopped waiting)
/// is shown as it is, since starting the domain resumed its removal.
async fn delete(domain: &Domain, id: &str) -> anyhow::Result<TenantView> {
    match ask(&domain.provisioning, DeleteTenant { by: TenantCaller::Operator, id: id.to_owned() }).await {
        Ok(view) => Ok(view),
        Err(DomainError::NotFound) => {
            match ask(&domain.provisioning, GetTenant { by: TenantCaller::Operator, id: id.to_owned() }).await {
                Ok(view) if !view.tenant.is_active() => Ok(view),
                _ => Err(explain(id, DomainError::NotFound)),
            }
        }
        Err(error) => Err(explain(id, error)),
    }
}

/// The removal runs in this process: waits until the tenant is gone, so that the process does
/// not end in the middle of it.
async fn wait_for_purge(domain: &Domain, id: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + PURGE_WAIT;
    loop {
        tokio::time::sleep(PURGE_POLL).await;
        match ask(&domain.provisioning, GetTenant { by: TenantCaller::Operator, id: id.to_owned() }).await {
            Err(DomainError::NotFound) => return Ok(()),
            Ok(_) if Instant::now() < deadline => {}
            Ok(_) => anyhow::bail!(
                "tenant {id} is being deleted, but its records were not all removed within {} s; the removal \
                 resumes the next time a server or an operator command starts on this database",
                PURGE_WAIT.as_secs()
            ),
            Err(error) => return Err(explain(id, error)),
        }
    }
}

/// A domain refusal, as a message for the operator.
fn explain(id: &str, error: DomainError) -> anyhow::Error {
    match error {
        DomainError::NotFound => anyhow::anyhow!("tenant {id:?} not found"),
        DomainError::Invalid(errors) => anyhow::anyhow!("{}", tessera_actors::error::describe_fields(&errors)),
        DomainError::Conflict(conflict) => anyhow::anyhow!("{conflict}"),
        other => anyhow::anyhow!("{other}"),
    }
}

fn print(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{segment, settings_json, SettingsChange};
    use serde_json::json;

    #[test]
    fn settings_name_only_what_changes() {
        assert_eq!(settings_json(&SettingsChange::default()), None);
        let change = SettingsChange {
            password_min_length: Some(Some(14)),
            session_lifetime_minutes: Some(None),
            api_key_max_lifetime_days: None,
            local_auth_enabled: Some(false),
        };
        assert_eq!(
            settings_json(&change),
            Some(json!({"password_min_length": 14, "session_lifetime_minutes": null, "local_auth_enabled": false}))
        );
    }

    #[test]
    fn ids_stay_one_path_segment() {
        assert_eq!(segment("acme-2"), "acme-2");
        assert_eq!(segment("a/b?c"), "a%2Fb%3Fc");
    }
}
