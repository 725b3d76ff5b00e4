#![allow(dead_code)]
//! Driving the page as a person does: find, click, type, and wait (bounded) for
//! what the page then shows.

use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};

use super::APP_PORT;

/// How long any one expected change on the page may take.
pub const WAIT: Duration = Duration::from_secs(15);

/// The app's address.
pub fn app_url(path: &str) -> String {
    format!("http://127.0.0.1:{APP_PORT}{path}")
}

/// Waits until the text of `css` satisfies `ok`, or fails naming `what`.
pub async fn wait_text(client: &Client, css: &str, what: &str, ok: impl Fn(&str) -> bool) -> String {
    wait_text_for(client, css, what, WAIT, ok).await
}

/// [`wait_text`] with its own limit.
pub async fn wait_text_for(client: &Client, css: &str, what: &str, limit: Duration, ok: impl Fn(&str) -> bool) -> String {
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
        assert!(start.elapsed() < limit, "{what}: `{css}` still reads {last:?} after {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The element, once it exists (the app renders after its wasm loads).
pub async fn element(client: &Client, css: &str) -> fantoccini::elements::Element {
    client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no `{css}` within {WAIT:?}: {e}"))
}

/// Whether `css` matches anything now.
pub async fn exists(client: &Client, css: &str) -> bool {
    client.find_all(Locator::Css(css)).await.map(|found| !found.is_empty()).unwrap_or(false)
}

/// Clicks `css`.
pub async fn click(client: &Client, css: &str) {
    element(client, css)
        .await
        .click()
        .await
        .unwrap_or_else(|e| panic!("cannot click `{css}`: {e}"));
}

/// Replaces what `css` holds with `text`, typed key by key, and checks the field
/// reads it: a typo of the test (a re-render putting the old text back between
/// the clear and the typing, "1" reading "11") fails here, in words, rather than
/// as a message that never arrives.
pub async fn type_into(client: &Client, css: &str, text: &str) {
    let element = element(client, css).await;
    element.clear().await.unwrap_or_else(|e| panic!("cannot clear `{css}`: {e}"));
    element.send_keys(text).await.unwrap_or_else(|e| panic!("cannot type into `{css}`: {e}"));
    let value = element.prop("value").await.ok().flatten();
    assert_eq!(value.as_deref(), Some(text), "`{css}` reads {value:?} after typing {text:?} into it");
}

/// The value an input, select or textarea holds now.
pub async fn value_of(client: &Client, css: &str) -> String {
    element(client, css).await.prop("value").await.ok().flatten().unwrap_or_default()
}

/// Chooses `value` in the select `css`, as a person picks an option.
pub async fn choose(client: &Client, css: &str, value: &str) {
    click(client, &format!("{css} option[value='{value}']")).await;
}

/// Whether the button `css` is enabled (neither `disabled` nor `aria-disabled`,
/// which a button that stays focusable has).
pub async fn enabled(client: &Client, css: &str) -> bool {
    let button = element(client, css).await;
    let aria_disabled = button.attr("aria-disabled").await.ok().flatten().is_some_and(|value| value == "true");
    button.is_enabled().await.unwrap_or(false) && !aria_disabled
}

/// What has the keyboard focus: the element `css` finds, or else its tag and text
/// (`BODY` when the focus fell to the page), to say in a failed assertion.
pub async fn focus_on(client: &Client, css: &str) -> Result<(), String> {
    let script = format!(
        "const a = document.activeElement; return a === document.querySelector({}) ? '' : `${{a && a.tagName}} ${{a && a.textContent.slice(0, 80)}}`;",
        serde_json::Value::from(css)
    );
    match run(client, &script).await.as_str() {
        Some("") => Ok(()),
        other => Err(format!("the focus is on {other:?}, not on {css}")),
    }
}

/// A name no earlier run used.
pub fn fresh(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{prefix}-{nanos}")
}

/// Opens the app and connects as `login`.
pub async fn open_connected_as(client: &Client, login: &str, passcode: &str) {
    client.goto(&app_url("/")).await.expect("the app loads");
    type_into(client, "section[aria-label='Connection'] input[name='login']", login).await;
    type_into(client, "section[aria-label='Connection'] input[name='passcode']", passcode).await;
    click(client, "section[aria-label='Connection'] button[type='submit']").await;
    wait_text(client, "[data-testid='connection-status']", "connect", |t| t.contains("Connected to")).await;
}

/// Opens the app and connects with the setup's user.
pub async fn open_connected(client: &Client) {
    let (login, passcode) = super::broker::setup_user();
    open_connected_as(client, &login, &passcode).await;
}

/// Declares `queue` with the queue form; the outcome in words.
pub async fn declare(client: &Client, queue: &str, durable: bool) -> String {
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

/// Fills the consumer form and adds one.
pub async fn add_consumer(client: &Client, queue: &str, auto_ack: bool, prefetch: u16) {
    type_into(client, "section[aria-label='Consumers'] input[name='consume-queue']", queue).await;
    let mode = if auto_ack { "auto" } else { "manual" };
    choose(client, "section[aria-label='Consumers'] select[name='ack']", mode).await;
    type_into(client, "section[aria-label='Consumers'] input[name='prefetch']", &prefetch.to_string()).await;
    click(client, "section[aria-label='Consumers'] button[type='submit']").await;
}

/// Fills the producer form and publishes.
pub async fn publish(client: &Client, queue: &str, body: &str, count: u32) {
    type_into(client, "section[aria-label='Producer'] input[name='routing-key']", queue).await;
    type_into(client, "section[aria-label='Producer'] textarea[name='body']", body).await;
    type_into(client, "section[aria-label='Producer'] input[name='count']", &count.to_string()).await;
    click(client, "section[aria-label='Producer'] button[type='submit']").await;
}

/// The card of consumer `number`, once its text satisfies `ok`.
pub async fn consumer_text(client: &Client, number: u32, what: &str, ok: impl Fn(&str) -> bool) -> String {
    wait_text(client, &format!("[data-testid='consumer-{number}']"), what, ok).await
}

/// Waits until style.css is applied (its custom properties are set on `.burrow`:
/// the sheet can arrive after the app renders) and the fonts have loaded (a
/// glyph first drawn late, such as a CJK one, loads its font then), so a
/// screenshot shows the page a user sees, not the unstyled markup.
pub async fn wait_for_styles(client: &Client) {
    let check = r#"
        const app = document.querySelector('.burrow');
        const sheet = [...document.styleSheets].some(s => (s.href || '').endsWith('.css'));
        return !!app && sheet && getComputedStyle(app).getPropertyValue('--fg').trim() !== '';"#;
    let start = Instant::now();
    loop {
        // The last answer is kept so a failure says whether the page answered
        // "not yet" or WebDriver could not run the check at all.
        let answer = client.execute(check, vec![]).await;
        if matches!(answer, Ok(serde_json::Value::Bool(true))) {
            break;
        }
        assert!(start.elapsed() < WAIT, "style.css was not applied within {WAIT:?}; the check's last answer: {answer:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let fonts = r#"
        const done = arguments[arguments.length - 1];
        Promise.race([document.fonts.ready.then(() => 'loaded'), new Promise(r => setTimeout(() => r(document.fonts.status), 5000))])
            .then(done);"#;
    let status = client.execute_async(fonts, vec![]).await.unwrap_or(serde_json::Value::Null);
    if status.as_str() != Some("loaded") {
        println!("fonts still {status} after 5 s: the screenshot is taken anyway");
    }
}

/// Runs `script` in the page; its value.
pub async fn run(client: &Client, script: &str) -> serde_json::Value {
    client.execute(script, vec![]).await.unwrap_or_else(|e| panic!("the script failed: {e}\n{script}"))
}

/// Runs an async `script` (its last argument is the callback to call with the result).
pub async fn run_async(client: &Client, script: &str) -> serde_json::Value {
    client.execute_async(script, vec![]).await.unwrap_or_else(|e| panic!("the script failed: {e}\n{script}"))
}
