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
    /// List your sessions.
    ListSessions(Client),
    /// Revoke a session.
    DeleteSession {
        #[arg(long)]
        session_id: String,
        #[command(flatten)]
        client: Client,
    },
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
}
