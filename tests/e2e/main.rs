//! End to end: the built app in headless Chromium, driven through WebDriver
//! (chromedriver + fantoccini), against the real broker. It starts `trunk serve`
//! (so `/ws` and `/api` are proxied on the page's origin) and `chromedriver`
//! itself, and stops them at the end. Needs the setup, so it is `#[ignore]`d in a
//! plain `cargo test`; `./burrow test` runs it:
//! `cargo test --test e2e -- --ignored --test-threads=1`.
//!
//! `BURROW_E2E_ONLY=name,name` runs only the scenarios whose names contain one of
//! them (the names are printed as each starts); `BURROW_E2E_RELEASE=1` serves the
//! release build.
#![cfg(not(target_arch = "wasm32"))]

#[path = "../native/mod.rs"]
mod native;

mod broker;
mod disconnect;
mod exchanges;
mod measure;
mod network;
mod page;
mod producer;
mod proxy;
mod queues;
mod streams;
mod tutorial;
mod tutorial_steps;
mod workbench;

use std::process::{Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder};
use futures_util::FutureExt;
use native::{wait_for_port, Services};

const APP_PORT: u16 = 8090;
const DRIVER_PORT: u16 = 9515;

fn start_services() -> Services {
    // BURROW_E2E_RELEASE=1 serves the release build (for the long-task figures).
    let release = std::env::var("BURROW_E2E_RELEASE").is_ok_and(|v| !v.is_empty() && v != "0");
    // Built first, so that a build that fails stops here: `trunk serve` would go on
    // serving the last build's dist/ and the scenarios would test old code.
    let built = Command::new("trunk")
        .args(["build", "--offline"])
        .args(release.then_some("--release"))
        .output()
        .expect("trunk is installed by ./burrow setup");
    assert!(built.status.success(), "trunk build failed:\n{}", String::from_utf8_lossy(&built.stderr));
    let trunk = Command::new("trunk")
        .args(["serve", "--offline", "--no-autoreload", "--port", &APP_PORT.to_string()])
        .args(release.then_some("--release"))
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
                "--no-first-run", "--window-size=1280,2200"
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

/// Whether the scenario `name` runs (see the module's doc).
fn wanted(name: &str) -> bool {
    let wanted = match std::env::var("BURROW_E2E_ONLY") {
        Ok(only) => only.split(',').map(str::trim).any(|part| !part.is_empty() && name.contains(part)),
        Err(_) => true,
    };
    if wanted {
        println!("e2e: {name}");
    }
    wanted
}

#[test]
#[ignore = "needs ./burrow setup (broker, trunk, chromedriver); run by ./burrow test"]
fn the_app_and_the_widget_in_headless_chromium() {
    let _services = start_services();
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    runtime.block_on(async {
        let client = browser().await;
        // Close the browser even when a scenario fails: a page left open keeps
        // reconnecting to the next run's trunk and its connections skew that run.
        let outcome = std::panic::AssertUnwindSafe(scenarios(&client)).catch_unwind().await;
        let _ = client.close().await;
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    });
}

/// Every scenario that [`wanted`] picks, in order.
async fn scenarios(client: &Client) {
    {
        use workbench::*;
        let client = client.clone();
        if wanted("round_robin") {
            round_robin(&client).await;
        }
        if wanted("crash_and_redelivery") {
            crash_and_redelivery(&client).await;
        }
        if wanted("refused_redeclare_in_words") {
            refused_redeclare_in_words(&client).await;
        }
        if wanted("bodies_are_text_never_html") {
            bodies_are_text_never_html(&client).await;
        }
        if wanted("disconnect_during_the_countdown_stops_for_good") {
            disconnect::disconnect_during_the_countdown_stops_for_good(&client).await;
        }
        if wanted("disconnect_says_what_keeps_running") {
            disconnect::disconnect_says_what_keeps_running_and_stop_all_ends_it(&client).await;
        }
        if wanted("a_silent_network_drop_loses_nothing") {
            network::a_silent_network_drop_loses_nothing(&client).await;
        }
        if wanted("a_card_whose_queue_is_deleted_says_so") {
            disconnect::a_card_whose_queue_is_deleted_says_so(&client).await;
        }
        if wanted("a_crashed_card_marks_its_messages_returned") {
            disconnect::a_crashed_card_marks_its_messages_returned(&client).await;
        }
        if wanted("selecting_an_existing_queue_shows_its_figures") {
            queues::selecting_an_existing_queue_shows_its_figures(&client).await;
        }
        if wanted("a_deleted_queue_declared_again_exists") {
            queues::a_deleted_queue_declared_again_exists(&client).await;
        }
        if wanted("refresh_now_reads_the_list_and_the_figures") {
            queues::refresh_now_reads_the_list_and_the_figures(&client).await;
        }
        if wanted("peek_returns_the_messages_to_the_queue") {
            queues::peek_returns_the_messages_to_the_queue(&client).await;
            measure::axe(&client, "the workbench (queue list, peek, a consumer card)").await;
        }
        if wanted("purge_and_delete_ask_first") {
            queues::purge_and_delete_ask_first(&client).await;
        }
        if wanted("the_list_reads_in_a_narrow_window") {
            queues::the_list_reads_in_a_narrow_window(&client).await;
        }
        if wanted("a_stream_is_peeked_from_an_offset") {
            queues::a_stream_is_peeked_from_an_offset(&client).await;
        }
        if wanted("without_the_management_tag") {
            queues::without_the_management_tag(&client).await;
        }
        if wanted("a_name_with_percent_2f_is_refused_in_words") {
            producer::a_name_with_percent_2f_is_refused_in_words(&client).await;
        }
        if wanted("a_publish_that_routes_nowhere_says_so") {
            producer::a_publish_that_routes_nowhere_says_so(&client).await;
        }
        if wanted("every_property_and_header_arrives") {
            producer::every_property_and_header_arrives(&client).await;
        }
        if wanted("forms_keep_what_was_typed_and_check_numbers") {
            producer::forms_keep_what_was_typed_and_check_numbers(&client).await;
        }
        if wanted("long_names_wrap") {
            producer::long_names_wrap(&client).await;
        }
        if wanted("a_stream_consumer_needs_a_start") {
            streams::a_stream_consumer_needs_a_start_and_replays_under_a_divider(&client).await;
        }
        if wanted("the_tutorial_shows_its_progress_and_resets") {
            tutorial::the_tutorial_shows_its_progress_and_resets(&client).await;
        }
        if wanted("the_six_tutorial_steps_and_screenshot") {
            tutorial_steps::the_six_tutorial_steps_and_screenshot(&client).await;
        }
        if wanted("exchange_subscriptions_and_rpc_calls") {
            exchanges::exchange_subscriptions_and_rpc_calls(&client).await;
        }
        if wanted("an_impossible_publish_is_refused_alone") {
            an_impossible_publish_is_refused_alone(&client).await;
        }
        if wanted("long_tasks_while_a_card_drains") {
            measure::long_tasks_while_a_card_drains(&client).await;
        }
        if wanted("embed_page_with_two_widgets") {
            // Leave the app page; connections listed now are not the widgets'.
            client.goto("about:blank").await.expect("blank page");
            let before_widgets = broker::epoch_ms();
            embed_page_with_two_widgets(&client).await;
            measure::axe(&client, "the embed page's widgets").await;
            unmounted_widgets_leave_no_connection(&client, before_widgets).await;
        }
        if wanted("credentials_are_kept_only_when_asked") {
            credentials_are_kept_only_when_asked(&client).await;
        }
        if wanted("survives_a_broker_restart") {
            survives_a_broker_restart(&client).await;
        }
    }
}
