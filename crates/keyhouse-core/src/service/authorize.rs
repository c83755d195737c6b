//! The browser side of apps acting for users: sign-in sessions, the
//! authorization decision, consent, and issuing codes.

use std::net::IpAddr;

use super::Keyhouse;
use crate::access::User;
use crate::audit::AuditEvent;
use crate::authn::browser::BrowserSession;
use crate::authn::token::{mint, TokenHash, TOKEN_MAX_LEN};
use crate::error::{CoreError, CoreResult};
use crate::oauth::authorize::{
    audience_allows, check_request, check_target, consent_covers, error_redirect, merge_scopes,
    origin_of, redirect_with, scope_lines, too_old, AuthorizeOutcome, ConsentPage, Params,
    SignInPage, ValidRequest,
};
use crate::oauth::records::{AuthorizationCode, Consent, CODE_LIFETIME_SECS};

/// A browser session just opened: the cookie value (shown once) and its lifetime.
#[derive(Debug)]
pub struct NewBrowserSession {
    pub cookie: String,
    pub max_age_secs: i64,
}

/// Where a validated request stands with the signed-in user.
enum Stage {
    Done(AuthorizeOutcome),
    Ready(Box<ValidRequest>, BrowserSession, User),
}

impl Keyhouse {
    /// Signs a person in for the authorization pages: the same password check,
    /// throttle and Argon2id work as `POST /accounts/login`; a fresh session
    /// value every time (no fixation, SE-04). For a user with MFA (or whose
    /// organization requires it) the right password opens only a pending
    /// sign-in, which is not a session (see [`super::mfa`]).
    pub async fn browser_sign_in(
        &self,
        username: &str,
        password: &str,
        source: Option<IpAddr>,
    ) -> CoreResult<super::mfa::BrowserSignIn> {
        let now = self.clock.now();
        let user = match self.check_password(username, password, source).await {
            Ok(user) => user,
            Err(err) => {
                if matches!(err, CoreError::InvalidCredentials) {
                    let event = AuditEvent::new(now, "user.sign_in", "user")
                        .object(crate::ids::truncate(username))
                        .source(source)
                        .failed();
                    self.store.insert_audit_events(&[event]).await?;
                }
                return Err(err);
            }
        };
        if let Some(purpose) = self.mfa_step(&user).await? {
            return self.open_mfa_challenge(&user, purpose).await;
        }
        let minutes = self.session_minutes(&user).await?;
        let token = mint();
        let session = BrowserSession {
            hash: token.hash,
            user_id: user.id,
            auth_time: now,
            created_at: now,
            expires_at: now.plus_minutes(minutes),
        };
        self.store.insert_browser_session(&session).await?;
        let event = AuditEvent::new(now, "user.sign_in", "user")
            .org(user.org_id)
            .user(user.id)
            .object(user.id.to_string())
            .source(source);
        self.store.insert_audit_events(&[event]).await?;
        self.store.record_login(user.id, now).await?;
        self.directory.forget_user(user.id);
        Ok(super::mfa::BrowserSignIn::Session(NewBrowserSession {
            cookie: token.secret,
            max_age_secs: minutes * 60,
        }))
    }

    /// The live session behind a cookie value and its (enabled) user. A
    /// pending MFA sign-in is not a session: it is never found here.
    pub async fn browser_user(&self, cookie: &str) -> CoreResult<Option<(BrowserSession, User)>> {
        if cookie.is_empty() || cookie.len() > TOKEN_MAX_LEN {
            return Ok(None);
        }
        let now = self.clock.now();
        let Some(session) = self
            .store
            .find_browser_session(&TokenHash::of(cookie))
            .await?
            .filter(|s| s.expires_at > now)
        else {
            return Ok(None);
        };
        let user = self.load_user(session.user_id).await?.filter(|u| u.enabled);
        Ok(user.map(|u| (session, u)))
    }

    /// The signed-in person behind a browser session, as the [`super::Principal`]
    /// the API handlers pass to the service: the web console acts with exactly
    /// the user's own rights (no app, no delegated scopes), so every permission
    /// check is the one the REST API makes. `None` without a live session.
    pub async fn browser_principal(
        &self,
        cookie: &str,
        source: Option<IpAddr>,
    ) -> CoreResult<Option<(super::Principal, User)>> {
        let Some((session, user)) = self.browser_user(cookie).await? else {
            return Ok(None);
        };
        let principal = super::Principal {
            token: None,
            user_id: Some(user.id),
            client_id: None,
            org_id: user.org_id,
            issued_at: session.created_at,
            expires_at: session.expires_at,
            scope: None,
            source,
        };
        Ok(Some((principal, user)))
    }

    /// Ends a browser session.
    pub async fn browser_sign_out(&self, cookie: &str) -> CoreResult<()> {
        if cookie.is_empty() || cookie.len() > TOKEN_MAX_LEN {
            return Ok(());
        }
        Ok(self
            .store
            .delete_browser_session(&TokenHash::of(cookie))
            .await?)
    }

    /// `GET|POST /accounts/api/v2/oauth2/authorize`: what the browser sees next.
    pub async fn authorization_request(
        &self,
        pairs: &[(String, String)],
        cookie: Option<&str>,
        source: Option<IpAddr>,
    ) -> CoreResult<AuthorizeOutcome> {
        let (request, session, user) = match self.stage(pairs, cookie).await? {
            Stage::Done(outcome) => return Ok(outcome),
            Stage::Ready(r, s, u) => (r, s, u),
        };
        let app = &request.target.app.app;
        let consent = self.store.find_consent(user.id, &app.client_id).await?;
        let covered = consent
            .as_ref()
            .is_some_and(|c| consent_covers(&c.scope, &request.scopes));
        if covered && !request.prompt.consent {
            return self
                .issue_code(&request, &session, &user, consent, source)
                .await;
        }
        if request.prompt.none {
            return Ok(self.to_app(
                &request,
                "consent_required",
                "The user has not authorized this app",
            ));
        }
        let org_name = self
            .store
            .find_organization(app.org_id)
            .await?
            .map(|o| o.name)
            .unwrap_or_default();
        Ok(AuthorizeOutcome::Consent(ConsentPage {
            app_name: app.name.clone(),
            org_name,
            client_uri: app.client_uri.clone(),
            policy_uri: app.policy_uri.clone(),
            user_name: user.username.clone(),
            scopes: scope_lines(&request.scopes),
            redirect_origin: origin_of(&request.target.redirect_uri),
        }))
    }

    /// The Allow / Deny answer of the consent page. The request is validated again
    /// in full: nothing from the page is trusted but the decision.
    pub async fn consent_decision(
        &self,
        pairs: &[(String, String)],
        cookie: Option<&str>,
        allow: bool,
        source: Option<IpAddr>,
    ) -> CoreResult<AuthorizeOutcome> {
        let (request, session, user) = match self.stage(pairs, cookie).await? {
            Stage::Done(outcome) => return Ok(outcome),
            Stage::Ready(r, s, u) => (r, s, u),
        };
        let app = &request.target.app.app;
        let now = self.clock.now();
        if !allow {
            let event = AuditEvent::new(now, "consent.denied", "connected_app")
                .org(app.org_id)
                .user(user.id)
                .client(&app.client_id)
                .object(app.client_id.clone())
                .source(source)
                .failed()
                .with("scope", request.scopes.join(" "));
            self.store.insert_audit_events(&[event]).await?;
            return Ok(self.to_app(&request, "access_denied", "The user denied access"));
        }
        let consent = self.store.find_consent(user.id, &app.client_id).await?;
        self.issue_code(&request, &session, &user, consent, source)
            .await
    }

    /// A sign-in page for the request again, with an error line (after a failed
    /// attempt), or the error page if the request itself is bad.
    pub async fn sign_in_again(
        &self,
        pairs: &[(String, String)],
        error: &str,
    ) -> CoreResult<AuthorizeOutcome> {
        let params = Params::new(pairs);
        let app = self.app_for(&params).await?;
        Ok(match check_target(&params, app) {
            Err(message) => AuthorizeOutcome::ErrorPage { message },
            Ok(target) => AuthorizeOutcome::SignIn(SignInPage {
                app_name: target.app.app.name.clone(),
                login_hint: None,
                error: Some(error.to_owned()),
                redirect_origin: origin_of(&target.redirect_uri),
                providers: self.sign_in_providers(target.app.app.org_id).await?,
            }),
        })
    }

    async fn app_for(
        &self,
        params: &Params,
    ) -> CoreResult<Option<std::sync::Arc<super::CachedApp>>> {
        match params.get("client_id") {
            Some(id) if id.len() <= crate::access::connected_app::CLIENT_ID_MAX_CHARS => {
                self.cached_app(id).await
            }
            _ => Ok(None),
        }
    }

    /// Validates the request and the session; stops at the first outcome that
    /// is not "go on" (error page, error redirect, sign-in).
    async fn stage(&self, pairs: &[(String, String)], cookie: Option<&str>) -> CoreResult<Stage> {
        let params = Params::new(pairs);
        let app = self.app_for(&params).await?;
        let target = match check_target(&params, app) {
            Ok(t) => t,
            Err(message) => return Ok(Stage::Done(AuthorizeOutcome::ErrorPage { message })),
        };
        let request = match check_request(&params, target) {
            Ok(r) => r,
            Err((target, code, msg)) => {
                let url = error_redirect(&target, &self.settings.issuer, code, &msg);
                return Ok(Stage::Done(AuthorizeOutcome::Redirect(url)));
            }
        };
        let now = self.clock.now();
        let signed_in = match cookie {
            Some(c) => self.browser_user(c).await?,
            None => None,
        };
        let fresh = signed_in
            .filter(|(s, _)| !request.prompt.login && !too_old(s.auth_time, request.max_age, now));
        let Some((session, user)) = fresh else {
            if request.prompt.none {
                return Ok(Stage::Done(self.to_app(
                    &request,
                    "login_required",
                    "The user is not signed in",
                )));
            }
            return Ok(Stage::Done(AuthorizeOutcome::SignIn(SignInPage {
                app_name: request.target.app.app.name.clone(),
                login_hint: request.login_hint.clone(),
                error: None,
                redirect_origin: origin_of(&request.target.redirect_uri),
                providers: self
                    .sign_in_providers(request.target.app.app.org_id)
                    .await?,
            })));
        };
        let app_root = self
            .load_root_of(request.target.app.app.org_id)
            .await?
            .ok_or_else(|| {
                CoreError::NotFound("The app's organization no longer exists".to_owned())
            })?;
        if !audience_allows(&request.target.app, app_root, &user) {
            return Ok(Stage::Done(self.to_app(
                &request,
                "access_denied",
                "This app is internal to another organization",
            )));
        }
        Ok(Stage::Ready(Box::new(request), session, user))
    }

    fn to_app(&self, request: &ValidRequest, code: &str, description: &str) -> AuthorizeOutcome {
        AuthorizeOutcome::Redirect(error_redirect(
            &request.target,
            &self.settings.issuer,
            code,
            description,
        ))
    }

    /// Stores a code (and the widened consent) and sends the browser back to the app.
    async fn issue_code(
        &self,
        request: &ValidRequest,
        session: &BrowserSession,
        user: &User,
        consent: Option<Consent>,
        source: Option<IpAddr>,
    ) -> CoreResult<AuthorizeOutcome> {
        let app = &request.target.app.app;
        let now = self.clock.now();
        let scope = request.scopes.join(" ");
        let previous_scope = consent.as_ref().map(|c| c.scope.clone());
        let consent = Consent {
            user_id: user.id,
            client_id: app.client_id.clone(),
            scope: merge_scopes(consent.as_ref().map(|c| c.scope.as_str()), &request.scopes),
            created_at: consent.as_ref().map_or(now, |c| c.created_at),
            updated_at: now,
            last_used_at: consent.and_then(|c| c.last_used_at),
        };
        let code = mint();
        let record = AuthorizationCode {
            hash: code.hash,
            client_id: app.client_id.clone(),
            user_id: user.id,
            redirect_uri: request.target.redirect_param.clone().unwrap_or_default(),
            scope: scope.clone(),
            code_challenge: request.code_challenge.clone(),
            nonce: request.nonce.clone(),
            auth_time: session.auth_time,
            family_id: uuid::Uuid::new_v4().to_string(),
            created_at: now,
            expires_at: crate::time_fmt::Timestamp(now.0 + CODE_LIFETIME_SECS * 1000),
        };
        let mut events = Vec::new();
        if previous_scope.as_deref() != Some(consent.scope.as_str()) {
            events.push(
                AuditEvent::new(now, "consent.granted", "connected_app")
                    .org(app.org_id)
                    .user(user.id)
                    .client(&app.client_id)
                    .object(app.client_id.clone())
                    .source(source)
                    .with("scope", consent.scope.clone()),
            );
        }
        events.push(
            AuditEvent::new(now, "authorization.code_issued", "connected_app")
                .org(app.org_id)
                .user(user.id)
                .client(&app.client_id)
                .object(app.client_id.clone())
                .source(source)
                .with("scope", scope)
                .with("pkce", request.code_challenge.is_some()),
        );
        self.store
            .insert_authorization_code(&record, &consent, &events)
            .await?;
        let mut pairs = vec![("code", code.secret.as_str())];
        if let Some(state) = &request.target.state {
            pairs.push(("state", state));
        }
        pairs.push(("iss", &self.settings.issuer));
        Ok(AuthorizeOutcome::Redirect(redirect_with(
            &request.target.redirect_uri,
            &pairs,
        )))
    }
}
