//! The browser entry point. A separate, thin crate so that server builds never link a cdylib.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(charter_app::App);
}
