//! Command-line grammar (clap) and dispatch to the subcommands.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::Settings;

/// Keyhouse: a self-hosted, Anypoint-compatible identity and access-management server.
#[derive(Debug, Parser)]
#[command(name = "keyhouse", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Settings every subcommand shares (flag > `KEYHOUSE_*` env > config file > default).
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// TOML configuration file.
    #[arg(long, env = "KEYHOUSE_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Data directory: holds the SQLite database and generated TLS files.
    #[arg(long, env = "KEYHOUSE_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// `postgres://…` for PostgreSQL or `sqlite://…` for a specific SQLite file.
    #[arg(
        long,
        env = "KEYHOUSE_DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// Log output: `text` or `json`.
    #[arg(long, env = "KEYHOUSE_LOG_FORMAT", global = true)]
    pub log_format: Option<String>,
    /// Name of the root organization created on first start.
    #[arg(long, env = "KEYHOUSE_ORG_NAME", global = true)]
    pub org_name: Option<String>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (migrates and, on an empty database, creates the first organization).
    Serve(ServeArgs),
    /// Create the first organization and administrator without serving.
    Init,
    /// Apply database migrations and exit.
    Migrate,
    /// Operator commands that act directly on the database.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// ID-token signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// The audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
}

/// `keyhouse audit …`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Write an organization's audit events as JSON lines, oldest first
    /// (one object per line, the fields of the audit query API's entries).
    Export(AuditExportArgs),
}

/// Options of `audit export`.
#[derive(Debug, Args)]
pub struct AuditExportArgs {
    /// Organization or business group: id, or the name of a root organization.
    #[arg(long)]
    pub org: String,
    /// Only events at or after this instant (ISO-8601, or epoch milliseconds).
    #[arg(long)]
    pub since: Option<String>,
    /// Only events at or before this instant (ISO-8601, or epoch milliseconds).
    #[arg(long)]
    pub until: Option<String>,
    /// Write to this file instead of standard output.
    #[arg(long)]
    pub output: Option<PathBuf>,
}

/// `keyhouse keys …`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a new key sign ID tokens; the old one stays published until its tokens expire.
    Rotate,
}

/// Options of `serve`.
#[derive(Debug, Args, Default)]
pub struct ServeArgs {
    /// Address to listen on, e.g. `127.0.0.1:8080` (port 0 picks a free port).
    #[arg(long, env = "KEYHOUSE_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// The URL clients use to reach this server.
    #[arg(long, env = "KEYHOUSE_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// PEM certificate chain for HTTPS.
    #[arg(long, env = "KEYHOUSE_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for HTTPS.
    #[arg(long, env = "KEYHOUSE_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve HTTPS with a generated self-signed certificate for the listen address.
    #[arg(
        long,
        env = "KEYHOUSE_TLS_SELF_SIGNED",
        conflicts_with = "tls_cert",
        num_args = 0..=1,
        default_missing_value = "true"
    )]
    pub tls_self_signed: Option<bool>,
    /// Serve Prometheus metrics at `/metrics` and count every request (default true).
    #[arg(
        long,
        env = "KEYHOUSE_METRICS_ENABLED",
        num_args = 0..=1,
        default_missing_value = "true"
    )]
    pub metrics_enabled: Option<bool>,
}

/// `keyhouse admin …`.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a new root organization with its own administrator.
    CreateOrg(CreateOrgArgs),
    /// Create a user in an organization.
    CreateUser(CreateUserArgs),
    /// Add an upstream OpenID Connect identity provider to an organization.
    AddOidcProvider(AddOidcProviderArgs),
    /// Add a SAML 2.0 identity provider to an organization.
    AddSamlProvider(AddSamlProviderArgs),
}

/// Options of `admin add-saml-provider`. Give the identity provider
/// Keyhouse's metadata: `<public URL>/accounts/saml/metadata`.
#[derive(Debug, Args)]
pub struct AddSamlProviderArgs {
    /// Organization or business group: id, or the name of a root organization.
    #[arg(long)]
    pub org: String,
    /// Name shown on the sign-in button ("Sign in with …").
    #[arg(long)]
    pub name: String,
    /// The identity provider's entity id (the `Issuer` of its responses).
    #[arg(long)]
    pub issuer: String,
    /// A PEM file with the provider's signing certificate (repeat for a rollover).
    #[arg(long = "certificate-file", required = true)]
    pub certificate_files: Vec<std::path::PathBuf>,
    /// The provider's single sign-on URL, for sign-in started at Keyhouse.
    #[arg(long)]
    pub sso_url: Option<String>,
    /// The attribute that becomes the username (default: the NameID).
    #[arg(long, default_value = "")]
    pub username_attribute: String,
}

/// Options of `admin add-oidc-provider`. Register
/// `<public URL>/accounts/login/oidc/callback` as the redirect URI at the upstream.
#[derive(Debug, Args)]
pub struct AddOidcProviderArgs {
    /// Organization or business group: id, or the name of a root organization.
    #[arg(long)]
    pub org: String,
    /// Name shown on the sign-in button ("Sign in with …").
    #[arg(long)]
    pub name: String,
    /// The upstream's issuer URL (https, or http on a loopback address).
    #[arg(long)]
    pub issuer: String,
    /// Keyhouse's client id at the upstream.
    #[arg(long)]
    pub client_id: String,
    /// Keyhouse's client secret at the upstream.
    #[arg(long, env = "KEYHOUSE_IDP_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: String,
    /// Scopes to ask for, space-separated (`openid` is always included).
    #[arg(long, default_value = "openid profile email")]
    pub scopes: String,
    /// The claim that becomes the username (falls back to `sub` when absent).
    #[arg(long, default_value = "preferred_username")]
    pub username_claim: String,
}

/// Options of `admin create-org`.
#[derive(Debug, Args)]
pub struct CreateOrgArgs {
    #[arg(long)]
    pub name: String,
    #[arg(long)]
    pub admin_username: String,
    #[arg(long, env = "KEYHOUSE_NEW_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: String,
    #[arg(long, default_value = "")]
    pub admin_email: String,
    #[arg(long, default_value = "")]
    pub admin_first_name: String,
    #[arg(long, default_value = "")]
    pub admin_last_name: String,
}

/// Options of `admin create-user`.
#[derive(Debug, Args)]
pub struct CreateUserArgs {
    /// Organization or business group: id, or the name of a root organization.
    #[arg(long)]
    pub org: String,
    #[arg(long)]
    pub username: String,
    #[arg(long, env = "KEYHOUSE_NEW_USER_PASSWORD", hide_env_values = true)]
    pub password: String,
    #[arg(long, default_value = "")]
    pub first_name: String,
    #[arg(long, default_value = "")]
    pub last_name: String,
    #[arg(long, default_value = "")]
    pub email: String,
    /// Make the user an Organization Administrator of `--org`.
    #[arg(long)]
    pub admin: bool,
}

/// Runs the chosen subcommand with validated settings.
pub async fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve(_) => crate::server::serve(settings).await,
        Command::Init => crate::server::init(settings).await,
        Command::Migrate => {
            crate::storage::open(&settings).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Admin(cmd) => crate::admin::run(cmd, settings).await,
        Command::Keys(KeysCommand::Rotate) => crate::admin::rotate_keys(settings).await,
        Command::Audit(AuditCommand::Export(args)) => {
            crate::audit_export::run(args, settings).await
        }
    }
}
