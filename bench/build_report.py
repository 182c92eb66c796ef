"""The `build` section of BENCHMARKS.md, after `bench.sh build` ran `make build` (sam build of the
whole template) from an empty .aws-sam: its wall time, the build definitions SAM made (the 73
action functions share one), and each binary's arm64 bootstrap.

Usage: python build_report.py SECONDS BENCHMARKS.md   (run from the repository's root)
"""

import os
import platform
import subprocess
import sys
import time
import tomllib


def section(seconds, started=None):
    with open(".aws-sam/build.toml", "rb") as f:
        definitions = tomllib.load(f).get("function_build_definitions", {})
    rows = []
    functions = 0
    for d in definitions.values():
        names = d.get("functions", [])
        functions += len(names)
        binary = d.get("metadata", {}).get("BuildProperties", {}).get("Binary", "?")
        # Functions of one definition share one artifact folder (`<first>-Shared`).
        folder = next((f for f in (names[0], f"{names[0]}-Shared") if os.path.isdir(os.path.join(".aws-sam", "build", f))), names[0])
        path = os.path.join(".aws-sam", "build", folder, "bootstrap")
        size = os.path.getsize(path) if os.path.exists(path) else 0
        arch = subprocess.run(["file", "-b", path], capture_output=True, text=True).stdout.split(",")[1].strip() if os.path.exists(path) else "missing"
        rows.append((binary, len(names), size, arch))
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    out = [
        f"Measured by `bash infra/bench.sh build` (`make build` from an empty `.aws-sam/` and no aarch64 build output, crates already downloaded, host build scripts of earlier release builds reused) at {commit} on {platform.system()} {platform.machine()} · {os.cpu_count()} cores · {rustc} · finished {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        f"`sam build` of the whole template (AWS SAM CLI 1.170.0, `rust-cargolambda`: `cargo lambda build --release --arm64` per binary, zig from PyPI's ziglang, no Docker): **{seconds // 60} min {seconds % 60} s** wall, {functions} functions from {len(definitions)} build definitions.",
        "",
        "| binary | functions sharing its build (one artifact) | bootstrap (stripped, release) | architecture |",
        "|---|---|---|---|",
    ]
    for binary, n, size, arch in sorted(rows, key=lambda r: -r[1]):
        out.append(f"| {binary} | {n} | {size / 1048576:.2f} MiB | {arch} |")
    return "\n".join(out) + "\n"


def write(path, name, text):
    body = open(path, encoding="utf-8").read() if os.path.exists(path) else "# Benchmarks\n"
    start, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    block = f"{start}\n{text}{end}"
    if start in body and end in body:
        body = body[: body.index(start)] + block + body[body.index(end) + len(end):]
    else:
        body = body.rstrip("\n") + f"\n\n## Build (make build)\n\n{block}\n"
    open(path, "w", encoding="utf-8").write(body)


if __name__ == "__main__":
    seconds = int(sys.argv[1])
    text = section(seconds)
    print(text)
    write(sys.argv[2] if len(sys.argv) > 2 else "BENCHMARKS.md", "build", text)
