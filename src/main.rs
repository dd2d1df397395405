//! `tessera`: the identity server binary and its command line.

mod cli;
mod client;
mod http;
mod rotation;
mod server;
mod settings;
mod tenant_command;

use std::process::ExitCode;

use clap::Parser;
use tessera_actors::user_actor::{CreateApiToken, CreateScimToken};
use tessera_actors::{Domain, TenantId};

use cli::{Cli, Command};
use settings::{LogFormat, Settings};

/// mimalloc instead of the system allocator (see Cargo.toml: malloc/free were an eighth of a
/// read's CPU).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Serve
        | Command::Migrate
        | Command::CreateApiToken { .. }
        | Command::CreateScimToken { .. }
        | Command::RotateSecret { .. }
        | Command::RetireSecrets { .. }
        | Command::Backup { .. }
        | Command::Restore { .. } => operate(cli),
        Command::Tenant(tenant) => tenant_command::run(cli.config.as_deref(), tenant),
        Command::Routes => {
            for route in http::routes::list() {
                println!("{} {}", route.method, route.path);
            }
            Ok(true)
        }
        command => client_verb(command),
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("tessera: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Commands that run the domain in this process.
fn operate(cli: Cli) -> anyhow::Result<bool> {
    let settings = Settings::load(cli.config.as_deref())?;
    init_logging(&settings);
    actix_web::rt::System::new().block_on(async move {
        match cli.command {
            Command::Serve => server::serve(settings).await.map(|()| true),
            Command::Migrate => {
                let store = tessera_actors::store::Store::open(&settings.store()).await?;
                let applied = store.migrate().await?;
                println!("schema at version {} (applied now: {applied:?})", tessera_actors::store::SCHEMA_VERSION);
                Ok(true)
            }
            Command::CreateApiToken { email, expires_in, tenant } => {
                let tenant = TenantId::parse(&tenant)
                    .ok_or_else(|| anyhow::anyhow!("--tenant {tenant:?} is not a tenant name"))?;
                let mut domain_settings = settings.domain()?;
                domain_settings.bootstrap_admin = None;
                let domain = Domain::start(domain_settings).await?;
                if domain.tenants.active(&tenant).is_none() {
                    anyhow::bail!("tenant {tenant} does not exist");
                }
                let issued = domain.users.send(CreateApiToken { tenant, email, days: expires_in }).await??;
                println!("{}", issued.raw);
                Ok(true)
            }
            Command::CreateScimToken { tenant, expires_in } => {
                let tenant = TenantId::parse(&tenant)
                    .ok_or_else(|| anyhow::anyhow!("--tenant {tenant:?} is not a tenant name"))?;
                let mut domain_settings = settings.domain()?;
                domain_settings.bootstrap_admin = None;
                let domain = Domain::start(domain_settings).await?;
                let Some(record) = domain.tenants.active(&tenant) else {
                    anyhow::bail!("tenant {tenant} does not exist");
                };
                let base_url = http::tenant_base_url(&settings.server.external_url, &tenant, &record.hostnames);
                let message = CreateScimToken { tenant: tenant.clone(), by: None, expires_in_days: expires_in };
                let issued = domain.users.send(message).await??;
                println!("SCIM base URL: {base_url}/scim/v2");
                println!("Bearer token:  {}", issued.raw);
                Ok(true)
            }
            Command::Backup { file } => {
                let store = tessera_actors::store::Store::open(&settings.store()).await?;
                store.export_to(&file).await?;
                println!("backed up {} to {}", settings.database.endpoint, file.display());
                println!("keep the master key file (or auth.secret) too, apart from the backup: it is not in it");
                Ok(true)
            }
            Command::Restore { file } => {
                if !file.is_file() {
                    anyhow::bail!("{} is not a file", file.display());
                }
                tessera_actors::store::Store::restore(&settings.store(), &file).await?;
                println!("restored {} into {}", file.display(), settings.database.endpoint);
                Ok(true)
            }
            Command::RotateSecret { reseal_only } => rotation::rotate(&settings, reseal_only).await,
            Command::RetireSecrets { force } => rotation::retire(&settings, force).await,
            _ => unreachable!("client verbs are dispatched elsewhere"),
        }
    })
}

/// Client verbs: plain HTTP, no domain.
fn client_verb(command: Command) -> anyhow::Result<bool> {
    tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(client::run(command))
}

fn init_logging(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_new(&settings.log.level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match settings.log.format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}
