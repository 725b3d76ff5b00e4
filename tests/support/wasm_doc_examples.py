#!/usr/bin/env python3
"""Compiles the doc examples of Burrow's wasm-only API for wasm32.

`cargo test --doc` runs the examples of the sans-IO layers natively, but it never
sees the browser types (`ReliableConnection`, `transport::Connection`, ...): they
exist on wasm32 only, and doc tests for another target need a nightly toolchain.
This takes every `no_run` or `ignore` example from those files, puts each in a
function of a generated crate that depends on `burrow` (features `js`), and
builds it for wasm32-unknown-unknown, so an API change cannot leave an example
behind. Run by `./burrow test`; exits non-zero when an example does not compile.
"""
import pathlib
import re
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
# The crate root and the browser half (everything under src/browser exists on wasm32 only).
FILES = ["src/lib.rs"] + sorted(str(p.relative_to(ROOT)) for p in (ROOT / "src" / "browser").rglob("*.rs"))
OUT = ROOT / "target" / "wasm-doc-examples"


def examples(path):
    """The (line, code) of each no_run/ignore example in `path`'s doc comments."""
    block, start = None, 0
    for number, line in enumerate((ROOT / path).read_text().split("\n"), 1):
        m = re.match(r"\s*(//!|///) ?(.*)$", line)
        if not m:
            continue
        text = m.group(2)
        if block is None:
            if re.fullmatch(r"```(no_run|ignore)\s*", text.strip()):
                block, start = [], number
        elif text.strip() == "```":
            # rustdoc's hidden lines: `# code` is compiled, `#` alone is a blank line.
            code = ["" if b.strip() == "#" else b.lstrip()[2:] if b.lstrip().startswith("# ") else b for b in block]
            yield start, "\n".join(code)
            block = None
        else:
            block.append(text)


def main():
    found = [(path, line, code) for path in FILES for line, code in examples(path)]
    (OUT / "src").mkdir(parents=True, exist_ok=True)
    (OUT / "Cargo.toml").write_text(
        '[package]\nname = "burrow-wasm-doc-examples"\nversion = "0.0.0"\nedition = "2021"\npublish = false\n\n'
        '[workspace]\n\n[dependencies]\n'
        f'burrow = {{ path = "{ROOT}", features = ["js"] }}\n'
        'futures-util = { version = "0.3", default-features = false, features = ["std", "async-await-macro"] }\n')
    shutil.copy(ROOT / "Cargo.lock", OUT / "Cargo.lock")
    body = ["#![allow(unused, clippy::all)]"]
    for n, (path, line, code) in enumerate(found):
        body.append(f"// {path}:{line}\nmod example_{n} {{\nfn main() {{\n{code}\n}}\n}}\n")
    (OUT / "src" / "lib.rs").write_text("\n".join(body))
    print(f"{len(found)} wasm-only doc examples from {', '.join(FILES)}")
    build = subprocess.run(["cargo", "build", "--offline", "--quiet", "--target", "wasm32-unknown-unknown",
                            "--manifest-path", str(OUT / "Cargo.toml"), "--target-dir", str(ROOT / "target")])
    return build.returncode


if __name__ == "__main__":
    sys.exit(main())
