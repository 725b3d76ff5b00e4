//! A minimal yew app on the `burrow` library alone (`default-features = false`:
//! Burrow's own UI is not compiled in; yew is this example's own dependency). A
//! button per flow of the RabbitMQ tutorial runs it against the broker and shows
//! what it saw; the flows are the plain page's (`examples/plain_page/flows.rs`).
//!
//! Build and serve it (the broker from `./burrow setup` must be running):
//!
//! ```sh
//! cargo build --release --example yew_app --target wasm32-unknown-unknown --no-default-features
//! wasm-bindgen --target web --out-dir target/examples/yew_app \
//!     target/wasm32-unknown-unknown/release/examples/yew_app.wasm
//! cp examples/yew_app/index.html target/examples/yew_app/
//! python3 -m http.server 8097 --bind 127.0.0.1 --directory target/examples/yew_app
//! ```
//!
//! then open <http://127.0.0.1:8097/> (`./burrow example yew_app` does all of this).

#[cfg(target_arch = "wasm32")]
#[path = "../plain_page/flows.rs"]
mod flows;

#[cfg(target_arch = "wasm32")]
fn main() {
    yew::Renderer::<app::App>::new().render();
}

// The example runs in a browser only; natively there is nothing to do.
#[cfg(not(target_arch = "wasm32"))]
fn main() {}

#[cfg(target_arch = "wasm32")]
mod app {
    use std::rc::Rc;

    use burrow::client::ConnectOptions;
    use burrow::reliable::DeclareError;
    use wasm_bindgen_futures::spawn_local;
    use yew::prelude::*;

    use crate::flows::{self, Broker};

    const FLOWS: [&str; 4] = ["1. Hello World", "2. Work queues", "3. Acknowledgements", "4. Durability"];

    /// Where each flow is.
    #[derive(Clone, PartialEq)]
    enum Status {
        Idle,
        Running,
        Done(String),
        Failed(String),
    }

    /// The state: one status per flow.
    #[derive(Clone, PartialEq)]
    struct Flows([Status; 4]);

    impl Reducible for Flows {
        /// Flow `n` is now at this status.
        type Action = (usize, Status);

        fn reduce(self: Rc<Self>, (n, status): Self::Action) -> Rc<Self> {
            let mut next = (*self).clone();
            if let Some(slot) = next.0.get_mut(n) {
                *slot = status;
            }
            Rc::new(next)
        }
    }

    /// Runs flow `n` and says what it saw.
    async fn run(n: usize) -> Status {
        let broker = Broker {
            url: "ws://127.0.0.1:15674/ws".to_owned(),
            options: ConnectOptions::new("/").with_credentials("burrow", "burrow"),
        };
        // A fresh queue per run, so a second click never sees the first one's messages.
        let queue = |name: &str| format!("{name}-{}", js_sys::Date::now() as u64);
        let outcome = match n {
            0 => flows::hello_world(&broker, &queue("hello")).await.map(|body| format!("got {body:?}")),
            1 => flows::work_queues(&broker, &queue("task_queue"))
                .await
                .map(|[a, b]| format!("worker A got {a:?}, worker B got {b:?}")),
            2 => flows::acknowledgements(&broker, &queue("ack_queue")).await.map(|seen| {
                format!("delivered again after the crash, redelivered: {}", seen.redelivered[1])
            }),
            _ => flows::durability(&broker, &queue("task_queue_durable")).await.map(|refused| match refused {
                DeclareError::Refused(refusal) => format!("redeclaring refused: {refusal}"),
                other => format!("redeclaring failed: {other}"),
            }),
        };
        match outcome {
            Ok(seen) => Status::Done(seen),
            Err(error) => Status::Failed(error.to_string()),
        }
    }

    #[function_component(App)]
    pub fn app() -> Html {
        let flows = use_reducer(|| Flows([Status::Idle, Status::Idle, Status::Idle, Status::Idle]));
        let start = |n: usize| {
            let flows = flows.clone();
            Callback::from(move |_: MouseEvent| {
                let flows = flows.clone();
                flows.dispatch((n, Status::Running));
                spawn_local(async move { flows.dispatch((n, run(n).await)) });
            })
        };
        html! {
            <main>
                <h1>{ "The RabbitMQ tutorial, from a yew app" }</h1>
                <ol>
                    { for FLOWS.iter().enumerate().map(|(n, name)| {
                        // Text, never HTML: what the broker sent is shown as it is.
                        let (class, words) = match &flows.0[n] {
                            Status::Idle => ("idle", String::new()),
                            Status::Running => ("running", "running…".to_owned()),
                            Status::Done(seen) => ("ok", seen.clone()),
                            Status::Failed(why) => ("failed", why.clone()),
                        };
                        html! {
                            <li class={class}>
                                <button onclick={start(n)} disabled={flows.0[n] == Status::Running}>{ *name }</button>
                                { " " }<span>{ words }</span>
                            </li>
                        }
                    }) }
                </ol>
            </main>
        }
    }
}
