"""The console in a real browser (headless Debian Chromium through Playwright): the admin
journey, the client journey, a form for each of the 73 actions submitting its example, every
provider's settings form, and the quality bars (axe, keyboard, 375 px, CSP, asset budget)."""
import gzip
import json
import re
import urllib.request

import yaml

from conftest import API, ARTIFACTS, ROOT, Console, api, send_webhook, unique, wait_for

CATALOGUE = None


def catalogue():
    global CATALOGUE
    if CATALOGUE is None:
        CATALOGUE = api("GET", "/blueprints")[1]["blueprints"]
    return CATALOGUE


def blueprint(bid):
    return next(b for b in catalogue() if b["id"] == bid)


def demo_configuration(bid, settings=None, name=None):
    status, c = api("POST", "/provision-configurations", {"name": name or unique(f"demo-{bid}"), "blueprint": bid, "provider": "demo", "settings": settings or demo_settings(bid)})
    assert status == 201, c
    return c["id"]


def demo_settings(bid):
    schema = next(p for p in blueprint(bid)["providers"] if p["id"] == "demo")["settings"]
    return {k: "srv.example.net" if "host" in k else "demo" for k in schema.get("required", [])}


def status_of(cp):
    return api("GET", f"/contract-products/{cp}")[1]["status"]


def wait_status(cp, want, seconds=90):
    try:
        return wait_for(lambda: status_of(cp) == want, f"{cp} to be {want}", seconds)
    except AssertionError:
        return False


# ---------------------------------------------------------------------------------------------
# What the function serves


def fetch(path, headers=None):
    req = urllib.request.Request(f"{API}{path}", headers=headers or {})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        r = opener.open(req, timeout=30)
        return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def test_the_page_is_served_under_a_strict_policy_and_the_assets_fit_the_budget():
    status, headers, body = fetch("/console")
    assert status == 200 and headers["content-type"].startswith("text/html")
    csp = headers["content-security-policy"]
    for part in ["default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"]:
        assert part in csp, csp
    assert "unsafe" not in csp and headers["cache-control"] == "no-cache" and headers["x-frame-options"] == "DENY"
    assets = re.findall(r'(?:src|href)="(/console/assets/[^"]+)"', body.decode())
    assert len(assets) == 3, assets
    total = 0
    for path in assets:
        status, h, data = fetch(path, {"accept-encoding": "gzip"})
        assert status == 200 and h["cache-control"] == "public, max-age=31536000, immutable", (path, h)
        assert h.get("content-encoding") == "gzip" and gzip.decompress(data), path
        assert re.search(r"-[A-Za-z0-9]{8}\.", path), f"{path} is not content-hashed"
        total += len(data)
    assert total <= 150 * 1024, f"the console's assets are {total} bytes gzipped"
    assert fetch("/console/")[0] == 308 and fetch("/console/")[1]["location"] == "/console"
    assert fetch("/console/assets/nope.js")[0] == 404
    assert json.loads(fetch("/console/config.json")[2])["sign_in"]["client_id"] == "console"


# ---------------------------------------------------------------------------------------------
# The admin journey


def test_the_admin_journey(admin):
    page = admin.page
    page.get_by_text("errors in the last 24 h").wait_for()
    admin.axe("dashboard")
    admin.shot("admin-dashboard")

    # A demo configuration, made from the provider's settings form, and its connection test.
    admin.go("configurations")
    page.get_by_role("link", name="New configuration").click()
    page.select_option("#c-blueprint", "web-hosting")
    page.select_option("#c-provider", "demo")
    name = unique("Journey hosting")
    page.fill("#c-name", name)
    page.click("button:has-text('Create configuration')")
    page.get_by_role("alert").wait_for()  # server_hostname is required: shown beside the field
    assert page.locator("#cs-server_hostname-error").inner_text() == "is required"
    page.fill("#cs-server_hostname", "srv.example.net")
    page.fill("#cs-api_key", "demo-key-Sup3rSecret")
    page.click("button:has-text('Create configuration')")
    page.wait_for_url(re.compile(r".*/console/configurations/(?!new$)[^/]+$"))
    config_id = page.url.rsplit("/", 1)[1]
    page.get_by_text("A value is stored; it is never shown.").wait_for()
    assert "demo-key-Sup3rSecret" not in page.content()
    page.click("button:has-text('Test connection')")
    page.get_by_text("Connection works").wait_for()
    admin.axe("configuration")
    admin.shot("admin-configuration")

    # A service for client-1, made in the form, then its create run from the Manage tab.
    username = unique("jo").replace("-", "")[:16]
    service = make_service(admin, config_id, username)
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("button", name="Run create account").click()
    page.locator(".outcome.ok").wait_for()
    assert "Done" in page.locator(".outcome").inner_text()
    admin.axe("manage")
    admin.shot("admin-service-manage")
    page.locator(".outcome").get_by_role("link", name="Open the log entry").click()
    page.get_by_role("heading", name="create-account: success").wait_for()
    admin.shot("admin-log-entry")
    admin.go(f"services/{service}")
    page.get_by_text("active", exact=True).first.wait_for()

    # An action that fails (the same username again): the error, then its log entry and debug data.
    twin = make_service(admin, config_id, username)
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("button", name="Run create account").click()
    box = page.locator(".panel .error")
    box.wait_for()
    assert "exists already" in box.inner_text() and "502" in box.inner_text(), box.inner_text()
    admin.shot("admin-action-failed")
    box.get_by_role("link", name="Open the log entry").click()
    page.get_by_role("heading", name="create-account: error").wait_for()
    debug = page.locator("details", has_text="Debug data")
    assert debug.get_attribute("open") is not None
    assert "exists already" in page.content()
    admin.axe("log entry")

    # A provision field edited and saved: written to the service's log.
    admin.go(f"services/{service}")
    page.get_by_text("Edit provision fields").click()
    page.fill("#pf-package_name", "business")
    page.click("button:has-text('Save provision fields')")
    page.get_by_text("Saved.").wait_for()
    page.get_by_role("cell", name="business").wait_for()
    admin.go(f"services/{service}/logs")
    page.get_by_role("cell", name="update-provision-fields").wait_for()
    admin.axe("logs")
    admin.shot("admin-service-logs")

    # A failed lifecycle event, retried from Failed work.
    event_id = failed_event()
    admin.go("failed")
    page.get_by_role("button", name=f"Retry order.paid {event_id}").click()
    page.get_by_text("Queued again").wait_for()
    admin.axe("failed work")
    admin.shot("admin-failed-work")

    # The service search finds it by the start of its identifier.
    admin.go("services")
    page.fill("#s-identifier", username[:8])
    page.click("button:has-text('Search')")
    page.get_by_role("link", name=username).first.wait_for()
    admin.shot("admin-services")
    assert twin


def make_service(admin, config_id, username):
    page = admin.page
    admin.go("services/new")
    page.fill("#n-client", "client-1")
    page.select_option("#n-blueprint", "web-hosting")
    page.select_option("#n-config", config_id)
    page.fill("#npf-username", username)
    page.fill("#npf-email", "owner@example.com")
    page.fill("#npf-package_name", "starter")
    page.fill("#npf-password", "Example-passw0rd!")
    page.click("button:has-text('Make the service')")
    page.wait_for_url(re.compile(r".*/console/services/[^/]+/manage$"))
    return page.url.rsplit("/", 2)[1]


def failed_event():
    config = demo_configuration("web-hosting", {"server_hostname": "srv.example.net", "api_key": "invalid"})
    status, product = api("POST", "/products", {"name": "Bad key hosting", "blueprint": "web-hosting", "deployment": {"type": "static", "configuration_id": config}, "provision_fields": {"package_name": "starter", "email": "owner@example.com"}})
    assert status == 201, product
    event = {"id": unique("evt"), "type": "order.paid", "contract_product_id": unique("whmcs:svc"), "occurred_at": "2026-11-30T06:00:00Z", "data": {"product_id": product["id"], "client_id": "client-9"}}
    assert send_webhook(event) == 202
    wait_for(lambda: api("GET", f"/lifecycle-events/{event['id']}")[1].get("status") == "failed", "the event to fail")
    return event["id"]


# ---------------------------------------------------------------------------------------------
# The client journey


def test_the_client_journey(browser, shoot_on_failure):
    config = demo_configuration("web-hosting")
    mine, theirs = client_service(config, "client-1"), client_service(config, "client-2")
    alice = Console(browser, "alice", made=shoot_on_failure)
    page = alice.page
    page.get_by_role("heading", name="My services").wait_for()
    page.get_by_role("link", name=mine["username"]).wait_for()
    assert theirs["username"] not in page.content()
    alice.axe("my services")
    alice.shot("client-services")
    seen = []
    page.on("request", lambda r: seen.append(r.url))
    # Another client's service, asked by URL: refused without asking the API for it.
    alice.go(f"services/{theirs['id']}")
    page.get_by_role("heading", name="Not found").wait_for()
    assert not [u for u in seen if theirs["id"] in u and "/console/" not in u], seen

    page.get_by_role("link", name="My services").click()
    page.get_by_role("link", name=mine["username"]).click()
    page.get_by_role("link", name="Manage").click()
    buttons = page.locator("ul.actions button").all_inner_texts()
    assert "Change password" in buttons and "Login to control panel" in buttons and "Suspend account" not in buttons, buttons
    page.get_by_role("button", name="Change password").click()
    page.fill("#act-password", "New-echo-pw-1!")
    page.get_by_role("button", name="Run change password").click()
    page.locator(".outcome.ok").wait_for()
    page.get_by_role("button", name="Login to control panel").click()
    assert page.locator("#act-user_ip").get_attribute("required") is None  # left out: the caller's own address
    page.get_by_role("button", name="Run login to control panel").click()
    link = page.locator(".outcome a.button-link")
    link.wait_for()
    assert link.get_attribute("href").startswith("https://") and link.get_attribute("target") == "_blank"
    alice.axe("client manage")
    alice.shot("client-service-manage")

    page.get_by_role("link", name="Logs").click()
    page.get_by_role("cell", name="change-password").wait_for()
    page.get_by_role("row", name=re.compile("change-password")).get_by_role("link").click()
    page.get_by_role("heading", name="change-password: success").wait_for()
    assert "Debug data" not in page.content() and "New-echo-pw-1!" not in page.content()
    alice.axe("client log entry")
    # The token lives in memory: a reload (as an expired token) goes back through the provider,
    # whose session answers at once, and returns to the same page.
    here = page.url
    page.reload()
    page.wait_for_url(here)
    page.get_by_role("heading", name="change-password: success").wait_for()


def client_service(config, client):
    username = unique("cl").replace("-", "")[:16]
    status, cp = api("POST", "/contract-products", {"client_id": client, "blueprint": "web-hosting", "deployment": {"type": "static", "configuration_id": config}, "provision_fields": {"username": username, "email": "c@example.com", "package_name": "starter", "password": "Example-passw0rd!"}})
    assert status == 201, cp
    status, done = api("POST", f"/contract-products/{cp['id']}/actions/web-hosting/create-account", {"params": {}})
    assert status == 200, done
    return {"id": cp["id"], "username": username}


# ---------------------------------------------------------------------------------------------
# Every action's form and every provider's settings form


def examples():
    doc = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    out = {}
    for path, item in doc["paths"].items():
        m = re.match(r"^/contract-products/\{id\}/actions/([^/]+)/([^/]+)$", path)
        if m:
            out[(m[1], m[2])] = item["post"]["requestBody"]["content"]["application/json"]["example"]["params"]
    return out


def type_of(schema):
    t = schema.get("type")
    return next((x for x in t if x != "null"), None) if isinstance(t, list) else t


def field_id(prefix, path):
    return f"{prefix}-{re.sub(r'[^A-Za-z0-9_-]+', '-', path)}"


def fill(page, schema, value, prefix="act", path=""):
    """Types `value` into the form generated from `schema`, as a person would."""
    for name, v in value.items():
        sub = schema.get("properties", {}).get(name, {})
        p = f"{path}.{name}" if path else name
        fill_one(page, sub, v, prefix, p)


def fill_one(page, schema, v, prefix, p):
    t = type_of(schema)
    fid = field_id(prefix, p)
    if t == "object" and schema.get("properties"):
        fill(page, schema, v, prefix, p)
    elif t == "object":
        page.fill(f"#{fid}", json.dumps(v))
    elif t == "array":
        items = schema.get("items", {})
        for i, item in enumerate(v):
            page.locator(f"fieldset#{fid} > button:text-matches('^Add ')").click()
            if type_of(items) == "object" and items.get("properties"):
                fill(page, items, item, prefix, f"{p}[{i}]")
            else:
                fill_one(page, items, item, prefix, f"{p}[{i}]")
    elif schema.get("enum"):
        page.select_option(f"#{fid}", str(v))
    elif t == "boolean":
        page.select_option(f"#{fid}", "true" if v else "false")
    else:
        page.fill(f"#{fid}", str(v))


def active_service(bid, config):
    """A service of the blueprint made active through the API (its setup with fresh names)."""
    b = blueprint(bid)
    setup = next(a for a in b["actions"] if "pending" in a["allowed_from"])
    params = dict(EXAMPLES[(bid, setup["id"])])
    tag = unique("x").replace("-", "")[:12]
    for f in b["identifier_fields"]:
        if f in params:
            if f != "tld":
                old = str(params[f])
                params[f] = f"{tag}.{old.split('.', 1)[1]}" if "." in old else tag
    status, cp = api("POST", "/contract-products", {"client_id": "client-forms", "blueprint": bid, "deployment": {"type": "static", "configuration_id": config}})
    assert status == 201, cp
    status, run = api("POST", f"/contract-products/{cp['id']}/actions/{bid}/{setup['id']}", {"params": params})
    assert status in (200, 202), (bid, run)
    assert wait_status(cp["id"], "active"), f"{bid}: {cp['id']} did not become active"
    return cp["id"]


EXAMPLES = {}


def run_form(admin, bid, cp, action):
    """Opens the action's form on the service, types its example, sends it: never a 400."""
    page = admin.page
    admin.go(f"services/{cp}")
    admin.go(f"services/{cp}/manage")
    page.locator("ul.actions").wait_for()
    page.get_by_role("button", name=action["name"], exact=True).click()
    page.locator("#action-panel form").wait_for()
    fill(page, action["request"], EXAMPLES[(bid, action["id"])])
    page.get_by_role("button", name=f"Run {action['name'].lower()}").click()
    page.locator("#action-panel .outcome, #action-panel .error").first.wait_for()
    error = page.locator("#action-panel .error")
    if error.count():
        text = error.inner_text()
        assert "(400" not in text and "Some fields need attention" not in text, f"{bid}/{action['id']}: {text}"
        return "refused: " + text.splitlines()[0]
    return page.locator("#action-panel .outcome").inner_text().splitlines()[0]


def test_a_form_for_every_action_renders_and_submits_its_example(admin):
    EXAMPLES.update(examples())
    ran = {}
    for b in catalogue():
        bid = b["id"]
        config = demo_configuration(bid)
        left = list(b["actions"])
        # The setup actions on services still pending, made here with nothing more.
        for a in [a for a in left if "pending" in a["allowed_from"]]:
            status, cp = api("POST", "/contract-products", {"client_id": "client-forms", "blueprint": bid, "deployment": {"type": "static", "configuration_id": config}})
            assert status == 201, cp
            ran[(bid, a["id"])] = run_form(admin, bid, cp["id"], a)
        left = [a for a in left if "pending" not in a["allowed_from"]]
        # Then the rest on an active service: first what changes no status, then the moves.
        cp = active_service(bid, config)
        order = [a for a in left if not a["moves_to"]] + [a for a in left if a["moves_to"] == "suspended"] + [a for a in left if a["moves_to"] == "active"] + [a for a in left if a["moves_to"] in ("terminated", "failed")]
        for a in order:
            if status_of(cp) not in a["allowed_from"]:
                cp = active_service(bid, config)
                if "suspended" in a["allowed_from"] and "active" not in a["allowed_from"]:
                    suspend = next(x for x in left if x["moves_to"] == "suspended")
                    api("POST", f"/contract-products/{cp}/actions/{bid}/{suspend['id']}", {"params": {}})
                    assert wait_status(cp, "suspended")
            ran[(bid, a["id"])] = run_form(admin, bid, cp, a)
            if a["moves_to"]:
                wait_status(cp, a["moves_to"], 60)
    assert len(ran) == 73, sorted(ran)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "action-forms.json").write_text(json.dumps({f"{b}/{a}": r for (b, a), r in ran.items()}, indent=1))


def test_every_provider_settings_form_renders(admin):
    page = admin.page
    for b in catalogue():
        for p in b["providers"]:
            admin.go("configurations/new")
            page.select_option("#c-blueprint", b["id"])
            page.select_option("#c-provider", p["id"])
            page.get_by_role("group", name=f"{p['name']} settings").wait_for()
            for name, schema in p["settings"].get("properties", {}).items():
                fid = field_id("cs", name)
                if type_of(schema) == "object" and not schema.get("properties"):
                    assert page.locator(f"textarea#{fid}").count() == 1, (b["id"], p["id"], name)
                elif type_of(schema) in ("object", "array"):
                    continue
                else:
                    field = page.locator(f"#{fid}")
                    assert field.count() == 1, (b["id"], p["id"], name)
                    if schema.get("x-secret"):
                        assert field.get_attribute("type") == "password", (b["id"], p["id"], name)
                    if name in p["settings"].get("required", []):
                        assert field.get_attribute("required") is not None, (b["id"], p["id"], name)
    admin.axe("settings form")


# ---------------------------------------------------------------------------------------------
# Keyboard alone, and a phone's width


def test_an_admin_journey_by_keyboard_alone(browser, shoot_on_failure):
    config = demo_configuration("web-hosting")
    svc = client_service(config, "client-kb")
    c = Console(browser, "admin", made=shoot_on_failure)
    page = c.page

    def tab_to(predicate, what, limit=80):
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate(predicate):
                return
        raise AssertionError(f"Tab never reached {what}")

    # Skip link, then the main navigation, by keyboard.
    tab_to("document.activeElement.textContent === 'Services'", "the Services link")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Services").wait_for()
    tab_to("document.activeElement.id === 's-identifier'", "the identifier search")
    page.keyboard.type(svc["username"])
    page.keyboard.press("Enter")
    page.get_by_role("link", name=svc["username"]).wait_for()  # as a person waits for the answer
    tab_to(f"document.activeElement.textContent === '{svc['username']}'", "the found service")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name=svc["username"]).wait_for()
    tab_to("document.activeElement.textContent === 'Manage'", "the Manage tab")
    page.keyboard.press("Enter")
    page.locator("ul.actions").wait_for()
    tab_to("document.activeElement.textContent === 'Get info'", "the Get info button")
    page.keyboard.press("Enter")
    wait_for(lambda: page.evaluate("document.activeElement.id") == "action-title", "the form's heading to take the focus", 10)
    tab_to("document.activeElement.textContent === 'Run get info'", "the Run button")
    page.keyboard.press("Enter")
    page.locator(".outcome.ok").wait_for()


def test_pages_work_at_375_px(browser, shoot_on_failure):
    config = demo_configuration("web-hosting")
    svc = client_service(config, "client-1")
    c = Console(browser, "admin", width=375, height=812, made=shoot_on_failure)
    page = c.page
    for path, name in [("", "phone-dashboard"), ("services", "phone-services"), (f"services/{svc['id']}", "phone-service"), (f"services/{svc['id']}/manage", "phone-manage"), ("configurations/new", "phone-configuration")]:
        c.go(path)
        page.wait_for_timeout(300)
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= 375, f"{path or 'dashboard'} is {wide} px wide at 375"
        c.axe(name)
        c.shot(name)


def test_a_long_running_action_is_shown_pending_then_followed_to_its_end(admin):
    EXAMPLES.update(examples())
    config = demo_configuration("servers", {"async_seconds": 3})
    status, cp = api("POST", "/contract-products", {"client_id": "client-1", "blueprint": "servers", "deployment": {"type": "static", "configuration_id": config}})
    assert status == 201, cp
    page = admin.page
    admin.go(f"services/{cp['id']}/manage")
    action = next(a for a in blueprint("servers")["actions"] if a["id"] == "create-server")
    page.get_by_role("button", name=action["name"], exact=True).click()
    fill(page, action["request"], EXAMPLES[("servers", "create-server")])
    page.get_by_role("button", name="Run create server").click()
    page.locator(".outcome.pending").wait_for()
    admin.shot("admin-long-running-pending")
    page.locator(".outcome.ok").wait_for(timeout=150_000)
    assert page.locator(".outcome").inner_text().startswith("Done"), page.locator(".outcome").inner_text()
    page.get_by_text("active", exact=True).first.wait_for()
