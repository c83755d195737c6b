//! Driving the web console (docs/console.md): signing in with a cookie-keeping
//! HTTP agent or in headless Chromium, reading pages by element id, and the
//! screenshots the documentation shows.

use std::path::PathBuf;

use fantoccini::Locator;

use super::browser::Browser;
use super::grants::set_cookie;
use super::pages::{Agent, Page};
use super::{TestServer, ADMIN_PASSWORD};

/// Where the console starts (the connected-app list).
pub const CONSOLE: &str = "/console";
/// The console's sign-in form.
pub const SIGN_IN: &str = "/console/sign-in";

/// The session cookie's name on a plain-HTTP test server.
pub const SESSION_COOKIE: &str = "keyhouse_session";

/// Signs `username` in through the console's form with a fresh agent; returns
/// the agent and the session cookie value.
pub async fn signed_in_agent(server: &TestServer, username: &str) -> (Agent, String) {
    let agent = Agent::new(server);
    let form = agent.get(&format!("{SIGN_IN}?next=%2Fconsole")).await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(form.has_id("sign-in-form"), "{}", form.body);
    let csrf = form.input("csrf");
    let answer = agent
        .post_form(
            SIGN_IN,
            &[
                ("username", username),
                ("password", ADMIN_PASSWORD),
                ("csrf", &csrf),
                ("next", CONSOLE),
            ],
        )
        .await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert_eq!(answer.location().unwrap().path(), CONSOLE);
    let session = set_cookie(&answer, SESSION_COOKIE).expect("a session cookie");
    (agent, session)
}

/// Opens `path` in the browser and signs in on the console's form it is sent
/// to; waits for the page it comes back to.
pub async fn browser_sign_in(browser: &Browser, server: &TestServer, username: &str, path: &str) {
    browser
        .goto(&format!("{}{path}", server.base))
        .await
        .unwrap();
    browser.wait_for_id("sign-in-form").await;
    browser.type_into("username", username).await;
    browser.type_into("password", ADMIN_PASSWORD).await;
    browser.click_id("sign-in").await;
    let deadline = tokio::time::Instant::now() + super::browser::PAGE_TIMEOUT;
    while count(browser, "#sign-in-form").await > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "still on the sign-in form"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    browser.wait_for(Locator::Css("main h1")).await;
}

/// The trimmed text of the element with this id. When the page is replaced
/// between finding the element and reading it (a form's answer arriving:
/// WebDriver's "stale element reference"), it is found again on the new page.
pub async fn text_of(browser: &Browser, id: &str) -> String {
    let deadline = tokio::time::Instant::now() + super::browser::PAGE_TIMEOUT;
    loop {
        match browser.wait_for_id(id).await.text().await {
            Ok(text) => return text.trim().to_owned(),
            Err(e) => {
                assert!(tokio::time::Instant::now() < deadline, "#{id}: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

/// How many elements match a CSS selector (without waiting).
pub async fn count(browser: &Browser, css: &str) -> usize {
    browser.find_all(Locator::Css(css)).await.unwrap().len()
}

/// Picks the option with this value in the `<select>` with this id.
pub async fn pick(browser: &Browser, id: &str, value: &str) {
    browser
        .wait_for_id(id)
        .await
        .select_by_value(value)
        .await
        .unwrap_or_else(|e| panic!("#{id}: no option {value}: {e}"));
}

/// Clicks a submit button and waits until the page that answers has `id`.
pub async fn submit_and_wait(browser: &Browser, button: &str, id: &str) {
    browser.click_id(button).await;
    browser.wait_for_id(id).await;
}

/// Writes a PNG of the browser's viewport to `docs/screenshots/<name>.png`.
pub async fn screenshot(browser: &Browser, name: &str) {
    let png = browser.screenshot().await.expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots");
    std::fs::create_dir_all(&dir).expect("docs/screenshots");
    std::fs::write(dir.join(format!("{name}.png")), png).expect("write the screenshot");
}

/// The `value` of the input named `name` inside the form with this `id`.
pub fn form_input(page: &Page, form_id: &str, name: &str) -> Option<String> {
    let mut inside = false;
    for tag in super::pages::tags(&page.body) {
        if tag.name == "form" {
            inside = tag.attr("id") == Some(form_id);
        } else if inside && tag.name == "input" && tag.attr("name") == Some(name) {
            return tag.attr("value").map(str::to_owned);
        }
    }
    None
}
