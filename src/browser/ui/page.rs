//! What the workbench says and asks on its page beside the panels: the main
//! connection's warnings under the status line, and a question before the page
//! is left while publishes wait in the outbox.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use yew::prelude::*;

/// Props of [`ConnectionWarnings`].
#[derive(Properties, PartialEq)]
pub struct ConnectionWarningsProps {
    /// The latest warnings, oldest first, each with how many times it came in a row.
    pub warnings: Vec<(String, u32)>,
    /// The user read them: Dismiss clears the list (a late RPC reply's warning
    /// would otherwise stay on the page for good).
    pub on_dismiss: Callback<()>,
}

/// The main connection's latest warnings, under the status line (shown with every
/// set of panels): a heart-beat worker a Content-Security-Policy refused leaves the
/// connection on the page's timers, which a background tab throttles, and the
/// user is told (QA: the widget showed nothing).
#[function_component(ConnectionWarnings)]
pub fn connection_warnings(props: &ConnectionWarningsProps) -> Html {
    if props.warnings.is_empty() {
        return html! {};
    }
    html! {
        <ul class="warnings" aria-label="Connection warnings" aria-live="polite" data-testid="connection-warnings">
            { for props.warnings.iter().map(|(words, times)| html! {
                <li>{ format!("Warning: {words}") }{ if *times > 1 { format!(" (×{times})") } else { String::new() } }</li>
            }) }
            <li><button type="button" onclick={props.on_dismiss.reform(|_| ())}>{ "Dismiss" }</button></li>
        </ul>
    }
}

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
