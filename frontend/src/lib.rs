//! The browser entry point. A separate, thin crate so that server builds never link a cdylib.

// Release builds nest view types far deeper than debug builds (which erase them): without this
// the wasm-release build could fail with "queries overflow the depth limit".
#![recursion_limit = "512"]

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    charter_app::prepare_browser();
    // Only the islands run in the browser; the islands script hydrates each after this returns.
    leptos::mount::hydrate_islands();
}
