//! Driving the authorization pages without a browser: a reqwest client with a
//! cookie store and no automatic redirects, and a small HTML reader that
//! finds elements by id and the hidden inputs of the forms.

use reqwest::header::HeaderMap;
use reqwest::{Method, Url};

use super::TestServer;

/// The sign-in form's target.
pub const LOGIN_PATH: &str = "/accounts/authorize/login";
/// The consent form's target.
pub const CONSENT_PATH: &str = "/accounts/authorize/consent";

/// One answer, fully read.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
    /// The URL that was requested.
    pub url: Url,
}

impl Page {
    /// A header's value as text (the first one).
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// Every value of a header (e.g. all `Set-Cookie` lines).
    pub fn header_all(&self, name: &str) -> Vec<String> {
        self.headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    }

    /// The `Location` header resolved against the requested URL.
    pub fn location(&self) -> Option<Url> {
        let loc = self.header("location")?;
        Some(self.url.join(&loc).expect("Location is a URL reference"))
    }

    /// Whether the page has an element with this `id`.
    pub fn has_id(&self, id: &str) -> bool {
        has_id(&self.body, id)
    }

    /// The value of the hidden (or any) input named `name`, panicking when absent.
    pub fn input(&self, name: &str) -> String {
        input_value(&self.body, name)
            .unwrap_or_else(|| panic!("no input named {name} on the page: {}", self.body))
    }
}

/// A cookie-keeping, non-redirecting HTTP client: a browser without a screen.
#[derive(Clone)]
pub struct Agent {
    http: reqwest::Client,
    /// The server's base URL.
    pub base: String,
}

/// What the agent answers on the consent page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny,
}

impl Decision {
    fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Deny => "deny",
        }
    }
}

impl Agent {
    /// A fresh agent (empty cookie jar) for this server.
    pub fn new(server: &TestServer) -> Self {
        let mut builder = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none());
        if let Some(cert) = &server.cert {
            let pem = std::fs::read(cert).expect("read cert");
            builder =
                builder.add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("cert"));
        }
        Self {
            http: builder.build().expect("client"),
            base: server.base.clone(),
        }
    }

    /// `GET url` (absolute, or a path on the server).
    pub async fn get(&self, url: &str) -> Page {
        let url = self.resolve(url);
        let req = self.http.request(Method::GET, url.clone());
        read(req, url).await
    }

    /// `POST` a form to `url` (absolute, or a path on the server) with the
    /// headers Chromium sends for a same-origin form on these pages: their
    /// `Referrer-Policy: no-referrer` makes it send `Origin: null`, next to
    /// `Sec-Fetch-Site: same-origin`.
    pub async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Page {
        let url = self.resolve(url);
        let req = self
            .http
            .request(Method::POST, url.clone())
            .header("origin", "null")
            .header("sec-fetch-site", "same-origin")
            .header("sec-fetch-mode", "navigate")
            .header("sec-fetch-dest", "document")
            .form(form);
        read(req, url).await
    }

    fn resolve(&self, url: &str) -> Url {
        let base = Url::parse(&self.base).expect("base url");
        base.join(url).expect("url")
    }

    /// Runs an authorization from `authorize_url` to the redirect back to the
    /// app: signs in when the sign-in form shows, allows on the consent page,
    /// and follows redirects on the server. Returns the URL of the redirect
    /// that leaves the server (the app's `redirect_uri?code=…&state=…&iss=…`).
    pub async fn authorize(&self, authorize_url: &str, username: &str, password: &str) -> Url {
        self.authorize_with(authorize_url, username, password, Decision::Allow)
            .await
    }

    /// Same as [`Agent::authorize`], answering `decision` on the consent page.
    pub async fn authorize_with(
        &self,
        authorize_url: &str,
        username: &str,
        password: &str,
        decision: Decision,
    ) -> Url {
        let server = Url::parse(&self.base).expect("base url").origin();
        let mut page = self.get(authorize_url).await;
        let mut signed_in = false;
        for _ in 0..10 {
            if (300..400).contains(&page.status) {
                let next = page
                    .location()
                    .unwrap_or_else(|| panic!("{} without Location", page.status));
                if next.origin() != server {
                    return next;
                }
                page = self.get(next.as_str()).await;
            } else if page.has_id("sign-in-form") {
                assert!(
                    !signed_in,
                    "the sign-in form came back after signing in ({}): {}",
                    page.status, page.body
                );
                signed_in = true;
                let (csrf, request) = (page.input("csrf"), page.input("request"));
                page = self
                    .post_form(
                        LOGIN_PATH,
                        &[
                            ("username", username),
                            ("password", password),
                            ("csrf", &csrf),
                            ("request", &request),
                        ],
                    )
                    .await;
            } else if page.has_id("consent-form") {
                let (csrf, request) = (page.input("csrf"), page.input("request"));
                page = self
                    .post_form(
                        CONSENT_PATH,
                        &[
                            ("csrf", &csrf),
                            ("request", &request),
                            ("decision", decision.as_str()),
                        ],
                    )
                    .await;
            } else {
                panic!(
                    "unexpected answer {} at {} (neither a redirect, the sign-in form nor the consent form): {}",
                    page.status, page.url, page.body
                );
            }
        }
        panic!("no redirect to the app after 10 steps; last page: {page:?}");
    }
}

/// Signs in as `username` with a fresh cookie jar, allows, and returns the
/// redirect back to the app (`redirect_uri?code=…&state=…&iss=…`).
pub async fn authorize_without_browser(
    server: &TestServer,
    url: &str,
    username: &str,
    password: &str,
) -> Url {
    Agent::new(server).authorize(url, username, password).await
}

async fn read(req: reqwest::RequestBuilder, url: Url) -> Page {
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.text().await.expect("body");
    Page {
        status,
        headers,
        body,
        url,
    }
}

// --- A small HTML reader -----------------------------------------------------
//
// Enough for server-rendered forms: start tags with double-, single- or
// un-quoted attributes, comments skipped, character references decoded.

/// One start tag: its lower-case name and its attributes (names lower-case,
/// values decoded).
#[derive(Debug, Clone)]
pub struct Tag {
    pub name: String,
    pub attrs: Vec<(String, String)>,
}

impl Tag {
    /// An attribute's decoded value.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Every start tag of the document, in order.
pub fn tags(html: &str) -> Vec<Tag> {
    let bytes = html.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'<' {
            i += 1;
            continue;
        }
        if html[i..].starts_with("<!--") {
            i = html[i..].find("-->").map_or(bytes.len(), |end| i + end + 3);
            continue;
        }
        i += 1;
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'-') {
            i += 1;
        }
        if i == start {
            continue; // `</…`, `<!doctype`, a stray `<`
        }
        let name = html[start..i].to_ascii_lowercase();
        let mut attrs = Vec::new();
        loop {
            while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
                i += 1;
            }
            if i >= bytes.len() || bytes[i] == b'>' {
                i += 1;
                break;
            }
            let an_start = i;
            while i < bytes.len()
                && !bytes[i].is_ascii_whitespace()
                && !matches!(bytes[i], b'=' | b'>' | b'/')
            {
                i += 1;
            }
            let attr_name = html[an_start..i].to_ascii_lowercase();
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            let mut value = String::new();
            if i < bytes.len() && bytes[i] == b'=' {
                i += 1;
                while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
                if i < bytes.len() && (bytes[i] == b'"' || bytes[i] == b'\'') {
                    let quote = bytes[i];
                    i += 1;
                    let v_start = i;
                    while i < bytes.len() && bytes[i] != quote {
                        i += 1;
                    }
                    value = decode_entities(&html[v_start..i.min(bytes.len())]);
                    i += 1;
                } else {
                    let v_start = i;
                    while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'>' {
                        i += 1;
                    }
                    value = decode_entities(&html[v_start..i]);
                }
            }
            if !attr_name.is_empty() {
                attrs.push((attr_name, value));
            }
        }
        out.push(Tag { name, attrs });
    }
    out
}

/// Whether some element has this `id`.
pub fn has_id(html: &str, id: &str) -> bool {
    tags(html).iter().any(|t| t.attr("id") == Some(id))
}

/// The `value` of the first `<input name="…">` (decoded), if any.
pub fn input_value(html: &str, name: &str) -> Option<String> {
    tags(html)
        .into_iter()
        .find(|t| t.name == "input" && t.attr("name") == Some(name))
        .map(|t| t.attr("value").unwrap_or_default().to_owned())
}

/// Decodes HTML character references: the named ones a server escapes with
/// (`&amp; &lt; &gt; &quot; &apos; &nbsp;`) and numeric ones.
pub fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let decoded = rest.find(';').and_then(|semi| {
            let entity = &rest[1..semi];
            let ch = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                _ => {
                    let num = entity.strip_prefix('#')?;
                    let code = match num.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => num.parse().ok()?,
                    };
                    char::from_u32(code)
                }
            }?;
            Some((ch, semi + 1))
        });
        match decoded {
            Some((ch, len)) => {
                out.push(ch);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[test]
fn the_html_reader_finds_ids_and_decodes_inputs() {
    let html = r#"<!doctype html><!-- <input name="csrf" value="comment"> -->
        <form id=sign-in-form method="post" action="/accounts/authorize/login">
        <input type="hidden" name='csrf' value='a&amp;b'>
        <INPUT TYPE=hidden NAME=request VALUE="x&#x3D;1&#38;y=&quot;2&quot;&lt;&gt;" />
        <input name="empty"></form>"#;
    assert!(has_id(html, "sign-in-form"));
    assert!(!has_id(html, "consent-form"));
    assert_eq!(input_value(html, "csrf").as_deref(), Some("a&b"));
    assert_eq!(
        input_value(html, "request").as_deref(),
        Some("x=1&y=\"2\"<>")
    );
    assert_eq!(input_value(html, "empty").as_deref(), Some(""));
    assert_eq!(
        decode_entities("a & b &unknown; &#233;"),
        "a & b &unknown; é"
    );
}
