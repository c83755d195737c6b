//! A real headless Chromium, driven over WebDriver (chromedriver) with the
//! `fantoccini` crate. `scripts/test.sh` installs Debian's `chromium` and
//! `chromium-driver` and sets `KEYHOUSE_CHROMIUM`, `KEYHOUSE_CHROMEDRIVER` and
//! `KEYHOUSE_REQUIRE_BROWSER=1`.
//!
//! Every [`Browser`] has its own chromedriver process on a free loopback port
//! and its own fresh profile directory, so tests running in parallel never
//! share cookies.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::{ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

/// How long a page or element may take to appear.
pub const PAGE_TIMEOUT: Duration = Duration::from_secs(20);

/// How long chromedriver may take to start answering.
const DRIVER_START_TIMEOUT: Duration = Duration::from_secs(30);

/// A headless Chromium session. Derefs to the fantoccini client
/// (`browser.goto(url)`, `browser.find(Locator::Id("x"))`, …). Dropping it
/// ends the session (Chromium quits) and kills chromedriver.
pub struct Browser {
    client: fantoccini::Client,
    driver: Child,
    port: u16,
    session: Option<String>,
    _profile: tempfile::TempDir,
}

/// Where the browser and its driver are: `KEYHOUSE_CHROMIUM` /
/// `KEYHOUSE_CHROMEDRIVER` when set, else Debian's paths.
fn binaries() -> (PathBuf, PathBuf) {
    let pick = |var: &str, default: &str| {
        std::env::var_os(var)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(default))
    };
    (
        pick("KEYHOUSE_CHROMIUM", "/usr/bin/chromium"),
        pick("KEYHOUSE_CHROMEDRIVER", "/usr/bin/chromedriver"),
    )
}

fn required() -> bool {
    std::env::var("KEYHOUSE_REQUIRE_BROWSER").as_deref() == Ok("1")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

impl Browser {
    /// Starts chromedriver and opens a headless Chromium session. `None` (with
    /// a note on stderr) when Chromium or chromedriver is not installed and
    /// `KEYHOUSE_REQUIRE_BROWSER` is not `1`; with it set, a missing browser
    /// fails the test.
    pub async fn start() -> Option<Self> {
        let (chromium, driver) = binaries();
        let missing: Vec<&Path> = [chromium.as_path(), driver.as_path()]
            .into_iter()
            .filter(|p| !p.is_file())
            .collect();
        if !missing.is_empty() {
            if required() {
                panic!(
                    "KEYHOUSE_REQUIRE_BROWSER=1 but {missing:?} not found \
                     (set KEYHOUSE_CHROMIUM / KEYHOUSE_CHROMEDRIVER, or run scripts/lib/chromium.sh install)"
                );
            }
            eprintln!(
                "skipped: no browser ({missing:?} not found; scripts/test.sh installs chromium and chromium-driver)"
            );
            return None;
        }
        Some(Self::launch(&chromium, &driver).await)
    }

    async fn launch(chromium: &Path, driver_bin: &Path) -> Self {
        let profile = tempfile::tempdir().expect("profile dir");
        // The port is picked before chromedriver binds it: another process may
        // take it meanwhile, so try a few times.
        let mut last_error = String::new();
        for _ in 0..3 {
            let port = free_port();
            let mut driver = Command::new(driver_bin)
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("spawn {}: {e}", driver_bin.display()));
            match wait_until_ready(&mut driver, port).await {
                Ok(()) => return Self::open_session(chromium, driver, port, profile).await,
                Err(e) => {
                    last_error = e;
                    let _ = driver.kill();
                    let _ = driver.wait();
                }
            }
        }
        panic!("chromedriver did not start: {last_error}");
    }

    async fn open_session(
        chromium: &Path,
        driver: Child,
        port: u16,
        profile: tempfile::TempDir,
    ) -> Self {
        let args = [
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--no-first-run".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".to_owned(), json!("chrome"));
        caps.insert(
            "goog:chromeOptions".to_owned(),
            json!({ "binary": chromium, "args": args }),
        );
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(caps);
        let client = match builder.connect(&format!("http://127.0.0.1:{port}")).await {
            Ok(client) => client,
            Err(e) => {
                let mut driver = driver;
                let _ = driver.kill();
                let _ = driver.wait();
                panic!("chromedriver could not start {}: {e}", chromium.display());
            }
        };
        let session = client.session_id().await.ok().flatten();
        Browser {
            client,
            driver,
            port,
            session,
            _profile: profile,
        }
    }

    /// Waits for the element with this `id` (panics with the page's URL and
    /// source after [`PAGE_TIMEOUT`]).
    pub async fn wait_for_id(&self, id: &str) -> Element {
        self.wait_for(Locator::Id(id)).await
    }

    /// Waits for an element (panics with the page's URL and source after [`PAGE_TIMEOUT`]).
    pub async fn wait_for(&self, locator: Locator<'_>) -> Element {
        let found = self
            .client
            .wait()
            .at_most(PAGE_TIMEOUT)
            .for_element(locator)
            .await;
        match found {
            Ok(element) => element,
            Err(e) => {
                let url = self.client.current_url().await.map(|u| u.to_string());
                let source = self.client.source().await.unwrap_or_default();
                panic!("{locator:?} did not appear ({e}); at {url:?}; page:\n{source}");
            }
        }
    }

    /// Types `text` into the element with this `id`.
    pub async fn type_into(&self, id: &str, text: &str) {
        self.wait_for_id(id)
            .await
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("typing into #{id}: {e}"));
    }

    /// Clicks the element with this `id`.
    pub async fn click_id(&self, id: &str) {
        self.wait_for_id(id)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("clicking #{id}: {e}"));
    }

    /// The page's current URL.
    pub async fn url(&self) -> String {
        self.client
            .current_url()
            .await
            .expect("current url")
            .to_string()
    }

    /// Ends the session (Chromium quits) and stops chromedriver.
    pub async fn close(mut self) {
        if self.session.is_some() {
            let _ = self.client.clone().close().await;
            self.session = None;
        }
        // Drop kills chromedriver.
    }
}

impl Deref for Browser {
    type Target = fantoccini::Client;

    fn deref(&self) -> &fantoccini::Client {
        &self.client
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ask chromedriver to quit Chromium (also after a failed assertion),
        // then stop chromedriver itself.
        if let Some(session) = self.session.take() {
            delete_session(self.port, &session);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Polls chromedriver's `/status` until it reports ready.
async fn wait_until_ready(driver: &mut Child, port: u16) -> Result<(), String> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .expect("client");
    let url = format!("http://127.0.0.1:{port}/status");
    let deadline = tokio::time::Instant::now() + DRIVER_START_TIMEOUT;
    loop {
        if let Ok(Some(status)) = driver.try_wait() {
            return Err(format!(
                "chromedriver exited with {status} (port {port} taken?)"
            ));
        }
        if let Ok(resp) = http.get(&url).send().await {
            if let Ok(body) = resp.json::<serde_json::Value>().await {
                if body["value"]["ready"] == true {
                    return Ok(());
                }
            }
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!(
                "no answer on port {port} after {DRIVER_START_TIMEOUT:?}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `DELETE /session/{id}` with a blocking socket (usable in `Drop`).
fn delete_session(port: u16, session: &str) {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
        return;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(15)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    let request = format!(
        "DELETE /session/{session} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).is_ok() {
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
    }
}
