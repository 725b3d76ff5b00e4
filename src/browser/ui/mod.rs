//! The yew user interface (wasm only): function components that draw, hooks
//! ([`hooks`]) that run connections and poll the management API, state in one
//! reducer of plain data shared by a context, and the live handles (the main
//! connection) in another. The same [`Workbench`] is the app and the embeddable widget.

mod actions;
mod chart;
mod connection;
mod consumer;
mod fields;
mod guide;
pub mod hooks;
mod live;
mod log;
mod page;
mod peek;
mod producer;
mod producer_draft;
mod properties;
mod publish;
mod queue;
mod queue_tools;
mod queues;
mod regions;
mod rpc;
mod state;
pub mod widget;

use yew::prelude::*;

pub use chart::{rate_scale, RateChart, RateChartProps, RateSample};
pub use connection::{ConnectionPanel, StatusLine};
pub use consumer::{
    status_words, Arrivals, CardAction, CardEntry, CardState, CardStatus, ConsumerCard, ConsumersPanel, QueueLife, Settlement,
    Shown, Unless, DEFAULT_DELIVERY_LIMIT, DELIVERY_LOG_LIMIT,
};
pub use fields::whole_number;
pub use guide::{lesson_step_enabled, progress_lines, Guide, Lesson, LessonAction, ProgressLine, LESSONS};
pub use live::LiveHandles;
pub use log::BoundedLog;
pub use page::{use_leave_guard, ConnectionWarnings};
pub use producer::ProducerPanel;
pub use properties::property_rows;
pub use publish::{Numbering, PublishRequest, COPY_HEADER};
pub use queue::{parse_arguments, QueueFigures, QueuePanel};
pub use queue_tools::{purge_question, QueueTool};
pub use queues::QueuesPanel;
pub use regions::{use_region_name, RegionNames};
pub use state::{
    Action, CardPhase, ConnectionSettings, ConnectionStatus, ConsumerProgress, ConsumerSource, ConsumerSpec, Consumers,
    DeclareResult, Destination, GuideProgress, LessonProgress, MainConnection, NewConsumer, Panels, PublishCounts,
    PublishOutcome, PublishRecord, Publishing, ResetOutcome, WorkbenchConfig, WorkbenchState, DEFAULT_REFRESH_MS,
    PUBLISH_LOG_LIMIT, WARNINGS_KEPT,
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
            management_url: None,
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
    /// Its number among the widgets on its page (`None`: the app); its regions'
    /// names say it from the second on (see [`RegionNames`]).
    #[prop_or_default]
    pub widget_number: Option<u32>,
}

/// The panels, around one shared state (plain data) and the live handles (the
/// main connection), each in its own context.
#[function_component(Workbench)]
pub fn workbench(props: &WorkbenchProps) -> Html {
    let state = use_reducer_eq(|| WorkbenchState::new(props.config.clone()));
    let live = use_memo((), |_| LiveHandles::default());
    {
        // The main connection stops when the workbench goes (a widget's unmount()).
        let live = (*live).clone();
        use_effect_with((), move |_| move || live.drop_main());
    }
    {
        let (state, live) = (state.clone(), (*live).clone());
        let config = props.config.clone();
        use_effect_with((), move |_| {
            if let (true, Some(passcode)) = (config.auto_connect, config.passcode.clone()) {
                let options = crate::client::ConnectOptions::new(config.vhost.clone())
                    .with_credentials(config.login.clone(), passcode);
                actions::connect(state, live, config.url.clone(), config.management_url.clone(), options);
            }
        });
    }
    // Publishes waiting for a confirm are lost with the page.
    use_leave_guard(state.main.outbox.messages > 0);
    let panels = &props.config.panels;
    let regions = RegionNames { number: props.widget_number };
    html! {
        <ContextProvider<LiveHandles> context={(*live).clone()}>
        <ContextProvider<RegionNames> context={regions}>
        <ContextProvider<state::Workbench> context={state.clone()}>
            <div class="burrow">
                if let Some(title) = &props.config.title {
                    <h1>{ title.clone() }</h1>
                }
                <StatusLine status={state.main.status.clone()} urls={state.main.urls.clone()} />
                <ConnectionWarnings
                    warnings={state.main.warnings.clone()}
                    on_dismiss={{ let state = state.clone(); Callback::from(move |()| state.dispatch(state::Action::DismissWarnings)) }}
                />
                <div class="panels">
                    if panels.guide { <Guide /> }
                    if panels.connection { <ConnectionPanel /> }
                    if panels.queue { <QueuePanel /> }
                    if panels.queues { <QueuesPanel /> }
                    if panels.producer { <ProducerPanel /> }
                    if panels.producer { <rpc::RpcPanel /> }
                    if panels.consumers { <ConsumersPanel /> }
                </div>
            </div>
        </ContextProvider<state::Workbench>>
        </ContextProvider<RegionNames>>
        </ContextProvider<LiveHandles>>
    }
}

/// The whole app: the workbench with every panel.
#[function_component(App)]
pub fn app() -> Html {
    let config = WorkbenchConfig {
        title: Some("Burrow: RabbitMQ in the browser".to_owned()),
        ..WorkbenchConfig::default()
    };
    // The page's main landmark (a widget lives in its host page's).
    html! { <main><Workbench {config} /></main> }
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
