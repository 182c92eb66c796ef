// The admin area: the dashboard, the service search and the new-service form, failed work with
// Retry, provision configurations (forms from each provider's settings schema; secrets write-only;
// Test connection; delete with its 409 explained), products and event handlers.
import { useState } from 'preact/hooks';
import { blueprints, del, get, patch, post } from '../api.js';
import { Fields, check, fieldErrors, isSecret, prune } from '../form.jsx';
import { navigate } from '../router.js';
import { ErrorBox, Link, ListEnd, Loading, Page, Status, useLoad, usePages, waiting, when } from '../ui.jsx';
import { LogTable } from './service.jsx';

const enc = encodeURIComponent;
const DAY = 24 * 3600 * 1000;
const sinceYesterday = () => new Date(Date.now() - DAY).toISOString().replace(/\.\d+Z$/, 'Z');

/** Counts a log query's entries up to `cap`, following cursors. */
async function count(path, query, signal, cap = 1000) {
  let n = 0; let cursor = null; const items = [];
  do {
    const page = await get(path, { ...query, limit: 200, cursor }, signal);
    n += page.items.length; items.push(...page.items); cursor = page.next_cursor;
  } while (cursor && n < cap);
  return { n, more: Boolean(cursor), items };
}
const shown = ({ n, more }) => `${n}${more ? '+' : ''}`;

/** `fn` over `items`, at most `width` at a time (the browser has few connections per origin). */
async function inTurn(items, width, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => { while (next < items.length) { const i = next++; out[i] = await fn(items[i]); } };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return out;
}

export function Dashboard() {
  const load = useLoad(async (signal) => {
    const since = sinceYesterday();
    const [errors, pending, failed, configurations] = await Promise.all([
      count('/logs', { status: 'error', since }, signal),
      count('/logs', { status: 'pending', since: new Date(Date.now() - 30 * DAY).toISOString().slice(0, 10) }, signal),
      count('/lifecycle-events', { status: 'failed' }, signal),
      get('/provision-configurations', undefined, signal),
    ]);
    const rates = await inTurn(configurations.items, 3, async (c) => {
      const all = await count(`/provision-configurations/${enc(c.id)}/logs`, { since }, signal, 2000);
      const bad = all.items.filter((e) => e.status === 'error').length;
      return { c, total: all.n, more: all.more, bad };
    });
    return { errors, pending, failed, rates };
  }, []);
  return (
    <Page title="Dashboard" actions={<button type="button" class="secondary" onClick={load.reload}>Refresh</button>}>
      <ErrorBox error={load.error} title="The dashboard could not be loaded" />
      {load.loading && !load.data && <Loading />}
      {load.data && (
        <>
          <ul class="stats">
            <li class={load.data.errors.n ? 'stat bad' : 'stat'}><Link to="errors"><span class="num">{shown(load.data.errors)}</span> errors in the last 24 h</Link></li>
            <li class="stat"><span class="num">{shown(load.data.pending)}</span> actions pending (30 days)</li>
            <li class={load.data.failed.n ? 'stat bad' : 'stat'}><Link to="failed"><span class="num">{shown(load.data.failed)}</span> failed lifecycle events</Link></li>
          </ul>
          <h2>Configurations, last 24 h</h2>
          <div class="table-wrap">
            <table>
              <thead><tr><th scope="col">Configuration</th><th scope="col">Blueprint / provider</th><th scope="col">Runs</th><th scope="col">Errors</th><th scope="col">Error rate</th></tr></thead>
              <tbody>
                {load.data.rates.map(({ c, total, more, bad }) => (
                  <tr key={c.id}>
                    <td><Link to={`configurations/${enc(c.id)}`}>{c.name}</Link>{!c.enabled && <span class="muted"> (disabled)</span>}</td>
                    <td>{c.blueprint} / {c.provider}</td>
                    <td>{total}{more ? '+' : ''}</td>
                    <td>{bad}</td>
                    <td>{total ? `${Math.round((bad / total) * 1000) / 10} %` : '–'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {load.data.errors.items.length > 0 && <><h2>Latest errors</h2><LogTable items={load.data.errors.items.slice(0, 10)} withService /></>}
        </>
      )}
    </Page>
  );
}

export function Errors() {
  const pages = usePages((cursor) => get('/logs', { status: 'error', since: sinceYesterday(), limit: 50, cursor }), []);
  return (
    <Page title="Errors of the last 24 hours">
      <ErrorBox error={pages.error} />
      <LogTable items={pages.items} withService />
      <ListEnd pages={pages} empty={<p>No errors.</p>} />
    </Page>
  );
}

const STATUSES = ['pending', 'active', 'suspended', 'terminated', 'failed'];

export function Services({ query }) {
  const initial = Object.fromEntries(['identifier', 'client_id', 'status', 'blueprint', 'configuration_id'].map((k) => [k, query.get(k) || '']));
  const [form, setForm] = useState(initial);
  const cat = useLoad(() => Promise.all([blueprints(), get('/provision-configurations')]), []);
  const key = JSON.stringify(initial);
  const pages = usePages((cursor) => get('/contract-products', { ...initial, limit: 50, cursor }), [key]);
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });
  const search = (e) => {
    e.preventDefault();
    const q = new URLSearchParams(Object.entries(form).filter(([, v]) => v.trim() !== '').map(([k, v]) => [k, v.trim()]));
    navigate(`services${q.toString() ? `?${q}` : ''}`);
  };
  return (
    <Page title="Services" actions={<Link class="button-link" to="services/new">New service</Link>}>
      <form class="filters" onSubmit={search} role="search" aria-label="Search services">
        <div class="field"><label for="s-identifier">Service identifier</label><input id="s-identifier" value={form.identifier} onInput={set('identifier')} placeholder="domain, username, …" /></div>
        <div class="field"><label for="s-client">Client id</label><input id="s-client" value={form.client_id} onInput={set('client_id')} /></div>
        <div class="field"><label for="s-status">Status</label><select id="s-status" value={form.status} onChange={set('status')}><option value="">any</option>{STATUSES.map((s) => <option key={s}>{s}</option>)}</select></div>
        <div class="field"><label for="s-blueprint">Blueprint</label><select id="s-blueprint" value={form.blueprint} onChange={set('blueprint')}><option value="">any</option>{cat.data?.[0].blueprints.map((b) => <option key={b.id} value={b.id}>{b.name}</option>)}</select></div>
        <div class="field"><label for="s-config">Configuration</label><select id="s-config" value={form.configuration_id} onChange={set('configuration_id')}><option value="">any</option>{cat.data?.[1].items.map((c) => <option key={c.id} value={c.id}>{c.name}</option>)}</select></div>
        <div class="field"><button type="submit">Search</button></div>
      </form>
      <ErrorBox error={pages.error} title="The search failed" />
      {pages.items.length > 0 && (
        <div class="table-wrap">
          <table>
            <thead><tr><th scope="col">Service</th><th scope="col">Status</th><th scope="col">Client</th><th scope="col">Blueprint</th><th scope="col">Provider</th><th scope="col">Created</th></tr></thead>
            <tbody>
              {pages.items.map((cp) => (
                <tr key={cp.id}>
                  <td><Link to={`services/${enc(cp.id)}`}>{cp.service_identifier || cp.id}</Link></td>
                  <td><Status value={cp.status} /></td>
                  <td>{cp.client_id}</td><td>{cp.blueprint}</td><td>{cp.provider}</td><td>{when(cp.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ListEnd pages={pages} empty={<p>No service matches.</p>} />
    </Page>
  );
}

/** The setup actions of a blueprint: the ones that run from `pending`. */
const setupActions = (b) => (b?.actions || []).filter((a) => a.allowed_from.includes('pending'));

export function NewService() {
  const cat = useLoad(() => Promise.all([blueprints(), get('/provision-configurations'), get('/products')]), []);
  const [form, setForm] = useState({ client_id: '', product_id: '', blueprint: '', configuration_id: '', service_identifier: '', setup_action: '' });
  const [fields, setFields] = useState({});
  const [state, setState] = useState({ error: null, busy: false, errors: {} });
  if (cat.loading) return <Page title="New service"><Loading /></Page>;
  if (cat.error) return <Page title="New service"><ErrorBox error={cat.error} /></Page>;
  const [catalogue, configs, products] = cat.data;
  const product = products.items.find((p) => p.id === form.product_id);
  const blueprintId = product?.blueprint || form.blueprint;
  const blueprint = catalogue.blueprints.find((b) => b.id === blueprintId);
  const setup = setupActions(blueprint).find((a) => a.id === (form.setup_action || product?.setup_action)) || setupActions(blueprint)[0];
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });
  const submit = async (e) => {
    e.preventDefault();
    const body = { client_id: form.client_id.trim() };
    if (product) body.product_id = product.id; else body.blueprint = blueprintId || undefined;
    if (form.configuration_id) body.deployment = { type: 'static', configuration_id: form.configuration_id };
    else if (!product) body.deployment = { type: 'dynamic' };
    if (form.service_identifier.trim()) body.service_identifier = form.service_identifier.trim();
    if (form.setup_action) body.setup_action = form.setup_action;
    const pf = prune(fields);
    if (pf) body.provision_fields = pf;
    setState({ error: null, busy: true, errors: {} });
    try {
      const cp = await post('/contract-products', body);
      navigate(`services/${enc(cp.id)}/manage`);
    } catch (err) {
      setState({ error: err, busy: false, errors: fieldErrors(err, 'provision_fields') });
    }
  };
  const err = (k) => state.error?.fields?.[k];
  return (
    <Page title="New service">
      <form onSubmit={submit} noValidate class="stack">
        <div class="field"><label for="n-client">Client id <span class="req" aria-hidden="true">*</span></label><input id="n-client" required value={form.client_id} onInput={set('client_id')} aria-invalid={err('client_id') ? 'true' : undefined} aria-describedby={err('client_id') ? 'n-client-error' : undefined} />{err('client_id') && <span class="field-error" id="n-client-error">{err('client_id')}</span>}</div>
        <div class="field"><label for="n-product">Product</label><select id="n-product" value={form.product_id} onChange={set('product_id')}><option value="">(none: choose the blueprint)</option>{products.items.map((p) => <option key={p.id} value={p.id}>{p.name}</option>)}</select></div>
        {!product && <div class="field"><label for="n-blueprint">Blueprint</label><select id="n-blueprint" value={form.blueprint} onChange={set('blueprint')}><option value="">Choose…</option>{catalogue.blueprints.map((b) => <option key={b.id} value={b.id}>{b.name}</option>)}</select></div>}
        <div class="field"><label for="n-config">Configuration</label><select id="n-config" value={form.configuration_id} onChange={set('configuration_id')}><option value="">{product ? '(the product’s)' : '(the blueprint’s default)'}</option>{configs.items.filter((c) => !blueprintId || c.blueprint === blueprintId).map((c) => <option key={c.id} value={c.id}>{c.name} ({c.provider})</option>)}</select></div>
        <div class="field"><label for="n-ident">{blueprint?.service_identifier || 'Service identifier'}</label><input id="n-ident" value={form.service_identifier} onInput={set('service_identifier')} /><span class="hint">Optional: the setup action may establish it.</span></div>
        {blueprint && <div class="field"><label for="n-setup">Setup action</label><select id="n-setup" value={form.setup_action} onChange={set('setup_action')}><option value="">({setup?.name || 'default'})</option>{setupActions(blueprint).map((a) => <option key={a.id} value={a.id}>{a.name}</option>)}</select></div>}
        {setup && <fieldset class="nested"><legend>Provision fields (what {setup.name.toLowerCase()} will take)</legend><Fields schema={setup.params} value={fields} onChange={setFields} errors={state.errors} prefix="npf" required={[]} /></fieldset>}
        <ErrorBox error={state.error} title="The service was not made" />
        <button type="submit" disabled={state.busy}>{state.busy ? 'Making…' : 'Make the service'}</button>
      </form>
    </Page>
  );
}

export function FailedWork({ query }) {
  const status = query.get('status') === 'received' ? 'received' : 'failed';
  const pages = usePages((cursor) => get('/lifecycle-events', { status, limit: 50, cursor }), [status]);
  const [results, setResults] = useState({});
  const retry = async (ev) => {
    setResults((r) => ({ ...r, [ev.id]: { busy: true } }));
    try {
      const answer = await post(`/lifecycle-events/${enc(ev.id)}/retry`);
      setResults((r) => ({ ...r, [ev.id]: { answer } }));
    } catch (error) {
      setResults((r) => ({ ...r, [ev.id]: { error } }));
    }
  };
  return (
    <Page title={status === 'failed' ? 'Failed lifecycle events' : 'Lifecycle events not yet queued'}>
      <nav class="tabs" aria-label="Event status">
        <Link to="failed" aria-current={status === 'failed' ? 'page' : undefined}>Failed</Link>
        <Link to="failed?status=received" aria-current={status === 'received' ? 'page' : undefined}>Not yet queued</Link>
      </nav>
      <ErrorBox error={pages.error} />
      {pages.items.length > 0 && (
        <div class="table-wrap">
          <table>
            <thead><tr><th scope="col">Received</th><th scope="col">Event</th><th scope="col">Service</th><th scope="col">Error</th><th scope="col">Retries</th><th scope="col">Action</th></tr></thead>
            <tbody>
              {pages.items.map((ev) => {
                const r = results[ev.id] || {};
                return (
                  <tr key={ev.id}>
                    <td>{when(ev.received_at)}</td>
                    <td>{ev.type}<br /><code class="small">{ev.id}</code></td>
                    <td><Link to={`services/${enc(ev.contract_product_id)}`}>{ev.contract_product_id}</Link></td>
                    <td class="message">{ev.error || ''}{ev.log_ids.length > 0 && <> · <Link to={`logs/${enc(ev.log_ids[ev.log_ids.length - 1])}`}>log entry</Link></>}</td>
                    <td>{ev.retries}</td>
                    <td>
                      {status === 'failed' && !r.answer && <button type="button" class="small" disabled={r.busy} onClick={() => retry(ev)} aria-label={`Retry ${ev.type} ${ev.id}`}>{r.busy ? 'Retrying…' : 'Retry'}</button>}
                      {r.answer && <span role="status" class="ok">Queued again (retry {r.answer.retries}){r.answer.log_id && <> · <Link to={`logs/${enc(r.answer.log_id)}`}>log</Link></>}</span>}
                      <ErrorBox error={r.error} title="Not retried" />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <ListEnd pages={pages} empty={<p>Nothing here: every lifecycle event ran.</p>} />
    </Page>
  );
}

export function Configurations() {
  const load = useLoad(() => get('/provision-configurations'), []);
  return (
    <Page title="Provision configurations" actions={<Link class="button-link" to="configurations/new">New configuration</Link>}>
      <ErrorBox error={load.error} />
      {load.loading && <Loading />}
      {load.data && (
        <div class="table-wrap">
          <table>
            <thead><tr><th scope="col">Name</th><th scope="col">Blueprint</th><th scope="col">Provider</th><th scope="col">Enabled</th><th scope="col">Default</th><th scope="col">In use</th></tr></thead>
            <tbody>
              {load.data.items.map((c) => (
                <tr key={c.id}>
                  <td><Link to={`configurations/${enc(c.id)}`}>{c.name}</Link></td><td>{c.blueprint}</td><td>{c.provider}</td>
                  <td>{c.enabled ? 'yes' : 'no'}</td><td>{[c.default_for_blueprint && 'blueprint', c.default_for_provider && 'provider'].filter(Boolean).join(', ') || '–'}</td><td>{c.usage_count}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {load.data && !load.data.items.length && <p>No configuration yet.</p>}
    </Page>
  );
}

export function ConfigurationPage({ id }) {
  const load = useLoad(async () => {
    const [cat, config] = await Promise.all([blueprints(), id === 'new' ? null : get(`/provision-configurations/${enc(id)}`)]);
    return { cat, config };
  }, [id]);
  const wait = waiting(load, 'Configuration', 'This configuration');
  if (wait) return wait;
  return <ConfigurationForm key={load.data.config?.version ?? 'new'} cat={load.data.cat} config={load.data.config} onSaved={load.reload} />;
}

function ConfigurationForm({ cat, config, onSaved }) {
  const creating = !config;
  const [form, setForm] = useState(config ? { name: config.name, blueprint: config.blueprint, provider: config.provider, enabled: config.enabled, default_for_blueprint: config.default_for_blueprint, default_for_provider: config.default_for_provider } : { name: '', blueprint: '', provider: '', enabled: true, default_for_blueprint: false, default_for_provider: false });
  const blueprint = cat.blueprints.find((b) => b.id === form.blueprint);
  const provider = blueprint?.providers.find((p) => p.id === form.provider);
  const schema = provider?.settings || { type: 'object', properties: {} };
  const secretKeys = Object.keys(schema.properties || {}).filter((k) => isSecret(schema.properties[k]));
  const initialSettings = config ? Object.fromEntries(Object.entries(config.settings || {}).filter(([k]) => !secretKeys.includes(k))) : {};
  const [settings, setSettings] = useState(initialSettings);
  const [state, setState] = useState({ error: null, errors: {}, busy: false, saved: false });
  const [test, setTest] = useState(null);
  const [confirm, setConfirm] = useState(false);
  const secretsSet = config ? Object.fromEntries(secretKeys.filter((k) => config.settings?.[k] !== undefined && config.settings?.[k] !== null).map((k) => [k, true])) : {};
  const set = (k, v) => setForm({ ...form, [k]: v });

  const submit = async (e) => {
    e.preventDefault();
    const s = prune(settings) || {};
    const required = creating ? schema.required : (schema.required || []).filter((k) => !secretsSet[k]);
    const local = check(schema, s, required);
    if (!form.name.trim()) local.name = 'is required';
    if (Object.keys(local).length) return setState({ error: { status: 400, message: 'Some fields need attention', fields: local }, errors: local, busy: false });
    setState({ error: null, errors: {}, busy: true, saved: false });
    try {
      if (creating) {
        const made = await post('/provision-configurations', { ...form, name: form.name.trim(), settings: s });
        navigate(`configurations/${enc(made.id)}`);
      } else {
        const changed = Object.fromEntries(Object.entries(s).filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(config.settings?.[k])));
        for (const k of Object.keys(initialSettings)) if (!(k in s)) changed[k] = null;
        await patch(`/provision-configurations/${enc(config.id)}`, { name: form.name.trim(), enabled: form.enabled, default_for_blueprint: form.default_for_blueprint, default_for_provider: form.default_for_provider, settings: changed });
        setState({ error: null, errors: {}, busy: false, saved: true });
        onSaved();
      }
    } catch (err) {
      setState({ error: err, errors: fieldErrors(err, 'settings'), busy: false, saved: false });
    }
  };
  const testConnection = async () => {
    setTest({ busy: true });
    try { setTest({ answer: await post(`/provision-configurations/${enc(config.id)}/test-connection`) }); } catch (error) { setTest({ error }); }
  };
  const remove = async () => {
    try { await del(`/provision-configurations/${enc(config.id)}`); navigate('configurations'); } catch (error) {
      setConfirm(false);
      setState({ ...state, error: error.status === 409 ? Object.assign(error, { message: `${error.message}. It is used by ${config.usage_count} product(s) or service(s): move them to another configuration, or disable this one instead.` }) : error });
    }
  };
  return (
    <Page title={creating ? 'New configuration' : config.name}>
      <form onSubmit={submit} noValidate class="stack" aria-label="Configuration">
        <div class="field"><label for="c-name">Name <span class="req" aria-hidden="true">*</span></label><input id="c-name" required value={form.name} onInput={(e) => set('name', e.currentTarget.value)} aria-invalid={state.errors.name ? 'true' : undefined} aria-describedby={state.errors.name ? 'c-name-error' : undefined} />{state.errors.name && <span class="field-error" id="c-name-error">{state.errors.name}</span>}</div>
        <div class="field"><label for="c-blueprint">Blueprint</label><select id="c-blueprint" disabled={!creating} value={form.blueprint} onChange={(e) => { setForm({ ...form, blueprint: e.currentTarget.value, provider: '' }); setSettings({}); }}><option value="">Choose…</option>{cat.blueprints.map((b) => <option key={b.id} value={b.id}>{b.name}</option>)}</select></div>
        <div class="field"><label for="c-provider">Provider</label><select id="c-provider" disabled={!creating || !blueprint} value={form.provider} onChange={(e) => { set('provider', e.currentTarget.value); setSettings({}); }}><option value="">Choose…</option>{blueprint?.providers.map((p) => <option key={p.id} value={p.id}>{p.name}</option>)}</select>{provider?.description && <span class="hint">{provider.description}</span>}</div>
        <div class="switches">
          <label><input type="checkbox" checked={form.enabled} onChange={(e) => set('enabled', e.currentTarget.checked)} /> Enabled</label>
          <label><input type="checkbox" checked={form.default_for_blueprint} onChange={(e) => set('default_for_blueprint', e.currentTarget.checked)} /> Default for the blueprint</label>
          <label><input type="checkbox" checked={form.default_for_provider} onChange={(e) => set('default_for_provider', e.currentTarget.checked)} /> Default for the provider</label>
        </div>
        {provider && <fieldset class="nested"><legend>{provider.name} settings</legend><Fields schema={schema} value={settings} onChange={setSettings} errors={state.errors} prefix="cs" required={creating ? schema.required : []} secretsSet={secretsSet} /></fieldset>}
        <ErrorBox error={state.error} title="Not saved" />
        {state.saved && <p role="status" class="ok">Saved.</p>}
        <div class="buttons">
          <button type="submit" disabled={state.busy || !provider}>{state.busy ? 'Saving…' : creating ? 'Create configuration' : 'Save changes'}</button>
          {!creating && <button type="button" class="secondary" onClick={testConnection} disabled={test?.busy}>{test?.busy ? 'Testing…' : 'Test connection'}</button>}
          {!creating && !confirm && <button type="button" class="danger" onClick={() => setConfirm(true)}>Delete…</button>}
        </div>
        {confirm && <div class="panel" role="group" aria-label="Confirm deletion"><p>Delete {config.name}? This cannot be undone.</p><button type="button" class="danger" onClick={remove}>Delete configuration</button> <button type="button" class="secondary" onClick={() => setConfirm(false)}>Cancel</button></div>}
      </form>
      {test?.answer && <p role="status" class="ok">Connection works: {test.answer.message} · <Link to={`logs/${enc(test.answer.log_id)}`}>log entry</Link></p>}
      <ErrorBox error={test?.error} title="The connection test failed" />
      {!creating && <p><Link to={`services?configuration_id=${enc(config.id)}`}>Services on this configuration</Link></p>}
    </Page>
  );
}

export function Products() {
  const load = useLoad(() => get('/products'), []);
  return (
    <Page title="Products" actions={<Link class="button-link" to="products/new">New product</Link>}>
      <p class="muted">Provisioning templates the store sells: a service made from one inherits its blueprint, configuration, setup action and provision fields.</p>
      <ErrorBox error={load.error} />
      {load.loading && <Loading />}
      {load.data && (
        <div class="table-wrap"><table>
          <thead><tr><th scope="col">Name</th><th scope="col">Blueprint</th><th scope="col">Provider</th><th scope="col">Deployment</th><th scope="col">Setup action</th></tr></thead>
          <tbody>{load.data.items.map((p) => <tr key={p.id}><td><Link to={`products/${enc(p.id)}`}>{p.name}</Link></td><td>{p.blueprint}</td><td>{p.provider || 'automatic'}</td><td>{p.deployment.type}{p.deployment.configuration_id ? ` (${p.deployment.configuration_id})` : ''}</td><td>{p.setup_action}</td></tr>)}</tbody>
        </table></div>
      )}
      {load.data && !load.data.items.length && <p>No product yet.</p>}
    </Page>
  );
}

export function ProductPage({ id }) {
  const load = useLoad(() => Promise.all([blueprints(), get('/provision-configurations'), id === 'new' ? null : get(`/products/${enc(id)}`)]), [id]);
  const wait = waiting(load, 'Product', 'This product');
  if (wait) return wait;
  const [cat, configs, product] = load.data;
  return <ProductForm key={product?.version ?? 'new'} cat={cat} configs={configs.items} product={product} onSaved={load.reload} />;
}

function ProductForm({ cat, configs, product, onSaved }) {
  const creating = !product;
  const [form, setForm] = useState({ name: product?.name || '', blueprint: product?.blueprint || '', provider: product?.provider || '', type: product?.deployment.type || 'static', configuration_id: product?.deployment.configuration_id || '', setup_action: product?.setup_action || '' });
  const [fields, setFields] = useState(product?.provision_fields || {});
  const [state, setState] = useState({ error: null, errors: {}, busy: false, saved: false });
  const blueprint = cat.blueprints.find((b) => b.id === form.blueprint);
  const setup = setupActions(blueprint).find((a) => a.id === form.setup_action) || setupActions(blueprint)[0];
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });
  const submit = async (e) => {
    e.preventDefault();
    const body = {
      name: form.name.trim(),
      provider: form.provider || null,
      deployment: form.type === 'static' ? { type: 'static', configuration_id: form.configuration_id || null } : { type: 'dynamic' },
      setup_action: form.setup_action || null,
      provision_fields: prune(fields) || {},
    };
    setState({ error: null, errors: {}, busy: true, saved: false });
    try {
      if (creating) { const made = await post('/products', { ...body, blueprint: form.blueprint }); navigate(`products/${enc(made.id)}`); }
      else { await patch(`/products/${enc(product.id)}`, body); setState({ error: null, errors: {}, busy: false, saved: true }); onSaved(); }
    } catch (err) {
      setState({ error: err, errors: fieldErrors(err, 'provision_fields'), busy: false, saved: false });
    }
  };
  return (
    <Page title={creating ? 'New product' : product.name}>
      <form onSubmit={submit} noValidate class="stack" aria-label="Product">
        <div class="field"><label for="p-name">Name <span class="req" aria-hidden="true">*</span></label><input id="p-name" required value={form.name} onInput={set('name')} /></div>
        <div class="field"><label for="p-blueprint">Blueprint</label><select id="p-blueprint" disabled={!creating} value={form.blueprint} onChange={set('blueprint')}><option value="">Choose…</option>{cat.blueprints.map((b) => <option key={b.id} value={b.id}>{b.name}</option>)}</select></div>
        <div class="field"><label for="p-provider">Provider</label><select id="p-provider" value={form.provider} onChange={set('provider')}><option value="">(chosen automatically)</option>{blueprint?.providers.map((p) => <option key={p.id} value={p.id}>{p.name}</option>)}</select></div>
        <div class="field"><label for="p-type">Deployment</label><select id="p-type" value={form.type} onChange={set('type')}><option value="static">static: one configuration</option><option value="dynamic">dynamic: chosen when a service is made</option></select></div>
        {form.type === 'static' && <div class="field"><label for="p-config">Configuration</label><select id="p-config" value={form.configuration_id} onChange={set('configuration_id')}><option value="">(the blueprint’s default)</option>{configs.filter((c) => c.blueprint === form.blueprint).map((c) => <option key={c.id} value={c.id}>{c.name}</option>)}</select></div>}
        {blueprint && <div class="field"><label for="p-setup">Setup action</label><select id="p-setup" value={form.setup_action} onChange={set('setup_action')}><option value="">({setupActions(blueprint)[0]?.name || 'default'})</option>{setupActions(blueprint).map((a) => <option key={a.id} value={a.id}>{a.name}</option>)}</select></div>}
        {setup && <fieldset class="nested"><legend>Provision fields its services inherit</legend><Fields schema={setup.params} value={fields} onChange={setFields} errors={state.errors} prefix="ppf" required={[]} /></fieldset>}
        <ErrorBox error={state.error} title="Not saved" />
        {state.saved && <p role="status" class="ok">Saved.</p>}
        <button type="submit" disabled={state.busy}>{state.busy ? 'Saving…' : creating ? 'Create product' : 'Save changes'}</button>
      </form>
    </Page>
  );
}

const EVENTS = ['contract_product.created', 'contract_product.activated', 'contract_product.suspended', 'contract_product.unsuspended', 'contract_product.renewed', 'contract_product.package_changed', 'contract_product.terminated', 'contract_product.setup_failed', 'contract_product.action_failed'];

export function Handlers() {
  const load = useLoad(() => get('/event-handlers'), []);
  return (
    <Page title="Event handlers" actions={<Link class="button-link" to="handlers/new">New event handler</Link>}>
      <p class="muted">Where status changes are delivered (a signed HTTPS call or a Lambda function), lowest priority number first.</p>
      <ErrorBox error={load.error} />
      {load.loading && <Loading />}
      {load.data && (
        <div class="table-wrap"><table>
          <thead><tr><th scope="col">Name</th><th scope="col">Event</th><th scope="col">Target</th><th scope="col">Priority</th><th scope="col">Status</th></tr></thead>
          <tbody>{load.data.items.map((h) => <tr key={h.id}><td><Link to={`handlers/${enc(h.id)}`}>{h.name}</Link></td><td>{h.event}</td><td>{h.target.type}: {h.target.url || h.target.function}</td><td>{h.priority}</td><td><Status value={h.status} /></td></tr>)}</tbody>
        </table></div>
      )}
      {load.data && !load.data.items.length && <p>No event handler yet.</p>}
    </Page>
  );
}

export function HandlerPage({ id }) {
  const load = useLoad(() => (id === 'new' ? null : Promise.all([get(`/event-handlers/${enc(id)}`), get(`/event-handlers/${enc(id)}/executions`)])), [id]);
  const wait = id === 'new' ? null : waiting(load, 'Event handler', 'This event handler');
  if (wait) return wait;
  const [handler, executions] = load.data || [];
  return <HandlerForm key={handler?.version ?? 'new'} handler={handler} executions={executions?.items || []} onSaved={load.reload} />;
}

function HandlerForm({ handler, executions, onSaved }) {
  const creating = !handler;
  const [form, setForm] = useState({ name: handler?.name || '', event: handler?.event || '', type: handler?.target.type || 'url', url: handler?.target.url || '', function: handler?.target.function || '', priority: handler?.priority ?? 100, status: handler?.status || 'enabled' });
  const [state, setState] = useState({ error: null, busy: false, saved: false, secret: null });
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });
  const err = (k) => state.error?.fields?.[k];
  const submit = async (e) => {
    e.preventDefault();
    const body = { name: form.name.trim(), event: form.event, priority: Number(form.priority), target: form.type === 'url' ? { type: 'url', url: form.url.trim() } : { type: 'lambda', function: form.function.trim() } };
    setState({ error: null, busy: true, saved: false, secret: null });
    try {
      if (creating) { const made = await post('/event-handlers', body); setState({ error: null, busy: false, saved: true, secret: made.secret, id: made.id }); }
      else { await patch(`/event-handlers/${enc(handler.id)}`, { ...body, status: form.status }); setState({ error: null, busy: false, saved: true }); onSaved(); }
    } catch (error) { setState({ error, busy: false, saved: false }); }
  };
  const field = (id, k, text, input) => <div class="field"><label for={id}>{text}</label>{input}{err(k) && <span class="field-error" id={`${id}-error`}>{err(k)}</span>}</div>;
  return (
    <Page title={creating ? 'New event handler' : handler.name}>
      {state.secret ? (
        <div class="panel" role="status">
          <p><strong>Made.</strong> Its signing secret is shown this once: keep it where the receiver checks signatures.</p>
          <p><code class="secret">{state.secret}</code></p>
          <p><Link to={`handlers/${enc(state.id)}`}>Open the handler</Link></p>
        </div>
      ) : (
        <form onSubmit={submit} noValidate class="stack" aria-label="Event handler">
          {field('h-name', 'name', 'Name', <input id="h-name" required value={form.name} onInput={set('name')} aria-invalid={err('name') ? 'true' : undefined} />)}
          {field('h-event', 'event', 'Event', <select id="h-event" value={form.event} onChange={set('event')}><option value="">Choose…</option>{EVENTS.map((ev) => <option key={ev}>{ev}</option>)}</select>)}
          {field('h-type', 'target.type', 'Target', <select id="h-type" value={form.type} onChange={set('type')}><option value="url">URL (signed HTTPS POST)</option><option value="lambda">Lambda function</option></select>)}
          {form.type === 'url' ? field('h-url', 'target.url', 'URL', <input id="h-url" type="url" value={form.url} onInput={set('url')} aria-invalid={err('target.url') ? 'true' : undefined} />)
            : field('h-function', 'target.function', 'Function name or ARN', <input id="h-function" value={form.function} onInput={set('function')} />)}
          {field('h-priority', 'priority', 'Priority (1 runs first)', <input id="h-priority" type="number" min="1" max="1000" value={form.priority} onInput={set('priority')} />)}
          {!creating && field('h-status', 'status', 'Status', <select id="h-status" value={form.status} onChange={set('status')}><option>enabled</option><option>disabled</option><option>archived</option></select>)}
          <ErrorBox error={state.error} title="Not saved" />
          {state.saved && <p role="status" class="ok">Saved.</p>}
          <button type="submit" disabled={state.busy}>{state.busy ? 'Saving…' : creating ? 'Create event handler' : 'Save changes'}</button>
        </form>
      )}
      {!creating && (
        <>
          <h2>Deliveries</h2>
          {executions.length === 0 ? <p class="muted">None yet.</p> : (
            <div class="table-wrap"><table>
              <thead><tr><th scope="col">When</th><th scope="col">Event</th><th scope="col">Result</th><th scope="col">Took</th><th scope="col">Answer</th></tr></thead>
              <tbody>{executions.map((x) => <tr key={`${x.event_id}-${x.started_at}`}><td>{when(x.started_at)}</td><td>{x.event}</td><td><Status value={x.success ? 'success' : 'error'} /> {x.status_code ?? ''}</td><td>{x.duration_ms} ms</td><td class="message">{x.error || x.response_excerpt || ''}</td></tr>)}</tbody>
            </table></div>
          )}
        </>
      )}
    </Page>
  );
}

