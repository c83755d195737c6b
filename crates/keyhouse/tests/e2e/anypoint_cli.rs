//! The published anypoint-cli-v4 against Keyhouse over HTTPS with username and
//! password. `scripts/test.sh` installs the CLI and sets `KEYHOUSE_ANYPOINT_CLI`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

use crate::support::{TestServer, ADMIN_PASSWORD};

/// The CLI binary, or `None` (with a note) when it is not installed and not required.
pub fn cli_path() -> Option<PathBuf> {
    match std::env::var("KEYHOUSE_ANYPOINT_CLI") {
        Ok(path) if Path::new(&path).exists() => Some(PathBuf::from(path)),
        _ if std::env::var("KEYHOUSE_REQUIRE_ANYPOINT_CLI").as_deref() == Ok("1") => {
            panic!("KEYHOUSE_REQUIRE_ANYPOINT_CLI=1 but KEYHOUSE_ANYPOINT_CLI is not an installed anypoint-cli-v4")
        }
        _ => {
            eprintln!("skipped: KEYHOUSE_ANYPOINT_CLI not set (scripts/test.sh installs it)");
            None
        }
    }
}

pub struct Cli {
    pub bin: PathBuf,
    host: String,
    cert: PathBuf,
    state: tempfile::TempDir,
}

impl Cli {
    pub fn new(bin: PathBuf, server: &TestServer) -> Self {
        let host = server.base.trim_start_matches("https://").to_owned();
        Self {
            bin,
            host,
            cert: server.cert.clone().expect("TLS server has a certificate"),
            state: tempfile::tempdir().unwrap(),
        }
    }

    /// Runs one CLI command with a scratch HOME/XDG_CONFIG_HOME and no proxies.
    pub fn run(&self, args: &[&str]) -> Output {
        let home = self.state.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        let mut cmd = Command::new(&self.bin);
        cmd.args(args)
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", self.state.path().join("config"))
            .env("NODE_EXTRA_CA_CERTS", &self.cert)
            .env("ANYPOINT_HOST", &self.host)
            .stdin(Stdio::null());
        for var in [
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "http_proxy",
            "https_proxy",
            "NODE_TLS_REJECT_UNAUTHORIZED",
            "ANYPOINT_CERTIFICATE",
            "ANYPOINT_USERNAME",
            "ANYPOINT_PASSWORD",
            "ANYPOINT_CLIENT_ID",
            "ANYPOINT_CLIENT_SECRET",
            "ANYPOINT_BEARER",
            "ANYPOINT_ORG",
            "ANYPOINT_ENV",
        ] {
            cmd.env_remove(var);
        }
        cmd.output().unwrap()
    }

    /// Runs a command with the admin's credentials and parses its `-o json` output.
    fn json(&self, args: &[&str]) -> Value {
        let mut full: Vec<&str> = args.to_vec();
        full.extend([
            "--username",
            "admin",
            "--password",
            ADMIN_PASSWORD,
            "-o",
            "json",
        ]);
        self.run_json(&full)
    }

    /// Runs a command as given and parses its `-o json` output (skipping any
    /// status line printed before the JSON).
    pub fn run_json(&self, args: &[&str]) -> Value {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "anypoint-cli-v4 {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let start = stdout.find(['{', '[']).unwrap_or(0);
        serde_json::from_str(&stdout[start..])
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {stdout}"))
    }
}

#[tokio::test]
async fn anypoint_cli_account_commands_with_username_and_password() {
    let Some(bin) = cli_path() else { return };
    let server = TestServer::start_tls().await;
    let admin = server.admin().await;
    let root = admin.root_org_id().await;
    let bg = admin
        .post(
            "/accounts/api/organizations",
            json!({"name": "CLI Group", "parentOrganizationId": root}),
        )
        .await;
    assert_eq!(bg.status, 201, "{}", bg.body);
    let cli = Cli::new(bin, &server);

    let user = cli.json(&["account", "user", "describe"]);
    assert_eq!(user["username"], "admin");

    let envs = cli.json(&["account", "environment", "list"]);
    let names: Vec<&str> = envs
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["Production", "Sandbox"]);

    let created = cli.json(&[
        "account",
        "environment",
        "create",
        "cli-qa",
        "--type",
        "sandbox",
    ]);
    assert_eq!(created["name"], "cli-qa");
    assert_eq!(created["type"], "sandbox");
    let listed = admin
        .get(&format!("/accounts/api/organizations/{root}/environments"))
        .await
        .json();
    assert_eq!(listed["total"], 3, "the CLI really created it");

    let out = cli.run(&[
        "account",
        "environment",
        "delete",
        "cli-qa",
        "--username",
        "admin",
        "--password",
        ADMIN_PASSWORD,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = admin
        .get(&format!("/accounts/api/organizations/{root}/environments"))
        .await
        .json();
    assert_eq!(listed["total"], 2, "the CLI really deleted it");

    let groups = cli.json(&["account", "business-group", "list"]);
    let groups = groups.as_array().unwrap();
    assert!(groups
        .iter()
        .any(|g| g["name"] == "Keyhouse" && g["isRoot"] == true));
    assert!(groups.iter().any(|g| g["name"] == "CLI Group"));

    let root_desc = cli.json(&["account", "business-group", "describe"]);
    assert_eq!(root_desc["name"], "Keyhouse");
    assert!(root_desc["environments"].is_array());
    let bg_desc = cli.json(&["account", "business-group", "describe", "CLI Group"]);
    assert_eq!(bg_desc["name"], "CLI Group");

    // A wrong password: exit code 2 and the server's 401.
    let fresh = Cli::new(cli.bin.clone(), &server);
    let out = fresh.run(&[
        "account",
        "environment",
        "list",
        "--username",
        "admin",
        "--password",
        "wrong-password",
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("401"));
}
