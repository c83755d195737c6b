//! HTTPS: a PEM pair from the operator, or a self-signed certificate generated
//! for the listen address (its IP in the SAN, as anypoint-cli-v4 requires).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use axum_server::tls_rustls::RustlsConfig;

use crate::config::Tls;

/// Certificate and key files to serve.
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Resolves the TLS mode into files (generating them for `SelfSigned`), or `None` for plain HTTP.
pub fn prepare(tls: &Tls, data_dir: &Path, listen: SocketAddr) -> anyhow::Result<Option<TlsFiles>> {
    match tls {
        Tls::Off => Ok(None),
        Tls::Files { cert, key } => Ok(Some(TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        })),
        Tls::SelfSigned => self_signed(&data_dir.join("tls"), listen).map(Some),
    }
}

/// The names a self-signed certificate must cover for this listen address.
fn subject_names(listen: SocketAddr) -> Vec<String> {
    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    let ip = listen.ip();
    if !ip.is_unspecified() && !names.contains(&ip.to_string()) {
        names.push(ip.to_string());
    }
    names
}

/// Reuses `dir/cert.pem` + `dir/key.pem` when they were made for the same names,
/// otherwise generates a new pair (key file mode 0600).
fn self_signed(dir: &Path, listen: SocketAddr) -> anyhow::Result<TlsFiles> {
    let files = TlsFiles {
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    };
    let names = subject_names(listen);
    let names_file = dir.join("names.txt");
    let wanted = names.join("\n");
    let current = std::fs::read_to_string(&names_file).unwrap_or_default();
    if current == wanted && files.cert.exists() && files.key.exists() {
        return Ok(files);
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let certified = rcgen::generate_simple_self_signed(names)
        .context("generating a self-signed certificate")?;
    write_private(&files.key, certified.key_pair.serialize_pem().as_bytes())?;
    std::fs::write(&files.cert, certified.cert.pem()).context("writing certificate")?;
    std::fs::write(&names_file, wanted).context("writing certificate names")?;
    Ok(files)
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(bytes).context("writing private key")
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// rustls configuration from the files.
pub async fn rustls_config(files: &TlsFiles) -> anyhow::Result<RustlsConfig> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    RustlsConfig::from_pem_file(&files.cert, &files.key)
        .await
        .with_context(|| {
            format!(
                "loading TLS certificate {} and key {}",
                files.cert.display(),
                files.key.display()
            )
        })
}
