//! The npm package from JavaScript: `tests/js/flows.js` runs the RabbitMQ
//! tutorial's four flows with nothing but the package `./burrow package` builds,
//! in headless Chromium against the real broker. This test serves the page and the
//! package, opens it through WebDriver and reads the verdict the page writes.
//! Needs `./burrow package` and the broker helper (flow 4 restarts the broker), so
//! it is `#[ignore]`d in a plain `cargo test`; `./burrow test` runs it.
//! `BURROW_WS_URL` and `BURROW_HELPER_URL` (read when it runs) point the page at
//! another broker and its helper: `./burrow test` runs it against RabbitMQ 4.0.5 too.
#![cfg(not(target_arch = "wasm32"))]

mod native;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use native::{wait_for_port, Services};
use fantoccini::{ClientBuilder, Locator};

const PAGE_PORT: u16 = 8096;
const DRIVER_PORT: u16 = 9516;



/// The page's folder: the test's files and the built package under `burrow/`.
fn page_folder() -> std::path::PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let package = root.join("target/package/burrow");
    assert!(package.join("burrow.js").exists(), "build the package first: ./burrow package");
    let folder = root.join("target/js-test");
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(folder.join("burrow")).expect("target/js-test");
    for file in ["index.html", "flows.js"] {
        std::fs::copy(root.join("tests/js").join(file), folder.join(file)).expect("copy the test page");
    }
    copy_tree(&package, &folder.join("burrow"));
    folder
}

/// Copies `from` into `to`, folders too (wasm-bindgen puts inline JavaScript in `snippets/`).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("a folder for the package");
    for entry in std::fs::read_dir(from).expect("the package") {
        let entry = entry.expect("a package file");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy the package");
        }
    }
}

#[test]
#[ignore = "needs ./burrow package, the broker and its helper; run by ./burrow test"]
fn the_four_flows_from_javascript_with_only_the_package() {
    let folder = page_folder();
    let server = Command::new("python3")
        .args(["-m", "http.server", &PAGE_PORT.to_string(), "--bind", "127.0.0.1", "--directory"])
        .arg(&folder)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3's http.server");
    let driver = Command::new(std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into()))
        .arg(format!("--port={DRIVER_PORT}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver is installed by ./burrow setup");
    let _services = Services(vec![server, driver]);
    wait_for_port(PAGE_PORT, "the page server", Duration::from_secs(30));
    wait_for_port(DRIVER_PORT, "chromedriver", Duration::from_secs(30));

    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    runtime.block_on(async {
        let capabilities = serde_json::json!({
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-first-run"]
            }
        });
        let serde_json::Value::Object(capabilities) = capabilities else { unreachable!("an object literal") };
        let client = ClientBuilder::native()
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{DRIVER_PORT}"))
            .await
            .expect("a WebDriver session in headless Chromium");
        let user = std::env::var("BURROW_RABBIT_USER").unwrap_or_else(|_| "burrow".into());
        let password = std::env::var("BURROW_RABBIT_PASSWORD").unwrap_or_else(|_| "burrow".into());
        let mut page = format!("http://127.0.0.1:{PAGE_PORT}/index.html?login={user}&passcode={password}");
        for (variable, parameter) in [("BURROW_WS_URL", "url"), ("BURROW_HELPER_URL", "restarter")] {
            if let Ok(value) = std::env::var(variable) {
                page.push_str(&format!("&{parameter}={value}"));
            }
        }
        client
            .goto(&page)
            .await
            .expect("the test page loads");
        // The flows include a broker restart: allow two minutes.
        let started = Instant::now();
        let verdict = loop {
            let result = client.find(Locator::Id("result")).await.expect("#result");
            if result.attr("data-done").await.ok().flatten().as_deref() == Some("true") {
                break result.text().await.expect("the verdict");
            }
            assert!(started.elapsed() < Duration::from_secs(120), "the flows did not finish in two minutes");
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let log = client.find(Locator::Id("log")).await.expect("#log").text().await.unwrap_or_default();
        println!("{log}");
        client.close().await.expect("end the WebDriver session");
        assert_eq!(verdict, r#"{"ok":true}"#, "the JavaScript flows failed; they got this far:\n{log}");
    });
}
