//! End to end: the built app in headless Chromium, driven through WebDriver
//! (chromedriver + fantoccini), against the real broker. It starts `trunk serve`
//! (so `/ws` and `/api` are proxied on the page's origin) and `chromedriver`
//! itself, and stops them at the end. Needs the setup, so it is `#[ignore]`d in a
//! plain `cargo test`; `./burrow test` runs it:
//! `cargo test --test e2e -- --ignored --test-threads=1`.
#![cfg(not(target_arch = "wasm32"))]

mod native;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use native::{wait_for_port, Services};
use fantoccini::{key::Key, Client, ClientBuilder, Locator};

const APP_PORT: u16 = 8090;
const DRIVER_PORT: u16 = 9515;
const WAIT: Duration = Duration::from_secs(15);



fn start_services() -> Services {
    let trunk = Command::new("trunk")
        .args(["serve", "--offline", "--no-autoreload", "--port", &APP_PORT.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("trunk is installed by ./burrow setup");
    let driver = Command::new(std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into()))
        .arg(format!("--port={DRIVER_PORT}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver is installed by ./burrow setup");
    let services = Services(vec![trunk, driver]);
    // The first trunk build may compile the app.
    wait_for_port(APP_PORT, "trunk serve", Duration::from_secs(600));
    wait_for_port(DRIVER_PORT, "chromedriver", Duration::from_secs(30));
    services
}

async fn browser() -> Client {
    let capabilities = serde_json::json!({
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1280,1900"
            ]
        }
    });
    let serde_json::Value::Object(capabilities) = capabilities else { unreachable!("an object literal") };
    ClientBuilder::native()
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{DRIVER_PORT}"))
        .await
        .expect("a WebDriver session in headless Chromium")
}

/// Waits until the text of `css` satisfies `ok`, or fails naming `what`.
async fn wait_text(client: &Client, css: &str, what: &str, ok: impl Fn(&str) -> bool) -> String {
    let start = Instant::now();
    let mut last = String::new();
    loop {
        if let Ok(element) = client.find(Locator::Css(css)).await {
            if let Ok(text) = element.text().await {
                if ok(&text) {
                    return text;
                }
                last = text;
            }
        }
        assert!(start.elapsed() < WAIT, "{what}: `{css}` still reads {last:?} after {WAIT:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The element, once it exists (the app renders after its wasm loads).
async fn element(client: &Client, css: &str) -> fantoccini::elements::Element {
    client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no `{css}` within {WAIT:?}: {e}"))
}

async fn click(client: &Client, css: &str) {
    element(client, css)
        .await
        .click()
        .await
        .unwrap_or_else(|e| panic!("cannot click `{css}`: {e}"));
}

/// Replaces the field's text with `text`. A clear alone is not enough: a
/// re-render between the clear and the typing (the countdown re-renders the app
/// every second) puts the old value back, and "1" typed after it read "11".
async fn type_into(client: &Client, css: &str, text: &str) {
    let element = element(client, css).await;
    let select_all = format!("{}a{}", char::from(Key::Control), char::from(Key::Null));
    let mut value = None;
    for _ in 0..3 {
        element.clear().await.unwrap_or_else(|e| panic!("cannot clear `{css}`: {e}"));
        element.send_keys(&format!("{select_all}{text}")).await.unwrap_or_else(|e| panic!("cannot type into `{css}`: {e}"));
        value = element.prop("value").await.ok().flatten();
        if value.as_deref() == Some(text) {
            return;
        }
    }
    panic!("`{css}` reads {value:?} after typing {text:?} into it");
}

fn fresh(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{prefix}-{nanos}")
}

/// Opens the app and connects with the setup's user.
async fn open_connected(client: &Client) {
    client.goto(&format!("http://127.0.0.1:{APP_PORT}/")).await.expect("the app loads");
    let passcode = std::env::var("BURROW_RABBIT_PASSWORD").unwrap_or_else(|_| "burrow".into());
    let login = std::env::var("BURROW_RABBIT_USER").unwrap_or_else(|_| "burrow".into());
    type_into(client, "section[aria-label='Connection'] input[name='login']", &login).await;
    type_into(client, "section[aria-label='Connection'] input[name='passcode']", &passcode).await;
    click(client, "section[aria-label='Connection'] button[type='submit']").await;
    wait_text(client, "[data-testid='connection-status']", "connect", |t| t.contains("Connected to")).await;
}

async fn declare(client: &Client, queue: &str, durable: bool) -> String {
    type_into(client, "section[aria-label='Queue'] input[name='queue']", queue).await;
    let checkbox = client
        .find(Locator::Css("section[aria-label='Queue'] input[name='durable']"))
        .await
        .expect("durable checkbox");
    if checkbox.is_selected().await.unwrap_or(false) != durable {
        checkbox.click().await.expect("toggle durable");
    }
    // The previous outcome, if any, must be replaced by this declare's.
    let before = match client.find(Locator::Css("[data-testid='declare-result']")).await {
        Ok(element) => element.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    click(client, "section[aria-label='Queue'] button[type='submit']").await;
    wait_text(client, "[data-testid='declare-result']", "declare outcome", |t| !t.is_empty() && t != before).await
}

async fn add_consumer(client: &Client, queue: &str, auto_ack: bool, prefetch: u16) {
    type_into(client, "section[aria-label='Consumers'] input[name='consume-queue']", queue).await;
    let mode = if auto_ack { "auto" } else { "manual" };
    click(client, &format!("section[aria-label='Consumers'] select[name='ack'] option[value='{mode}']")).await;
    type_into(client, "section[aria-label='Consumers'] input[name='prefetch']", &prefetch.to_string()).await;
    click(client, "section[aria-label='Consumers'] button[type='submit']").await;
}

async fn publish(client: &Client, queue: &str, body: &str, count: u32) {
    type_into(client, "section[aria-label='Producer'] input[name='routing-key']", queue).await;
    type_into(client, "section[aria-label='Producer'] textarea[name='body']", body).await;
    type_into(client, "section[aria-label='Producer'] input[name='count']", &count.to_string()).await;
    click(client, "section[aria-label='Producer'] button[type='submit']").await;
}

async fn consumer_text(client: &Client, number: u32, what: &str, ok: impl Fn(&str) -> bool) -> String {
    wait_text(client, &format!("[data-testid='consumer-{number}']"), what, ok).await
}

/// Waits until style.css is applied (its custom properties are set on `.burrow`:
/// the sheet can arrive after the app renders) and the fonts have loaded, so a
/// screenshot shows the page a user sees, not the unstyled markup.
async fn wait_for_styles(client: &Client) {
    let check = r#"
        const app = document.querySelector('.burrow');
        const sheet = [...document.styleSheets].some(s => (s.href || '').endsWith('.css'));
        return !!app && sheet && getComputedStyle(app).getPropertyValue('--fg').trim() !== ''
            && document.fonts.status === 'loaded';"#;
    let start = Instant::now();
    while client.execute(check, vec![]).await.ok() != Some(serde_json::Value::Bool(true)) {
        assert!(start.elapsed() < WAIT, "style.css was not applied within {WAIT:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The chart a user reads: axes labelled (msg/s from 0, two minutes to now) and a
/// legend with each line's current value.
async fn chart_is_labelled(client: &Client) {
    element(client, "[data-testid='rate-chart']").await;
    let script = "return [...document.querySelectorAll(\"[data-testid='rate-chart'] text\")].map(t => t.textContent)";
    let labels = client.execute(script, vec![]).await.expect("the chart's labels");
    let labels: Vec<&str> = labels.as_array().into_iter().flatten().filter_map(|l| l.as_str()).collect();
    for label in ["msg/s", "0", "2 min ago", "now"] {
        assert!(labels.contains(&label), "chart label {label:?} missing from {labels:?}");
    }
    let legend = wait_text(client, "[data-testid='chart-legend']", "the chart's legend", |t| {
        t.contains("publish") && t.contains("deliver") && t.contains("msg/s")
    })
    .await;
    assert!(legend.chars().any(|c| c.is_ascii_digit()), "the legend shows the current values: {legend}");
}

async fn round_robin_and_screenshot(client: &Client) {
    open_connected(client).await;
    let queue = fresh("e2e-work");
    let outcome = declare(client, &queue, false).await;
    assert!(outcome.contains("declared"), "{outcome}");
    add_consumer(client, &queue, true, 0).await;
    add_consumer(client, &queue, true, 0).await;
    for number in [1, 2] {
        consumer_text(client, number, "consumer subscribed", |t| t.contains("consuming")).await;
    }
    publish(client, &queue, "大郎 起来喝药了", 6).await;
    wait_text(client, "[data-testid='publish-counts']", "confirms", |t| t.contains("confirmed 6")).await;
    let first = consumer_text(client, 1, "consumer 1 gets 3", |t| t.contains("received 3,")).await;
    let second = consumer_text(client, 2, "consumer 2 gets 3", |t| t.contains("received 3,")).await;
    // Round-robin: one gets #1 #3 #5, the other #2 #4 #6.
    let odd = ["#1", "#3", "#5"];
    let (odds, evens) = if first.contains("#1") { (&first, &second) } else { (&second, &first) };
    assert!(odd.iter().all(|n| odds.contains(n)), "odd tasks together: {odds}");
    assert!(["#2", "#4", "#6"].iter().all(|n| evens.contains(n)), "even tasks together: {evens}");
    // Let the live figures catch up before the picture.
    wait_text(client, "[data-testid='queue-figures']", "figures show both consumers", |t| {
        t.contains("consumers\n2")
    })
    .await;
    chart_is_labelled(client).await;
    wait_for_styles(client).await;
    let png = client.screenshot().await.expect("screenshot");
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/screenshot.png");
    std::fs::write(path, png).expect("write docs/screenshot.png");
}

async fn crash_and_redelivery(client: &Client) {
    open_connected(client).await;
    let queue = fresh("e2e-ack");
    declare(client, &queue, false).await;
    add_consumer(client, &queue, false, 1).await;
    consumer_text(client, 1, "consumer 1 subscribed", |t| t.contains("consuming")).await;
    publish(client, &queue, "important work", 1).await;
    consumer_text(client, 1, "consumer 1 gets it", |t| t.contains("important work")).await;
    add_consumer(client, &queue, false, 1).await;
    consumer_text(client, 2, "consumer 2 subscribed", |t| t.contains("consuming")).await;
    click(client, "button[aria-label='Crash consumer 1']").await;
    consumer_text(client, 1, "consumer 1 crashed", |t| t.contains("crashed")).await;
    let second = consumer_text(client, 2, "redelivered to consumer 2", |t| t.contains("important work")).await;
    assert!(second.contains("redelivered"), "marked redelivered: {second}");
    click(client, "[data-testid='consumer-2'] li.delivery button").await;
    consumer_text(client, 2, "acked", |t| t.contains("acked")).await;
}

async fn refused_redeclare_in_words(client: &Client) {
    open_connected(client).await;
    let queue = fresh("e2e-durable");
    let first = declare(client, &queue, true).await;
    assert!(first.contains("durable"), "{first}");
    let refused = declare(client, &queue, false).await;
    assert!(refused.contains("PRECONDITION_FAILED"), "the broker's words: {refused}");
    assert!(refused.contains("durable"), "names the argument: {refused}");
    assert!(refused.contains("use a new queue"), "says what to do: {refused}");
}

async fn bodies_are_text_never_html(client: &Client) {
    open_connected(client).await;
    let queue = fresh("e2e-html");
    declare(client, &queue, false).await;
    add_consumer(client, &queue, true, 0).await;
    consumer_text(client, 1, "subscribed", |t| t.contains("consuming")).await;
    let body = "<b>bold</b><img src=x onerror=\"document.title='owned'\">";
    publish(client, &queue, body, 1).await;
    consumer_text(client, 1, "delivery", |t| t.contains("<b>bold</b>")).await;
    let injected = client.find_all(Locator::Css("[data-testid='consumer-1'] .body b, [data-testid='consumer-1'] .body img")).await.expect("query");
    assert!(injected.is_empty(), "the body became HTML elements");
    let title = client.title().await.expect("title");
    assert_ne!(title, "owned");
}

async fn embed_page_with_two_widgets(client: &Client) {
    client.goto(&format!("http://127.0.0.1:{APP_PORT}/examples/embed.html")).await.expect("embed page");
    for widget in ["producer-widget", "consumer-widget"] {
        wait_text(client, &format!("#{widget} [data-testid='connection-status']"), widget, |t| t.contains("Connected to")).await;
    }
    click(client, "#producer-widget section[aria-label='Queue'] button[type='submit']").await;
    wait_text(client, "#producer-widget [data-testid='declare-result']", "widget A declares", |t| t.contains("declared")).await;
    click(client, "#consumer-widget select[name='ack'] option[value='auto']").await;
    click(client, "#consumer-widget section[aria-label='Consumers'] button[type='submit']").await;
    wait_text(client, "#consumer-widget [data-testid='consumer-1']", "widget B consumes", |t| t.contains("consuming")).await;
    let body = fresh("from widget A");
    type_into(client, "#producer-widget textarea[name='body']", &body).await;
    click(client, "#producer-widget section[aria-label='Producer'] button[type='submit']").await;
    wait_text(client, "#consumer-widget [data-testid='consumer-1']", "widget B receives", |t| t.contains(&body)).await;
    // Each widget keeps its own state: A has no consumers, B no producer.
    assert!(client.find_all(Locator::Css("#producer-widget [data-testid='consumer-1']")).await.expect("query").is_empty());
    assert!(client.find_all(Locator::Css("#consumer-widget section[aria-label='Producer']")).await.expect("query").is_empty());
    // The host page keeps its title, URL and its own styles.
    assert_eq!(client.title().await.expect("title"), "Burrow widgets embedded in a page");
    let url = client.current_url().await.expect("url");
    assert_eq!(url.path(), "/examples/embed.html");
    let font = client
        .execute("return getComputedStyle(document.body).fontFamily", vec![])
        .await
        .expect("script");
    assert!(font.as_str().unwrap_or_default().contains("Georgia"), "host font kept: {font}");
}

/// The names of the broker's client connections now, from the management API.
/// The names of the broker's client connections opened at or after `since`
/// (milliseconds since the epoch), from the management API: the app page's
/// connections, which may still be closing when the embed page loads, are older.
fn connection_names(since: u128) -> std::collections::BTreeSet<String> {
    let user = std::env::var("BURROW_RABBIT_USER").unwrap_or_else(|_| "burrow".into());
    let password = std::env::var("BURROW_RABBIT_PASSWORD").unwrap_or_else(|_| "burrow".into());
    let out = Command::new("curl")
        .args([
            "-s",
            "-u",
            &format!("{user}:{password}"),
            "http://127.0.0.1:15672/api/connections?columns=name,connected_at",
        ])
        .output()
        .expect("curl the management API");
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    list.as_array()
        .map(|items| {
            items
                .iter()
                .filter(|c| c["connected_at"].as_u64().is_some_and(|at| u128::from(at) >= since))
                .filter_map(|c| c["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn epoch_ms() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or_default()
}

/// `unmount()` ends a widget's connections, its main one and its consumers'.
async fn unmounted_widgets_leave_no_connection(client: &Client, since: u128) {
    // Two widgets and a consumer card hold connections; the management API lists
    // them within a second or so.
    let started = Instant::now();
    let theirs: Vec<String> = loop {
        let theirs: Vec<String> = connection_names(since).into_iter().collect();
        if theirs.len() >= 3 {
            break theirs;
        }
        assert!(started.elapsed() < WAIT, "the widgets' connections are not listed: {theirs:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    client
        .execute("window.burrowWidgets.forEach(w => w.unmount())", vec![])
        .await
        .expect("unmount both widgets");
    let started = Instant::now();
    loop {
        let now = connection_names(since);
        let left: Vec<&String> = theirs.iter().filter(|name| now.contains(*name)).collect();
        if left.is_empty() {
            break;
        }
        assert!(started.elapsed() < WAIT, "connections still open after unmount(): {left:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Disconnect while the status counts down to the next attempt brings Connect back
/// at once: nothing stays "Reconnecting".
async fn disconnect_during_the_countdown(client: &Client) {
    client.goto(&format!("http://127.0.0.1:{APP_PORT}/")).await.expect("the app loads");
    // Nothing listens there: every attempt fails and a countdown runs.
    type_into(client, "section[aria-label='Connection'] [name='url']", "ws://127.0.0.1:15999/ws").await;
    type_into(client, "section[aria-label='Connection'] input[name='passcode']", "burrow").await;
    click(client, "section[aria-label='Connection'] button[type='submit']").await;
    wait_text(client, "[data-testid='connection-status']", "countdown", |t| t.contains("Reconnecting in")).await;
    click(client, "section[aria-label='Connection'] button.secondary").await;
    let clicked = Instant::now();
    loop {
        let button = client.find(Locator::Css("section[aria-label='Connection'] button[type='submit']")).await;
        if let Ok(button) = button {
            if button.text().await.unwrap_or_default() == "Connect" {
                break;
            }
        }
        assert!(clicked.elapsed() < Duration::from_secs(1), "Connect did not come back within a second");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = wait_text(client, "[data-testid='connection-status']", "closed", |t| t.contains("Closed")).await;
    assert!(!status.contains("Reconnecting"), "{status}");
}

/// A routing key over 255 bytes is refused at publish, in words, every time; the
/// next valid publish is confirmed (and refused records get list keys of their own,
/// which yew's debug build checks).
async fn an_impossible_publish_is_refused_alone(client: &Client) {
    open_connected(client).await;
    let queue = fresh("e2e-long-key");
    declare(client, &queue, false).await;
    let long = "k".repeat(300);
    publish(client, &long, "never sent", 1).await;
    publish(client, &long, "never sent either", 1).await;
    wait_text(client, "[data-testid='publish-counts']", "two refusals", |t| t.contains("failed 2")).await;
    let log = wait_text(client, "section[aria-label='Producer'] ol.log", "the refusal", |t| t.contains("255 bytes")).await;
    assert!(log.contains("failed"), "{log}");
    publish(client, &queue, "this one goes", 1).await;
    wait_text(client, "[data-testid='publish-counts']", "the valid one confirmed", |t| {
        t.contains("confirmed 1") && t.contains("pending 0")
    })
    .await;
}

/// Credentials stay in memory unless "remember" is ticked.
async fn credentials_are_kept_only_when_asked(client: &Client) {
    let stored = |client: &Client| {
        let client = client.clone();
        async move {
            client
                .execute("return localStorage.getItem('burrow.passcode')", vec![])
                .await
                .expect("script")
        }
    };
    open_connected(client).await;
    assert!(stored(client).await.is_null(), "nothing stored without asking");
    click(client, "section[aria-label='Connection'] button.secondary").await;
    wait_text(client, "[data-testid='connection-status']", "disconnected", |t| t.contains("Closed")).await;
    click(client, "section[aria-label='Connection'] input[name='remember']").await;
    type_into(client, "section[aria-label='Connection'] input[name='passcode']", "burrow").await;
    click(client, "section[aria-label='Connection'] button[type='submit']").await;
    wait_text(client, "[data-testid='connection-status']", "connect", |t| t.contains("Connected to")).await;
    assert_eq!(stored(client).await.as_str(), Some("burrow"), "remembered when ticked");
    client.refresh().await.expect("reload");
    let passcode = element(client, "section[aria-label='Connection'] input[name='passcode']").await;
    assert_eq!(passcode.prop("value").await.expect("value").as_deref(), Some("burrow"), "prefilled after a reload");
    client.execute("localStorage.clear()", vec![]).await.expect("clean up");
}

/// Starts the broker again when dropped armed (a panic while it was stopped).
struct BrokerDown(bool);

impl Drop for BrokerDown {
    fn drop(&mut self) {
        if self.0 {
            let _ = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/burrow")).arg("start-broker").status();
        }
    }
}

/// The broker restarts under the app: the status counts down to the next attempt,
/// a message published meanwhile waits in the outbox, and after the reconnect the
/// consumer (subscription restored) gets it.
async fn survives_a_broker_restart(client: &Client) {
    open_connected(client).await;
    let queue = fresh("e2e-restart");
    declare(client, &queue, true).await;
    add_consumer(client, &queue, false, 10).await;
    consumer_text(client, 1, "subscribed", |t| t.contains("consuming")).await;
    let stop = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/burrow"))
        .arg("stop-broker")
        .status()
        .expect("./burrow stop-broker");
    // The broker is shared: if this test fails while it is down, start it again.
    let mut down = BrokerDown(true);
    assert!(stop.success(), "the broker stopped");
    wait_text(client, "[data-testid='connection-status']", "countdown", |t| t.contains("Reconnecting in")).await;
    publish(client, &queue, "sent while the broker was down", 1).await;
    wait_text(client, "[data-testid='outbox']", "waits in the outbox", |t| t.starts_with("outbox: 1 waiting")).await;
    let start = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/burrow"))
        .arg("start-broker")
        .status()
        .expect("./burrow start-broker");
    assert!(start.success(), "the broker started");
    down.0 = false;
    // Backoff may have grown to several seconds while the broker was down.
    let long = Duration::from_secs(60);
    let started = Instant::now();
    loop {
        let text = client.find(Locator::Css("[data-testid='consumer-1']")).await.expect("card").text().await.unwrap_or_default();
        if text.contains("sent while the broker was down") {
            println!("broker restart: the message arrived {:.1} s after the broker was back", started.elapsed().as_secs_f64());
            break;
        }
        assert!(started.elapsed() < long, "the message did not arrive after the restart: {text}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    wait_text(client, "[data-testid='connection-status']", "reconnected", |t| t.contains("Connected to")).await;
    wait_text(client, "[data-testid='outbox']", "outbox empties", |t| t.starts_with("outbox: 0 waiting")).await;
}

#[test]
#[ignore = "needs ./burrow setup (broker, trunk, chromedriver); run by ./burrow test"]
fn the_app_and_the_widget_in_headless_chromium() {
    let _services = start_services();
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    runtime.block_on(async {
        let client = browser().await;
        round_robin_and_screenshot(&client).await;
        crash_and_redelivery(&client).await;
        refused_redeclare_in_words(&client).await;
        bodies_are_text_never_html(&client).await;
        disconnect_during_the_countdown(&client).await;
        an_impossible_publish_is_refused_alone(&client).await;
        // Leave the app page; connections listed now are not the widgets'.
        client.goto("about:blank").await.expect("blank page");
        let before_widgets = epoch_ms();
        embed_page_with_two_widgets(&client).await;
        unmounted_widgets_leave_no_connection(&client, before_widgets).await;
        credentials_are_kept_only_when_asked(&client).await;
        survives_a_broker_restart(&client).await;
        client.close().await.expect("end the WebDriver session");
    });
}
