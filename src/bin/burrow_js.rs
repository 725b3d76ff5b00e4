//! The npm package's module: everything it exports comes from the library
//! (`burrow::js`, and `mount` from `burrow::ui::widget`); starting it does nothing.

#[cfg(target_arch = "wasm32")]
pub use burrow::js::*;

fn main() {}
