// A service (contract product) for staff and for its client: details, the Manage tab (one button
// per action the status, the provider and the caller allow, each a form generated from the
// action's request schema; a long-running action followed until it ends), the logs tab, and for
// staff the provision fields editor (PATCH /contract-products/{id}, an audit entry in the log).
import { Fragment } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { blueprints, get, patch, post } from '../api.js';
import { Fields, check, fieldErrors, isSecret, prune, typeOf } from '../form.jsx';
import { ErrorBox, Json, Link, ListEnd, NotFound, Page, Status, useLoad, usePages, waiting, when } from '../ui.jsx';
import { ownServiceIds } from './client.jsx';

const enc = encodeURIComponent;
const MASK = /^\*+$/;

export function ServicePage({ id, role, tab = 'details' }) {
  const load = useLoad(async () => {
    // A client's console asks only for the client's own services.
    if (role === 'client' && !(await ownServiceIds()).has(id)) return { missing: true };
    const [cp, cat] = await Promise.all([get(`/contract-products/${enc(id)}`), blueprints()]);
    return { cp, blueprint: cat.blueprints.find((b) => b.id === cp.blueprint) };
  }, [id, role, tab]); // each tab opened shows the service as it is now
  if (load.data?.missing) return <NotFound what="This service" />;
  const wait = waiting(load, 'Service', 'This service', 'The service could not be loaded');
  if (wait) return wait;
  const { cp, blueprint } = load.data;
  const title = cp.service_identifier || cp.id;
  const tabs = [['details', 'Details'], ['manage', 'Manage'], ['logs', 'Logs']];
  return (
    <Page title={title} actions={<Status value={cp.status} />}>
      <p class="muted">{blueprint?.name || cp.blueprint} · {cp.provider} · <code>{cp.id}</code></p>
      <nav class="tabs" aria-label="Service sections">
        {tabs.map(([t, name]) => <Link key={t} to={`services/${enc(cp.id)}${t === 'details' ? '' : `/${t}`}`} aria-current={tab === t ? 'page' : undefined}>{name}</Link>)}
      </nav>
      {tab === 'details' && <Details cp={cp} blueprint={blueprint} role={role} onSaved={load.reload} />}
      {tab === 'manage' && <Manage cp={cp} blueprint={blueprint} role={role} onChanged={load.reload} />}
      {tab === 'logs' && <Logs cp={cp} blueprint={blueprint} role={role} />}
    </Page>
  );
}

function Details({ cp, blueprint, role, onSaved }) {
  const secrets = new Set(Object.entries(provisionSchema(blueprint).properties).filter(([, s]) => isSecret(s)).map(([k]) => k));
  const fields = Object.entries(cp.provision_fields || {});
  return (
    <>
      <dl class="details">
        <dt>Status</dt><dd><Status value={cp.status} /></dd>
        <dt>{blueprint?.service_identifier || 'Service identifier'}</dt><dd>{cp.service_identifier || <span class="muted">not yet known</span>}</dd>
        <dt>Blueprint</dt><dd>{blueprint?.name || cp.blueprint}</dd>
        <dt>Provider</dt><dd>{cp.provider}</dd>
        {role === 'admin' && <><dt>Client</dt><dd><Link to={`services?client_id=${enc(cp.client_id)}`}>{cp.client_id}</Link></dd></>}
        {role === 'admin' && <><dt>Configuration</dt><dd><Link to={`configurations/${enc(cp.provision_configuration_id)}`}>{cp.provision_configuration_id}</Link> ({cp.deployment})</dd></>}
        {role === 'admin' && cp.product_id && <><dt>Product</dt><dd><Link to={`products/${enc(cp.product_id)}`}>{cp.product_id}</Link></dd></>}
        <dt>Created</dt><dd>{when(cp.created_at)}</dd>
        <dt>Updated</dt><dd>{when(cp.updated_at)} (version {cp.version})</dd>
      </dl>
      <h2>Provision fields</h2>
      {fields.length === 0 ? <p class="muted">None yet.</p> : (
        <table class="kv">
          <thead><tr><th scope="col">Field</th><th scope="col">Value</th></tr></thead>
          <tbody>{fields.map(([k, v]) => <tr key={k}><th scope="row"><code>{k}</code></th><td>{secrets.has(k) || (typeof v === 'string' && MASK.test(v)) ? <span class="muted">set (secret)</span> : typeof v === 'object' ? <code>{JSON.stringify(v)}</code> : String(v)}</td></tr>)}</tbody>
        </table>
      )}
      {role === 'admin' && <ProvisionFieldsEditor cp={cp} blueprint={blueprint} onSaved={onSaved} />}
    </>
  );
}

/** Every field any action of the blueprint takes: what provision fields may hold. */
function provisionSchema(blueprint) {
  const properties = {};
  for (const a of blueprint?.actions || []) Object.assign(properties, a.params?.properties || {});
  return { type: 'object', properties };
}

function ProvisionFieldsEditor({ cp, blueprint, onSaved }) {
  const schema = provisionSchema(blueprint);
  const stored = cp.provision_fields || {};
  const initial = Object.fromEntries(Object.entries(stored).filter(([k, v]) => !isSecret(schema.properties[k]) && !(typeof v === 'string' && MASK.test(v))));
  const [value, setValue] = useState(initial);
  const [errors, setErrors] = useState({});
  const [state, setState] = useState({ error: null, saved: false, busy: false });
  const secretsSet = Object.fromEntries(Object.keys(stored).filter((k) => isSecret(schema.properties[k])).map((k) => [k, true]));
  // Free-form fields the schema does not name are kept as they are.
  schema.properties = Object.fromEntries(Object.entries(schema.properties).filter(([, s]) => typeOf(s)));
  const save = async (e) => {
    e.preventDefault();
    const next = prune(value) || {};
    const local = check({ ...schema, required: [] }, next);
    setErrors(local);
    if (Object.keys(local).length) return setState({ error: { status: 400, message: 'Some fields are not valid', fields: local }, busy: false });
    const changes = {};
    for (const [k, v] of Object.entries(next)) if (JSON.stringify(v) !== JSON.stringify(stored[k])) changes[k] = v;
    for (const k of Object.keys(initial)) if (!(k in next)) changes[k] = null;
    if (!Object.keys(changes).length) return setState({ error: null, saved: true, busy: false });
    setState({ error: null, saved: false, busy: true });
    try {
      await patch(`/contract-products/${enc(cp.id)}`, { provision_fields: changes });
      setState({ error: null, saved: true, busy: false });
      onSaved();
    } catch (err) {
      setErrors(fieldErrors(err, 'provision_fields'));
      setState({ error: err, saved: false, busy: false });
    }
  };
  return (
    <details class="panel">
      <summary>Edit provision fields</summary>
      <form onSubmit={save} noValidate aria-label="Provision fields">
        <p class="muted">What actions take from the service when a request leaves a field out. Saving is written to the service's log.</p>
        <Fields schema={schema} value={value} onChange={setValue} errors={errors} prefix="pf" required={[]} secretsSet={secretsSet} />
        <ErrorBox error={state.error} title="Not saved" />
        {state.saved && <p role="status" class="ok">Saved.</p>}
        <button type="submit" disabled={state.busy}>{state.busy ? 'Saving…' : 'Save provision fields'}</button>
      </form>
    </details>
  );
}

function Manage({ cp, blueprint, role, onChanged }) {
  const [open, setOpen] = useState(null);
  const provider = blueprint?.providers?.find((p) => p.id === cp.provider);
  const actions = (blueprint?.actions || []).filter((a) => (role === 'admin' || a.client)
    && a.allowed_from.includes(cp.status)
    && (!provider?.supported_actions || provider.supported_actions.includes(a.id)));
  // The open form stays while its run changes the status (create: pending → active).
  const action = (blueprint?.actions || []).find((a) => a.id === open);
  return (
    <>
      {actions.length === 0 && <p>No action runs on a {cp.status} service{role === 'client' ? ' from the client area' : ''}.</p>}
      <ul class="actions" aria-label="Actions">
        {actions.map((a) => (
          <li key={a.id}>
            <button type="button" class={open === a.id ? '' : 'secondary'} aria-expanded={open === a.id} aria-controls="action-panel" onClick={() => setOpen(open === a.id ? null : a.id)} title={a.description}>{a.name}</button>
          </li>
        ))}
      </ul>
      {action && <ActionForm key={action.id} cp={cp} blueprint={blueprint} action={action} onDone={onChanged} onClose={() => setOpen(null)} />}
    </>
  );
}

export function ActionForm({ cp, blueprint, action, onDone, onClose }) {
  const schema = action.request || action.params;
  const filled = new Set(Object.entries(cp.provision_fields || {}).filter(([, v]) => v !== null && v !== '').map(([k]) => k));
  const required = (schema['x-required-after-filling'] || []).filter((f) => !filled.has(f));
  const anyOf = schema['x-any-required-after-filling'];
  const [value, setValue] = useState({});
  const [errors, setErrors] = useState({});
  const [run, setRun] = useState({ busy: false, error: null, answer: null, entry: null });
  const heading = useRef(null);
  useEffect(() => heading.current?.focus(), [action.id]);

  const submit = async (e) => {
    e.preventDefault();
    const params = prune(value) || {};
    const local = check(schema, params, required);
    setErrors(local);
    if (Object.keys(local).length) {
      setRun({ busy: false, error: { status: 400, message: 'Some fields need attention', fields: local }, answer: null });
      document.getElementById(`act-${Object.keys(local)[0].replace(/[^A-Za-z0-9_-]+/g, '-')}`)?.focus();
      return;
    }
    setRun({ busy: true, error: null, answer: null, entry: null });
    try {
      const answer = await post(`/contract-products/${enc(cp.id)}/actions/${blueprint.id}/${action.id}`, { params });
      setRun({ busy: false, error: null, answer, entry: null });
      if (answer.status === 'pending') follow(answer.log_id);
      else onDone();
    } catch (err) {
      setErrors(fieldErrors(err));
      setRun({ busy: false, error: err, answer: null, entry: null });
    }
  };
  // A long-running action: its log entry is read until it is no longer pending.
  const follow = (logId) => {
    let tries = 0;
    const tick = async () => {
      tries += 1;
      try {
        const entry = await get(`/logs/${enc(logId)}`);
        if (entry.status !== 'pending' || tries > 200) { setRun((r) => ({ ...r, entry })); onDone(); return; }
        setRun((r) => ({ ...r, entry }));
      } catch (err) {
        setRun((r) => ({ ...r, error: err }));
        return;
      }
      setTimeout(tick, Math.min(1000 + tries * 250, 5000));
    };
    setTimeout(tick, 800);
  };
  const placeholders = Object.fromEntries(Object.entries(cp.provision_fields || {}).filter(([k, v]) => typeof v !== 'object' && !isSecret(schema.properties?.[k])).map(([k, v]) => [k, String(v)]));
  return (
    <section id="action-panel" class="panel" aria-labelledby="action-title">
      <h2 id="action-title" tabIndex={-1} ref={heading}>{action.name}</h2>
      <p>{action.description}</p>
      <form onSubmit={submit} noValidate aria-labelledby="action-title">
        {Object.keys(placeholders).length > 0 && Object.keys(schema.properties || {}).some((k) => k in placeholders)
          && <p class="muted">Fields left empty are taken from the service's provision fields (shown greyed in them).</p>}
        {anyOf && <p class="muted">Give at least one of: {anyOf.map((g) => (g.required || []).join(' + ')).join(', or ')} (unless the service has it).</p>}
        <Fields schema={schema} value={value} onChange={setValue} errors={errors} prefix="act" required={required} placeholders={placeholders} />
        <div class="buttons">
          <button type="submit" disabled={run.busy}>{run.busy ? 'Running…' : `Run ${action.name.toLowerCase()}`}</button>
          <button type="button" class="secondary" onClick={onClose}>Close</button>
        </div>
      </form>
      <ErrorBox error={run.error} title={`${action.name} failed`} />
      {run.answer && <Outcome answer={run.answer} entry={run.entry} action={action} />}
    </section>
  );
}

function Outcome({ answer, entry, action }) {
  const pending = answer.status === 'pending' && (!entry || entry.status === 'pending');
  const failed = entry && entry.status === 'error';
  const data = entry && entry.status === 'success' ? entry.data : answer.data;
  return (
    <div class={`outcome ${failed ? 'error' : pending ? 'pending' : 'ok'}`} role="status" aria-live="polite">
      <p><strong>{pending ? 'Running' : failed ? 'Failed' : 'Done'}:</strong> {(entry && !pending ? entry.message : answer.message) || ''}{pending && <span class="spinner" aria-hidden="true" />}</p>
      {failed && entry.error && <p>{entry.error.message} ({entry.error.code})</p>}
      {!pending && !failed && data && <Result data={data} schema={action.result} />}
      <p><Link to={`logs/${enc(answer.log_id)}`}>Open the log entry</Link></p>
    </div>
  );
}

/** Result data, readable: fields as a list, URLs as links (a login URL as a button-like link). */
export function Result({ data, schema }) {
  const entries = Object.entries(data || {});
  if (!entries.length) return null;
  const isUrl = (k, v) => typeof v === 'string' && /^https?:\/\//.test(v) && (schema?.properties?.[k]?.format === 'uri' || /url$/.test(k));
  return (
    <dl class="details result">
      {entries.map(([k, v]) => (
        <Fragment key={k}>
          <dt>{k.replace(/_/g, ' ')}</dt>
          <dd>
            {isUrl(k, v) ? <a class={/login|url$/.test(k) ? 'button-link' : ''} href={v} target="_blank" rel="noopener noreferrer">{/login/.test(k) ? 'Open (signs you in)' : v}</a>
              : v !== null && typeof v === 'object' ? <Json label="show" value={v} /> : String(v)}
          </dd>
        </Fragment>
      ))}
    </dl>
  );
}

function Logs({ cp, blueprint, role }) {
  const [filters, setFilters] = useState({ status: '', action: '', since: '', until: '' });
  const pages = usePages((cursor) => get(`/contract-products/${enc(cp.id)}/logs`, { ...filters, limit: 25, cursor }), [cp.id, filters.status, filters.action, filters.since, filters.until]);
  const set = (k) => (e) => setFilters({ ...filters, [k]: e.currentTarget.value });
  return (
    <>
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filter the logs">
        <div class="field"><label for="lf-status">Status</label>
          <select id="lf-status" value={filters.status} onChange={set('status')}><option value="">any</option><option>success</option><option>error</option><option>pending</option></select></div>
        <div class="field"><label for="lf-action">Action</label>
          <select id="lf-action" value={filters.action} onChange={set('action')}><option value="">any</option>{(blueprint?.actions || []).filter((a) => role === 'admin' || a.client).map((a) => <option key={a.id} value={a.id}>{a.name}</option>)}</select></div>
        <div class="field"><label for="lf-since">From</label><input id="lf-since" type="date" value={filters.since} onChange={set('since')} /></div>
        <div class="field"><label for="lf-until">Before</label><input id="lf-until" type="date" value={filters.until} onChange={set('until')} /></div>
      </form>
      <ErrorBox error={pages.error} title="The logs could not be loaded" />
      <LogTable items={pages.items} />
      <ListEnd pages={pages} empty={<p class="muted">No entries.</p>} more="Show older entries" />
    </>
  );
}

const actor = (a) => (a ? (a.role === 'client' ? `client ${a.client_id || a.id || ''}` : `${a.role}${a.id ? ` ${a.id}` : ''}`) : '');

export function LogTable({ items, withService = false }) {
  if (!items.length) return null;
  return (
    <div class="table-wrap">
      <table>
        <thead><tr><th scope="col">When</th>{withService && <th scope="col">Service</th>}<th scope="col">Action</th><th scope="col">Status</th><th scope="col">By</th><th scope="col">Message</th></tr></thead>
        <tbody>
          {items.map((e) => (
            <tr key={e.log_id}>
              <td><Link to={`logs/${enc(e.log_id)}`}>{when(e.started_at)}</Link></td>
              {withService && <td><Link to={`services/${enc(e.contract_product_id)}`}>{e.contract_product_id}</Link></td>}
              <td>{e.action}</td>
              <td><Status value={e.status} /></td>
              <td>{actor(e.actor)}</td>
              <td class="message">{e.message}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function LogEntryPage({ logId, role }) {
  const load = useLoad(() => get(`/logs/${enc(logId)}`), [logId]);
  const wait = waiting(load, 'Log entry', 'This log entry');
  if (wait) return wait;
  const e = load.data;
  return (
    <Page title={`${e.action}: ${e.status}`} actions={<Status value={e.status} />}>
      <p><Link to={`services/${enc(e.contract_product_id)}/logs`}>Back to the service's logs</Link></p>
      <dl class="details">
        <dt>Message</dt><dd>{e.message}</dd>
        {e.error && <><dt>Error</dt><dd class="error-text">{e.error.message} <code>{e.error.code}</code></dd></>}
        <dt>When</dt><dd>{when(e.started_at)} ({e.duration_ms} ms)</dd>
        <dt>By</dt><dd>{actor(e.actor)}</dd>
        <dt>Service</dt><dd><Link to={`services/${enc(e.contract_product_id)}`}>{e.contract_product_id}</Link></dd>
        <dt>Blueprint / provider</dt><dd>{e.blueprint} / {e.provider}</dd>
        {role === 'admin' && <><dt>Configuration</dt><dd><Link to={`configurations/${enc(e.configuration_id)}`}>{e.configuration_id}</Link></dd></>}
        <dt>Log id</dt><dd><code>{e.log_id}</code></dd>
      </dl>
      <Json label="Parameters" value={e.params} open />
      <Json label="Result data" value={e.data} open={e.status === 'success'} />
      {e.error && <Json label="Error" value={e.error} open />}
      {role === 'admin' && <Json label="Debug data (third-party requests and answers, secrets masked)" value={e.debug ?? null} open={e.status === 'error'} />}
    </Page>
  );
}
