//! What the workbench asks of its page beside the panels: a question before the
//! page is left while publishes wait in the outbox.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use yew::prelude::*;

/// While `active`, leaving the page (reload, close, another URL) asks first: the
/// browser shows its own words. Publishes in the outbox live in this page's
/// memory only (QA: a reload dropped 9,865 of them without a question).
#[hook]
pub fn use_leave_guard(active: bool) {
    use_effect_with(active, |active| {
        let guard = active.then(LeaveGuard::install).flatten();
        move || drop(guard)
    });
}

/// A `beforeunload` listener on the window, removed when dropped.
struct LeaveGuard {
    listener: Closure<dyn Fn(web_sys::Event)>,
}

impl LeaveGuard {
    fn install() -> Option<Self> {
        let listener = Closure::<dyn Fn(web_sys::Event)>::new(|event: web_sys::Event| {
            event.prevent_default();
            // Browsers before the standard's preventDefault() ask on a non-empty
            // returnValue; none shows its words any more.
            let _ = js_sys::Reflect::set(&event, &"returnValue".into(), &"Publishes are waiting in the outbox.".into());
        });
        let window = web_sys::window()?;
        window.add_event_listener_with_callback("beforeunload", listener.as_ref().unchecked_ref()).ok()?;
        Some(LeaveGuard { listener })
    }
}

impl Drop for LeaveGuard {
    fn drop(&mut self) {
        if let Some(window) = web_sys::window() {
            let _ = window.remove_event_listener_with_callback("beforeunload", self.listener.as_ref().unchecked_ref());
        }
    }
}
