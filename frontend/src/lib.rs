//! The browser entry point. A separate, thin crate so that server builds never link a cdylib.

// Release builds nest the console's view types far deeper than debug builds (which erase them):
// without this the wasm-release build fails with "queries overflow the depth limit".
#![recursion_limit = "512"]

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(charter_app::App);
}
