//! The app's `index.html`, as trunk reads it.

/// QA: one release build in two came out unstyled. `style.css` was handed to
/// trunk twice (`rel="css"` and `rel="copy-file"`), two pipelines wrote the same
/// `dist/style.css`, and the integrity hash was once taken of the empty file
/// (`sha384-OLBgp1…`, the hash of nothing): Chromium refused the style sheet.
#[test]
fn each_file_goes_through_one_trunk_pipeline() {
    let page = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/index.html")).expect("index.html");
    let hrefs: Vec<&str> = page
        .split("<link")
        .skip(1)
        .filter(|link| link.contains("data-trunk"))
        .filter_map(|link| link.split("href=\"").nth(1)?.split('"').next())
        .collect();
    assert!(hrefs.contains(&"style.css"), "{hrefs:?}");
    for href in &hrefs {
        assert_eq!(hrefs.iter().filter(|h| h == &href).count(), 1, "{href} is handed to trunk more than once: {hrefs:?}");
    }
}
