//! The binary's operator commands: init, migrate, admin, configuration file.

use crate::support::TestServer;

#[tokio::test]
async fn admin_commands_create_orgs_and_users_and_refuse_duplicates() {
    let server = TestServer::start().await;
    let out = server.admin_command(&[
        "create-org",
        "--name",
        "Initech",
        "--admin-username",
        "peter",
        "--admin-password",
        "tps-reports-123",
    ]);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Initech"), "{stdout}");
    let peter = server.client().logged_in("peter", "tps-reports-123").await;
    let me = peter.get("/accounts/api/me").await.json();
    assert_eq!(me["user"]["organization"]["name"], "Initech");

    let dup = server.admin_command(&[
        "create-user",
        "--org",
        "Initech",
        "--username",
        "PETER",
        "--password",
        "another-password",
    ]);
    assert!(!dup.status.success());
    assert!(String::from_utf8_lossy(&dup.stderr).contains("already taken"));

    let weak = server.admin_command(&[
        "create-user",
        "--org",
        "Initech",
        "--username",
        "milton",
        "--password",
        "short",
    ]);
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("at least"));
}

#[tokio::test]
async fn init_migrate_and_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("keyhouse.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\norg_name = \"From File\"\n",
            dir.path().join("data")
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_keyhouse"));
        cmd.arg("--config")
            .arg(&config)
            .args(args)
            .env_remove("KEYHOUSE_DATABASE_URL")
            .env_remove("KEYHOUSE_DATA_DIR")
            .env_remove("KEYHOUSE_ADMIN_PASSWORD")
            .env_remove("KEYHOUSE_ORG_NAME");
        cmd.output().unwrap()
    };
    let migrate = run(&["migrate"]);
    assert!(migrate.status.success(), "{migrate:?}");
    let init = run(&["init"]);
    assert!(init.status.success(), "{init:?}");
    let stdout = String::from_utf8_lossy(&init.stdout);
    assert!(stdout.contains("From File"), "{stdout}");
    assert!(stdout.contains("password (shown once"), "{stdout}");
    let again = run(&["init"]);
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(stdout.contains("already initialised"), "{stdout}");
    assert!(!stdout.contains("password"), "{stdout}");
    assert!(dir.path().join("data/keyhouse.db").exists());

    std::fs::write(&config, "no_such_key = 1\n").unwrap();
    let bad = run(&["init"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("config"));
}

#[tokio::test]
async fn serves_https_from_an_operator_certificate_and_key() {
    use std::io::{BufRead, BufReader};
    // A self-signed pair made by a first server stands in for the operator's files.
    let first = TestServer::start_tls().await;
    let cert = first.cert.clone().unwrap();
    let key = cert.with_file_name("key.pem");
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_keyhouse"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .env_remove("KEYHOUSE_DATABASE_URL")
        .env("KEYHOUSE_ADMIN_PASSWORD", crate::support::ADMIN_PASSWORD)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let base = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("keyhouse listening on ").map(str::to_owned))
        .expect("listening line");
    assert!(base.starts_with("https://"), "{base}");
    let client = crate::support::Client::new(&base, Some(&cert));
    let health = client.get("/healthz").await;
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(health.status, 200);
    // A missing key file is a clear start-up error, not a panic.
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_keyhouse"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(&cert)
        .args(["--tls-key", "/nonexistent/key.pem"])
        .env_remove("KEYHOUSE_DATABASE_URL")
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("TLS"),
        "{bad:?}"
    );
}
