//! A plain wasm page (no framework) that runs the RabbitMQ tutorial's four flows
//! with the `burrow` library alone (`default-features = false`: no yew, not
//! Burrow's own UI) and shows what each one saw.
//!
//! Build and serve it (the broker from `./burrow setup` must be running):
//!
//! ```sh
//! cargo build --release --example plain_page --target wasm32-unknown-unknown --no-default-features
//! wasm-bindgen --target web --out-dir target/examples/plain_page \
//!     target/wasm32-unknown-unknown/release/examples/plain_page.wasm
//! cp examples/plain_page/index.html target/examples/plain_page/
//! python3 -m http.server 8097 --bind 127.0.0.1 --directory target/examples/plain_page
//! ```
//!
//! then open <http://127.0.0.1:8097/> (`./burrow example plain_page` does all of
//! this). The page's origin must be one the management API allows (CORS), for the
//! refusal in flow 4 to be stated in RabbitMQ's words; `./burrow setup` allows 8097.

#[cfg(target_arch = "wasm32")]
mod flows;

#[cfg(target_arch = "wasm32")]
fn main() {
    wasm_bindgen_futures::spawn_local(page::run());
}

// The example runs in a browser only; natively there is nothing to do.
#[cfg(not(target_arch = "wasm32"))]
fn main() {}

#[cfg(target_arch = "wasm32")]
mod page {
    use burrow::client::ConnectOptions;
    use burrow::reliable::DeclareError;

    use crate::flows::{self, Broker, Error};

    /// Runs the four flows one after the other, each line of the page saying how it went.
    pub async fn run() {
        let broker = Broker {
            url: setting("url").unwrap_or_else(|| "ws://127.0.0.1:15674/ws".to_owned()),
            options: ConnectOptions::new("/").with_credentials(
                setting("login").unwrap_or_else(|| "burrow".to_owned()),
                setting("passcode").unwrap_or_else(|| "burrow".to_owned()),
            ),
        };
        // Fresh names on every load, so a reload never sees an earlier run's messages.
        let run = js_sys::Date::now() as u64;
        let hello = flows::hello_world(&broker, &format!("hello-{run}")).await;
        show("1. Hello World", hello.map(|body| format!("the consumer got {body:?}")));
        let work = flows::work_queues(&broker, &format!("task_queue-{run}")).await;
        show("2. Work queues", work.map(|[a, b]| format!("worker A got {a:?}, worker B got {b:?}")));
        let acks = flows::acknowledgements(&broker, &format!("ack_queue-{run}")).await;
        show(
            "3. Acknowledgements",
            acks.map(|seen| {
                format!(
                    "the crashed worker got {:?} (redelivered: {}); the next worker got it again (redelivered: {})",
                    seen.bodies[0], seen.redelivered[0], seen.redelivered[1]
                )
            }),
        );
        let durable = flows::durability(&broker, &format!("task_queue_durable-{run}")).await;
        show(
            "4. Durability",
            durable.map(|refused| match refused {
                DeclareError::Refused(refusal) => format!("persistent message confirmed; redeclaring refused: {refusal}"),
                other => format!("persistent message confirmed; redeclaring failed: {other}"),
            }),
        );
    }

    /// `?name=value` from the page's URL.
    fn setting(name: &str) -> Option<String> {
        let search = web_sys::window()?.location().search().ok()?;
        let value = search.trim_start_matches('?').split('&').find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))?;
        js_sys::decode_uri_component(value).ok().map(String::from)
    }

    /// Appends one line to the page's list: the flow and what it saw, or why it failed.
    fn show(flow: &str, outcome: Result<String, Error>) {
        let (class, text) = match outcome {
            Ok(seen) => ("ok", format!("{flow}: {seen}")),
            Err(error) => ("failed", format!("{flow} failed: {error}")),
        };
        let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
        let (Some(list), Ok(item)) = (document.get_element_by_id("flows"), document.create_element("li")) else {
            return;
        };
        item.set_class_name(class);
        // Text, never HTML: bodies come from the broker.
        item.set_text_content(Some(&text));
        let _ = list.append_child(&item);
    }
}
