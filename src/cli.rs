//! Command line: `serve`, operator commands that open the database directly, and client
//! verbs named like the SOAT CLI's that talk HTTP to a running server.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Tessera: a multi-tenant identity server (SOAT and Firezone APIs, SCIM, OIDC and SAML).
#[derive(Debug, Parser)]
#[command(name = "tessera", version, about)]
pub struct Cli {
    /// Configuration file layered over the built-in defaults.
    #[arg(long, global = true, env = "TESSERA_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

/// Every command.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve,
    /// Apply the database schema and exit.
    Migrate,
    /// Print every route the server answers, one `METHOD /path/{template}` per line.
    Routes,
    /// Issue a Firezone-style API token for a user (opens the database directly).
    CreateApiToken {
        /// The user's email (or username).
        #[arg(long)]
        email: String,
        /// Lifetime in days, 1 to 90.
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(i64).range(1..=90))]
        expires_in: i64,
        /// Tenant of the user.
        #[arg(long, default_value = "default")]
        tenant: String,
    },
    /// Issue a SCIM provisioning credential for a tenant: an API key of the tenant's
    /// `scim-provisioner` account, allowed exactly the `scim:*` actions (opens the database
    /// directly). Prints the tenant's SCIM base URL and the token.
    CreateScimToken {
        /// Tenant to provision.
        #[arg(long, default_value = "default")]
        tenant: String,
        /// Lifetime in days, 1 to 365; without it the token lives until its key is deleted.
        #[arg(long, value_parser = clap::value_parser!(i64).range(1..=365))]
        expires_in: Option<i64>,
    },
    /// Add a new master key to the key file and re-seal every stored secret under it (opens the
    /// database directly; stop an embedded server first). Safe to re-run.
    RotateSecret {
        /// Add no key, only re-seal under the newest (keys from auth.secret, or an interrupted run).
        #[arg(long)]
        reseal_only: bool,
    },
    /// Drop every master key but the newest from the key file once no live session or API key
    /// depends on them (opens the database directly).
    RetireSecrets {
        /// Retire even though live sessions or API keys depend on old keys: they stop working.
        #[arg(long)]
        force: bool,
    },
    /// Write the whole database (every tenant) to a SurrealQL file (opens the database directly;
    /// embedded stores: stop the server first). Keep the master key file with it, apart: sealed
    /// secrets and issued tokens need it.
    Backup {
        /// Where to write the export.
        #[arg(long)]
        file: std::path::PathBuf,
    },
    /// Load a backup into an empty database (the configured one), then bring its schema up to
    /// this binary's version. Refuses a database that already holds data.
    Restore {
        /// A file written by `tessera backup`.
        #[arg(long)]
        file: std::path::PathBuf,
    },
    /// Create the first user (admin).
    BootstrapUser(Credentials),
    /// Sign in and print the token.
    LoginUser(Credentials),
    /// Create a user (admin token).
    CreateUser {
        #[command(flatten)]
        credentials: Credentials,
        /// `admin` or `user`.
        #[arg(long)]
        role: Option<String>,
    },
    /// List users.
    ListUsers(Client),
    /// Show one user.
    GetUser(UserId),
    /// Delete one user.
    DeleteUser(UserId),
    /// Create a policy.
    CreatePolicy {
        #[arg(long)]
        name: String,
        #[arg(long)]
        description: Option<String>,
        /// The policy document, as JSON.
        #[arg(long)]
        document: String,
        #[command(flatten)]
        client: Client,
    },
    /// List policies.
    ListPolicies(Client),
    /// Show one policy.
    GetPolicy(PolicyId),
    /// Update a policy (omitted name and description are kept).
    UpdatePolicy {
        #[command(flatten)]
        policy: PolicyId,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        description: Option<String>,
        /// The policy document, as JSON.
        #[arg(long)]
        document: String,
    },
    /// Delete a policy.
    DeletePolicy(PolicyId),
    /// Replace the policies attached to a user.
    AttachUserPolicies {
        #[command(flatten)]
        user: UserId,
        /// Policy ids: a JSON array (as the SOAT CLI takes) or comma-separated.
        #[arg(long)]
        policy_ids: String,
    },
    /// List the policies attached to a user.
    GetUserPolicies(UserId),
    /// Create an API key for yourself; the `sk_…` value is printed once.
    CreateApiKey {
        #[arg(long)]
        name: String,
        /// Policy ids narrowing the key: a JSON array or comma-separated.
        #[arg(long)]
        policy_ids: Option<String>,
        #[arg(long)]
        expires_in_days: Option<u32>,
        #[command(flatten)]
        client: Client,
    },
    /// List API keys.
    ListApiKeys(Client),
    /// Delete an API key.
    DeleteApiKey {
        #[arg(long)]
        api_key_id: String,
        #[command(flatten)]
        client: Client,
    },
    /// Page through the tenant's audit trail, newest first (`audit:ListEvents`). Prints one page
    /// as `{"events": […], "next_cursor": …}`; pass `--cursor` to get the next.
    AuditEvents {
        /// RFC 3339: events at or after this time.
        #[arg(long)]
        from: Option<String>,
        /// RFC 3339: events before this time.
        #[arg(long)]
        to: Option<String>,
        /// A user (`usr_…`) or API key (`key_…`) id.
        #[arg(long)]
        actor: Option<String>,
        /// An action (`users:UpdateUser`) or a module's actions (`users:*`).
        #[arg(long)]
        action: Option<String>,
        /// The SRN acted on.
        #[arg(long)]
        target: Option<String>,
        /// `success`, `denied` or `failure`.
        #[arg(long)]
        outcome: Option<String>,
        /// The previous page's `next_cursor`.
        #[arg(long)]
        cursor: Option<String>,
        /// Events per page, 1 to 500 (default 100).
        #[arg(long)]
        limit: Option<u32>,
        #[command(flatten)]
        client: Client,
    },
    /// List your sessions.
    ListSessions(Client),
    /// Revoke a session.
    DeleteSession {
        #[arg(long)]
        session_id: String,
        #[command(flatten)]
        client: Client,
    },
    /// Manage tenants: create, list, get, update, delete. With `--url` (or `TESSERA_URL`) each
    /// verb calls a running server's `/api/v1/tenants` as an admin of the operator (`default`)
    /// tenant; without it, it works on the database directly as the operator (settings from
    /// `--config` and `TESSERA__…`). Either way it prints the API's JSON.
    Tenant(TenantCommand),
}

/// `tessera tenant …`: where the verb runs, and the verb.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  tessera tenant create acme --display-name 'Acme Corp' --hostname id.acme.example \\
      --password-min-length 14 --admin-username it-admin   # password from $TESSERA_TENANT_ADMIN_PASSWORD
  tessera tenant update acme --session-lifetime-minutes 480 --password-min-length default
  tessera --config /etc/tessera.toml tenant list           # on the database, no server needed
  TESSERA_URL=https://id.example TESSERA_TOKEN=sk_… tessera tenant delete acme")]
pub struct TenantCommand {
    #[command(flatten)]
    pub target: TenantTarget,
    #[command(subcommand)]
    pub verb: TenantVerb,
}

/// A running server to call; without a URL the verb opens the database.
#[derive(Debug, Clone, Args)]
pub struct TenantTarget {
    /// Base URL of a running server: the verb calls its `/api/v1/tenants`. Without it the verb
    /// opens the database itself as the operator (stop an embedded server first).
    #[arg(long, global = true, env = "TESSERA_URL")]
    pub url: Option<String>,
    /// With `--url`: a token of an admin of the `default` tenant, or an `sk_` key whose
    /// policies allow the `tenants:*` actions. Not used on the database.
    #[arg(long, global = true, env = "TESSERA_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

/// The tenant verbs.
#[derive(Debug, Subcommand)]
pub enum TenantVerb {
    /// Create a tenant, optionally with its first admin.
    Create {
        /// The tenant's id: 1 to 63 lowercase letters, digits or dashes, starting with a letter
        /// or digit, not `default`. It names the tenant in `/t/<id>/…`.
        id: String,
        /// Display name (default: the id).
        #[arg(long)]
        display_name: Option<String>,
        /// A hostname that routes to the tenant (repeat for several); the first one makes the
        /// tenant's base URL.
        #[arg(long = "hostname", value_name = "HOSTNAME")]
        hostnames: Vec<String>,
        /// Minimum password length, 8 to 128, on every dialect (default: each API's own).
        #[arg(long, value_name = "N")]
        password_min_length: Option<u32>,
        /// Session lifetime in minutes, 5 to 43200 (default: `auth.session_lifetime_minutes`).
        #[arg(long, value_name = "N")]
        session_lifetime_minutes: Option<u32>,
        /// Longest lifetime of an API key, API token or SCIM token, 1 to 365 days (default: none).
        #[arg(long, value_name = "N")]
        api_key_max_lifetime_days: Option<u32>,
        /// Whether people may sign in with a password (default: true).
        #[arg(long, value_name = "true|false")]
        local_auth_enabled: Option<bool>,
        /// Username of the tenant's first admin; its password is read from the environment
        /// variable `--admin-password-env` names, never from the command line.
        #[arg(long)]
        admin_username: Option<String>,
        /// Name of the environment variable holding the first admin's password.
        #[arg(long, value_name = "VAR", default_value = "TESSERA_TENANT_ADMIN_PASSWORD", requires = "admin_username")]
        admin_password_env: String,
    },
    /// List every tenant (the `default` one included).
    List,
    /// Show one tenant, with the URLs its identity providers and clients are configured with.
    Get {
        /// The tenant's id.
        id: String,
    },
    /// Change a tenant: only what is given changes. A setting given as `default` returns to
    /// its default.
    Update {
        /// The tenant's id.
        id: String,
        /// New display name.
        #[arg(long)]
        display_name: Option<String>,
        /// Replaces the tenant's hostnames with these (repeat for several).
        #[arg(long = "hostname", value_name = "HOSTNAME", conflicts_with = "clear_hostnames")]
        hostnames: Vec<String>,
        /// Removes every hostname (the tenant is then served under `/t/<id>` only).
        #[arg(long)]
        clear_hostnames: bool,
        /// Minimum password length, 8 to 128, or `default`.
        #[arg(long, value_name = "N|default")]
        password_min_length: Option<SettingValue>,
        /// Session lifetime in minutes, 5 to 43200, or `default`.
        #[arg(long, value_name = "N|default")]
        session_lifetime_minutes: Option<SettingValue>,
        /// Longest API key, API token or SCIM token lifetime, 1 to 365 days, or `default` (none).
        #[arg(long, value_name = "N|default")]
        api_key_max_lifetime_days: Option<SettingValue>,
        /// Whether people may sign in with a password.
        #[arg(long, value_name = "true|false")]
        local_auth_enabled: Option<bool>,
    },
    /// Delete a tenant and everything in it. It is refused everywhere at once; its records are
    /// removed in the background. On the database (no `--url`) the command waits, up to a
    /// minute, until they are all gone, since the removal runs in this process; on a server it
    /// returns at once (the tenant shows `"status": "deleting"` until `get` answers 404).
    Delete {
        /// The tenant's id.
        id: String,
    },
}

/// A numeric tenant setting on `update`: a value, or `default` to return it to the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingValue {
    Value(u32),
    Default,
}

impl std::str::FromStr for SettingValue {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text == "default" {
            return Ok(SettingValue::Default);
        }
        text.parse().map(SettingValue::Value).map_err(|_| format!("{text:?} is neither a number nor `default`"))
    }
}

impl SettingValue {
    /// As a settings change: `Some(n)` sets, `None` returns to the default.
    pub fn limit(self) -> Option<u32> {
        match self {
            SettingValue::Value(value) => Some(value),
            SettingValue::Default => None,
        }
    }
}

/// Where the server is and who is calling.
#[derive(Debug, Clone, Args)]
pub struct Client {
    /// Server base URL.
    #[arg(long, env = "TESSERA_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Bearer token (login JWT or API token).
    #[arg(long, env = "TESSERA_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Tenant to address (`/t/<tenant>/…`); the default tenant when absent.
    #[arg(long, env = "TESSERA_TENANT")]
    pub tenant: Option<String>,
}

/// `--username` and `--password`.
#[derive(Debug, Clone, Args)]
pub struct Credentials {
    #[arg(long)]
    pub username: String,
    #[arg(long)]
    pub password: String,
    #[command(flatten)]
    pub client: Client,
}

/// `--policy-id pol_…`.
#[derive(Debug, Clone, Args)]
pub struct PolicyId {
    #[arg(long)]
    pub policy_id: String,
    #[command(flatten)]
    pub client: Client,
}

/// `--user-id usr_…`.
#[derive(Debug, Clone, Args)]
pub struct UserId {
    #[arg(long)]
    pub user_id: String,
    #[command(flatten)]
    pub client: Client,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }

    #[test]
    fn tenant_settings_take_a_number_or_default() {
        use super::SettingValue;
        assert_eq!("14".parse::<SettingValue>(), Ok(SettingValue::Value(14)));
        assert_eq!("default".parse::<SettingValue>(), Ok(SettingValue::Default));
        assert!("-1".parse::<SettingValue>().is_err());
        assert!("none".parse::<SettingValue>().is_err());
    }

    #[test]
    fn tenant_connection_options_go_anywhere_after_tenant() {
        use clap::Parser;
        let cli = super::Cli::try_parse_from(["tessera", "tenant", "get", "acme", "--url", "http://x", "--token", "t"])
            .unwrap();
        let super::Command::Tenant(tenant) = cli.command else { panic!("not a tenant command") };
        assert_eq!(tenant.target.url.as_deref(), Some("http://x"));
        assert_eq!(tenant.target.token.as_deref(), Some("t"));
        assert!(super::Cli::try_parse_from([
            "tessera",
            "tenant",
            "update",
            "a",
            "--hostname",
            "h",
            "--clear-hostnames"
        ])
        .is_err());
        assert!(super::Cli::try_parse_from(["tessera", "tenant", "create", "a", "--admin-password-env", "X"]).is_err());
    }
}
