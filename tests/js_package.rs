//! The npm package from JavaScript, with nothing but what `./burrow package`
//! builds (`target/package/`: the folder and the tarball `npm pack` made of it):
//!
//! - its contract (`tests/js/contract.html`, the package unbundled through an
//!   import map) in headless Chromium with `--js-flags=--expose-gc`, against the
//!   real broker: lifetimes, close(), listeners, bodies, properties, the async
//!   iterator, wrong arguments;
//! - the tutorial's four flows (`tests/js/flows.js`) as an app would ship them:
//!   the tarball installed with npm, bundled with esbuild, run in the browser
//!   (flow 4 restarts the broker through `tests/support/broker_restarter.py`);
//! - RPC (`tests/js/rpc.js`, bundled with esbuild): calls, replies, timeouts,
//!   token renewals, pika's tutorial programs, and tutorial 6's server across a
//!   broker restart (its non-durable queue declared again);
//! - publish/subscribe, routing and topics (`tests/js/pubsub.html`): exchange
//!   subscriptions across a reconnect, exchanges and bindings with their
//!   refusals, pika's tutorial programs on the other side, and an exclusive
//!   queue's consumer through a network drop (the restarter's proxy cuts it);
//! - the npm README's widget example for bundlers, taken from the README, bundled
//!   with esbuild and run: it connects and shows its panels;
//! - its types: a sample using every public call compiles with `tsc --strict`;
//! - its shape: no yew in the main entry, the widget in its own.
//!
//! They need the package, the Node tooling (bench/node_modules) and the broker,
//! so they are `#[ignore]`d in a plain `cargo test`; `./burrow test` runs them.
//! `BURROW_WS_URL`, `BURROW_HELPER_URL` and `BURROW_PROXY_URL` (read when it
//! runs) point the pages at another broker, its helper and its proxy: `./burrow test` runs them against RabbitMQ 4.0.5 too.
#![cfg(not(target_arch = "wasm32"))]

mod native;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use fantoccini::{ClientBuilder, Locator};
use native::{wait_for_port, Services};

/// One browser page at a time: the flows restart the broker under the others.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn package() -> PathBuf {
    let package = root().join("target/package/burrow");
    assert!(package.join("index.js").exists(), "build the package first: ./burrow package");
    package
}

fn tarball() -> PathBuf {
    let found = std::fs::read_dir(root().join("target/package"))
        .expect("target/package")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| path.extension().is_some_and(|e| e == "tgz"));
    found.expect("the tarball npm pack makes: ./burrow package")
}

fn node_tool(name: &str) -> PathBuf {
    let tool = root().join("bench/node_modules/.bin").join(name);
    assert!(tool.exists(), "{name} is installed by ./burrow package (bench/package-lock.json): {}", tool.display());
    tool
}

/// Copies `from` into `to`, folders too.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("a folder");
    for entry in std::fs::read_dir(from).expect("a folder to copy") {
        let entry = entry.expect("a file");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy a file");
        }
    }
}

/// A fresh folder under target/js-test.
fn fresh_folder(name: &str) -> PathBuf {
    let folder = root().join("target/js-test").join(name);
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).expect("target/js-test");
    folder
}

fn copy_test_files(folder: &Path, files: &[&str]) {
    for file in files {
        std::fs::copy(root().join("tests/js").join(file), folder.join(file)).expect("copy a test file");
    }
}

/// Runs `command`, failing the test with its output unless it succeeds.
fn run(command: &mut Command, what: &str) -> String {
    let output = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{what} failed:\n{text}");
    text
}

/// An app folder with the tarball installed by npm, as `npm install burrow-rabbitmq` would.
fn app_with_package(name: &str) -> PathBuf {
    let app = fresh_folder(name);
    std::fs::write(app.join("package.json"), r#"{ "name": "burrow-test-app", "private": true, "type": "module" }"#)
        .expect("package.json");
    run(
        Command::new("npm")
            .args(["install", "--offline", "--no-audit", "--no-fund", "--loglevel=error"])
            .arg(tarball())
            .current_dir(&app),
        "npm install of the tarball",
    );
    assert!(app.join("node_modules/burrow-rabbitmq/package.json").exists(), "npm installed the package");
    app
}

/// Serves `folder` on `port`, opens `page` in headless Chromium and returns the
/// verdict the page writes into #result (and its #log), within `limit`.
fn open_page(folder: &Path, port: u16, driver_port: u16, page: &str, limit: Duration) -> (String, String) {
    let server = Command::new("python3")
        .args(["-m", "http.server", &port.to_string(), "--bind", "127.0.0.1", "--directory"])
        .arg(folder)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3's http.server");
    let driver = Command::new(std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into()))
        .arg(format!("--port={driver_port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver is installed by ./burrow setup");
    let _services = Services(vec![server, driver]);
    wait_for_port(port, "the page server", Duration::from_secs(30));
    wait_for_port(driver_port, "chromedriver", Duration::from_secs(30));
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    runtime.block_on(async {
        let capabilities = serde_json::json!({
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-first-run", "--js-flags=--expose-gc"]
            }
        });
        let serde_json::Value::Object(capabilities) = capabilities else { unreachable!("an object literal") };
        let client = ClientBuilder::native()
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{driver_port}"))
            .await
            .expect("a WebDriver session in headless Chromium");
        let user = std::env::var("BURROW_RABBIT_USER").unwrap_or_else(|_| "burrow".into());
        let password = std::env::var("BURROW_RABBIT_PASSWORD").unwrap_or_else(|_| "burrow".into());
        let separator = if page.contains('?') { '&' } else { '?' };
        let mut address = format!("http://127.0.0.1:{port}/{page}{separator}login={user}&passcode={password}");
        for (variable, parameter) in [
            ("BURROW_WS_URL", "url"),
            ("BURROW_HELPER_URL", "restarter"),
            ("BURROW_MANAGEMENT_URL", "management"),
            ("BURROW_PIKA_URL", "pika"),
            ("BURROW_PROXY_URL", "proxy"),
        ] {
            if let Ok(value) = std::env::var(variable) {
                address.push_str(&format!("&{parameter}={value}"));
            }
        }
        client
            .goto(&address)
            .await
            .expect("the test page loads");
        let started = Instant::now();
        let verdict = loop {
            let result = client.find(Locator::Id("result")).await.expect("#result");
            if result.attr("data-done").await.ok().flatten().as_deref() == Some("true") {
                break result.text().await.expect("the verdict");
            }
            if started.elapsed() > limit {
                break format!("the page did not finish within {limit:?}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let log = client.find(Locator::Id("log")).await.expect("#log").text().await.unwrap_or_default();
        client.close().await.expect("end the WebDriver session");
        (verdict, log)
    })
}

/// `page`, with `?only=…` from `BURROW_JS_ONLY` (some checks or flows, by name).
fn with_only(page: &str) -> String {
    match std::env::var("BURROW_JS_ONLY") {
        Ok(only) => format!("{page}?only={only}"),
        Err(_) => page.to_owned(),
    }
}

#[test]
#[ignore = "needs ./burrow package and the broker; run by ./burrow test"]
fn the_package_contract_from_javascript() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let folder = fresh_folder("contract");
    copy_test_files(&folder, &["contract.html", "contract.js", "contract_messages.js", "contract_arguments.js", "contract_widget.js", "helpers.js"]);
    copy_tree(&package(), &folder.join("burrow"));
    let (verdict, log) = open_page(&folder, 8103, 9517, &with_only("contract.html"), Duration::from_secs(300));
    println!("{log}");
    assert!(verdict.starts_with(r#"{"ok":true"#), "the package's contract failed: {verdict}\n{log}");
}

#[test]
#[ignore = "needs ./burrow package, the broker and its helper; run by ./burrow test"]
fn the_four_flows_bundled_with_esbuild() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let app = app_with_package("app");
    std::fs::create_dir_all(app.join("src")).expect("src");
    for file in ["flows.js", "helpers.js"] {
        std::fs::copy(root().join("tests/js").join(file), app.join("src").join(file)).expect("copy the app");
    }
    let dist = app.join("dist");
    run(
        Command::new(node_tool("esbuild"))
            .args(["src/flows.js", "--bundle", "--format=esm", "--minify", "--outdir=dist", "--loader:.wasm=file"])
            .current_dir(&app),
        "esbuild",
    );
    std::fs::copy(root().join("tests/js/index.html"), dist.join("index.html")).expect("the page");
    let bundle = std::fs::read_to_string(dist.join("flows.js")).expect("the bundle");
    assert!(!bundle.contains("createElement"), "the main entry's bundle has no DOM building (no yew)");
    println!("bundled app: {} B of JavaScript", bundle.len());
    let (verdict, log) = open_page(&dist, 8096, 9516, &with_only("index.html"), Duration::from_secs(180));
    println!("{log}");
    assert!(verdict.starts_with(r#"{"ok":true"#), "the bundled app's flows failed: {verdict}\n{log}");
}

#[test]
#[ignore = "needs ./burrow package, the broker and tests/support/pika_helper.py; run by ./burrow test"]
fn publish_subscribe_routing_and_topics_from_javascript() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let folder = fresh_folder("pubsub");
    copy_test_files(&folder, &["pubsub.html", "pubsub.js", "helpers.js"]);
    copy_tree(&package(), &folder.join("burrow"));
    let (verdict, log) = open_page(&folder, 8101, 9518, &with_only("pubsub.html"), Duration::from_secs(240));
    println!("{log}");
    assert!(verdict.starts_with(r#"{"ok":true"#), "publish/subscribe from JavaScript failed: {verdict}\n{log}");
}

#[test]
#[ignore = "needs ./burrow package, the broker, tests/support/pika_helper.py and broker_restarter.py; run by ./burrow test"]
fn the_rpc_flows_bundled_with_esbuild() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let app = app_with_package("rpc");
    std::fs::create_dir_all(app.join("src")).expect("src");
    for file in ["rpc.js", "helpers.js"] {
        std::fs::copy(root().join("tests/js").join(file), app.join("src").join(file)).expect("copy the app");
    }
    let dist = app.join("dist");
    run(
        Command::new(node_tool("esbuild"))
            .args(["src/rpc.js", "--bundle", "--format=esm", "--minify", "--outdir=dist", "--loader:.wasm=file"])
            .current_dir(&app),
        "esbuild",
    );
    std::fs::copy(root().join("tests/js/rpc.html"), dist.join("rpc.html")).expect("the page");
    // 8102: a test page port the broker's and pika_helper.py's CORS allow.
    let (verdict, log) = open_page(&dist, 8102, 9522, &with_only("rpc.html"), Duration::from_secs(240));
    println!("{log}");
    assert!(verdict.starts_with(r#"{"ok":true"#), "the RPC flows failed: {verdict}\n{log}");
}

#[test]
#[ignore = "needs ./burrow package (and its Node tooling); run by ./burrow test"]
fn the_types_check_with_tsc_strict() {
    let app = app_with_package("types");
    for file in ["sample.ts", "wasm.d.ts", "tsconfig.json"] {
        std::fs::copy(root().join("tests/js/types").join(file), app.join(file)).expect("copy the sample");
    }
    run(Command::new(node_tool("tsc")).args(["-p", "tsconfig.json"]).current_dir(&app), "tsc --strict --noEmit");
    for types in ["index.d.ts", "errors.d.ts", "widget.d.ts"] {
        let text = std::fs::read_to_string(app.join("node_modules/burrow-rabbitmq").join(types)).expect("the types");
        let code = without_comments(&text);
        let any: Vec<&str> =
            code.lines().filter(|line| line.split(|c: char| !c.is_alphanumeric()).any(|word| word == "any")).collect();
        assert!(any.is_empty(), "{types} has `any` in its public API: {any:?}");
    }
}

/// TypeScript without its `/* */` and `//` comments (the types have no such text in strings).
fn without_comments(text: &str) -> String {
    let mut code = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("/*") {
        code.push_str(&rest[..start]);
        rest = rest[start..].find("*/").map_or("", |end| &rest[start + end + 2..]);
    }
    code.push_str(rest);
    code.lines().map(|line| line.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

#[test]
#[ignore = "needs ./burrow package; run by ./burrow test"]
fn the_main_entry_has_no_yew_and_the_widget_its_own_wasm() {
    let package = package();
    let wasm = std::fs::read(package.join("burrow_bg.wasm")).expect("the main wasm");
    let widget = std::fs::read(package.join("widget/burrow_widget_bg.wasm")).expect("the widget's wasm");
    let has = |bytes: &[u8], word: &[u8]| bytes.windows(word.len()).any(|w| w == word);
    // Yew's source paths (panic locations) are in any wasm that has yew in it.
    assert!(has(&widget, b"yew-0."), "the widget's wasm has yew: the check below can see it");
    assert!(!has(&wasm, b"yew-0."), "the main entry's wasm has no yew");
    let glue = std::fs::read_to_string(package.join("burrow.js")).expect("the main glue");
    let widget_glue = std::fs::read_to_string(package.join("widget/burrow_widget.js")).expect("the widget's glue");
    assert!(widget_glue.contains("createElement") && !glue.contains("createElement"), "only the widget builds DOM");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(package.join("package.json")).expect("package.json")).expect("JSON");
    assert_eq!(manifest["type"], "module");
    assert_eq!(manifest["exports"]["."]["types"], "./index.d.ts");
    assert_eq!(manifest["exports"]["./widget"]["default"], "./widget.js");
    let listing = run(Command::new("tar").arg("tzf").arg(tarball()), "tar tzf");
    for file in ["package/index.js", "package/index.d.ts", "package/errors.d.ts", "package/burrow_bg.wasm", "package/widget.js", "package/widget/burrow_widget_bg.wasm"] {
        assert!(listing.lines().any(|line| line == file), "the tarball has {file}:\n{listing}");
    }
}

/// The npm README's widget example for bundlers, as it is written there: its
/// imports and lines, with `element`, `url`, `login` and `passcode` given, and a
/// check before its `widget.unmount();` that the widget connected and shows its
/// panels. (Its first form, `initWidget()` with no URL, bundled to a page that
/// 404'd the wasm.)
fn readme_widget_app() -> String {
    let readme = std::fs::read_to_string(root().join("docs/npm-README.md")).expect("docs/npm-README.md");
    let block = readme
        .split("```js\n")
        .skip(1)
        .filter_map(|rest| rest.split("```").next())
        .find(|code| code.contains("from \"burrow-rabbitmq/widget\""))
        .expect("the README's widget example");
    let (imports, body): (Vec<&str>, Vec<&str>) = block.lines().partition(|line| line.starts_with("import "));
    let body = body.join("\n");
    assert!(body.contains("widget.unmount();"), "the example ends with widget.unmount():\n{block}");
    let check = "await until(\"the widget connected\", () => /Connected to/.test(element.textContent), 15000);\n\
        assert(element.querySelector(\"section[aria-label='Queues']\") !== null, \"the Queues panel\");\n\
        widget.unmount();";
    format!(
        "{}\nimport {{ URL_ as url, LOGIN as login, PASSCODE as passcode, until, assert, run }} from \"./helpers.js\";\n\
         const element = document.getElementById(\"widget\");\n\
         await run({{ readmeWidget: async () => {{\n{}\n}} }});\n",
        imports.join("\n"),
        body.replace("widget.unmount();", check)
    )
}

#[test]
#[ignore = "needs ./burrow package and the broker; run by ./burrow test"]
fn the_readme_s_widget_example_bundled_with_esbuild() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let app = app_with_package("widget");
    std::fs::create_dir_all(app.join("src")).expect("src");
    std::fs::write(app.join("src/widget_app.js"), readme_widget_app()).expect("the app");
    std::fs::copy(root().join("tests/js/helpers.js"), app.join("src/helpers.js")).expect("helpers.js");
    let dist = app.join("dist");
    // The README's own esbuild flags.
    run(
        Command::new(node_tool("esbuild"))
            .args(["src/widget_app.js", "--bundle", "--format=esm", "--outdir=dist", "--loader:.wasm=file"])
            .current_dir(&app),
        "esbuild",
    );
    std::fs::write(
        dist.join("widget.html"),
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>The README's widget, bundled</title>\
         <link rel=\"stylesheet\" href=\"./widget_app.css\"></head><body><div id=\"widget\"></div>\
         <pre id=\"log\"></pre><pre id=\"result\" data-done=\"false\"></pre>\
         <script type=\"module\" src=\"./widget_app.js\"></script></body></html>",
    )
    .expect("the page");
    // 8105: a test page port the broker's CORS allows.
    let (verdict, log) = open_page(&dist, 8105, 9523, "widget.html", Duration::from_secs(120));
    println!("{log}");
    assert!(verdict.starts_with(r#"{"ok":true"#), "the README's widget example failed bundled: {verdict}\n{log}");
}
