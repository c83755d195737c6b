//! Test kit: spawns the real `keyhouse` binary on 127.0.0.1 with a random port
//! and a fresh database (SQLite file, or a new PostgreSQL database when
//! `KEYHOUSE_TEST_BACKEND=postgres`), and talks HTTP to it.

pub mod apps;
pub mod audit;
pub mod browser;
pub mod callback;
pub mod console;
pub mod federation;
pub mod grants;
pub mod http;
pub mod mfa;
pub mod pages;
pub mod postgres;
pub mod saml;
pub mod user_apps;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

pub use http::Client;

/// The administrator password every test server starts with.
pub const ADMIN_PASSWORD: &str = "correct-horse-battery";

/// A running server and what a test needs to reach and restart it.
pub struct TestServer {
    child: Option<Child>,
    pub base: String,
    pub data_dir: tempfile::TempDir,
    database_url: Option<String>,
    tls: bool,
    /// The certificate served when started with TLS.
    pub cert: Option<PathBuf>,
    /// Lines the server printed on stdout before it listened.
    pub startup_output: Vec<String>,
    /// Extra environment of the server process.
    env: Vec<(String, String)>,
    /// Where the server's standard error (its log) goes, when captured.
    log_file: Option<PathBuf>,
}

impl TestServer {
    /// A plain-HTTP server on the backend chosen by `KEYHOUSE_TEST_BACKEND`.
    pub async fn start() -> Self {
        Self::start_with(false).await
    }

    /// An HTTPS server with a generated self-signed certificate.
    pub async fn start_tls() -> Self {
        Self::start_with(true).await
    }

    async fn start_with(tls: bool) -> Self {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let database_url = postgres::fresh_database_url().await;
        let mut server = TestServer {
            child: None,
            base: String::new(),
            data_dir,
            database_url,
            tls,
            cert: None,
            startup_output: Vec::new(),
            env: Vec::new(),
            log_file: None,
        };
        server.spawn();
        server
    }

    /// Another server process on the same database (a second node of a cluster).
    pub fn second_node(&self) -> Self {
        let mut node = TestServer {
            child: None,
            base: String::new(),
            data_dir: tempfile::tempdir().expect("temp dir"),
            database_url: self.database_url.clone(),
            tls: self.tls,
            cert: None,
            startup_output: Vec::new(),
            env: Vec::new(),
            log_file: None,
        };
        node.spawn();
        node
    }

    /// A plain-HTTP server with extra environment variables (e.g.
    /// `KEYHOUSE_LOG_FORMAT`, `RUST_LOG`), whose log is kept for [`Self::logs`].
    pub async fn start_logged(env: &[(&str, &str)]) -> Self {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let log_file = Some(data_dir.path().join("server.log"));
        let mut server = TestServer {
            child: None,
            base: String::new(),
            database_url: postgres::fresh_database_url().await,
            data_dir,
            tls: false,
            cert: None,
            startup_output: Vec::new(),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            log_file,
        };
        server.spawn();
        server
    }

    /// Everything the server has logged so far (started with [`Self::start_logged`]).
    pub fn logs(&self) -> String {
        let path = self.log_file.as_ref().expect("started with start_logged");
        std::fs::read_to_string(path).expect("read the server log")
    }

    /// Base command with the data directory and database of this server.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyhouse"));
        cmd.arg("--data-dir").arg(self.data_dir.path());
        match &self.database_url {
            Some(url) => cmd.env("KEYHOUSE_DATABASE_URL", url),
            None => cmd.env_remove("KEYHOUSE_DATABASE_URL"),
        };
        cmd.env_remove("KEYHOUSE_CONFIG")
            .env("KEYHOUSE_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env_remove("KEYHOUSE_ADMIN_USERNAME")
            .env("RUST_LOG", "warn");
        cmd
    }

    fn spawn(&mut self) {
        let mut cmd = self.command();
        cmd.arg("serve").arg("--listen").arg("127.0.0.1:0");
        if self.tls {
            cmd.arg("--tls-self-signed");
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        let stderr = match &self.log_file {
            Some(path) => Stdio::from(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .expect("open the server log"),
            ),
            None => Stdio::inherit(),
        };
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn keyhouse");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut seen = Vec::new();
        let base = loop {
            let line = lines
                .next()
                .unwrap_or_else(|| panic!("server exited before listening; output: {seen:?}"))
                .expect("read stdout");
            if let Some(cert) = line.strip_prefix("TLS certificate: ") {
                self.cert = Some(PathBuf::from(cert));
            }
            if let Some(url) = line.strip_prefix("keyhouse listening on ") {
                break url.to_owned();
            }
            seen.push(line);
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        self.startup_output = seen;
        self.base = base;
        self.child = Some(child);
    }

    /// Kills the server abruptly (as a crash would) and starts it again on the same data.
    pub async fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// An HTTP client for this server (trusting its certificate when on TLS).
    pub fn client(&self) -> Client {
        Client::new(&self.base, self.cert.as_deref())
    }

    /// A client already logged in as the first administrator.
    pub async fn admin(&self) -> Client {
        self.client().logged_in("admin", ADMIN_PASSWORD).await
    }

    /// Runs `keyhouse admin …` against this server's database.
    pub fn admin_command(&self, args: &[&str]) -> Output {
        let mut cmd = self.command();
        cmd.arg("admin").args(args);
        wait_output(cmd)
    }

    /// Creates a user with `keyhouse admin create-user` and returns a client logged in as them.
    pub async fn user_in(&self, org: &str, username: &str, admin: bool) -> Client {
        let mut args = vec![
            "create-user",
            "--org",
            org,
            "--username",
            username,
            "--password",
            ADMIN_PASSWORD,
            "--first-name",
            "Test",
            "--last-name",
            "User",
        ];
        if admin {
            args.push("--admin");
        }
        let out = self.admin_command(&args);
        assert!(out.status.success(), "create-user failed: {out:?}");
        self.client().logged_in(username, ADMIN_PASSWORD).await
    }

    /// Creates another root organization (a second tenant); returns its admin client.
    pub async fn second_tenant(&self, name: &str, admin_username: &str) -> Client {
        let out = self.admin_command(&[
            "create-org",
            "--name",
            name,
            "--admin-username",
            admin_username,
            "--admin-password",
            ADMIN_PASSWORD,
        ]);
        assert!(out.status.success(), "create-org failed: {out:?}");
        self.client()
            .logged_in(admin_username, ADMIN_PASSWORD)
            .await
    }

    /// The PostgreSQL database of this server, when on that backend.
    pub fn database_url(&self) -> Option<&str> {
        self.database_url.as_deref()
    }

    /// The data directory (for tests that inspect stored files).
    pub fn data_path(&self) -> &Path {
        self.data_dir.path()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn wait_output(mut cmd: Command) -> Output {
    cmd.stdin(Stdio::null());
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child.wait_with_output().expect("wait")
}
