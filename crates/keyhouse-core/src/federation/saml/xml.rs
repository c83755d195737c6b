//! A small, strict XML tree for SAML messages, built on the `xmlparser`
//! tokenizer. Strict on purpose (checklist SM-03): a document type
//! declaration, an entity other than the five predefined ones, or a
//! processing instruction is refused outright, so neither external entities
//! nor entity expansion can happen. Prefixes are kept (canonicalization
//! needs them), namespaces are resolved, and sizes are bounded.

use std::sync::Arc;

use thiserror::Error;
use xmlparser::{ElementEnd, Token, Tokenizer};

/// The namespace the `xml` prefix is bound to without a declaration.
pub const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";
/// Deepest element nesting accepted.
const MAX_DEPTH: usize = 64;
/// Most elements accepted in one document.
const MAX_ELEMENTS: usize = 10_000;
/// Most attributes (declarations included) accepted on one element.
const MAX_ATTRIBUTES: usize = 64;

/// Why a document was refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum XmlError {
    /// Not well-formed XML (the tokenizer's message, or a structural fault).
    #[error("malformed XML: {0}")]
    Malformed(String),
    /// DTDs, entities and processing instructions are never accepted.
    #[error("XML {0} are not accepted")]
    Forbidden(&'static str),
    /// Too deep, too many elements or attributes.
    #[error("XML document too large: {0}")]
    TooLarge(&'static str),
}

/// One attribute (namespace declarations are kept apart).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// The prefix as written (empty: none).
    pub prefix: String,
    /// The local name.
    pub local: String,
    /// The namespace the prefix resolves to (empty for an unprefixed attribute).
    pub namespace: String,
    /// The normalized value (XML 1.0 §3.3.3), references decoded.
    pub value: String,
}

/// A child of an element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A child element.
    Element(Element),
    /// Character data (CDATA sections included), references decoded.
    Text(String),
    /// A comment: kept as a marker only (canonicalization drops it, and text
    /// is read across it, never cut at it).
    Comment,
}

/// One element with everything canonicalization needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// The prefix as written (empty: none).
    pub prefix: String,
    /// The local name.
    pub local: String,
    /// The namespace the element's name resolves to (empty: none).
    pub namespace: String,
    /// Attributes in document order.
    pub attributes: Vec<Attribute>,
    /// Every namespace binding in scope here, inherited ones included:
    /// `(prefix, uri)`, the default namespace under the empty prefix.
    pub scope: Arc<Vec<(String, String)>>,
    /// Children in document order.
    pub children: Vec<Node>,
}

impl Element {
    /// True when the element is `{namespace}local`.
    pub fn is(&self, namespace: &str, local: &str) -> bool {
        self.namespace == namespace && self.local == local
    }

    /// The value of the unprefixed attribute `name`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.prefix.is_empty() && a.local == name)
            .map(|a| a.value.as_str())
    }

    /// The child elements, in order.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            _ => None,
        })
    }

    /// The child elements named `{namespace}local`.
    pub fn children_named<'a>(
        &'a self,
        namespace: &'a str,
        local: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.elements().filter(move |e| e.is(namespace, local))
    }

    /// The only child named `{namespace}local`; `None` when there is none
    /// or more than one (a repeated element is never guessed between).
    pub fn only_child(&self, namespace: &str, local: &str) -> Option<&Element> {
        let mut found = self.elements().filter(|e| e.is(namespace, local));
        let first = found.next()?;
        found.next().is_none().then_some(first)
    }

    /// The element's text: every text child joined, across comments (so a
    /// comment inside a value cannot shorten what was signed, CVE-2017-11428).
    pub fn text(&self) -> String {
        let mut out = String::new();
        for child in &self.children {
            if let Node::Text(t) = child {
                out.push_str(t);
            }
        }
        out
    }

    /// The namespace bound to `prefix` here (the empty prefix: the default).
    pub fn lookup(&self, prefix: &str) -> Option<&str> {
        if prefix == "xml" {
            return Some(XML_NS);
        }
        self.scope
            .iter()
            .rev()
            .find(|(p, _)| p == prefix)
            .map(|(_, uri)| uri.as_str())
    }

    /// Every element of the subtree, this one first, in document order.
    pub fn descendants(&self) -> Vec<&Element> {
        let mut out = Vec::new();
        let mut pending = vec![self];
        while let Some(current) = pending.pop() {
            out.push(current);
            let at = pending.len();
            pending.extend(current.elements());
            pending[at..].reverse();
        }
        out
    }
}

/// Parses a whole document and returns its root element.
pub fn parse(text: &str) -> Result<Element, XmlError> {
    let mut builder = Builder::default();
    for token in Tokenizer::from(text) {
        let token = token.map_err(|e| XmlError::Malformed(e.to_string()))?;
        builder.token(token)?;
    }
    builder.finish()
}

#[derive(Default)]
struct Open {
    prefix: String,
    local: String,
    raw_attributes: Vec<(String, String, String)>,
    children: Vec<Node>,
    scope: Option<Arc<Vec<(String, String)>>>,
}

#[derive(Default)]
struct Builder {
    stack: Vec<Open>,
    root: Option<Element>,
    elements: usize,
}

impl Builder {
    fn token(&mut self, token: Token<'_>) -> Result<(), XmlError> {
        match token {
            Token::Declaration { .. } => Ok(()),
            Token::ProcessingInstruction { .. } => {
                Err(XmlError::Forbidden("processing instructions"))
            }
            Token::DtdStart { .. }
            | Token::EmptyDtd { .. }
            | Token::EntityDeclaration { .. }
            | Token::DtdEnd { .. } => Err(XmlError::Forbidden("document type declarations")),
            Token::Comment { .. } => {
                if let Some(open) = self.stack.last_mut() {
                    open.children.push(Node::Comment);
                }
                Ok(())
            }
            Token::ElementStart { prefix, local, .. } => {
                if self.root.is_some() {
                    return Err(XmlError::Malformed("content after the root element".into()));
                }
                if self.stack.len() >= MAX_DEPTH {
                    return Err(XmlError::TooLarge("elements nested too deeply"));
                }
                self.elements += 1;
                if self.elements > MAX_ELEMENTS {
                    return Err(XmlError::TooLarge("too many elements"));
                }
                self.stack.push(Open {
                    prefix: prefix.as_str().to_owned(),
                    local: local.as_str().to_owned(),
                    ..Open::default()
                });
                Ok(())
            }
            Token::Attribute {
                prefix,
                local,
                value,
                ..
            } => {
                let open = self
                    .stack
                    .last_mut()
                    .ok_or_else(|| XmlError::Malformed("attribute outside an element".into()))?;
                if open.raw_attributes.len() >= MAX_ATTRIBUTES {
                    return Err(XmlError::TooLarge("too many attributes"));
                }
                let value = attribute_value(value.as_str())?;
                open.raw_attributes.push((
                    prefix.as_str().to_owned(),
                    local.as_str().to_owned(),
                    value,
                ));
                Ok(())
            }
            Token::ElementEnd { end, .. } => match end {
                ElementEnd::Open => self.start_content(),
                ElementEnd::Empty => {
                    self.start_content()?;
                    self.close(None)
                }
                ElementEnd::Close(prefix, local) => {
                    self.close(Some((prefix.as_str(), local.as_str())))
                }
            },
            Token::Text { text } => {
                let raw = text.as_str();
                match self.stack.last_mut() {
                    Some(open) => {
                        open.children.push(Node::Text(character_data(raw)?));
                        Ok(())
                    }
                    None if raw.trim().is_empty() => Ok(()),
                    None => Err(XmlError::Malformed("text outside the root element".into())),
                }
            }
            Token::Cdata { text, .. } => match self.stack.last_mut() {
                Some(open) => {
                    open.children
                        .push(Node::Text(normalize_line_ends(text.as_str())));
                    Ok(())
                }
                None => Err(XmlError::Malformed("CDATA outside the root element".into())),
            },
        }
    }

    /// The start tag is complete: resolve its declarations into a scope.
    fn start_content(&mut self) -> Result<(), XmlError> {
        let inherited = self
            .stack
            .iter()
            .rev()
            .nth(1)
            .and_then(|parent| parent.scope.clone())
            .unwrap_or_default();
        let open = self
            .stack
            .last_mut()
            .ok_or_else(|| XmlError::Malformed("tag end outside an element".into()))?;
        let mut declared: Vec<(String, String)> = Vec::new();
        for (prefix, local, value) in &open.raw_attributes {
            let binding = match (prefix.as_str(), local.as_str()) {
                ("", "xmlns") => Some(String::new()),
                ("xmlns", p) => Some(p.to_owned()),
                _ => None,
            };
            if let Some(p) = binding {
                if p == "xml" || p == "xmlns" {
                    return Err(XmlError::Malformed(format!(
                        "prefix {p} cannot be declared"
                    )));
                }
                if !p.is_empty() && value.is_empty() {
                    return Err(XmlError::Malformed("a prefix cannot be undeclared".into()));
                }
                if declared.iter().any(|(d, _)| *d == p) {
                    return Err(XmlError::Malformed("namespace declared twice".into()));
                }
                declared.push((p, value.clone()));
            }
        }
        let scope = if declared.is_empty() {
            inherited
        } else {
            let mut all: Vec<(String, String)> = inherited
                .iter()
                .filter(|(p, _)| !declared.iter().any(|(d, _)| d == p))
                .cloned()
                .collect();
            all.extend(declared);
            Arc::new(all)
        };
        open.scope = Some(scope);
        Ok(())
    }

    fn close(&mut self, end: Option<(&str, &str)>) -> Result<(), XmlError> {
        let open = self
            .stack
            .pop()
            .ok_or_else(|| XmlError::Malformed("end tag without a start tag".into()))?;
        if let Some((prefix, local)) = end {
            if prefix != open.prefix || local != open.local {
                return Err(XmlError::Malformed("mismatched end tag".into()));
            }
        }
        let element = resolve(open)?;
        match self.stack.last_mut() {
            Some(parent) => parent.children.push(Node::Element(element)),
            None => self.root = Some(element),
        }
        Ok(())
    }

    fn finish(self) -> Result<Element, XmlError> {
        if !self.stack.is_empty() {
            return Err(XmlError::Malformed("unclosed element".into()));
        }
        self.root
            .ok_or_else(|| XmlError::Malformed("no root element".into()))
    }
}

/// Resolves the names of a finished element against its scope.
fn resolve(open: Open) -> Result<Element, XmlError> {
    let scope = open.scope.unwrap_or_default();
    let lookup = |prefix: &str| -> Result<String, XmlError> {
        if prefix == "xml" {
            return Ok(XML_NS.to_owned());
        }
        match scope.iter().rev().find(|(p, _)| p == prefix) {
            Some((_, uri)) => Ok(uri.clone()),
            None if prefix.is_empty() => Ok(String::new()),
            None => Err(XmlError::Malformed(format!("undeclared prefix {prefix}"))),
        }
    };
    let namespace = lookup(&open.prefix)?;
    let mut attributes: Vec<Attribute> = Vec::new();
    for (prefix, local, value) in open.raw_attributes {
        if (prefix.is_empty() && local == "xmlns") || prefix == "xmlns" {
            continue;
        }
        let namespace = if prefix.is_empty() {
            String::new()
        } else {
            lookup(&prefix)?
        };
        if attributes
            .iter()
            .any(|a| a.local == local && a.namespace == namespace)
        {
            return Err(XmlError::Malformed("attribute given twice".into()));
        }
        attributes.push(Attribute {
            prefix,
            local,
            namespace,
            value,
        });
    }
    Ok(Element {
        prefix: open.prefix,
        local: open.local,
        namespace,
        attributes,
        scope,
        children: open.children,
    })
}

/// `\r\n` and lone `\r` become `\n` (XML 1.0 §2.11).
fn normalize_line_ends(raw: &str) -> String {
    raw.replace("\r\n", "\n").replace('\r', "\n")
}

/// Text content: line ends normalized, references decoded.
fn character_data(raw: &str) -> Result<String, XmlError> {
    decode(&normalize_line_ends(raw), false)
}

/// An attribute value normalized as for CDATA attributes (XML 1.0 §3.3.3):
/// literal white space becomes a space, character references keep theirs.
fn attribute_value(raw: &str) -> Result<String, XmlError> {
    decode(&normalize_line_ends(raw), true)
}

fn decode(text: &str, attribute: bool) -> Result<String, XmlError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find(['&', '\t', '\n', '<']) {
        let (before, after) = rest.split_at(pos);
        out.push_str(before);
        let mut chars = after.chars();
        match chars.next() {
            Some('&') => {
                let end = after
                    .find(';')
                    .ok_or_else(|| XmlError::Malformed("unterminated reference".into()))?;
                out.push(reference(&after[1..end])?);
                rest = &after[end + 1..];
            }
            Some('<') => return Err(XmlError::Malformed("'<' in a value".into())),
            Some(c) => {
                out.push(if attribute { ' ' } else { c });
                rest = chars.as_str();
            }
            None => break,
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn reference(name: &str) -> Result<char, XmlError> {
    let code = match name {
        "lt" => return Ok('<'),
        "gt" => return Ok('>'),
        "amp" => return Ok('&'),
        "quot" => return Ok('"'),
        "apos" => return Ok('\''),
        _ => {
            if let Some(hex) = name.strip_prefix("#x") {
                u32::from_str_radix(hex, 16).ok()
            } else if let Some(dec) = name.strip_prefix('#') {
                dec.parse::<u32>().ok()
            } else {
                return Err(XmlError::Forbidden("entity references"));
            }
        }
    };
    code.and_then(char::from_u32)
        .filter(|c| *c == '\t' || *c == '\n' || *c == '\r' || *c >= ' ')
        .ok_or_else(|| XmlError::Malformed("invalid character reference".into()))
}
