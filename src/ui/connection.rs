//! The connection form and the status line.

use std::rc::Rc;

use wasm_bindgen_futures::spawn_local;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::client::{CloseReason, ConnectOptions, ConnectionInfo, Event};
use crate::transport::{Connection, TransportError};

/// What the status line shows.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectionStatus {
    /// Nothing tried yet.
    Idle,
    /// WebSocket opening or CONNECT sent.
    Connecting {
        /// Where to.
        url: String,
    },
    /// CONNECTED received.
    Connected {
        /// Where to.
        url: String,
        /// What the broker said in CONNECTED.
        info: ConnectionInfo,
    },
    /// Closed, with the reason in plain words.
    Closed {
        /// Why.
        reason: String,
    },
}

/// Actions on the connection state.
pub enum ConnectionAction {
    /// Started connecting.
    Connecting(String),
    /// Got CONNECTED.
    Connected(String, ConnectionInfo, Rc<Connection>),
    /// Closed or failed.
    Closed(String),
}

/// The connection panel's state: the status and the live connection.
#[derive(Clone, Default)]
pub struct ConnectionState {
    /// What the status line shows.
    pub status: Option<ConnectionStatus>,
    /// The open connection, while connected.
    pub connection: Option<Rc<Connection>>,
}

impl PartialEq for ConnectionState {
    fn eq(&self, other: &Self) -> bool {
        self.status == other.status
    }
}

impl Reducible for ConnectionState {
    type Action = ConnectionAction;

    fn reduce(self: Rc<Self>, action: ConnectionAction) -> Rc<Self> {
        Rc::new(match action {
            ConnectionAction::Connecting(url) => ConnectionState {
                status: Some(ConnectionStatus::Connecting { url }),
                connection: None,
            },
            ConnectionAction::Connected(url, info, connection) => ConnectionState {
                status: Some(ConnectionStatus::Connected { url, info }),
                connection: Some(connection),
            },
            ConnectionAction::Closed(reason) => ConnectionState {
                status: Some(ConnectionStatus::Closed { reason }),
                connection: None,
            },
        })
    }
}

/// Plain words for why a connection ended.
pub fn explain_close(reason: &CloseReason) -> String {
    reason.to_string()
}

fn explain_error(error: &TransportError) -> String {
    match error {
        TransportError::Closed(reason) => explain_close(reason),
        other => other.to_string(),
    }
}

/// Props of [`ConnectionPanel`].
#[derive(Properties, PartialEq)]
pub struct ConnectionPanelProps {
    /// The Web-STOMP URL shown at first.
    pub default_url: String,
}

/// Web-STOMP URL, login, passcode and vhost; connect / disconnect; the status line.
#[function_component(ConnectionPanel)]
pub fn connection_panel(props: &ConnectionPanelProps) -> Html {
    let state = use_reducer(ConnectionState::default);
    let url = use_node_ref();
    let login = use_node_ref();
    let passcode = use_node_ref();
    let vhost = use_node_ref();

    let on_connect = {
        let state = state.clone();
        let (url, login, passcode, vhost) =
            (url.clone(), login.clone(), passcode.clone(), vhost.clone());
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let value = |r: &NodeRef| r.cast::<HtmlInputElement>().map(|i| i.value()).unwrap_or_default();
            let target = value(&url);
            let mut options = ConnectOptions::new(value(&vhost));
            let (user, pass) = (value(&login), value(&passcode));
            options.login = (!user.is_empty()).then_some(user);
            options.passcode = (!pass.is_empty()).then_some(pass);
            state.dispatch(ConnectionAction::Connecting(target.clone()));
            let state = state.clone();
            spawn_local(async move {
                match Connection::open(&target, options).await {
                    Ok(mut connection) => {
                        let info = connection.info().unwrap_or_default();
                        let mut events = connection.take_events();
                        state.dispatch(ConnectionAction::Connected(target, info, Rc::new(connection)));
                        use futures_util::StreamExt;
                        while let Some(event) = events.next().await {
                            if let Event::Closed(reason) = event {
                                state.dispatch(ConnectionAction::Closed(explain_close(&reason)));
                            }
                        }
                    }
                    Err(error) => state.dispatch(ConnectionAction::Closed(explain_error(&error))),
                }
            });
        })
    };

    let on_disconnect = {
        let state = state.clone();
        Callback::from(move |_| {
            if let Some(connection) = state.connection.clone() {
                spawn_local(async move {
                    let _ = connection.disconnect().await;
                });
            }
        })
    };

    let connected = state.connection.is_some();
    let busy = matches!(state.status, Some(ConnectionStatus::Connecting { .. }));
    html! {
        <section class="card" aria-labelledby="burrow-connection-title">
            <h2 id="burrow-connection-title">{ "Connection" }</h2>
            <form class="grid" onsubmit={on_connect}>
                <label>{ "Web-STOMP URL" }
                    <input ref={url} name="url" type="url" value={props.default_url.clone()} required=true />
                </label>
                <label>{ "Login" }
                    <input ref={login} name="login" autocomplete="username" value="burrow" />
                </label>
                <label>{ "Passcode" }
                    <input ref={passcode} name="passcode" type="password" autocomplete="current-password" />
                </label>
                <label>{ "Virtual host" }
                    <input ref={vhost} name="vhost" value="/" />
                </label>
                if connected {
                    <button type="button" class="secondary" onclick={on_disconnect}>{ "Disconnect" }</button>
                } else {
                    <button type="submit" disabled={busy}>{ "Connect" }</button>
                }
            </form>
            <StatusLine status={state.status.clone().unwrap_or(ConnectionStatus::Idle)} />
        </section>
    }
}

/// Props of [`StatusLine`].
#[derive(Properties, PartialEq)]
pub struct StatusLineProps {
    /// What to show.
    pub status: ConnectionStatus,
}

/// The always-visible connection status, announced to screen readers as it changes.
#[function_component(StatusLine)]
pub fn status_line(props: &StatusLineProps) -> Html {
    let (class, text, detail) = match &props.status {
        ConnectionStatus::Idle => ("status", "Not connected".to_owned(), String::new()),
        ConnectionStatus::Connecting { url } => {
            ("status", format!("Connecting to {url}…"), String::new())
        }
        ConnectionStatus::Connected { url, info } => (
            "status connected",
            format!("Connected to {url}"),
            describe_info(info),
        ),
        ConnectionStatus::Closed { reason } => ("status failed", "Closed".to_owned(), reason.clone()),
    };
    html! {
        <p class={class} role="status" aria-live="polite" data-testid="connection-status">
            { text }
            if !detail.is_empty() { <span class="detail">{ detail }</span> }
        </p>
    }
}

fn describe_info(info: &ConnectionInfo) -> String {
    let server = info.server.clone().unwrap_or_else(|| "unknown server".to_owned());
    let (send, receive) = info.heart_beat;
    let beat = |d: std::time::Duration| {
        if d.is_zero() { "off".to_owned() } else { format!("{} ms", d.as_millis()) }
    };
    format!(
        "{server}, STOMP {}, heart-beat: we send {}, broker sends {}",
        info.version,
        beat(send),
        beat(receive)
    )
}
