"""A service's life driven through a client generated from openapi.yaml by openapi-python-client,
as an integrator would: every call goes through the generated functions and every answer must
parse into the document's models (an undocumented status raises). make test runs it against the
local stack: python client_life.py CLIENT_DIR API_URL ADMIN_TOKEN CLIENT_TOKEN.
"""

import importlib
import sys
import uuid

client_dir, api_url, admin_token, client_token = sys.argv[1:5]
sys.path.insert(0, client_dir)


def mod(name):
    return importlib.import_module(f"client.{name}")


Client = mod("client").AuthenticatedClient
models = mod("models")
api = lambda tag, op: mod(f"api.{tag}.{op}")  # noqa: E731

admin = Client(base_url=api_url, token=admin_token, raise_on_unexpected_status=True, timeout=60)
owner = Client(base_url=api_url, token=client_token, raise_on_unexpected_status=True, timeout=60)
run = uuid.uuid4().hex[:8]
CLIENT_ID = "contract-client-1"
checked = 0


def expect(response, status, model):
    """The answer has the status and parses into the model the document names for it."""
    global checked
    if response.status_code != status or not isinstance(response.parsed, model):
        raise SystemExit(f"expected {status} {model.__name__}, got {response.status_code} {type(response.parsed).__name__}: {response.content[:400]!r}")
    checked += 1
    return response.parsed


# The catalogue, as any caller reads it.
catalogue = expect(api("catalogue", "list_blueprints").sync_detailed(client=admin), 200, models.Catalogue)
assert any(b.id.value == "web-hosting" for b in catalogue.blueprints)

# A demo configuration, a product whose provision fields hold the package, a contract product.
config = expect(
    api("configurations", "create_configuration").sync_detailed(
        client=admin,
        body=models.CreateConfigurationBody.from_dict({"name": f"contract demo {run}", "blueprint": "web-hosting", "provider": "demo", "settings": {"server_hostname": "demo.example.com", "account_label": "contract"}}),
    ),
    201,
    models.Configuration,
)
product = expect(
    api("products", "create_product").sync_detailed(
        client=admin,
        body=models.CreateProductBody.from_dict(
            {"name": f"Hosting {run}", "blueprint": "web-hosting", "provider": "demo", "deployment": {"type": "static", "configuration_id": config.id}, "provision_fields": {"package_name": "starter"}}
        ),
    ),
    201,
    models.Product,
)
cp = expect(
    api("contract_products", "create_contract_product").sync_detailed(
        client=admin, body=models.CreateContractProductBody.from_dict({"id": f"contract-{run}", "client_id": CLIENT_ID, "product_id": product.id})
    ),
    201,
    models.ContractProduct,
)
assert cp.status.value == "pending", cp.status

# create-account without package_name (the product's provision fields supply it) or username.
create = api("web_hosting", "web_hosting_create_account").sync_detailed(
    cp.id, client=admin, body=models.WebHostingCreateAccountBody.from_dict({"params": {"email": "owner@example.com", "domain": f"site-{run}.example.com"}})
)
done = expect(create, 200, models.WebHostingCreateAccountResponse200)
assert done.data.to_dict().get("username"), done.data.to_dict()

# get-info by the owning client: no identifier given, the engine fills it.
info = expect(api("web_hosting", "web_hosting_get_info").sync_detailed(cp.id, client=owner, body=models.WebHostingGetInfoBody.from_dict({})), 200, models.WebHostingGetInfoResponse200)
assert info.data.to_dict().get("package_name") == "starter", info.data.to_dict()

expect(
    api("web_hosting", "web_hosting_suspend_account").sync_detailed(cp.id, client=admin, body=models.WebHostingSuspendAccountBody.from_dict({"params": {"reason": "invoice overdue"}})),
    200,
    models.WebHostingSuspendAccountResponse200,
)
suspended = expect(api("contract_products", "get_contract_product").sync_detailed(cp.id, client=owner), 200, models.ContractProduct)
assert suspended.status.value == "suspended", suspended.status
expect(api("web_hosting", "web_hosting_unsuspend_account").sync_detailed(cp.id, client=admin), 200, models.WebHostingUnsuspendAccountResponse200)

# Errors parse too: suspending is the admin's, not the owner's. (The owner cannot even name the
# account to get-info: the generated model has no such field, the engine fills it.)
refused = api("web_hosting", "web_hosting_suspend_account").sync_detailed(cp.id, client=owner)
assert refused.status_code == 403 and isinstance(refused.parsed, models.Error) and refused.parsed.error.code.value == "forbidden", refused.content
assert "username" not in models.WebHostingGetInfoBodyParams.from_dict({"username": "other"}).to_dict()

# The contract product's logs, two to a page, followed by the cursor to the end.
seen, cursor, pages = [], None, 0
while True:
    kwargs = {"limit": 2} if cursor is None else {"limit": 2, "cursor": cursor}
    page = expect(api("logs", "product_logs").sync_detailed(cp.id, client=owner, **kwargs), 200, models.LogPage)
    pages += 1
    seen += [e.action for e in page.items]
    cursor = page.next_cursor
    if not cursor:
        break
assert pages >= 2 and seen[:4] == ["unsuspend-account", "suspend-account", "get-info", "create-account"], (pages, seen)

# One entry, and the system's logs filtered by status.
entry = expect(api("logs", "log_entry").sync_detailed(done.log_id, client=admin), 200, models.LogEntry)
assert entry.status.value == "success" and entry.action == "create-account"
successes = expect(api("logs", "system_logs").sync_detailed(client=admin, status=models.SystemLogsStatus.SUCCESS, limit=50), 200, models.LogPage)
assert successes.items and all(e.status.value == "success" for e in successes.items)
errors = expect(api("logs", "system_logs").sync_detailed(client=admin), 200, models.LogPage)
assert all(e.status.value == "error" for e in errors.items)

# Lists with their filters.
mine = expect(api("contract_products", "list_contract_products").sync_detailed(client=owner, limit=5), 200, models.ContractProductPage)
assert all(p.client_id == CLIENT_ID for p in mine.items)
configs = expect(api("configurations", "list_configurations").sync_detailed(client=admin, blueprint=models.ListConfigurationsBlueprint.WEB_HOSTING), 200, models.ConfigurationList)
assert any(c.id == config.id for c in configs.items)

print(f"[contract] a service's life through the generated client: {checked} answers parsed into the document's models")
