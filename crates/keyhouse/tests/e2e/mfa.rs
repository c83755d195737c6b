//! Multi-factor authentication (docs/mfa.md): TOTP enrollment on the pages,
//! the code step of the browser sign-in, replays, recovery codes, the refusal
//! of password-only logins, the organization policy and the admin's reset.
//! Every code is computed by the tests' own RFC 6238 implementation
//! (support/mfa.rs), not by the library the server uses.

use reqwest::Url;
use serde_json::json;

use crate::support::grants::{
    assert_error_redirect, assert_page_headers, audit_actions, field, password_app, password_grant,
    query_param, CALLBACK,
};
use crate::support::mfa::{
    base32_decode, code_at, confirm_setup, enroll, sign_in_plain, submit_code, totp_sha1,
    wrong_code, DISABLE_PATH, ENROLL_PATH, VERIFY_PATH,
};
use crate::support::pages::{Agent, Page, LOGIN_PATH};
use crate::support::user_apps::{
    authorize_url, authorize_url_pkce, create_user_app, exchange_code, user_id, Pkce, UserApp,
};
use crate::support::{TestServer, ADMIN_PASSWORD};

/// The tests' TOTP implementation against RFC 6238 Appendix B (SHA-1 rows,
/// 8 digits, T0 = 0, X = 30).
#[test]
fn the_reference_totp_matches_rfc_6238_appendix_b() {
    let seed = b"12345678901234567890";
    for (seconds, code) in [
        (59u64, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ] {
        assert_eq!(totp_sha1(seed, seconds / 30, 8), code, "T = {seconds}");
    }
    assert_eq!(base32_decode("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"), seed);
}

/// Opens `url` in `agent`, signs in with the password, and returns the code
/// page the sign-in leads to (checking that no session was opened yet).
async fn password_step(agent: &Agent, url: &str, username: &str) -> Page {
    let page = agent.get(url).await;
    assert!(page.has_id("sign-in-form"), "{}", page.body);
    let posted = agent
        .post_form(
            LOGIN_PATH,
            &[
                ("username", username),
                ("password", ADMIN_PASSWORD),
                ("csrf", &page.input("csrf")),
                ("request", &page.input("request")),
            ],
        )
        .await;
    assert_eq!(posted.status, 303, "{}", posted.body);
    let next = posted.location().expect("Location");
    assert_eq!(next.path(), VERIFY_PATH, "a code is asked for: {next}");
    let code_page = agent.get(next.as_str()).await;
    assert_eq!(code_page.status, 200, "{}", code_page.body);
    assert_page_headers(&code_page, "the code page");
    // Its form ends in redirects to the app: CSP `form-action` names the app's origin.
    let csp = code_page
        .header("content-security-policy")
        .unwrap_or_default();
    assert!(
        csp.contains("form-action 'self' http://127.0.0.1:9"),
        "{csp}"
    );
    for id in ["mfa-form", "code", "verify"] {
        assert!(code_page.has_id(id), "#{id} missing: {}", code_page.body);
    }
    assert!(!code_page.input("csrf").is_empty());
    assert_eq!(code_page.input("request"), page.input("request"));
    code_page
}

/// After an accepted code: follows the redirects and the consent page back to
/// the app; returns the code the app receives.
async fn continue_to_app(agent: &Agent, accepted: &Page) -> String {
    assert_eq!(accepted.status, 303, "{}", accepted.body);
    let next = accepted.location().expect("Location");
    let back: Url = agent.authorize(next.as_str(), "unused", "unused").await;
    assert_eq!(query_param(&back, "error"), None, "{back}");
    query_param(&back, "code").unwrap_or_else(|| panic!("no code in {back}"))
}

/// The authorization URL and its PKCE pair.
fn code_request(server: &TestServer, app: &UserApp) -> (String, Pkce) {
    let pkce = Pkce::random();
    let url = authorize_url_pkce(&server.base, app, "openid profile", "st", "n", &pkce);
    (url, pkce)
}

#[tokio::test]
async fn totp_enrollment_and_sign_in_end_to_end() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let org = admin.root_org_id().await;
    let member = server.user_in(&org, "otto", false).await;
    let otto_id = user_id(&member).await;
    let app = create_user_app(&admin, "MFA App", CALLBACK).await;
    let me = member.get("/accounts/api/users/me").await.json();
    assert_eq!(me["mfaVerifiersConfigured"], "false", "{me}");

    // Enrollment from the settings page of a signed-in user.
    let settings = Agent::new(&server);
    let signed_in = sign_in_plain(&settings, "otto").await;
    assert_eq!(signed_in.status, 303, "no MFA yet: {}", signed_in.body);
    let setup = settings.get(ENROLL_PATH).await;
    assert_page_headers(&setup, "the setup page");
    // Reloading keeps the same key (an app may have scanned it already).
    let again = settings.get(ENROLL_PATH).await;
    assert_eq!(
        crate::support::mfa::text_of_id(&setup.body, "mfa-secret"),
        crate::support::mfa::text_of_id(&again.body, "mfa-secret")
    );
    // A wrong code does not confirm it.
    let key = crate::support::mfa::text_of_id(&setup.body, "mfa-secret").expect("#mfa-secret");
    let wrong = settings
        .post_form(
            ENROLL_PATH,
            &[
                ("csrf", &setup.input("csrf")),
                ("request", ""),
                ("code", &wrong_code(&base32_decode(&key))),
            ],
        )
        .await;
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    assert!(wrong.has_id("mfa-error"), "{}", wrong.body);
    assert!(wrong.has_id("mfa-confirm-form"), "{}", wrong.body);
    // Without the page's form token: refused.
    let forged = settings
        .post_form(ENROLL_PATH, &[("csrf", "forged"), ("code", "123456")])
        .await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    let (enrolled, codes_page) = confirm_setup(&settings, &setup).await;
    assert_page_headers(&codes_page, "the recovery codes page");
    assert!(codes_page.has_id("continue"), "{}", codes_page.body);
    let settings_page = settings.get(ENROLL_PATH).await;
    assert!(settings_page.has_id("mfa-status"), "{}", settings_page.body);
    assert_eq!(
        crate::support::mfa::text_of_id(&settings_page.body, "recovery-codes-left").as_deref(),
        Some("10")
    );
    let me = member.get("/accounts/api/users/me").await.json();
    assert_eq!(me["mfaVerifiersConfigured"], "true", "{me}");
    assert!(audit_actions(&server)
        .await
        .contains(&"mfa.enrolled".to_owned()));

    // The password alone now leads to the code page, which is not a session.
    let browser = Agent::new(&server);
    let (url, pkce) = code_request(&server, &app);
    let code_page = password_step(&browser, &url, "otto").await;
    let apps_page = browser.get("/accounts/authorizations").await;
    assert!(
        apps_page.has_id("sign-in-form"),
        "a pending sign-in reached the authorized-apps page: {}",
        apps_page.body
    );
    let silent = authorize_url(
        &server.base,
        &app,
        &[("scope", "openid"), ("prompt", "none"), ("state", "p")],
    );
    let page = browser.get(&silent).await;
    assert_error_redirect(&server, &page, CALLBACK, "login_required", Some("p"));

    // A wrong code: the page again, with an error, audited.
    let failed_before = count(&server, "mfa.failed").await;
    let wrong = submit_code(&browser, &code_page, &wrong_code(&enrolled.secret)).await;
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    assert!(wrong.has_id("mfa-error"), "{}", wrong.body);
    assert!(wrong.has_id("mfa-form"), "{}", wrong.body);
    assert_eq!(count(&server, "mfa.failed").await, failed_before + 1);
    // The code used for enrollment is spent.
    let replayed = submit_code(
        &browser,
        &wrong,
        &code_at(&enrolled.secret, enrolled.used_step),
    )
    .await;
    assert_eq!(replayed.status, 401, "{}", replayed.body);

    // The right code (the next step: one step of drift is accepted) continues
    // the authorization, and the app gets its code.
    let next_code = code_at(&enrolled.secret, enrolled.used_step + 1);
    let accepted = submit_code(&browser, &replayed, &next_code).await;
    let code = continue_to_app(&browser, &accepted).await;
    let tokens = exchange_code(&server.client(), &app, &code, &pkce.verifier).await;
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    assert!(!field(&tokens.json(), "access_token").is_empty());
    assert!(count(&server, "mfa.verified").await >= 1);

    // The same code again, on another sign-in: a replay, refused.
    let other = Agent::new(&server);
    let (url, _) = code_request(&server, &app);
    let code_page = password_step(&other, &url, "otto").await;
    let replay = submit_code(&other, &code_page, &next_code).await;
    assert_eq!(
        replay.status, 401,
        "a replayed code was accepted: {}",
        replay.body
    );
    assert!(replay.has_id("mfa-error"), "{}", replay.body);

    // A recovery code works, once.
    let recovery = &enrolled.recovery_codes[0];
    let accepted = submit_code(&other, &replay, recovery).await;
    continue_to_app(&other, &accepted).await;
    assert!(audit_actions(&server)
        .await
        .contains(&"mfa.recovery_code_used".to_owned()));
    let third = Agent::new(&server);
    let (url, _) = code_request(&server, &app);
    let code_page = password_step(&third, &url, "otto").await;
    let reused = submit_code(&third, &code_page, recovery).await;
    assert_eq!(
        reused.status, 401,
        "a used recovery code worked: {}",
        reused.body
    );
    let left = settings.get(ENROLL_PATH).await;
    assert_eq!(
        crate::support::mfa::text_of_id(&left.body, "recovery-codes-left").as_deref(),
        Some("9")
    );

    // Username/password APIs cannot ask for a code: refused, naming the alternatives.
    let login = server.client().login("otto", ADMIN_PASSWORD).await;
    let message = login.assert_error(403);
    for words in ["multi-factor authentication", "connected app", "browser"] {
        assert!(message.contains(words), "{message}");
    }
    let wrong_password = server.client().login("otto", "not-the-password").await;
    assert_eq!(wrong_password.status, 401, "the password is checked first");
    let grant_app = password_app(&admin).await;
    let grant = password_grant(&server.client(), &grant_app, "otto", ADMIN_PASSWORD, None).await;
    assert_eq!(grant.status, 400, "{}", grant.body);
    assert_eq!(grant.json()["error"], "invalid_grant", "{}", grant.body);
    let description = grant.json()["error_description"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(description.contains("multi-factor"), "{description}");
    // The admin (no MFA) is not affected.
    assert_eq!(
        password_grant(&server.client(), &grant_app, "admin", ADMIN_PASSWORD, None)
            .await
            .status,
        200
    );

    // A member may not reset anyone's MFA; the admin may.
    let reset = format!("/accounts/api/organizations/{org}/users/{otto_id}/mfa");
    let peer = server.user_in(&org, "peer", false).await;
    peer.delete(&reset).await.assert_error(403);
    let resp = admin.delete(&reset).await;
    assert_eq!(resp.status, 204, "{}", resp.body);
    assert!(audit_actions(&server)
        .await
        .contains(&"mfa.reset".to_owned()));
    let login = server.client().login("otto", ADMIN_PASSWORD).await;
    assert_eq!(login.status, 200, "after the reset: {}", login.body);
    let me = member.get("/accounts/api/users/me").await.json();
    assert_eq!(me["mfaVerifiersConfigured"], "false", "{me}");
    // An unknown user, or one of another organization: 404.
    let stranger = format!(
        "/accounts/api/organizations/{org}/users/{}/mfa",
        "00000000-0000-4000-8000-000000000000"
    );
    admin.delete(&stranger).await.assert_error(404);
}

/// How many audit events have this action.
async fn count(server: &TestServer, action: &str) -> usize {
    audit_actions(server)
        .await
        .iter()
        .filter(|a| *a == action)
        .count()
}

#[tokio::test]
async fn the_organization_policy_sends_users_without_a_factor_to_enrollment() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let org = admin.root_org_id().await;
    let member = server.user_in(&org, "maria", false).await;
    let app = create_user_app(&admin, "Policy App", CALLBACK).await;
    let policy = format!("/accounts/api/organizations/{org}/mfa");

    let current = admin.get(&policy).await;
    assert_eq!(current.status, 200, "{}", current.body);
    assert_eq!(current.json(), json!({"mfaRequired": false}));
    // Members may neither read nor change it.
    member.get(&policy).await.assert_error(403);
    member
        .put(&policy, json!({"mfaRequired": true}))
        .await
        .assert_error(403);
    admin
        .put(&policy, json!({"required": true}))
        .await
        .assert_error(400);
    // A business group has no policy of its own.
    let group = admin
        .post(
            "/accounts/api/organizations",
            json!({"name": "Group", "parentOrganizationId": org}),
        )
        .await;
    assert_eq!(group.status, 201, "{}", group.body);
    let group_id = field(&group.json(), "id");
    admin
        .put(
            &format!("/accounts/api/organizations/{group_id}/mfa"),
            json!({"mfaRequired": true}),
        )
        .await
        .assert_error(400);

    let set = admin.put(&policy, json!({"mfaRequired": true})).await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(set.json(), json!({"mfaRequired": true}));
    assert!(audit_actions(&server)
        .await
        .contains(&"org.mfa_policy_changed".to_owned()));
    let details = admin
        .get(&format!("/accounts/api/organizations/{org}"))
        .await;
    assert_eq!(
        details.json()["mfaRequired"],
        "mandatory",
        "{}",
        details.body
    );
    let me = admin.get("/accounts/api/me").await.json();
    assert_eq!(me["user"]["organization"]["mfaRequired"], "mandatory");
    assert_eq!(
        me["user"]["memberOfOrganizations"][0]["mfaRequired"],
        "mandatory"
    );

    // Password-only login is refused to a user of the org, factor or not.
    let login = server.client().login("maria", ADMIN_PASSWORD).await;
    let message = login.assert_error(403);
    assert!(message.contains("connected app"), "{message}");

    // The browser sign-in leads to enrollment, which is not a session yet.
    let browser = Agent::new(&server);
    let (url, pkce) = code_request(&server, &app);
    let page = browser.get(&url).await;
    let posted = browser
        .post_form(
            LOGIN_PATH,
            &[
                ("username", "maria"),
                ("password", ADMIN_PASSWORD),
                ("csrf", &page.input("csrf")),
                ("request", &page.input("request")),
            ],
        )
        .await;
    assert_eq!(posted.status, 303, "{}", posted.body);
    let next = posted.location().expect("Location");
    assert_eq!(next.path(), ENROLL_PATH, "{next}");
    let setup = browser.get(next.as_str()).await;
    assert!(setup.has_id("mfa-required"), "{}", setup.body);
    let apps_page = browser.get("/accounts/authorizations").await;
    assert!(apps_page.has_id("sign-in-form"), "{}", apps_page.body);
    let (_, codes_page) = confirm_setup(&browser, &setup).await;
    // The continue link resumes the authorization, now signed in.
    let tags = crate::support::pages::tags(&codes_page.body);
    let href = tags
        .iter()
        .find(|t| t.attr("id") == Some("continue"))
        .and_then(|t| t.attr("href"))
        .expect("continue link")
        .to_owned();
    let back = browser
        .authorize(&format!("{}{href}", server.base), "unused", "unused")
        .await;
    let code = query_param(&back, "code").unwrap_or_else(|| panic!("no code in {back}"));
    let tokens = exchange_code(&server.client(), &app, &code, &pkce.verifier).await;
    assert_eq!(tokens.status, 200, "{}", tokens.body);

    // Turned off again: the policy no longer applies.
    let off = admin.put(&policy, json!({"mfaRequired": false})).await;
    assert_eq!(off.json(), json!({"mfaRequired": false}));
    let login = server.client().login("admin", ADMIN_PASSWORD).await;
    assert_eq!(login.status, 200, "{}", login.body);
}

#[tokio::test]
async fn a_user_turns_mfa_off_with_a_current_code() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let org = admin.root_org_id().await;
    server.user_in(&org, "ines", false).await;
    let agent = Agent::new(&server);
    let enrolled = enroll(&agent, "ines").await;

    let page = agent.get(ENROLL_PATH).await;
    assert!(page.has_id("mfa-disable-form"), "{}", page.body);
    let csrf = page.input("csrf");
    let forged = agent
        .post_form(DISABLE_PATH, &[("csrf", "forged"), ("code", "1")])
        .await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    let replayed = agent
        .post_form(
            DISABLE_PATH,
            &[
                ("csrf", &csrf),
                ("code", &code_at(&enrolled.secret, enrolled.used_step)),
            ],
        )
        .await;
    assert_eq!(replayed.status, 401, "{}", replayed.body);
    assert!(replayed.has_id("mfa-error"), "{}", replayed.body);
    let off = agent
        .post_form(
            DISABLE_PATH,
            &[
                ("csrf", &csrf),
                ("code", &code_at(&enrolled.secret, enrolled.used_step + 1)),
            ],
        )
        .await;
    assert_eq!(off.status, 303, "{}", off.body);
    assert_eq!(off.location().unwrap().path(), ENROLL_PATH);
    let page = agent.get(ENROLL_PATH).await;
    assert!(
        page.has_id("mfa-confirm-form"),
        "set up again: {}",
        page.body
    );
    let login = server.client().login("ines", ADMIN_PASSWORD).await;
    assert_eq!(login.status, 200, "{}", login.body);
    let actions = audit_actions(&server).await;
    assert!(actions.contains(&"mfa.reset".to_owned()), "{actions:?}");
    assert!(actions.contains(&"mfa.failed".to_owned()), "{actions:?}");
}

#[tokio::test]
async fn a_console_sign_in_with_mfa_comes_back_to_the_console() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let org = admin.root_org_id().await;
    server.user_in(&org, "olga", true).await;
    let enrolled = enroll(&Agent::new(&server), "olga").await;

    let agent = Agent::new(&server);
    let form = agent.get("/console/sign-in?next=%2Fconsole%2Fusers").await;
    assert!(form.has_id("sign-in-form"), "{}", form.body);
    let answer = agent
        .post_form(
            "/console/sign-in",
            &[
                ("username", "olga"),
                ("password", ADMIN_PASSWORD),
                ("csrf", &form.input("csrf")),
                ("next", "/console/users"),
            ],
        )
        .await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    let code_page = agent.get(answer.location().unwrap().as_str()).await;
    let done = submit_code(
        &agent,
        &code_page,
        &code_at(&enrolled.secret, enrolled.used_step + 1),
    )
    .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location().unwrap().path(), "/console/users");
    let console = agent.get("/console/users").await;
    assert_eq!(
        console.status, 200,
        "signed in on the console: {}",
        console.body
    );
}
