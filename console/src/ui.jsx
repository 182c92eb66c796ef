// Small shared pieces: links, status badges, the error box (every failure shown, with what to do
// next), pretty collapsible JSON, a loader hook and a pager for the API's cursors.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { href, navigate } from './router.js';

export function Link({ to, children, ...rest }) {
  const onClick = (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return <a href={href(to)} onClick={onClick} {...rest}>{children}</a>;
}

export const Status = ({ value }) => <span class={`badge badge-${value}`}>{value}</span>;

export const when = (iso) => (iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' }) : '');

/** What a failure means and what to do, by the API's status and code. */
export function explain(error) {
  if (!error) return null;
  switch (error.status) {
    case 0: return 'Check the network connection and try again.';
    case 400: return Object.keys(error.fields || {}).length ? 'Correct the fields marked below and send again.' : 'The request was refused as it stands.';
    case 403: return 'Your account may not do this.';
    case 404: return 'It does not exist, or it is not yours to see.';
    case 409: return error.code === 'invalid_state'
      ? 'The service is not in a status this action runs from: use the action that leads there first (for a suspended service, unsuspend it first).'
      : 'It is in use or was changed meanwhile: reload, then try again.';
    case 413: return 'The request is too large.';
    case 502: return 'The provider answered with an error. The log entry has its request and answer.';
    case 503: return 'The provider is unavailable for now; try again later.';
    case 504: return 'The provider did not answer in time. The action may still complete: check the log entry and the service before running it again.';
    default: return error.status >= 500 ? 'Something failed on our side; the request id below helps the operator find it.' : null;
  }
}

export function ErrorBox({ error, title = 'That did not work' }) {
  if (!error) return null;
  const fields = Object.entries(error.fields || {});
  return (
    <div class="error" role="alert">
      <p><strong>{title}:</strong> {error.message}{error.status ? ` (${error.status}${error.code && error.code !== 'unknown' ? ` ${error.code}` : ''})` : ''}</p>
      {explain(error) && <p>{explain(error)}</p>}
      {fields.length > 0 && <ul>{fields.map(([k, v]) => <li key={k}><code>{k}</code>: {String(v)}</li>)}</ul>}
      {error.logId && <p><Link to={`logs/${encodeURIComponent(error.logId)}`}>Open the log entry</Link></p>}
      {error.requestId && <p class="muted">Request id: <code>{error.requestId}</code></p>}
    </div>
  );
}

/** A value as indented JSON in a collapsible block. */
export function Json({ label, value, open = false }) {
  if (value === undefined) return null;
  return (
    <details class="json" open={open}>
      <summary>{label}</summary>
      <pre tabIndex={0}>{JSON.stringify(value, null, 2)}</pre>
    </details>
  );
}

/** Loads with `fn(signal)` when `deps` change: { data, error, loading, reload }. Only the latest
 * load's answer is kept, and a load that is no longer wanted (another started, or the page was
 * left) is cancelled, so its requests never hold up the next page's. */
export function useLoad(fn, deps) {
  const [state, set] = useState({ data: null, error: null, loading: true });
  const latest = useRef({ n: 0, abort: null });
  const reload = useCallback(() => {
    latest.current.abort?.abort();
    const ctrl = new AbortController();
    const mine = ++latest.current.n;
    latest.current.abort = ctrl;
    const current = () => mine === latest.current.n && !ctrl.signal.aborted;
    set((s) => ({ ...s, loading: true }));
    Promise.resolve().then(() => fn(ctrl.signal)).then((data) => current() && set({ data, error: null, loading: false }), (error) => current() && set({ data: null, error, loading: false }));
  }, deps);
  useEffect(() => { reload(); return () => { latest.current.n += 1; latest.current.abort?.abort(); }; }, [reload]);
  return { ...state, reload };
}

/** A cursor-paged list: { items, error, loading, more (null at the end), reload }. A page asked
 * for an earlier query (the filters changed meanwhile) is dropped. */
export function usePages(fetchPage, deps) {
  const [state, set] = useState({ items: [], cursor: null, error: null, loading: true });
  const query = useRef(0);
  const load = (cursor, items) => {
    const mine = query.current;
    set((s) => ({ ...s, loading: true }));
    return fetchPage(cursor).then((page) => mine === query.current && set({ items: [...items, ...page.items], cursor: page.next_cursor, error: null, loading: false }), (error) => mine === query.current && set((s) => ({ ...s, error, loading: false })));
  };
  useEffect(() => { query.current += 1; set({ items: [], cursor: null, error: null, loading: true }); load(null, []); return () => { query.current += 1; }; }, deps);
  return { ...state, more: state.cursor ? () => load(state.cursor, state.items) : null, reload: () => load(null, []) };
}

export const Loading = () => <p class="muted" role="status">Loading…</p>;

/** What an item's page shows until its item is there: loading, not found, or the error; null
 * once it is loaded. */
export function waiting(load, title, what, errorTitle) {
  if (load.loading && !load.data) return <Page title={title}><Loading /></Page>;
  if (load.error?.status === 404) return <NotFound what={what} />;
  if (load.error) return <Page title={title}><ErrorBox error={load.error} title={errorTitle} /></Page>;
  return null;
}

/** The end of a paged list: loading, its empty message, the button for the next page. */
export function ListEnd({ pages, empty, more = 'Show more' }) {
  return (
    <>
      {pages.loading && <Loading />}
      {!pages.loading && !pages.items.length && !pages.error && empty}
      {pages.more && <button type="button" class="secondary" onClick={pages.more}>{more}</button>}
    </>
  );
}

export function Page({ title, children, actions }) {
  useEffect(() => { document.title = `${title} · Provisioning console`; }, [title]);
  return (
    <section aria-labelledby="page-title">
      <div class="page-head"><h1 id="page-title" tabIndex={-1}>{title}</h1>{actions}</div>
      {children}
    </section>
  );
}

export function NotFound({ what = 'This page' }) {
  return <Page title="Not found"><p>{what} does not exist, or it is not yours to see.</p><p><Link to="">Back to the start</Link></p></Page>;
}
