//! Exclusive XML Canonicalization 1.0 without comments
//! (<http://www.w3.org/2001/10/xml-exc-c14n#>), the one canonicalization
//! SAML signatures use, over a subtree of [`super::xml`]'s tree, optionally
//! leaving out one element (the enveloped signature). Only this algorithm is
//! offered: the verifier refuses every other one (checklist SM-04).

use super::xml::{Element, Node};

/// The canonical form of `apex` and its subtree, without `exclude` (compared
/// by identity) and with the `InclusiveNamespaces` prefixes in `inclusive`
/// (`#default` names the default namespace).
pub fn canonicalize(apex: &Element, exclude: Option<&Element>, inclusive: &[String]) -> Vec<u8> {
    let mut out = String::new();
    let inclusive: Vec<&str> = inclusive
        .iter()
        .map(|p| if p == "#default" { "" } else { p.as_str() })
        .collect();
    element(apex, exclude, &inclusive, &[], &mut out);
    out.into_bytes()
}

fn element(
    el: &Element,
    exclude: Option<&Element>,
    inclusive: &[&str],
    rendered: &[(String, String)],
    out: &mut String,
) {
    if exclude.is_some_and(|x| std::ptr::eq(x, el)) {
        return;
    }
    // Visibly utilized prefixes: the element's own and its attributes'.
    let mut wanted: Vec<&str> = vec![el.prefix.as_str()];
    for attr in &el.attributes {
        if !attr.prefix.is_empty() {
            wanted.push(attr.prefix.as_str());
        }
    }
    for p in inclusive {
        if el.lookup(p).is_some() {
            wanted.push(p);
        }
    }
    wanted.sort_unstable();
    wanted.dedup();
    let mut context: Vec<(String, String)> = rendered.to_vec();
    let mut declarations: Vec<(&str, String)> = Vec::new();
    for prefix in wanted {
        if prefix == "xml" {
            continue;
        }
        let uri = el.lookup(prefix).unwrap_or_default().to_owned();
        let before = context
            .iter()
            .find(|(p, _)| p == prefix)
            .map(|(_, u)| u.as_str());
        let needed = match before {
            Some(existing) => existing != uri,
            // An empty default namespace never rendered needs no `xmlns=""`.
            None => !(prefix.is_empty() && uri.is_empty()),
        };
        if needed {
            context.retain(|(p, _)| p != prefix);
            context.push((prefix.to_owned(), uri.clone()));
            declarations.push((prefix, uri));
        }
    }
    // Default namespace first, then by prefix (the sort above did both).
    out.push('<');
    qname(&el.prefix, &el.local, out);
    for (prefix, uri) in &declarations {
        out.push_str(" xmlns");
        if !prefix.is_empty() {
            out.push(':');
            out.push_str(prefix);
        }
        out.push_str("=\"");
        escape_attribute(uri, out);
        out.push('"');
    }
    let mut attributes: Vec<_> = el.attributes.iter().collect();
    // By namespace URI, then local name; unqualified attributes come first.
    attributes.sort_by(|a, b| (&a.namespace, &a.local).cmp(&(&b.namespace, &b.local)));
    for attr in attributes {
        out.push(' ');
        qname(&attr.prefix, &attr.local, out);
        out.push_str("=\"");
        escape_attribute(&attr.value, out);
        out.push('"');
    }
    out.push('>');
    for child in &el.children {
        match child {
            Node::Element(e) => element(e, exclude, inclusive, &context, out),
            Node::Text(t) => escape_text(t, out),
            Node::Comment => {}
        }
    }
    out.push_str("</");
    qname(&el.prefix, &el.local, out);
    out.push('>');
}

fn qname(prefix: &str, local: &str, out: &mut String) {
    if !prefix.is_empty() {
        out.push_str(prefix);
        out.push(':');
    }
    out.push_str(local);
}

fn escape_text(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

fn escape_attribute(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}
