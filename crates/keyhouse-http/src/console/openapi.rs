//! The console's routes in `/openapi.json` (architecture guide, "Conventions"
//! 10): its handlers carry `#[utoipa::path]`, and [`ConsoleDoc`] gathers them
//! for `crate::openapi::document_json`, which merges it into the document.

use utoipa::OpenApi;

/// The console's annotated operations.
#[derive(OpenApi)]
#[openapi(
    paths(
        super::apps::list,
        super::copy_script::serve,
        super::apps::new_form,
        super::apps::create,
        super::lifecycle::reset_secret,
        super::lifecycle::confirm_delete,
        super::lifecycle::delete,
        super::detail::detail,
        super::scopes::add,
        super::scopes::remove,
        super::orgs::tree,
        super::orgs::create_group,
        super::orgs::environments,
        super::orgs::create_environment,
        super::audit::page,
        super::users::list,
        super::users::create,
        super::users::set_enabled,
        super::users::reset_mfa,
        super::users::confirm_delete,
        super::users::delete,
        super::session::form,
        super::session::sign_in,
        super::app_edit::form,
        super::app_edit::save,
        super::idps::list,
        super::idps::new_form,
        super::idps::create,
        super::idps::detail,
        super::idps::update,
        super::idps::confirm_delete,
        super::idps::delete,
        super::settings::page,
        super::settings::save,
    ),
    tags((name = "console", description = "The web console's HTML pages (docs/console.md)")),
)]
pub struct ConsoleDoc;
