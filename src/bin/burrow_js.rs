//! The npm package's main wasm: the library's JavaScript API (`burrow::js`),
//! built without the `ui` feature, so no yew. Starting it does nothing.

#[cfg(target_arch = "wasm32")]
pub use burrow::js::*;

fn main() {}
