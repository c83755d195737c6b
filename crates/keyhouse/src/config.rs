//! Configuration: defaults < TOML file < `KEYHOUSE_*` environment < flags,
//! validated into one typed [`Settings`] passed down (no globals).

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use keyhouse_core::service::AdminCredentials;
use serde::Deserialize;

use crate::cli::{Cli, Command};

/// Where a bare `keyhouse serve` listens.
const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Where a bare `keyhouse serve` keeps its data.
const DEFAULT_DATA_DIR: &str = "keyhouse-data";

/// The TOML file: keys are the flag names with `_` for `-`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    public_url: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    tls_self_signed: Option<bool>,
    org_name: Option<String>,
    log_format: Option<String>,
    refresh_token_days: Option<i64>,
    metrics_enabled: Option<bool>,
    audit_retention_days: Option<i64>,
}

/// Which database to use.
#[derive(Clone)]
pub enum Database {
    /// The embedded default: a SQLite file.
    SqliteFile(PathBuf),
    /// A `sqlite://` URL given explicitly.
    SqliteUrl(String),
    /// A `postgres://` URL.
    Postgres(String),
}

impl fmt::Debug for Database {
    /// Database URLs may carry passwords: never print them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Database::SqliteFile(p) => write!(f, "SqliteFile({})", p.display()),
            Database::SqliteUrl(_) => write!(f, "SqliteUrl(<redacted>)"),
            Database::Postgres(_) => write!(f, "Postgres(<redacted>)"),
        }
    }
}

/// How the server speaks on the wire.
#[derive(Debug, Clone)]
pub enum Tls {
    /// Plain HTTP (behind a TLS-terminating proxy, or for local tests).
    Off,
    /// HTTPS from a PEM certificate and key.
    Files { cert: PathBuf, key: PathBuf },
    /// HTTPS with a certificate generated for the listen address.
    SelfSigned,
}

/// Log output style.
#[derive(Debug, Clone, Copy)]
pub enum LogFormat {
    Text,
    Json,
}

/// Validated settings for every subcommand.
#[derive(Debug)]
pub struct Settings {
    pub listen: SocketAddr,
    pub public_url: Option<String>,
    pub data_dir: PathBuf,
    pub database: Database,
    pub tls: Tls,
    pub org_name: String,
    pub admin: AdminCredentials,
    pub log_format: LogFormat,
    /// Lifetime of refresh tokens in days (1–3650, default 90).
    pub refresh_token_days: i64,
    /// Serve `/metrics` and count HTTP requests (default true; issue 7).
    pub metrics_enabled: bool,
    /// Days audit events are kept (1–36500, default 365, Anypoint's one year).
    pub audit_retention_days: i64,
}

impl Settings {
    /// The core settings for a server reached at `issuer`.
    pub fn core(&self, issuer: &str) -> keyhouse_core::service::CoreSettings {
        let mut core = keyhouse_core::service::CoreSettings::new(issuer);
        core.refresh_token_days = self.refresh_token_days;
        core.audit_retention_days = self.audit_retention_days;
        core
    }

    /// The issuer when the listen address is not known yet (CLI commands).
    pub fn offline_issuer(&self) -> String {
        let scheme = if matches!(self.tls, Tls::Off) {
            "http"
        } else {
            "https"
        };
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("{scheme}://{}", self.listen))
    }

    /// Merges the layers and validates the result.
    pub fn load(cli: &Cli) -> anyhow::Result<Self> {
        let file = match &cli.global.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let serve = match &cli.command {
            Command::Serve(args) => Some(args),
            _ => None,
        };
        let listen = serve
            .and_then(|s| s.listen)
            .or(file.listen)
            .map(Ok)
            .unwrap_or_else(|| DEFAULT_LISTEN.parse())
            .context("listen address")?;
        let data_dir = cli
            .global
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let database = match cli.global.database_url.clone().or(file.database_url) {
            None => Database::SqliteFile(data_dir.join("keyhouse.db")),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Database::Postgres(url)
            }
            Some(url) if url.starts_with("sqlite:") => Database::SqliteUrl(url),
            Some(_) => bail!("database URL must start with postgres://, postgresql:// or sqlite:"),
        };
        let cert = serve.and_then(|s| s.tls_cert.clone()).or(file.tls_cert);
        let key = serve.and_then(|s| s.tls_key.clone()).or(file.tls_key);
        let self_signed = serve
            .and_then(|s| s.tls_self_signed)
            .or(file.tls_self_signed)
            .unwrap_or(false);
        let tls = match (cert, key, self_signed) {
            (Some(_), Some(_), true) => bail!("choose either tls_cert/tls_key or tls_self_signed"),
            (Some(cert), Some(key), false) => Tls::Files { cert, key },
            (None, None, true) => Tls::SelfSigned,
            (None, None, false) => Tls::Off,
            _ => bail!("tls_cert and tls_key must be given together"),
        };
        let log_format = match cli.global.log_format.clone().or(file.log_format).as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => bail!("log format '{other}' is not text or json"),
        };
        let public_url = serve.and_then(|s| s.public_url.clone()).or(file.public_url);
        if let Some(url) = &public_url {
            if !(url.starts_with("https://") || url.starts_with("http://"))
                || url.contains(['?', '#'])
            {
                bail!("public_url must be an http(s) URL without query or fragment");
            }
        }
        let refresh_token_days = match std::env::var("KEYHOUSE_REFRESH_TOKEN_DAYS") {
            Ok(raw) => Some(raw.parse::<i64>().context("KEYHOUSE_REFRESH_TOKEN_DAYS")?),
            Err(_) => file.refresh_token_days,
        }
        .unwrap_or(keyhouse_core::service::REFRESH_TOKEN_DAYS);
        if !(1..=3650).contains(&refresh_token_days) {
            bail!("refresh_token_days must be between 1 and 3650");
        }
        let audit_retention_days = match std::env::var("KEYHOUSE_AUDIT_RETENTION_DAYS") {
            Ok(raw) => Some(
                raw.parse::<i64>()
                    .context("KEYHOUSE_AUDIT_RETENTION_DAYS")?,
            ),
            Err(_) => file.audit_retention_days,
        }
        .unwrap_or(keyhouse_core::service::AUDIT_RETENTION_DAYS);
        if !(1..=36500).contains(&audit_retention_days) {
            bail!("audit_retention_days must be between 1 and 36500");
        }
        Ok(Self {
            listen,
            public_url,
            data_dir,
            database,
            tls,
            org_name: cli
                .global
                .org_name
                .clone()
                .or(file.org_name)
                .unwrap_or_else(|| "Keyhouse".to_owned()),
            admin: AdminCredentials {
                username: std::env::var("KEYHOUSE_ADMIN_USERNAME")
                    .unwrap_or_else(|_| "admin".to_owned()),
                password: std::env::var("KEYHOUSE_ADMIN_PASSWORD").ok(),
            },
            log_format,
            refresh_token_days,
            metrics_enabled: serve
                .and_then(|s| s.metrics_enabled)
                .or(file.metrics_enabled)
                .unwrap_or(true),
            audit_retention_days,
        })
    }
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing config file {}", path.display()))
}
