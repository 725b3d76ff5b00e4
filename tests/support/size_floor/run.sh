#!/bin/bash
# Prints each layer's wasm as ./burrow package measures the main entry (release,
# wasm-bindgen, wasm-opt -Oz, gzip -9). From the repository's root:
#   tests/support/size_floor/run.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
cp "$root/Cargo.lock" "$here/Cargo.lock"
features=(--enable-bulk-memory --enable-bulk-memory-opt --enable-nontrapping-float-to-int
    --enable-sign-ext --enable-reference-types --enable-multivalue --enable-mutable-globals)
out=$(mktemp -d)
for layer in ws codec session link core; do
    CARGO_TARGET_DIR="$root/target/size_floor" cargo build -q --offline --release \
        --manifest-path "$here/Cargo.toml" --target wasm32-unknown-unknown --features "$layer"
    wasm-bindgen --target web --out-dir "$out" "$root/target/size_floor/wasm32-unknown-unknown/release/floor.wasm"
    "$root/bench/node_modules/.bin/wasm-opt" "${features[@]}" -Oz "$out/floor_bg.wasm" -o "$out/o.wasm"
    echo "$layer: $(stat -c %s "$out/o.wasm") B, $(gzip -9c "$out/o.wasm" | wc -c) B gzipped"
done
rm -rf "$out" "$here/Cargo.lock"
