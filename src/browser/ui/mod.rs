//! The yew user interface (wasm only): function components, state in one reducer
//! shared by a context. The same [`Workbench`] is the app and the embeddable widget.

mod actions;
mod connection;
mod consumer;
mod guide;
mod log;
mod producer;
mod queue;
mod state;
pub mod widget;

use yew::prelude::*;

pub use connection::{ConnectionPanel, StatusLine};
pub use consumer::{ConsumerCard, ConsumersPanel};
pub use guide::Guide;
pub use log::BoundedLog;
pub use producer::ProducerPanel;
pub use queue::{parse_arguments, rate_scale, QueueFigures, QueuePanel, RateChart, RateChartProps, RateSample};
pub use state::{
    Action, ConnectionStatus, ConsumerSpec, Panels, PublishOutcome, PublishRecord, WorkbenchConfig, PUBLISH_LOG_LIMIT,
    WorkbenchState,
};

/// The id of the element the app mounts into (see `index.html`).
pub const APP_ELEMENT_ID: &str = "burrow-app";

/// The Web-STOMP URL on the page's own origin: the Trunk proxy (or any reverse
/// proxy) forwards `/ws` to RabbitMQ, and `wss://` follows an https page.
pub fn default_url() -> String {
    let location = web_sys::window().map(|w| w.location());
    let host = location.as_ref().and_then(|l| l.host().ok()).unwrap_or_default();
    let protocol = location.and_then(|l| l.protocol().ok()).unwrap_or_default();
    web_stomp_url_for(&protocol, &host)
}

/// The Web-STOMP URL for a page served with `protocol` (`"https:"`…) from `host`:
/// `wss://` for an https page (browsers refuse `ws://` from one), else `ws://`.
pub fn web_stomp_url_for(protocol: &str, host: &str) -> String {
    if host.is_empty() {
        "ws://127.0.0.1:15674/ws".to_owned()
    } else {
        format!("{}://{host}/ws", if protocol == "https:" { "wss" } else { "ws" })
    }
}

impl Default for WorkbenchConfig {
    fn default() -> Self {
        WorkbenchConfig {
            url: default_url(),
            login: "burrow".to_owned(),
            passcode: None,
            vhost: "/".to_owned(),
            queue: "hello".to_owned(),
            panels: Panels::default(),
            auto_connect: false,
            title: None,
        }
    }
}

/// Props of [`Workbench`].
#[derive(Properties, PartialEq)]
pub struct WorkbenchProps {
    /// How it starts.
    pub config: WorkbenchConfig,
}

/// The panels, around one shared state.
#[function_component(Workbench)]
pub fn workbench(props: &WorkbenchProps) -> Html {
    let state = use_reducer(|| WorkbenchState::new(props.config.clone()));
    // The main connection, as of the latest render: stopped when the workbench goes
    // (a widget's unmount()), whatever else still holds it.
    let latest = use_mut_ref(|| None::<std::rc::Rc<crate::reliable::ReliableConnection>>);
    *latest.borrow_mut() = state.reliable.clone();
    {
        let latest = latest.clone();
        use_effect_with((), move |_| {
            move || {
                if let Some(reliable) = latest.borrow_mut().take() {
                    reliable.stop();
                }
            }
        });
    }
    {
        let state = state.clone();
        let config = props.config.clone();
        use_effect_with((), move |_| {
            if let (true, Some(passcode)) = (config.auto_connect, config.passcode.clone()) {
                let options = crate::client::ConnectOptions::new(config.vhost.clone())
                    .with_credentials(config.login.clone(), passcode);
                actions::connect(state, config.url.clone(), options);
            }
        });
    }
    let panels = &props.config.panels;
    html! {
        <ContextProvider<state::Workbench> context={state.clone()}>
            <div class="burrow">
                if let Some(title) = &props.config.title {
                    <h1>{ title.clone() }</h1>
                }
                <StatusLine status={state.status.clone()} urls={state.urls.clone()} />
                <div class="panels">
                    if panels.guide { <Guide /> }
                    if panels.connection { <ConnectionPanel /> }
                    if panels.queue { <QueuePanel /> }
                    if panels.producer { <ProducerPanel /> }
                    if panels.consumers { <ConsumersPanel /> }
                </div>
            </div>
        </ContextProvider<state::Workbench>>
    }
}

/// The whole app: the workbench with every panel.
#[function_component(App)]
pub fn app() -> Html {
    let config = WorkbenchConfig {
        title: Some("Burrow: RabbitMQ in the browser".to_owned()),
        ..WorkbenchConfig::default()
    };
    html! { <Workbench {config} /> }
}

/// Mounts the app into `#burrow-app`. A page without that element (one that
/// embeds widgets instead) is left alone.
pub fn mount_app() {
    let element = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(APP_ELEMENT_ID));
    if let Some(element) = element {
        yew::Renderer::<App>::with_root(element).render();
    }
}
