//! The docs' Rust example is the code the browser test runs: every paragraph
//! of the block under "The four flows in Rust" (docs/rust.md) must appear, word for word, in
//! `examples/plain_page/flows.rs` (which `tests/browser_library.rs` runs against
//! the broker), so the README cannot drift from the real API.

#[test]
fn the_rust_page_example_is_the_tested_flows_file() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/docs/rust.md")).expect("docs/rust.md");
    let flows = std::fs::read_to_string(format!("{root}/examples/plain_page/flows.rs")).expect("flows.rs");
    let section = readme.split("### The four flows in Rust").nth(1).expect("the Rust page's flows section");
    let block = section.split("```rust\n").nth(1).and_then(|rest| rest.split("\n```").next()).expect("a rust block");
    let paragraphs: Vec<&str> = block.split("\n\n").map(str::trim_end).filter(|p| !p.trim().is_empty()).collect();
    assert!(paragraphs.len() >= 6, "the block shows the flows: {paragraphs:?}");
    for paragraph in paragraphs {
        assert!(flows.contains(paragraph), "docs/rust.md paragraph not in examples/plain_page/flows.rs:\n{paragraph}");
    }
    for flow in ["hello_world", "work_queues", "acknowledgements", "durability"] {
        assert!(block.contains(&format!("pub async fn {flow}(")), "the Rust page shows {flow}");
    }
}

/// The README's JavaScript example is the npm package's own (docs/npm-README.md,
/// the JavaScript page, which alone has the stompjs table), copied: they must
/// not drift apart.
#[test]
fn the_readme_javascript_part_is_the_npm_readmes() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).expect("README.md");
    let npm = std::fs::read_to_string(format!("{root}/docs/npm-README.md")).expect("docs/npm-README.md");
    let js_block = |text: &str| text.split("```js\n").nth(1).and_then(|rest| rest.split("```").next()).map(str::to_owned);
    assert_eq!(js_block(&readme), js_block(&npm), "the JavaScript example");
    let table = |text: &str| -> Vec<String> {
        text.lines().skip_while(|l| !l.starts_with("| @stomp/stompjs")).take_while(|l| l.starts_with('|')).map(str::to_owned).collect()
    };
    assert!(table(&npm).len() > 5, "the npm README has the stompjs table");
}
