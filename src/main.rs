//! The Burrow app: only mounts the UI; everything else lives in the library.

#[cfg(target_arch = "wasm32")]
fn main() {
    burrow::ui::mount_app();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("Burrow runs in the browser: start it with `./burrow app` (see README.md).");
}
