//! The page for URLs that do not exist, or that exist in a tenant the user may not see: both look
//! the same, so a probe learns nothing about other tenants.

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(axum::http::StatusCode::NOT_FOUND);
        }
    }
    view! {
        <Title text="Page not found"/>
        <div class="py-24 text-center" data-testid="not-found">
            <p class="text-sm font-semibold text-indigo-600">"404"</p>
            <h1 class="mt-2 text-3xl font-semibold tracking-tight">"Page not found"</h1>
            <p class="mt-3 text-slate-500">"There is nothing here, or nothing you have access to."</p>
            <a href="/" class="mt-6 inline-block text-sm font-medium text-indigo-600 hover:underline">"Back to the dashboard"</a>
        </div>
    }
}
