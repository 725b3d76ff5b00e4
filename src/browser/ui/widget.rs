//! The embeddable widget: `mount(element, options)` from JavaScript.
//!
//! It renders into the given element only: it does not read or change the page's
//! URL, sets no panic hook, and its styles are scoped under `.burrow`.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Reflect};
use wasm_bindgen::prelude::*;
use web_sys::Element;

use super::{Panels, Workbench, WorkbenchConfig, WorkbenchProps};

/// A running widget's app, shared by its handle and [`MOUNTED`]; `None` once unmounted.
type Slot = Rc<RefCell<Option<yew::AppHandle<Workbench>>>>;

/// A mounted widget: its element, its app, and its number on the page.
struct Mounted {
    element: Element,
    slot: Slot,
    number: u32,
}

thread_local! {
    /// The widget mounted in each element: a second mount into the same element (a
    /// framework's re-render) unmounts the first, whose connections otherwise stayed
    /// open with nothing left on the page to show or stop them.
    static MOUNTED: RefCell<Vec<Mounted>> = const { RefCell::new(Vec::new()) };
}

/// Destroys the app in `slot`, if it still runs (closing its connections).
fn destroy(slot: &Slot) {
    // Taken out first: destroying runs the widget's clean-ups, outside this borrow.
    let handle = slot.borrow_mut().take();
    if let Some(handle) = handle {
        handle.destroy();
    }
}

/// A mounted widget; `unmount()` removes it.
#[wasm_bindgen]
pub struct BurrowWidget {
    slot: Slot,
}

#[wasm_bindgen]
impl BurrowWidget {
    /// Removes the widget and closes its connections; a second call does nothing.
    pub fn unmount(&mut self) {
        MOUNTED.with(|mounted| mounted.borrow_mut().retain(|m| !Rc::ptr_eq(&m.slot, &self.slot)));
        destroy(&self.slot);
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
/// connection panel. Each call makes an independent widget; one already mounted
/// in `element` is unmounted first (as mounting a framework's root again replaces it).
/// Each takes the lowest number no other mounted widget has; from the second on,
/// its regions' names say it ([`super::RegionNames`]).
#[wasm_bindgen]
pub fn mount(element: Element, options: JsValue) -> BurrowWidget {
    let config = config_from_options(&options);
    let previous = MOUNTED.with(|mounted| {
        let mut mounted = mounted.borrow_mut();
        let at = mounted.iter().position(|m| m.element == element);
        at.map(|at| mounted.swap_remove(at).slot)
    });
    if let Some(previous) = previous {
        destroy(&previous);
    }
    let number = MOUNTED.with(|mounted| {
        let mounted = mounted.borrow();
        // Some number up to one past the count is always free.
        (1..).find(|n| mounted.iter().all(|m| m.number != *n)).unwrap_or(1)
    });
    let props = WorkbenchProps { config, widget_number: Some(number) };
    let handle = yew::Renderer::<Workbench>::with_root_and_props(element.clone(), props).render();
    let slot: Slot = Rc::new(RefCell::new(Some(handle)));
    MOUNTED.with(|mounted| mounted.borrow_mut().push(Mounted { element, slot: slot.clone(), number }));
    BurrowWidget { slot }
}
