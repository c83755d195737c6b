//! Two Keyhouse servers federated over OpenID Connect (docs/federation.md):
//! an upstream U that signs people in and a downstream D that trusts U as an
//! identity provider of its root organization.

use reqwest::Url;
use serde_json::{json, Value};

use super::http::Client;
use super::pages::{tags, Page};
use super::user_apps::{create_user_app, UserApp};
use super::TestServer;

/// Where upstream providers send browsers back to Keyhouse.
pub const CALLBACK_PATH: &str = "/accounts/login/oidc/callback";

/// The upstream and downstream servers and what links them.
pub struct Federation {
    /// The upstream provider (a Keyhouse acting as any OIDC provider).
    pub upstream: TestServer,
    pub upstream_admin: Client,
    /// Keyhouse D's client at U (redirect URI: D's callback).
    pub upstream_app: UserApp,
    /// The downstream Keyhouse, which trusts U.
    pub downstream: TestServer,
    pub downstream_admin: Client,
    pub downstream_org: String,
    /// The provider at D pointing at U.
    pub provider_id: String,
}

impl Federation {
    /// Starts U and D, registers D at U, and adds U as a provider of D's root org.
    pub async fn start() -> Self {
        let upstream = TestServer::start().await;
        let downstream = TestServer::start().await;
        let upstream_admin = upstream.admin().await;
        let downstream_admin = downstream.admin().await;
        let callback = format!("{}{CALLBACK_PATH}", downstream.base);
        let upstream_app = create_user_app(&upstream_admin, "Keyhouse D", &callback).await;
        let downstream_org = downstream_admin.root_org_id().await;
        let created = create_provider(
            &downstream_admin,
            &downstream_org,
            "Upstream SSO",
            &upstream.base,
            &upstream_app,
        )
        .await;
        assert_eq!(created.0, 201, "create provider: {}", created.1);
        let provider_id = created.1["provider_id"]
            .as_str()
            .expect("provider_id")
            .to_owned();
        Self {
            upstream,
            upstream_admin,
            upstream_app,
            downstream,
            downstream_admin,
            downstream_org,
            provider_id,
        }
    }

    /// Creates a person at U (password [`super::ADMIN_PASSWORD`]).
    pub async fn upstream_user(&self, username: &str) {
        let org = self.upstream_admin.root_org_id().await;
        self.upstream.user_in(&org, username, false).await;
    }
}

/// `POST /accounts/api/organizations/{org}/identityProviders` for an OIDC
/// provider at `issuer` with `app`'s credentials: (status, body).
pub async fn create_provider(
    admin: &Client,
    org: &str,
    name: &str,
    issuer: &str,
    app: &UserApp,
) -> (u16, Value) {
    let resp = admin
        .post(
            &format!("/accounts/api/organizations/{org}/identityProviders"),
            json!({
                "name": name,
                "type": {"name": "openid"},
                "oidc_provider": {
                    "issuer": issuer,
                    "client": {"credentials": {"id": app.client_id, "secret": app.secret}},
                    "scopes": "openid profile email",
                },
            }),
        )
        .await;
    let body = serde_json::from_str(&resp.body).unwrap_or(Value::String(resp.body.clone()));
    (resp.status, body)
}

/// The href of the "sign in with" link for `provider_id` on a sign-in page,
/// or `None` when the page offers no such provider.
pub fn idp_link(page: &Page, provider_id: &str) -> Option<String> {
    tags(&page.body)
        .into_iter()
        .find(|t| {
            t.name == "a"
                && t.attr("class")
                    .is_some_and(|c| c.split(' ').any(|c| c == "idp-login"))
                && t.attr("data-provider-id") == Some(provider_id)
        })
        .and_then(|t| t.attr("href").map(str::to_owned))
}

/// One query parameter of a URL.
pub fn query_param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
}
