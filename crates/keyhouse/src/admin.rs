//! `keyhouse admin …`: operator commands through the same core functions as the API.

use std::sync::Arc;

use anyhow::Context;
use keyhouse_core::access::Role;
use keyhouse_core::clock::SystemClock;
use keyhouse_core::federation::{ProviderInput, SamlInput};
use keyhouse_core::ids::OrgId;
use keyhouse_core::service::{NewRootOrganization, NewUser};
use keyhouse_core::Keyhouse;

use crate::cli::AdminCommand;
use crate::config::Settings;

/// Runs one admin command and prints the created object's id.
pub async fn run(command: AdminCommand, settings: Settings) -> anyhow::Result<()> {
    let store = crate::storage::open(&settings).await?;
    let keyhouse = Keyhouse::start(
        store,
        Arc::new(SystemClock),
        settings.core(&settings.offline_issuer()),
    )
    .await?;
    match command {
        AdminCommand::CreateOrg(args) => {
            let (org, user) = keyhouse
                .create_root_organization(NewRootOrganization {
                    name: args.name,
                    admin: NewUser {
                        username: args.admin_username,
                        password: args.admin_password,
                        first_name: args.admin_first_name,
                        last_name: args.admin_last_name,
                        email: args.admin_email,
                    },
                })
                .await
                .context("creating the organization")?;
            println!("organization {} ({})", org.id, org.name);
            println!("administrator {} ({})", user.id, user.username);
        }
        AdminCommand::CreateUser(args) => {
            let org = match OrgId::parse(&args.org) {
                Ok(id) => id,
                Err(_) => keyhouse.find_root_organization(&args.org).await?.id,
            };
            let role = if args.admin {
                Role::Admin
            } else {
                Role::Member
            };
            let user = keyhouse
                .create_user(
                    org,
                    NewUser {
                        username: args.username,
                        password: args.password,
                        first_name: args.first_name,
                        last_name: args.last_name,
                        email: args.email,
                    },
                    role,
                )
                .await
                .context("creating the user")?;
            println!("user {} ({})", user.id, user.username);
        }
        AdminCommand::AddOidcProvider(args) => {
            let org = match OrgId::parse(&args.org) {
                Ok(id) => id,
                Err(_) => keyhouse.find_root_organization(&args.org).await?.id,
            };
            let provider = keyhouse
                .add_identity_provider(
                    org,
                    ProviderInput {
                        name: Some(args.name),
                        kind: Some("openid".to_owned()),
                        issuer: Some(args.issuer),
                        client_id: Some(args.client_id),
                        client_secret: Some(args.client_secret),
                        scopes: Some(vec![args.scopes]),
                        username_claim: Some(args.username_claim),
                        ..ProviderInput::default()
                    },
                )
                .await
                .context("adding the identity provider")?;
            println!("identity provider {} ({})", provider.id, provider.name);
            println!(
                "register this redirect URI at the provider: {}",
                keyhouse.federation_callback_url()
            );
        }
        AdminCommand::AddSamlProvider(args) => {
            let org = match OrgId::parse(&args.org) {
                Ok(id) => id,
                Err(_) => keyhouse.find_root_organization(&args.org).await?.id,
            };
            let certificates = args
                .certificate_files
                .iter()
                .map(|path| {
                    std::fs::read_to_string(path)
                        .with_context(|| format!("reading {}", path.display()))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let provider = keyhouse
                .add_identity_provider(
                    org,
                    ProviderInput {
                        name: Some(args.name),
                        kind: Some("saml".to_owned()),
                        saml: Some(SamlInput {
                            issuer: Some(args.issuer),
                            certificates: Some(certificates),
                            sso_url: args.sso_url,
                            ..SamlInput::default()
                        }),
                        username_claim: Some(args.username_attribute),
                        ..ProviderInput::default()
                    },
                )
                .await
                .context("adding the identity provider")?;
            let sp = keyhouse.saml_service_provider();
            println!("identity provider {} ({})", provider.id, provider.name);
            println!("service provider entity id: {}", sp.entity_id);
            println!("assertion consumer service (HTTP-POST): {}", sp.acs_url);
        }
    }
    Ok(())
}

/// `keyhouse keys rotate`: a new ID-token signing key takes over; running
/// servers pick it up within a minute (they re-read keys periodically).
pub async fn rotate_keys(settings: Settings) -> anyhow::Result<()> {
    let store = crate::storage::open(&settings).await?;
    let keyhouse = Keyhouse::start(
        store,
        Arc::new(SystemClock),
        settings.core(&settings.offline_issuer()),
    )
    .await?;
    let kid = keyhouse
        .rotate_keys()
        .await
        .context("rotating the signing key")?;
    println!("new signing key: {kid}");
    Ok(())
}
