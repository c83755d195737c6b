//! A small HTTP client over reqwest that keeps the base URL and bearer token.

use std::path::Path;

use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::Value;

/// One response, fully read.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Resp {
    /// The body as JSON (panics with the body text when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// Asserts an Anypoint-shaped error: `{"status": code, "message": "…"}` with that status.
    pub fn assert_error(&self, code: u16) -> String {
        assert_eq!(self.status, code, "unexpected status; body: {}", self.body);
        let json = self.json();
        assert_eq!(json["status"], code, "error body: {}", self.body);
        let message = json["message"].as_str().unwrap_or_default().to_owned();
        assert!(!message.is_empty(), "error without message: {}", self.body);
        message
    }
}

/// HTTP client bound to one server, optionally carrying a bearer token.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    pub base: String,
    pub token: Option<String>,
}

impl Client {
    /// A client for `base`, trusting `cert` when the server speaks HTTPS.
    pub fn new(base: &str, cert: Option<&Path>) -> Self {
        let mut builder = reqwest::Client::builder();
        if let Some(cert) = cert {
            let pem = std::fs::read(cert).expect("read cert");
            let cert = reqwest::Certificate::from_pem(&pem).expect("parse cert");
            builder = builder.add_root_certificate(cert);
        }
        Self {
            http: builder.build().expect("client"),
            base: base.to_owned(),
            token: None,
        }
    }

    /// The same client carrying `token`.
    pub fn with_token(&self, token: &str) -> Self {
        Self {
            token: Some(token.to_owned()),
            ..self.clone()
        }
    }

    /// `POST /accounts/login` with a JSON body.
    pub async fn login(&self, username: &str, password: &str) -> Resp {
        let body = serde_json::json!({"username": username, "password": password});
        self.send(
            Method::POST,
            "/accounts/login",
            Some("application/json"),
            body.to_string().into_bytes(),
        )
        .await
    }

    /// Logs in and returns a client carrying the token (panics on failure).
    pub async fn logged_in(self, username: &str, password: &str) -> Self {
        let resp = self.login(username, password).await;
        assert_eq!(resp.status, 200, "login failed: {}", resp.body);
        let token = resp.json()["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned();
        self.with_token(&token)
    }

    /// GET with the bearer token (if any).
    pub async fn get(&self, path: &str) -> Resp {
        self.send(Method::GET, path, None, Vec::new()).await
    }

    /// POST a JSON body.
    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.send_json(Method::POST, path, body).await
    }

    /// PUT a JSON body.
    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.send_json(Method::PUT, path, body).await
    }

    /// PATCH a JSON body.
    pub async fn patch(&self, path: &str, body: Value) -> Resp {
        self.send_json(Method::PATCH, path, body).await
    }

    /// DELETE.
    pub async fn delete(&self, path: &str) -> Resp {
        self.send(Method::DELETE, path, None, Vec::new()).await
    }

    async fn send_json(&self, method: Method, path: &str, body: Value) -> Resp {
        self.send(
            method,
            path,
            Some("application/json"),
            body.to_string().into_bytes(),
        )
        .await
    }

    /// Any request with a raw body; the bearer token is added when the client has one.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Resp {
        let mut req = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        if let Some(token) = &self.token {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        self.run(req.body(body)).await
    }

    /// Sends a request built by the caller (custom headers).
    pub async fn run(&self, req: reqwest::RequestBuilder) -> Resp {
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.text().await.expect("body");
        Resp {
            status,
            headers,
            body,
        }
    }

    /// A request builder on this server without the bearer token.
    pub fn raw(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{}", self.base, path))
    }

    /// The caller's root organization id, from `/accounts/api/me`.
    pub async fn root_org_id(&self) -> String {
        let me = self.get("/accounts/api/me").await;
        assert_eq!(me.status, 200, "{}", me.body);
        me.json()["user"]["organization"]["id"]
            .as_str()
            .expect("org id")
            .to_owned()
    }
}

/// Posts a body announced as `declared` bytes but sends only its first 64 KiB,
/// then reads the answer: tests the size limit without racing a client that
/// is still writing when the server has already answered and closed.
pub async fn post_oversized(
    base: &str,
    path: &str,
    content_type: &str,
    declared: usize,
    bearer: Option<&str>,
) -> Resp {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let auth = bearer
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\n\
         {auth}Content-Length: {declared}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("write head");
    let _ = stream.write_all(&vec![b'a'; 64 * 1024]).await;
    // Read until the answer is complete (headers plus Content-Length bytes);
    // the server may keep the socket open while the unread body is pending.
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !answer_complete(&raw) {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => raw.extend_from_slice(&buf[..n]),
            _ => break,
        }
    }
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    let mut headers = HeaderMap::new();
    for line in head.lines().skip(1) {
        if let Some((k, v)) = line.split_once(':') {
            if let (Ok(name), Ok(value)) = (
                reqwest::header::HeaderName::from_bytes(k.trim().as_bytes()),
                reqwest::header::HeaderValue::from_str(v.trim()),
            ) {
                headers.insert(name, value);
            }
        }
    }
    Resp {
        status,
        headers,
        body: body.to_owned(),
    }
}

fn answer_complete(raw: &[u8]) -> bool {
    let text = String::from_utf8_lossy(raw);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    let length = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("content-length")
            .then(|| v.trim().parse::<usize>().ok())
            .flatten()
    });
    length.is_some_and(|n| body.len() >= n)
}
