//! The choices of the console's pickers: business groups (from the org tree
//! the caller may see, `GET …/hierarchy`), their environments, and the scope
//! catalogue. Read through the same service calls as the API.

use keyhouse_core::ids::OrgId;
use keyhouse_core::oauth::scope::{ScopeContext, CATALOGUE};
use keyhouse_core::service::HierarchyNode;
use keyhouse_core::CoreError;

use super::Visitor;
use crate::AppState;

/// One business group in a `<select>`, indented by its depth in the tree.
pub(crate) struct OrgOption {
    pub id: String,
    pub name: String,
    /// The name with one "– " per level below the root (no-JS tree in a select).
    pub label: String,
    pub depth: usize,
    pub selected: bool,
    pub has_children: bool,
}

/// The environments of one business group (an `<optgroup>`).
pub(crate) struct EnvGroup {
    pub org_id: String,
    pub org_name: String,
    pub envs: Vec<EnvOption>,
}

/// One environment in a `<select>`.
pub(crate) struct EnvOption {
    pub id: String,
    pub name: String,
}

/// One scope of the catalogue, with the context it is granted in.
pub(crate) struct ScopeChoice {
    pub name: &'static str,
    pub label: String,
}

fn flatten(node: &HierarchyNode, depth: usize, selected: &str, out: &mut Vec<OrgOption>) {
    let id = node.summary.org.id.to_string();
    let name = node.summary.org.name.clone();
    out.push(OrgOption {
        label: format!("{}{name}", "– ".repeat(depth)),
        selected: id == selected,
        has_children: !node.children.is_empty(),
        id,
        name,
        depth,
    });
    for child in &node.children {
        flatten(child, depth + 1, selected, out);
    }
}

/// The business groups the visitor may see, depth first from their root
/// organization; `selected` (an org id, or "" for the root) is marked.
pub(crate) async fn org_options(
    state: &AppState,
    visitor: &Visitor,
    selected: &str,
) -> Result<Vec<OrgOption>, CoreError> {
    let root = state
        .keyhouse
        .hierarchy(&visitor.principal, visitor.user.org_id)
        .await?;
    let selected = if selected.is_empty() {
        root.summary.org.id.to_string()
    } else {
        selected.to_owned()
    };
    let mut out = Vec::new();
    flatten(&root, 0, &selected, &mut out);
    Ok(out)
}

/// The selected business group of a list (the root when none is).
pub(crate) fn chosen(orgs: &[OrgOption]) -> Option<&OrgOption> {
    orgs.iter().find(|o| o.selected).or_else(|| orgs.first())
}

/// The environments of each business group the visitor may list them in.
pub(crate) async fn env_groups(
    state: &AppState,
    visitor: &Visitor,
    orgs: &[OrgOption],
) -> Result<Vec<EnvGroup>, CoreError> {
    let mut groups = Vec::with_capacity(orgs.len());
    for org in orgs {
        let id = OrgId::parse(&org.id)?;
        let envs = match state
            .keyhouse
            .environments(&visitor.principal, id, 0, None)
            .await
        {
            Ok(page) => page.data,
            Err(CoreError::Forbidden(_) | CoreError::NotFound(_)) => continue,
            Err(other) => return Err(other),
        };
        groups.push(EnvGroup {
            org_id: org.id.clone(),
            org_name: org.name.clone(),
            envs: envs
                .into_iter()
                .map(|e| EnvOption {
                    id: e.id.to_string(),
                    name: e.name,
                })
                .collect(),
        });
    }
    Ok(groups)
}

/// Every scope of the catalogue, labelled with what it needs picked.
pub(crate) fn scope_choices() -> Vec<ScopeChoice> {
    CATALOGUE
        .iter()
        .map(|s| ScopeChoice {
            name: s.name,
            label: format!(
                "{} ({}){}",
                s.display_name,
                s.name,
                match s.context {
                    ScopeContext::Global => "",
                    ScopeContext::Org => " – business group",
                    ScopeContext::OrgEnv => " – business group and environment",
                }
            ),
        })
        .collect()
}
