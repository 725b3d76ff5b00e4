//! The yew user interface (wasm only): function components, state in reducers.

mod connection;

use yew::prelude::*;

pub use connection::{ConnectionPanel, ConnectionStatus};

/// The id of the element the app mounts into (see `index.html`).
pub const APP_ELEMENT_ID: &str = "burrow-app";

/// The Web-STOMP URL on the page's own origin: the Trunk proxy (or any reverse
/// proxy) forwards `/ws` to RabbitMQ, and `wss://` follows an https page.
pub fn default_url() -> String {
    let location = web_sys::window().map(|w| w.location());
    let host = location.as_ref().and_then(|l| l.host().ok()).unwrap_or_default();
    let secure = location.and_then(|l| l.protocol().ok()).is_some_and(|p| p == "https:");
    if host.is_empty() {
        "ws://127.0.0.1:15674/ws".to_owned()
    } else {
        format!("{}://{host}/ws", if secure { "wss" } else { "ws" })
    }
}

/// The whole app.
#[function_component(App)]
pub fn app() -> Html {
    html! {
        <div class="burrow">
            <h1>{ "Burrow" }<span class="tag">{ "RabbitMQ in the browser, over Web-STOMP" }</span></h1>
            <ConnectionPanel default_url={default_url()} />
        </div>
    }
}

/// Mounts the app into `#burrow-app` (or the body when the page has no such element).
pub fn mount_app() {
    let element = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(APP_ELEMENT_ID));
    match element {
        Some(element) => {
            yew::Renderer::<App>::with_root(element).render();
        }
        None => {
            yew::Renderer::<App>::new().render();
        }
    }
}
