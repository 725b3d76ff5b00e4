//! The npm package's widget entry (`burrow-rabbitmq/widget`): the yew workbench's
//! `mount` (`burrow::ui::widget`) in a wasm of its own, so the library's main
//! entry carries no yew. Starting it does nothing.

#[cfg(target_arch = "wasm32")]
pub use burrow::ui::widget::mount;

fn main() {}
