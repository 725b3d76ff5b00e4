//! The connection form and the status line.

use yew::prelude::*;

use crate::client::{ConnectOptions, ConnectionInfo};
use crate::management::default_base_url;
use crate::reliable::parse_urls;

use super::actions;
use super::fields::{on_change, on_input, use_draft};
use super::live::LiveHandles;
use super::state::{Action, ConnectionStatus, Workbench, WorkbenchConfig};

const REMEMBER_LOGIN: &str = "burrow.login";
const REMEMBER_PASSCODE: &str = "burrow.passcode";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

/// Login and passcode saved by "remember", if any.
fn remembered() -> Option<(String, String)> {
    let storage = storage()?;
    let login = storage.get_item(REMEMBER_LOGIN).ok().flatten()?;
    let passcode = storage.get_item(REMEMBER_PASSCODE).ok().flatten()?;
    Some((login, passcode))
}

/// Saves the credentials when the user ticked "remember", and forgets them otherwise.
fn remember(credentials: Option<(&str, &str)>) {
    let Some(storage) = storage() else { return };
    match credentials {
        Some((login, passcode)) => {
            let _ = storage.set_item(REMEMBER_LOGIN, login);
            let _ = storage.set_item(REMEMBER_PASSCODE, passcode);
        }
        None => {
            let _ = storage.remove_item(REMEMBER_LOGIN);
            let _ = storage.remove_item(REMEMBER_PASSCODE);
        }
    }
}

/// "Remember" ticked or unticked: unticked forgets the saved pair at once (it
/// was kept until the next Connect, so a person who unticked it and closed the
/// tab left the passcode in the browser); ticked saves it at the next Connect.
fn forget_unless_ticked(draft: &mut ConnectDraft, ticked: bool) {
    draft.remember = ticked;
    if !ticked {
        remember(None);
    }
}

/// The connection form as typed. Yew writes an input's `value` and `checked` back
/// on every redraw of the panel (any change of the workbench), so what the person
/// typed lives here, changed by each keystroke, or a redraw would put the default
/// URL and login back (after Disconnect, Connect went to the default broker).
#[derive(Clone, PartialEq)]
struct ConnectDraft {
    /// One URL, or a cluster's nodes one per line (or comma-separated).
    urls: String,
    /// RabbitMQ's management API; empty: where the first URL implies.
    management: String,
    login: String,
    passcode: String,
    vhost: String,
    remember: bool,
    /// The host page gave the login and passcode: the pair remembered in this
    /// browser (shared by every widget and the app on the origin) is neither
    /// read nor written unless the user ticks "remember".
    from_host: bool,
    heart_beats: bool,
}

impl ConnectDraft {
    /// What the form shows first: the page's settings, and a login and passcode
    /// as one pair: the host page's when it gives a passcode, else the pair
    /// remembered in this browser if the user asked for that (never one of each:
    /// a widget's host login with a remembered passcode was refused).
    fn first(config: &WorkbenchConfig) -> Self {
        let from_host = config.passcode.is_some();
        let saved = if from_host { None } else { remembered() };
        let (login, passcode) = match (&saved, &config.passcode) {
            (Some((login, passcode)), _) => (login.clone(), passcode.clone()),
            (None, passcode) => (config.login.clone(), passcode.clone().unwrap_or_default()),
        };
        ConnectDraft {
            urls: config.url.clone(),
            management: config.management_url.clone().unwrap_or_default(),
            login,
            passcode,
            vhost: config.vhost.clone(),
            remember: saved.is_some(),
            from_host,
            heart_beats: true,
        }
    }

    /// The management API's address when the field is left empty, for its placeholder.
    fn derived_management(&self) -> String {
        parse_urls(&self.urls).first().and_then(|url| default_base_url(url)).unwrap_or_default()
    }

    /// The URLs typed, the management API's address if one was typed, and the
    /// options they ask for; remembers the credentials when "remember" is ticked,
    /// forgets them otherwise (the host page's are left alone, see `from_host`).
    fn read(&self) -> (String, Option<String>, ConnectOptions) {
        let mut options = ConnectOptions::new(self.vhost.clone());
        if self.remember || !self.from_host {
            remember(self.remember.then_some((self.login.as_str(), self.passcode.as_str())));
        }
        options.login = (!self.login.is_empty()).then(|| self.login.clone());
        options.passcode = (!self.passcode.is_empty()).then(|| self.passcode.clone());
        if !self.heart_beats {
            // The broker then notices a vanished browser only through TCP.
            options.heart_beat.outgoing = std::time::Duration::ZERO;
        }
        let management = Some(self.management.trim().to_owned()).filter(|m| !m.is_empty());
        (self.urls.clone(), management, options)
    }
}

/// Web-STOMP URL, login, passcode and vhost; connect / disconnect. Credentials stay
/// in memory unless the user ticks "remember" (then in this browser's localStorage).
#[function_component(ConnectionPanel)]
pub fn connection_panel() -> Html {
    let workbench = use_context::<Workbench>();
    let region = super::use_region_name("Connection");
    let live = use_context::<LiveHandles>().unwrap_or_default();
    let config = workbench.as_ref().map(|w| w.config.clone()).unwrap_or_default();
    let draft = use_draft(move || ConnectDraft::first(&config));
    let Some(workbench) = workbench else { return html! {} };
    let on_connect = {
        let (workbench, live, draft) = (workbench.clone(), live.clone(), draft.clone());
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let (urls, management, options) = draft.get().read();
            actions::connect(workbench.clone(), live.clone(), urls, management, options);
        })
    };
    let on_disconnect = {
        let (workbench, live) = (workbench.clone(), live.clone());
        Callback::from(move |event: MouseEvent| {
            // This click re-renders the form: the button in its place becomes
            // Connect, a submit button, before the click's default action runs.
            // Cancelling it keeps that action from submitting the form.
            event.prevent_default();
            actions::disconnect(&workbench, &live);
        })
    };
    let main = &workbench.main;
    // From Connect until Disconnect (reconnects included) the button disconnects.
    let running = main.running && !matches!(main.status, ConnectionStatus::Connecting { .. });
    let busy = matches!(main.status, ConnectionStatus::Connecting { .. });
    let d = draft.get();
    let text = |set: fn(&mut ConnectDraft, String)| {
        let draft = draft.clone();
        on_input(move |value| draft.change(|d| set(d, value)))
    };
    let tick = |set: fn(&mut ConnectDraft, bool)| {
        let draft = draft.clone();
        on_change(move |value| draft.change(|d| set(d, value == "true")))
    };
    html! {
        <section class="card" aria-label={region}>
            <h2>{ "Connection" }</h2>
            <form class="grid" onsubmit={on_connect}>
                <label title="Several URLs (a cluster's nodes, one per line or comma-separated): each failure moves to the next">
                    { "Web-STOMP URL (one per node of a cluster)" }
                    <textarea name="url" rows="1" value={d.urls.clone()} oninput={text(|d, v| d.urls = v)} required=true spellcheck="false" />
                </label>
                <label title="Where RabbitMQ's management API is (the queue list, figures, peek, the lessons' exchanges), such as http://127.0.0.1:15673; empty: the address shown, which the Web-STOMP URL implies">
                    { "Management API" }
                    <input name="management" placeholder={d.derived_management()} value={d.management.clone()} oninput={text(|d, v| d.management = v)} spellcheck="false" />
                </label>
                <label>{ "Login" }
                    <input name="login" autocomplete="username" value={d.login.clone()} oninput={text(|d, v| d.login = v)} />
                </label>
                <label>{ "Passcode" }
                    <input name="passcode" type="password" autocomplete="current-password" value={d.passcode.clone()} oninput={text(|d, v| d.passcode = v)} />
                </label>
                <label>{ "Virtual host" }
                    <input name="vhost" value={d.vhost.clone()} oninput={text(|d, v| d.vhost = v)} />
                </label>
                <label class="check">
                    <input type="checkbox" name="remember" checked={d.remember} onchange={tick(forget_unless_ticked)} />
                    { "Remember login and passcode in this browser" }
                </label>
                <label class="check" title="Off: RabbitMQ notices a closed tab only when TCP does, and its unacked messages wait until then">
                    <input type="checkbox" name="heartbeats" checked={d.heart_beats} onchange={tick(|d, v| d.heart_beats = v)} />
                    { "Send heart-beats to the broker" }
                </label>
                // Keyed: the two are different buttons, never one that changes its role.
                if running {
                    <button key="disconnect" type="button" class="secondary" onclick={on_disconnect}>{ "Disconnect" }</button>
                } else {
                    <button key="connect" type="submit" disabled={busy}>{ "Connect" }</button>
                }
            </form>
            <StillRunning />
        </section>
    }
}

/// After Disconnect: what keeps running (each consumer card is its own worker,
/// with its own connection), and a way to stop them all.
#[function_component(StillRunning)]
fn still_running() -> Html {
    let Some(workbench) = use_context::<Workbench>() else { return html! {} };
    let running = workbench.consumers.running();
    if workbench.main.running || running == 0 || !workbench.main.stopped_by_user {
        return html! {};
    }
    let stop_all = Callback::from(move |_: MouseEvent| workbench.dispatch(Action::StopAllConsumers));
    let cards = if running == 1 { "1 consumer card keeps".to_owned() } else { format!("{running} consumer cards keep") };
    html! {
        <div class="outcome warn" role="status" data-testid="still-running">
            <p>{ format!("Disconnected the main connection. {cards} consuming on their own connections: each is a separate worker, as the tutorial's consumers are separate processes.") }</p>
            <button key="stop-all" type="button" class="danger" onclick={stop_all}>{ "Stop all consumers" }</button>
        </div>
    }
}

/// Props of [`StatusLine`].
#[derive(Properties, PartialEq)]
pub struct StatusLineProps {
    /// What to show.
    pub status: ConnectionStatus,
    /// The URLs connected to (several for a cluster): then the line says which node.
    #[prop_or_default]
    pub urls: Vec<String>,
}

/// "node 2 of 3" for `url` among several `urls`; nothing for one.
fn which_node(url: &str, urls: &[String]) -> String {
    match urls.iter().position(|u| u == url) {
        Some(i) if urls.len() > 1 => format!(" (node {} of {})", i + 1, urls.len()),
        _ => String::new(),
    }
}

/// The always-visible connection status, announced to screen readers as it changes.
/// While reconnecting it counts down to the next attempt.
#[function_component(StatusLine)]
pub fn status_line(props: &StatusLineProps) -> Html {
    let update = use_force_update();
    let counting = matches!(props.status, ConnectionStatus::Reconnecting { .. });
    use_effect_with(counting, move |counting| {
        let ticker = counting.then(|| gloo_timers::callback::Interval::new(250, move || update.force_update()));
        move || drop(ticker)
    });
    let (class, text, detail) = match &props.status {
        ConnectionStatus::Reconnecting { reason, attempt, retry_at, next_url, was_connected } => {
            let left = ((retry_at - super::actions::page_now_ms()) / 1000.0).max(0.0).ceil();
            let to = if props.urls.len() > 1 {
                format!(" to {next_url}{}", which_node(next_url, &props.urls))
            } else {
                String::new()
            };
            (
                "status failed",
                format!(
                    "{}. Reconnecting in {left:.0} s{to} (attempt {attempt})…",
                    if *was_connected { "Connection lost" } else { "Could not connect" }
                ),
                reason.clone(),
            )
        }
        ConnectionStatus::Idle => ("status", "Not connected".to_owned(), String::new()),
        ConnectionStatus::Connecting { url } => {
            ("status", format!("Connecting to {url}{}…", which_node(url, &props.urls)), String::new())
        }
        ConnectionStatus::Connected { url, info } => {
            ("status connected", format!("Connected to {url}{}", which_node(url, &props.urls)), describe_info(info))
        }
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
    let (send, receive) = (info.heart_beat.outgoing, info.heart_beat.incoming);
    let beat = |d: std::time::Duration| {
        if d.is_zero() {
            "off".to_owned()
        } else {
            format!("{} ms", d.as_millis())
        }
    };
    format!("{server}, STOMP {}, heart-beat: we send {}, broker sends {}", info.version, beat(send), beat(receive))
}
