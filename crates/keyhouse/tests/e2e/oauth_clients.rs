//! Standard clients, unchanged: the Rust `oauth2` crate against the token
//! endpoint, and anypoint-cli-v4 authenticating as a connected app.

use oauth2::basic::BasicClient;
use oauth2::{AuthType, ClientId, ClientSecret, Scope, TokenResponse, TokenUrl};

use crate::anypoint_cli::{cli_path, Cli};
use crate::support::apps::{create_app, env_viewer_scopes, set_scopes};
use crate::support::TestServer;

#[tokio::test]
async fn the_oauth2_crate_gets_and_uses_a_token() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let root = admin.root_org_id().await;
    let app = create_app(&admin, "oauth2-crate").await;
    set_scopes(
        &admin,
        &app.client_id,
        env_viewer_scopes(&admin, &root).await,
    )
    .await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let token_url = TokenUrl::new(format!("{}/accounts/api/v2/oauth2/token", server.base)).unwrap();
    for auth in [AuthType::BasicAuth, AuthType::RequestBody] {
        let client = BasicClient::new(ClientId::new(app.client_id.clone()))
            .set_client_secret(ClientSecret::new(app.secret.clone()))
            .set_token_uri(token_url.clone())
            .set_auth_type(auth.clone());
        let token = client
            .exchange_client_credentials()
            .request_async(&http)
            .await
            .unwrap_or_else(|e| panic!("{auth:?}: {e:?}"));
        assert!(token.expires_in().is_some());
        let envs = server
            .client()
            .with_token(token.access_token().secret())
            .get(&format!("/accounts/api/organizations/{root}/environments"))
            .await;
        assert_eq!(envs.status, 200, "{}", envs.body);
    }
    // A scope the app does not hold is refused with the standard error.
    let client = BasicClient::new(ClientId::new(app.client_id.clone()))
        .set_client_secret(ClientSecret::new(app.secret.clone()))
        .set_token_uri(token_url.clone());
    let err = client
        .exchange_client_credentials()
        .add_scope(Scope::new("edit:organization".into()))
        .request_async(&http)
        .await
        .unwrap_err();
    assert!(format!("{err:?}").contains("invalid_scope"), "{err:?}");
    let wrong = BasicClient::new(ClientId::new(app.client_id.clone()))
        .set_client_secret(ClientSecret::new("wrong".into()))
        .set_token_uri(token_url);
    let err = wrong
        .exchange_client_credentials()
        .request_async(&http)
        .await
        .unwrap_err();
    assert!(format!("{err:?}").contains("invalid_client"), "{err:?}");
}

#[tokio::test]
async fn anypoint_cli_account_commands_with_a_connected_app() {
    let Some(bin) = cli_path() else { return };
    let server = TestServer::start_tls().await;
    let admin = server.admin().await;
    let root = admin.root_org_id().await;
    let app = create_app(&admin, "cli-app").await;
    let mut scopes = env_viewer_scopes(&admin, &root).await;
    scopes.as_array_mut().unwrap().push(serde_json::json!(
        {"scope": "create:environment", "context_params": {"org": root}}
    ));
    set_scopes(&admin, &app.client_id, scopes).await;
    let cli = Cli::new(bin, &server);
    let auth = [
        "--client_id",
        app.client_id.as_str(),
        "--client_secret",
        app.secret.as_str(),
    ];
    let with = |args: &[&str]| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(auth);
        all.extend(["-o", "json"]);
        all.iter().map(|s| s.to_string()).collect::<Vec<String>>()
    };
    let run = |args: Vec<String>| {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        cli.run_json(&refs)
    };
    let envs = run(with(&["account", "environment", "list"]));
    assert_eq!(envs.as_array().unwrap().len(), 2);
    let user = run(with(&["account", "user", "describe"]));
    assert_eq!(user["username"], "admin");
    let groups = run(with(&["account", "business-group", "list"]));
    assert_eq!(groups[0]["isRoot"], true);
    let described = run(with(&["account", "business-group", "describe"]));
    assert_eq!(described["name"], "Keyhouse");
    let created = run(with(&[
        "account",
        "environment",
        "create",
        "cli-app-env",
        "--type",
        "sandbox",
    ]));
    assert_eq!(created["name"], "cli-app-env");

    // Wrong secret: the CLI reports the 401 and exits 2.
    let fresh = Cli::new(cli.bin.clone(), &server);
    let out = fresh.run(&[
        "account",
        "environment",
        "list",
        "--client_id",
        &app.client_id,
        "--client_secret",
        "wrong",
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("401"));
}
