"""`make bench`'s console measure (infra/bench.sh console): how soon the console's first page is
usable on the local stack, in headless Chromium. Writes the `console` section of BENCHMARKS.md.

Two figures over ITERATIONS loads, a person already signed in at the identity provider:
- shell: navigation start to DOMContentLoaded of /console (the page, its hashed CSS and module
  script fetched and run: the app is interactive);
- services: navigation start of /console/services to the list on screen, through the sign-in
  redirect (the token lives in memory only), the code exchange and the API's first page of
  contract products."""
import os
import platform
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "console"))
from conftest import API, Console  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

ITERATIONS = int(os.environ.get("ITERATIONS", "20"))
OUT = Path(os.environ.get("BENCH_OUT", ROOT / "BENCHMARKS.md"))


def write_section(path, name, text):
    current = path.read_text() if path.exists() else "# Benchmarks\n"
    open_, close = f"<!-- {name} -->", f"<!-- /{name} -->"
    a, b = current.find(open_), current.find(close)
    if 0 <= a < b:
        current = f"{current[:a]}{open_}\n{text}{current[b:]}"
    else:
        notes = current.find("\n## Notes")
        block = f"\n## Console\n\n{open_}\n{text}{close}\n"
        current = current[:notes] + block + current[notes:] if notes >= 0 else current + block
    path.write_text(current)


def main():
    shell, services = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"), args=["--disable-gpu", "--disable-quic", "--disable-sync"])
        c = Console(browser, "admin")
        # Each console page's DOMContentLoaded, kept across the sign-in redirects of one tab.
        c.context.add_init_script("""document.addEventListener('DOMContentLoaded', () => {
          const seen = JSON.parse(sessionStorage.getItem('bench.dcl') || '[]');
          seen.push([location.pathname, performance.now()]);
          sessionStorage.setItem('bench.dcl', JSON.stringify(seen));
        });""")
        page = c.page
        for _ in range(ITERATIONS):
            page.goto(f"{API}/console/config.json")  # leave the app: the next load starts cold
            page.evaluate("sessionStorage.removeItem('bench.dcl')")
            page.goto(f"{API}/console")
            page.get_by_role("heading", name="Dashboard").wait_for()
            seen = page.evaluate("JSON.parse(sessionStorage.getItem('bench.dcl') || '[]')")
            shell.append(next(t for path, t in seen if path == "/console"))
            page.goto(f"{API}/console/config.json")
            started = time.perf_counter()
            page.goto(f"{API}/console/services")
            page.get_by_role("heading", name="Services").wait_for()
            page.locator("text=Loading…").wait_for(state="detached")
            services.append((time.perf_counter() - started) * 1000)
        c.close()
        version = browser.version
        browser.close()

    def row(name, xs):
        xs = sorted(xs)
        return f"| {name} | {statistics.median(xs):.0f} ms | {xs[int(len(xs) * 0.9) - 1]:.0f} ms | {xs[-1]:.0f} ms |\n"

    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text = (
        f"Run by `make bench` on {platform.system()} {platform.release()} {platform.machine()} · {os.cpu_count()} cores · Chromium {version} (headless) · {when}.\n\n"
        f"{ITERATIONS} loads each, signed in at the local OIDC provider; the functions run under cargo lambda watch (debug builds) behind the local gateway. Target: interactive in ≤ 1 s.\n\n"
        "| measure | p50 | p90 | max |\n|---|---|---|---|\n"
        + row("shell: /console to DOMContentLoaded (page, CSS and script run)", shell)
        + row("services: /console/services to the list shown (sign-in redirect, code exchange, API page)", services)
    )
    write_section(OUT, "console", text)
    print(text)


main()
