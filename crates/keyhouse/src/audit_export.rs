//! `keyhouse audit export`: an organization's audit log as JSON lines, for
//! archiving before retention deletes it or for loading into a SIEM. Reads
//! storage directly (no live-token load) in keyset pages, so memory stays
//! flat however long the log is.

use std::io::Write;
use std::sync::Arc;

use anyhow::{bail, Context};
use keyhouse_core::audit_query::{AuditFilter, AuditQuery, MAX_LIMIT};
use keyhouse_core::ids::OrgId;
use keyhouse_core::store::Store;
use keyhouse_core::time_fmt::Timestamp;

use crate::cli::AuditExportArgs;
use crate::config::Settings;

/// Writes every matching event, oldest first, one JSON object per line;
/// reports the count on standard error.
pub async fn run(args: AuditExportArgs, settings: Settings) -> anyhow::Result<()> {
    let store = crate::storage::open(&settings).await?;
    let org = resolve_org(&store, &args.org).await?;
    let filter = AuditFilter {
        from: args
            .since
            .as_deref()
            .map(|s| instant("--since", s))
            .transpose()?,
        until: args
            .until
            .as_deref()
            .map(|s| instant("--until", s))
            .transpose()?,
        ..AuditFilter::org(org)
    };
    let sink: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        ),
        None => Box::new(std::io::stdout()),
    };
    let mut out = std::io::BufWriter::new(sink);
    let mut query = AuditQuery {
        filter,
        ascending: true,
        after: None,
        offset: 0,
        limit: MAX_LIMIT,
    };
    let mut count: u64 = 0;
    loop {
        let page = store
            .query_audit_events(&query)
            .await
            .context("reading the audit log")?;
        let Some(last) = page.last() else { break };
        query.after = Some(last.position);
        for record in &page {
            writeln!(out, "{}", keyhouse_http::wire::audit::entry(&record.event))?;
        }
        count += page.len() as u64;
    }
    out.flush().context("writing the export")?;
    eprintln!("exported {count} audit events of organization {org}");
    Ok(())
}

/// An organization id, or the name of a root organization; it must exist.
async fn resolve_org(store: &Arc<dyn Store>, given: &str) -> anyhow::Result<OrgId> {
    if let Ok(id) = OrgId::parse(given) {
        return match store.find_organization(id).await? {
            Some(org) => Ok(org.id),
            None => bail!("organization {id} does not exist"),
        };
    }
    let roots = store.list_root_organizations().await?;
    match roots.iter().find(|o| o.name == given) {
        Some(org) => Ok(org.id),
        None => bail!("no root organization is named '{given}'"),
    }
}

/// ISO-8601 text or epoch milliseconds.
fn instant(flag: &str, text: &str) -> anyhow::Result<Timestamp> {
    let millis = (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok().map(Timestamp))
        .flatten();
    match millis.or_else(|| Timestamp::parse_iso(text)) {
        Some(t) => Ok(t),
        None => bail!("{flag} must be an ISO-8601 date-time or epoch milliseconds"),
    }
}
