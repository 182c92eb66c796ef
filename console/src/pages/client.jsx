// The client area: the signed-in client's own services. The list comes from the API scoped to
// the token's client; a service page is opened only for an id in that list, so the console never
// asks for another client's service.
import { get } from '../api.js';
import { ErrorBox, Link, ListEnd, Page, Status, usePages } from '../ui.jsx';

let own = null;
/** The ids of the signed-in client's services (every page of the list, once per load). */
export function ownServiceIds() {
  own ??= (async () => {
    const ids = new Set();
    let cursor = null;
    do {
      const page = await get('/contract-products', { limit: 500, cursor });
      page.items.forEach((cp) => ids.add(cp.id));
      cursor = page.next_cursor;
    } while (cursor);
    return ids;
  })().catch((e) => { own = null; throw e; });
  return own;
}

export function MyServices() {
  const pages = usePages((cursor) => get('/contract-products', { limit: 50, cursor }), []);
  return (
    <Page title="My services">
      <ErrorBox error={pages.error} title="Your services could not be loaded" />
      {pages.items.length > 0 && (
        <ul class="cards">
          {pages.items.map((cp) => (
            <li key={cp.id} class="card">
              <h2><Link to={`services/${encodeURIComponent(cp.id)}`}>{cp.service_identifier || cp.id}</Link></h2>
              <p><Status value={cp.status} /> <span class="muted">{cp.blueprint}</span></p>
            </li>
          ))}
        </ul>
      )}
      <ListEnd pages={pages} empty={<p>You have no services yet.</p>} />
    </Page>
  );
}
