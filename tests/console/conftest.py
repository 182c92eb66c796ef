"""Fixtures of the console's browser tests (make test's console step, infra/test.sh): Debian's
Chromium driven by Playwright for Python, against the local stack: the console function behind
the local gateway, signing in at the local OIDC provider with its seeded users.

Environment: E2E_API_URL, OIDC_PASSWORD_ADMIN / _ALICE / _BOB, WEBHOOK_SECRET, and
CONSOLE_ARTIFACTS (where screenshots go; default target/console-artifacts)."""
import hashlib
import hmac
import json
import os
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
API = os.environ["E2E_API_URL"].rstrip("/")
ARTIFACTS = Path(os.environ.get("CONSOLE_ARTIFACTS", ROOT / "target" / "console-artifacts"))
AXE = (ROOT / "console" / "node_modules" / "axe-core" / "axe.min.js").read_text()
# Recorded before any page script runs (init scripts are not subject to the page's CSP).
WATCH_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
"""


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def admin_token():
    out = subprocess.run([str(ROOT / "target/debug/local-stack"), "token", "--role", "admin", "--sub", "console-test", "--ttl", "7200"], check=True, capture_output=True, text=True)
    return out.stdout.strip()


_TOKEN = None


def api(method, path, body=None, token=None):
    """The API as a script calls it (test set-up); answers (status, JSON)."""
    global _TOKEN
    if token is None:
        _TOKEN = _TOKEN or admin_token()
        token = _TOKEN
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"{API}{path}", data=data, method=method, headers={"authorization": f"Bearer {token}", "content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def send_webhook(event):
    body = json.dumps(event).encode()
    secret = os.environ.get("WEBHOOK_SECRET", "local-webhook-secret").encode()
    signature = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    req = urllib.request.Request(f"{API}/webhooks/billing", data=body, method="POST", headers={"content-type": "application/json", "x-signature": signature})
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.status


def wait_for(fn, what, seconds=150):
    deadline = time.time() + seconds
    while time.time() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"), args=["--disable-gpu", "--disable-quic", "--disable-sync"])
        yield b
        b.close()


class Console:
    """One signed-in browser context, with the checks every page gets."""

    def __init__(self, browser, user, width=1280, height=900, made=None):
        if made is not None:
            made.append(self)
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.context.add_init_script(WATCH_CSP)
        self.page = self.context.new_page()
        self.page.set_default_timeout(30_000)
        self.refused = []
        self.page.on("console", lambda m: self.refused.append(m.text) if "Content Security Policy" in m.text or m.text.startswith("Refused") else None)
        self.outside = []
        self.page.on("request", lambda r: self.outside.append(r.url) if not r.url.startswith(("http://127.0.0.1", "data:")) else None)
        self.user = user
        self.sign_in()

    def sign_in(self):
        password = os.environ[f"OIDC_PASSWORD_{self.user.upper()}"]
        self.page.goto(f"{API}/console")
        self.page.wait_for_selector("#username")
        self.page.fill("#username", self.user)
        self.page.fill("#password", password)
        self.page.click("button[type=submit]")
        self.page.wait_for_url(f"{API}/console**")
        self.page.wait_for_selector("#page-title")

    def go(self, path):
        """Follows the app's own links: the token stays in memory, as a person's would."""
        self.page.evaluate("(p) => { history.pushState(null, '', p); dispatchEvent(new PopStateEvent('popstate')); }", f"/console/{path}".rstrip("/"))
        self.page.wait_for_selector("#page-title")

    def axe(self, name):
        """No serious or critical accessibility violation on the page as it is."""
        self.page.evaluate(AXE)
        result = self.page.evaluate("async () => { const r = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }); return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) })); }")
        bad = [v for v in result if v["impact"] in ("serious", "critical")]
        assert not bad, f"{name}: axe violations {json.dumps(bad, indent=1)}"

    def shot(self, name):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    def check_clean(self):
        csp = self.page.evaluate("window.__csp || []")
        assert not csp and not self.refused, f"CSP violations: {csp} {self.refused}"
        assert not self.outside, f"requests outside this machine: {self.outside}"

    def close(self):
        self.check_clean()
        self.context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def failed(request):
    report = getattr(request.node, "report_call", None)
    return report is not None and report.failed


@pytest.fixture
def shoot_on_failure(request):
    """Consoles made in a test: each one's page is photographed if the test fails."""
    made = []
    yield made
    for i, c in enumerate(made):
        if failed(request):
            c.shot(f"FAILED-{request.node.name}-{i}")
            c.context.close()
        else:
            c.close()


@pytest.fixture
def admin(browser, request):
    c = Console(browser, "admin")
    yield c
    if failed(request):
        c.shot(f"FAILED-{request.node.name}")  # what the page showed when the test failed
        c.context.close()
    else:
        c.close()
