//! Charter's console: one Leptos app rendered on the server and hydrated in the browser.
//!
//! Pages live one per file in [`pages`]; each page's server functions sit beside it and check the
//! caller's role on the server (see [`auth::server`]). The store and the login throttle reach server
//! functions through context, provided by the server crate.

// The console's view types nest deeply; rendering them on the server needs more than the default.
#![recursion_limit = "512"]

pub mod auth;
mod components;
pub mod error;
pub mod flash;
mod island_code;
pub mod pages;
pub mod readable;
mod session;
pub mod templates;
#[cfg(feature = "ssr")]
mod wording;

pub use error::AppError;
pub use session::{SessionContext, SignedIn};

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{path, SsrMode};

use components::layout::ConsoleLayout;
use pages::approvals::ApprovalsPage;
use pages::assistant::AssistantPage;
use pages::audit::AuditPage;
use pages::consent::ConsentPage;
use pages::dashboard::DashboardPage;
use pages::keys::KeysPage;
use pages::login::LoginPage;
use pages::not_found::NotFound;
use pages::policies::PoliciesPage;
use pages::policy_editor::{EditPolicyPage, NewPolicyPage};
use pages::policy_import::ImportPage;
use pages::preview::PreviewPage;
use pages::receipts::ReceiptsPage;
use pages::releases::ReleasesPage;
use pages::tenant::TenantPage;
use pages::tenants::TenantsPage;
use pages::tools::ToolsPage;
use pages::users::UsersPage;
use pages::versions::VersionsPage;

/// The HTML document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        page_script_policy();
        provide_context(island_code::IslandFiles::of_site(&options));
    }
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                // Before anything else, so the page's forms behave from its first moment
                // (`forms.js`; see `components::address::FilterForm`).
                <script nonce=leptos::nonce::use_nonce() inner_html=FORMS_SCRIPT></script>
                <AutoReload options=options.clone()/>
                // Islands: the browser runs only the interactive parts of a page (`#[island]`).
                <HydrationScripts options islands=true/>
                <MetaTags/>
            </head>
            <body class="h-full bg-slate-50 text-slate-900 antialiased">
                <App/>
            </body>
        </html>
    }
}

/// The console's one script of its own, for its plain forms: filters that apply as they change,
/// posts sent once.
const FORMS_SCRIPT: &str = include_str!("forms.js");

/// What every response allows, pages or not: no framing, no `<base>` elsewhere, forms only to this
/// origin, no plugins. The server sends it on every response that does not set its own.
pub const BASE_CONTENT_SECURITY_POLICY: &str = "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'";

/// The Content-Security-Policy of a console page: [`BASE_CONTENT_SECURITY_POLICY`], and scripts
/// only from this origin (the bundle under `/pkg`, which Leptos also preloads with a `<link>`
/// that carries no nonce) or inline with this response's nonce (Leptos's hydration script and
/// the console's `forms.js`), and the WebAssembly they compile. An injected inline `<script>`, event handler attribute,
/// `javascript:` URL or script from another origin does not run.
pub fn page_content_security_policy(nonce: &str) -> String {
    format!("{BASE_CONTENT_SECURITY_POLICY}; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'")
}

/// Sets the page's script policy with the nonce leptos_axum made for this response.
#[cfg(feature = "ssr")]
fn page_script_policy() {
    let (Some(nonce), Some(response)) = (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>()) else {
        return;
    };
    if let Ok(value) = axum::http::HeaderValue::from_str(&page_content_security_policy(&nonce)) {
        response.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, value);
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    SessionContext::provide();
    // What a plain form post that reloaded the page has to say.
    flash::provide_pending();

    // Every console page renders only when its data is ready (SsrMode::Async), so a redirect to the
    // login page or a 404 status reaches the browser as a real HTTP status, not mid-stream.
    view! {
        <Stylesheet id="leptos" href="/pkg/charter.css"/>
        <Title formatter=|text: String| if text.is_empty() { "Charter".to_owned() } else { format!("{text} · Charter") }/>
        <Router>
            <Routes fallback=NotFound>
                <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async/>
                <Route path=path!("/oauth/consent") view=ConsentPage ssr=SsrMode::Async/>
                <ParentRoute path=path!("") view=ConsoleLayout ssr=SsrMode::Async>
                    <Route path=path!("") view=DashboardPage ssr=SsrMode::Async/>
                    <Route path=path!("tenants") view=TenantsPage ssr=SsrMode::Async/>
                    <Route path=path!("tenants/:slug") view=TenantPage ssr=SsrMode::Async/>
                    <Route path=path!("users") view=UsersPage ssr=SsrMode::Async/>
                    <Route path=path!("approvals") view=ApprovalsPage ssr=SsrMode::Async/>
                    <Route path=path!("policies") view=PoliciesPage ssr=SsrMode::Async/>
                    <Route path=path!("policies/new") view=NewPolicyPage ssr=SsrMode::Async/>
                    <Route path=path!("policies/import") view=ImportPage ssr=SsrMode::Async/>
                    <Route path=path!("policies/:id") view=EditPolicyPage ssr=SsrMode::Async/>
                    <Route path=path!("preview") view=PreviewPage ssr=SsrMode::Async/>
                    <Route path=path!("tools") view=ToolsPage ssr=SsrMode::Async/>
                    <Route path=path!("keys") view=KeysPage ssr=SsrMode::Async/>
                    <Route path=path!("receipts") view=ReceiptsPage ssr=SsrMode::Async/>
                    <Route path=path!("audit") view=AuditPage ssr=SsrMode::Async/>
                    <Route path=path!("assistant") view=AssistantPage ssr=SsrMode::Async/>
                    <Route path=path!("releases") view=ReleasesPage ssr=SsrMode::Async/>
                    <Route path=path!("versions") view=VersionsPage ssr=SsrMode::Async/>
                </ParentRoute>
            </Routes>
        </Router>
        <HydrationMarker/>
    }
}

/// Marks the moment the page became interactive: the browser hydrates islands in the order of the
/// document, and this one comes last. Effects run only in the browser. End-to-end tests wait for
/// the mark before they click.
#[island]
fn HydrationMarker() -> impl IntoView {
    Effect::new(move |_| {
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-hydrated", "true");
        }
    });
}

/// What the browser sets up before it hydrates a page's islands: a server function that answers
/// with a redirect (signing in, answering an assistant's consent) loads the next page whole, so it
/// is rendered for the session as it is now.
#[cfg(feature = "hydrate")]
pub fn prepare_browser() {
    let _ = leptos::server_fn::redirect::set_redirect_hook(|location: &str| {
        let _ = window().location().set_href(location);
    });
}
