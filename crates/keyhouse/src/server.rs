//! `keyhouse serve` and `keyhouse init`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use keyhouse_core::clock::SystemClock;
use keyhouse_core::service::BootstrapOutcome;
use keyhouse_core::Keyhouse;
use keyhouse_http::AppState;

use crate::config::Settings;

/// How often expired tokens, and audit events past retention, are purged.
const PURGE_INTERVAL: Duration = Duration::from_secs(60);

async fn start(
    settings: &Settings,
    issuer: &str,
) -> anyhow::Result<(Arc<Keyhouse>, BootstrapOutcome)> {
    let store = crate::storage::open(settings).await?;
    let keyhouse = Keyhouse::start(store, Arc::new(SystemClock), settings.core(issuer))
        .await
        .context("starting the service")?;
    let outcome = keyhouse
        .bootstrap(&settings.org_name, settings.admin.clone())
        .await
        .context("creating the first organization")?;
    report(&outcome);
    Ok((Arc::new(keyhouse), outcome))
}

/// Prints what first start created; a generated password is shown this once only.
fn report(outcome: &BootstrapOutcome) {
    if !outcome.created {
        return;
    }
    println!(
        "created organization '{}' ({}) with administrator '{}'",
        outcome.org_name, outcome.org_id, outcome.admin_username
    );
    if let Some(password) = &outcome.generated_password {
        println!("administrator password (shown once, store it now): {password}");
    }
}

/// `keyhouse init`: first-start setup without serving.
pub async fn init(settings: Settings) -> anyhow::Result<()> {
    let (_, outcome) = start(&settings, &settings.offline_issuer()).await?;
    if !outcome.created {
        println!(
            "already initialised: organization '{}' ({})",
            outcome.org_name, outcome.org_id
        );
    }
    Ok(())
}

/// `keyhouse serve`: binds, prints `keyhouse listening on <url>`, serves until SIGINT/SIGTERM.
pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    let tls = crate::tls::prepare(&settings.tls, &settings.data_dir, settings.listen)?;
    let listener = std::net::TcpListener::bind(settings.listen)
        .with_context(|| format!("binding {}", settings.listen))?;
    listener.set_nonblocking(true)?;
    let local = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    // The issuer must be known before the service starts (ID tokens, discovery):
    // the public URL, or the address actually bound.
    let issuer = settings
        .public_url
        .clone()
        .unwrap_or_else(|| format!("{scheme}://{local}"));
    let (keyhouse, _) = start(&settings, &issuer).await?;
    if let Some(files) = &tls {
        println!("TLS certificate: {}", files.cert.display());
    }
    println!("keyhouse listening on {scheme}://{local}");
    if let Some(url) = &settings.public_url {
        println!("public URL: {url}");
    }
    spawn_purger(keyhouse.clone());
    let app = keyhouse_http::app(AppState::new(keyhouse, settings.metrics_enabled));
    match tls {
        Some(files) => {
            let config = crate::tls::rustls_config(&files).await?;
            let handle = axum_server::Handle::new();
            let stopper = handle.clone();
            tokio::spawn(async move {
                shutdown_signal().await;
                stopper.graceful_shutdown(Some(Duration::from_secs(10)));
            });
            axum_server::from_tcp_rustls(listener, config)
                .handle(handle)
                .serve(app.into_make_service_with_connect_info::<SocketAddr>())
                .await
                .context("serving HTTPS")
        }
        None => {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(shutdown_signal())
            .await
            .context("serving HTTP")
        }
    }
}

fn spawn_purger(keyhouse: Arc<Keyhouse>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(PURGE_INTERVAL);
        loop {
            tick.tick().await;
            if let Err(err) = keyhouse.purge_expired().await {
                tracing::warn!(error = %err, "purging expired tokens failed");
            }
            match keyhouse.purge_audit_log().await {
                Ok(0) => {}
                Ok(purged) => tracing::info!(purged, "audit events past retention deleted"),
                Err(err) => tracing::warn!(error = %err, "purging old audit events failed"),
            }
            if let Err(err) = keyhouse.reload_keys().await {
                tracing::warn!(error = %err, "reloading signing keys failed");
            }
        }
    });
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
