//! The console's askama templates (compiled in, HTML-escaped by default,
//! AZ-17) and the plain view values they show. Handlers build the views from
//! what the core returns; templates only lay them out.

use askama::Template;

use super::chart::Chart;
use super::picker::{EnvGroup, OrgOption, ScopeChoice};

/// The header of every signed-in page: who is signed in, and the sign-out
/// form's token.
pub(crate) struct Nav {
    pub user_name: String,
    pub signout: String,
}

/// One connected app in the list.
pub(crate) struct AppRow {
    pub client_id: String,
    pub name: String,
    pub grants: String,
    pub enabled: bool,
    pub created: String,
}

#[derive(Template)]
#[template(path = "console/apps.html")]
pub(crate) struct AppsPage {
    pub nav: Option<Nav>,
    pub active: &'static str,
    pub orgs: Vec<OrgOption>,
    pub org_id: String,
    pub q: String,
    pub apps: Vec<AppRow>,
    pub total: u64,
    pub prev: Option<String>,
    pub next: Option<String>,
    /// An app was just deleted.
    pub deleted: bool,
}

/// What the create form shows (again, after a refused attempt).
#[derive(Default)]
pub(crate) struct AppForm {
    pub name: String,
    /// `own` (client_credentials) or `user` (on behalf of users).
    pub behalf: String,
    pub grants: Vec<String>,
    pub redirect_uris: String,
    pub audience: String,
    pub client_uri: String,
    pub scopes: String,
    pub public_keys: String,
}

impl AppForm {
    /// Whether a grant-type box is ticked.
    pub fn has_grant(&self, grant: &str) -> bool {
        self.grants.iter().any(|g| g == grant)
    }
}

#[derive(Template)]
#[template(path = "console/app_new.html")]
pub(crate) struct NewAppPage {
    pub nav: Option<Nav>,
    pub active: &'static str,
    pub orgs: Vec<OrgOption>,
    pub csrf: String,
    pub error: Option<String>,
    pub form: AppForm,
}

/// An app as its detail page shows it (never its secret hash).
pub(crate) struct AppView {
    pub client_id: String,
    pub name: String,
    pub org_name: String,
    pub grants: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub audience: String,
    pub enabled: bool,
    pub public_client: bool,
    pub own_behalf: bool,
    pub created: String,
    pub secret_updated: String,
}

/// One context-bound scope of the app, with its remove form's fields.
pub(crate) struct ScopeRow {
    pub scope: String,
    pub label: String,
    pub org_id: String,
    pub org_name: String,
    pub env_id: String,
    pub env_name: String,
}

/// One recent token issuance from the audit log.
pub(crate) struct UsageRow {
    pub at: String,
    pub grant: String,
    /// Tokens the event covers (client_credentials events summarize a batch).
    pub count: u64,
    pub user: String,
}

/// The app's recent use: token issuances from the audit log (client_credentials
/// ones summarized per commit batch, see docs/audit.md) and how many users
/// authorized it.
pub(crate) struct Usage {
    pub issued: Vec<UsageRow>,
    pub authorized_users: Option<usize>,
}

#[derive(Template)]
#[template(path = "console/app_detail.html")]
pub(crate) struct AppPage {
    pub nav: Option<Nav>,
    pub active: &'static str,
    pub app: AppView,
    pub secret: Option<String>,
    pub scopes: Vec<ScopeRow>,
    pub scope_choices: Vec<ScopeChoice>,
    pub orgs: Vec<OrgOption>,
    pub envs: Vec<EnvGroup>,
    pub add_csrf: String,
    pub remove_csrf: String,
    pub reset_csrf: String,
    pub error: Option<String>,
    pub usage: Usage,
}

#[derive(Template)]
#[template(path = "console/app_delete.html")]
pub(crate) struct DeletePage {
    pub nav: Option<Nav>,
    pub active: &'static str,
    pub client_id: String,
    pub name: String,
    pub csrf: String,
}

/// One business group of the tree, in depth-first order. `children` opens a
/// nested list after it; `close` is how many nested lists end after it.
pub(crate) struct TreeRow {
    pub id: String,
    pub name: String,
    pub environments: usize,
    pub children: bool,
    pub close: usize,
}

#[derive(Template)]
#[template(path = "console/orgs.html")]
pub(crate) struct OrgsPage {
    pub nav: Option<Nav>,
    pub active: &'static str,
    pub rows: Vec<TreeRow>,
    pub orgs: Vec<OrgOption>,
    pub csrf: String,
    pub error: Option<String>,
}

/// One environment of a business group.
pub(crate) struct EnvRow {
    pub id: String,
    pub name: String,
    pub env_type: String,
    pub client_id: String,
}

#[derive(Template)]
#[template(path = "console/environments.html")]
pub(crate) struct EnvsPage {
    pub nav: Option<Nav>,
    pub active: &'static str,
    pub org_id: String,
    pub org_name: String,
    pub envs: Vec<EnvRow>,
    pub csrf: String,
    pub error: Option<String>,
    pub name: String,
}

/// One audit event as listed.
pub(crate) struct EventRow {
    pub at: String,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub actor: String,
    pub success: bool,
}

/// The audit page's filters, as entered.
#[derive(Default)]
pub(crate) struct AuditFilters {
    pub from: String,
    pub to: String,
    pub action: String,
    pub object_type: String,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
pub(crate) struct AuditPage {
    pub nav: Option<Nav>,
    pub active: &'static str,
    pub orgs: Vec<OrgOption>,
    pub filters: AuditFilters,
    pub events: Vec<EventRow>,
    pub total: u64,
    pub chart: Chart,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "console/sign_in.html")]
pub(crate) struct SignInPage<'a> {
    pub nav: Option<Nav>,
    pub active: &'static str,
    pub csrf: &'a str,
    pub next: &'a str,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "console/message.html")]
struct MessagePage<'a> {
    nav: Option<Nav>,
    active: &'static str,
    title: &'a str,
    message: &'a str,
}

/// Renders, or falls back to a bare sentence if a template fails (it cannot,
/// short of a bug; the page must still not leak anything).
pub(crate) fn render(template: &impl Template) -> String {
    template.render().unwrap_or_else(|err| {
        tracing::error!(error = %err, "console template rendering failed");
        "<!doctype html><title>Keyhouse</title><p>Something went wrong.</p>".to_owned()
    })
}

/// A page with a title and one sentence (errors and refusals).
pub(crate) fn message(title: &str, message: &str) -> String {
    render(&MessagePage {
        nav: None,
        active: "",
        title,
        message,
    })
}
