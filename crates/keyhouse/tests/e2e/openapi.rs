//! Issue 7: `/openapi.json` is valid OpenAPI 3.1, documents every route the
//! router registers (and no other), and describes the answers the server
//! really gives.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::apps::{cc_body, create_app, set_scopes, token_form};
use crate::support::http::Resp;
use crate::support::TestServer;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

async fn document(server: &TestServer) -> Value {
    let resp = server.client().get("/openapi.json").await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert!(resp
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/json")));
    resp.json()
}

/// Every `$ref` in `value`.
fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner) {
                    ("$ref", Value::String(target)) => out.push(target),
                    _ => refs(inner, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

/// The JSON pointer target of a local `$ref`.
fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    doc.pointer(reference.strip_prefix('#')?)
}

#[tokio::test]
async fn the_document_is_valid_openapi_3_1() {
    let server = TestServer::start().await;
    let doc = document(&server).await;
    let spec = oas3::from_json(doc.to_string()).expect("an OpenAPI 3.1 document");
    let version = spec.validate_version().expect("a supported version");
    assert_eq!((version.major, version.minor), (3, 1));
    assert!(!spec.info.title.is_empty());

    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for reference in all {
        assert!(
            resolve(&doc, reference).is_some(),
            "dangling $ref {reference}"
        );
    }
    let schemes = &doc["components"]["securitySchemes"];
    let mut operation_ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        assert!(path.starts_with('/'), "{path}");
        let templated: BTreeSet<String> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .map(str::to_owned)
            .collect();
        for (method, operation) in item.as_object().expect("path item") {
            assert!(METHODS.contains(&method.as_str()), "{method} {path}");
            let id = operation["operationId"].as_str().expect("operationId");
            assert!(
                operation_ids.insert(id.to_owned()),
                "operationId {id} repeated"
            );
            let responses = operation["responses"].as_object().expect("responses");
            assert!(!responses.is_empty(), "{method} {path}: no responses");
            for status in responses.keys() {
                assert!(
                    status.len() == 3 && status.parse::<u16>().is_ok(),
                    "{method} {path}: status {status}"
                );
            }
            let declared: BTreeSet<String> = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "path")
                .map(|p| {
                    assert_eq!(p["required"], true, "{method} {path}: {p}");
                    p["name"].as_str().unwrap().to_owned()
                })
                .collect();
            assert_eq!(declared, templated, "{method} {path}: path parameters");
            for requirement in operation["security"].as_array().into_iter().flatten() {
                for name in requirement.as_object().unwrap().keys() {
                    assert!(
                        schemes.get(name).is_some(),
                        "{method} {path}: scheme {name}"
                    );
                }
            }
        }
    }
    // Discovery points at the document (RFC 8414 service_documentation).
    let meta = server
        .client()
        .get("/.well-known/openid-configuration")
        .await
        .json();
    assert_eq!(
        meta["service_documentation"],
        format!("{}/openapi.json", server.base)
    );
}

/// A concrete path for a template: every `{param}` becomes a value no
/// resource has.
fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|s| {
            if s.starts_with('{') {
                "00000000-0000-4000-8000-000000000000"
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn every_route_is_documented_and_every_documented_route_exists() {
    let server = TestServer::start().await;
    let doc = document(&server).await;
    let client = server.client();
    // The router's routes: the templates of every route `app` serves (read
    // from the router itself), and the methods each answers with something
    // other than 405 (probing, so a method added to a route counts too).
    let mut routed = BTreeSet::new();
    for template in keyhouse_http::route_paths() {
        let path = concrete(&template);
        for method in METHODS {
            let verb = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let resp = client.run(client.raw(verb, &path)).await;
            if resp.status != 405 {
                routed.insert(format!("{} {template}", method.to_uppercase()));
            }
        }
    }
    let documented: BTreeSet<String> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |m| format!("{} {path}", m.to_uppercase()))
        })
        .collect();
    let undocumented: Vec<&String> = routed.difference(&documented).collect();
    let unrouted: Vec<&String> = documented.difference(&routed).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from /openapi.json (annotate the handler with #[utoipa::path] \
         and add it to keyhouse-http/src/openapi/mod.rs): {undocumented:#?}"
    );
    assert!(
        unrouted.is_empty(),
        "documented operations the router does not answer: {unrouted:#?}"
    );
}

/// Collects, through `$ref` and `allOf`, the properties and required names
/// of an object schema; `None` when the schema does not describe an object
/// with named properties.
fn object_parts<'a>(
    doc: &'a Value,
    schema: &'a Value,
    properties: &mut serde_json::Map<String, Value>,
    required: &mut BTreeSet<String>,
) -> bool {
    if let Some(target) = schema["$ref"].as_str() {
        let inner = resolve(doc, target).expect("resolvable $ref");
        return object_parts(doc, inner, properties, required);
    }
    let mut found = false;
    if let Some(parts) = schema["allOf"].as_array() {
        for part in parts {
            found |= object_parts(doc, part, properties, required);
        }
    }
    if let Some(own) = schema["properties"].as_object() {
        properties.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
        found = true;
    }
    for name in schema["required"].as_array().into_iter().flatten() {
        required.insert(name.as_str().unwrap().to_owned());
    }
    found
}

fn type_matches(kind: &str, value: &Value) -> bool {
    match kind {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => false,
    }
}

/// Checks `value` against `schema`, strictly: an object may hold only the
/// properties its schema names. Problems are added to `errors`.
fn check(doc: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    if let Some(target) = schema["$ref"].as_str() {
        let inner = resolve(doc, target).expect("resolvable $ref");
        return check(doc, inner, value, at, errors);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(alternatives) = schema[key].as_array() {
            let fits = alternatives.iter().any(|alt| {
                let mut trial = Vec::new();
                check(doc, alt, value, at, &mut trial);
                trial.is_empty()
            });
            if !fits {
                errors.push(format!("{at}: {value} fits no alternative of {schema}"));
            }
            return;
        }
    }
    let kinds: Vec<&str> = match &schema["type"] {
        Value::String(kind) => vec![kind.as_str()],
        Value::Array(kinds) => kinds.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !kinds.is_empty() && !kinds.iter().any(|k| type_matches(k, value)) {
        errors.push(format!("{at}: {value} is not {kinds:?}"));
        return;
    }
    if let Some(options) = schema["enum"].as_array() {
        if !options.contains(value) {
            errors.push(format!("{at}: {value} not in {options:?}"));
        }
    }
    match value {
        Value::Object(map) => {
            let mut properties = serde_json::Map::new();
            let mut required = BTreeSet::new();
            if !object_parts(doc, schema, &mut properties, &mut required) {
                return; // a free-form object
            }
            for name in &required {
                if !map.contains_key(name) {
                    errors.push(format!("{at}: required {name} missing"));
                }
            }
            for (name, inner) in map {
                match properties.get(name) {
                    Some(property) => check(doc, property, inner, &format!("{at}.{name}"), errors),
                    None => errors.push(format!("{at}: {name} is not in the schema")),
                }
            }
        }
        Value::Array(items) if !schema["items"].is_null() => {
            for (i, item) in items.iter().enumerate() {
                check(doc, &schema["items"], item, &format!("{at}[{i}]"), errors);
            }
        }
        _ => {}
    }
}

/// The schema `doc` gives for the JSON answer of `method path` with `status`.
fn response_schema<'a>(doc: &'a Value, method: &str, path: &str, status: u16) -> &'a Value {
    let item = &doc["paths"][path];
    let response = &item[method]["responses"][status.to_string()];
    let response = match response["$ref"].as_str() {
        Some(r) => resolve(doc, r).unwrap(),
        None => response,
    };
    let schema = &response["content"]["application/json"]["schema"];
    assert!(
        !schema.is_null(),
        "no JSON schema for {method} {path} {status}"
    );
    schema
}

fn conforms(doc: &Value, method: &str, path: &str, resp: &Resp, errors: &mut Vec<String>) {
    let schema = response_schema(doc, method, path, resp.status);
    check(
        doc,
        schema,
        &resp.json(),
        &format!("{method} {path} {}", resp.status),
        errors,
    );
}

#[tokio::test]
async fn real_answers_match_their_schemas() {
    let server = TestServer::start().await;
    let doc = document(&server).await;
    let admin = server.admin().await;
    let anonymous = server.client();
    let org = admin.root_org_id().await;
    let mut errors = Vec::new();
    let orgs = "/accounts/api/organizations/{org_id}";
    let apps = "/accounts/api/organizations/{org_id}/connectedApplications";

    let login = anonymous
        .login("admin", crate::support::ADMIN_PASSWORD)
        .await;
    conforms(&doc, "post", "/accounts/login", &login, &mut errors);
    for path in [
        "/accounts/api/me",
        "/accounts/api/users/me",
        "/accounts/api/profile",
        "/accounts/api/cs/scopes",
        "/accounts/api/users/me/authorizations",
        "/healthz",
        "/readyz",
        "/.well-known/openid-configuration",
        "/accounts/api/v2/oauth2/jwks",
    ] {
        conforms(&doc, "get", path, &admin.get(path).await, &mut errors);
    }
    conforms(
        &doc,
        "get",
        "/accounts/api/me",
        &anonymous.get("/accounts/api/me").await,
        &mut errors,
    );
    for (suffix, path) in [
        ("", orgs.to_owned()),
        ("/hierarchy", format!("{orgs}/hierarchy")),
        ("/environments", format!("{orgs}/environments")),
        ("/mfa", format!("{orgs}/mfa")),
        ("/identityProviders", format!("{orgs}/identityProviders")),
    ] {
        let resp = admin
            .get(&format!("/accounts/api/organizations/{org}{suffix}"))
            .await;
        conforms(&doc, "get", &path, &resp, &mut errors);
    }
    let env = admin
        .post(
            &format!("/accounts/api/organizations/{org}/environments"),
            json!({"name": "Schema", "type": "sandbox"}),
        )
        .await;
    conforms(
        &doc,
        "post",
        &format!("{orgs}/environments"),
        &env,
        &mut errors,
    );
    let business_group = admin
        .post(
            "/accounts/api/organizations",
            json!({"name": "Schema BG", "parentOrganizationId": org}),
        )
        .await;
    conforms(
        &doc,
        "post",
        "/accounts/api/organizations",
        &business_group,
        &mut errors,
    );

    let app = create_app(&admin, "schema-app").await;
    let created = Resp {
        status: 201,
        headers: Default::default(),
        body: app.json.to_string(),
    };
    conforms(&doc, "post", apps, &created, &mut errors);
    set_scopes(
        &admin,
        &app.client_id,
        json!([{"scope": "view:organization", "context_params": {"org": org}}]),
    )
    .await;
    let app_path = format!("/accounts/api/organizations/{org}/connectedApplications");
    conforms(&doc, "get", apps, &admin.get(&app_path).await, &mut errors);
    let one = admin.get(&format!("{app_path}/{}", app.client_id)).await;
    conforms(
        &doc,
        "get",
        &format!("{apps}/{{client_id}}"),
        &one,
        &mut errors,
    );
    let scopes = admin
        .get(&format!("{app_path}/{}/scopes", app.client_id))
        .await;
    conforms(
        &doc,
        "get",
        &format!("{apps}/{{client_id}}/scopes"),
        &scopes,
        &mut errors,
    );

    let token = token_form(&anonymous, &cc_body(&app.client_id, &app.secret)).await;
    conforms(
        &doc,
        "post",
        "/accounts/api/v2/oauth2/token",
        &token,
        &mut errors,
    );
    let refused = token_form(&anonymous, &cc_body(&app.client_id, "wrong")).await;
    conforms(
        &doc,
        "post",
        "/accounts/api/v2/oauth2/token",
        &refused,
        &mut errors,
    );
    let access = token.json()["access_token"].as_str().unwrap().to_owned();
    let app_me = anonymous.with_token(&access).get("/accounts/api/me").await;
    conforms(&doc, "get", "/accounts/api/me", &app_me, &mut errors);
    let introspection = token_form_at(
        &anonymous,
        "/accounts/api/v2/oauth2/introspect",
        &format!(
            "token={access}&client_id={}&client_secret={}",
            app.client_id, app.secret
        ),
    )
    .await;
    conforms(
        &doc,
        "post",
        "/accounts/api/v2/oauth2/introspect",
        &introspection,
        &mut errors,
    );

    assert!(
        errors.is_empty(),
        "answers that differ from /openapi.json:\n{}",
        errors.join("\n")
    );
}

async fn token_form_at(client: &crate::support::Client, path: &str, body: &str) -> Resp {
    client
        .send(
            Method::POST,
            path,
            Some("application/x-www-form-urlencoded"),
            body.as_bytes().to_vec(),
        )
        .await
}
