//! The embeddable widget: `mount(element, options)` from JavaScript.
//!
//! It renders into the given element only: it does not read or change the page's
//! URL, sets no panic hook, and its styles are scoped under `.burrow`.

use js_sys::{Array, Reflect};
use wasm_bindgen::prelude::*;
use web_sys::Element;

use super::{Panels, Workbench, WorkbenchConfig, WorkbenchProps};

/// A mounted widget; `unmount()` removes it.
#[wasm_bindgen]
pub struct BurrowWidget {
    handle: Option<yew::AppHandle<Workbench>>,
}

#[wasm_bindgen]
impl BurrowWidget {
    /// Removes the widget and closes its connections.
    pub fn unmount(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.destroy();
        }
    }
}

fn text(options: &JsValue, key: &str) -> Option<String> {
    Reflect::get(options, &JsValue::from_str(key)).ok().and_then(|v| v.as_string())
}

fn flag(options: &JsValue, key: &str) -> Option<bool> {
    Reflect::get(options, &JsValue::from_str(key)).ok().and_then(|v| v.as_bool())
}

/// Reads the options object a host page passes (every field optional):
/// `{ url, managementUrl, login, passcode, vhost, queue, panels: ["connection", ...], connect, title }`.
pub fn config_from_options(options: &JsValue) -> WorkbenchConfig {
    let defaults = WorkbenchConfig::default();
    let panels = Reflect::get(options, &JsValue::from_str("panels"))
        .ok()
        .filter(Array::is_array)
        .map(|v| {
            let names: Vec<String> = Array::from(&v).iter().filter_map(|n| n.as_string()).collect();
            Panels::from_names(names.iter().map(String::as_str))
        })
        .unwrap_or_else(|| Panels { guide: false, ..Panels::default() });
    let passcode = text(options, "passcode");
    WorkbenchConfig {
        url: text(options, "url").unwrap_or(defaults.url),
        // Empty means "not given": the address the Web-STOMP URL implies.
        management_url: text(options, "managementUrl").filter(|m| !m.trim().is_empty()),
        login: text(options, "login").unwrap_or(defaults.login),
        auto_connect: flag(options, "connect").unwrap_or(passcode.is_some()),
        passcode,
        vhost: text(options, "vhost").unwrap_or(defaults.vhost),
        queue: text(options, "queue").unwrap_or(defaults.queue),
        panels,
        title: text(options, "title"),
    }
}

/// Mounts a Burrow workbench into `element`, configured by `options` (see
/// [`config_from_options`]). Without a passcode the user is asked for one in the
/// connection panel. Each call makes an independent widget.
#[wasm_bindgen]
pub fn mount(element: Element, options: JsValue) -> BurrowWidget {
    let config = config_from_options(&options);
    let handle = yew::Renderer::<Workbench>::with_root_and_props(element, WorkbenchProps { config }).render();
    BurrowWidget { handle: Some(handle) }
}
