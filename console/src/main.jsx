// The console's entry: reads the sign-in settings, completes a sign-in coming back from the
// identity provider, then renders the admin area or the client area by the token's role.
import { render } from 'preact';
import { useEffect } from 'preact/hooks';
import './style.css';
import { configure } from './api.js';
import { completeSignIn, current, signIn, signOut } from './auth.js';
import { appPath, base, match, navigate, useLocation } from './router.js';
import { Link, NotFound } from './ui.jsx';
import { ConfigurationPage, Configurations, Dashboard, Errors, FailedWork, HandlerPage, Handlers, NewService, ProductPage, Products, Services } from './pages/admin.jsx';
import { MyServices } from './pages/client.jsx';
import { LogEntryPage, ServicePage } from './pages/service.jsx';

const ADMIN_NAV = [['dashboard', 'Dashboard'], ['services', 'Services'], ['failed', 'Failed work'], ['configurations', 'Configurations'], ['products', 'Products'], ['handlers', 'Event handlers']];
const CLIENT_NAV = [['services', 'My services']];

function route(path, query, user) {
  const admin = user.role === 'admin';
  const m = (p) => match(p, path);
  let r;
  if (path === '') return admin ? <Dashboard /> : <MyServices />;
  if ((r = m('services/:id')) && r.id !== 'new') return <ServicePage key={r.id} id={r.id} role={user.role} />;
  if ((r = m('services/:id/:tab')) && ['manage', 'logs'].includes(r.tab)) return <ServicePage key={r.id} id={r.id} role={user.role} tab={r.tab} />;
  if ((r = m('logs/:id'))) return <LogEntryPage key={r.id} logId={r.id} role={user.role} />;
  if (path === 'services') return admin ? <Services query={query} /> : <MyServices />;
  if (!admin) return <NotFound />;
  if (path === 'dashboard') return <Dashboard />;
  if (path === 'errors') return <Errors />;
  if (path === 'services/new') return <NewService />;
  if (path === 'failed') return <FailedWork query={query} />;
  if (path === 'configurations') return <Configurations />;
  if ((r = m('configurations/:id'))) return <ConfigurationPage key={r.id} id={r.id} />;
  if (path === 'products') return <Products />;
  if ((r = m('products/:id'))) return <ProductPage key={r.id} id={r.id} />;
  if (path === 'handlers') return <Handlers />;
  if ((r = m('handlers/:id'))) return <HandlerPage key={r.id} id={r.id} />;
  return <NotFound />;
}

function App({ settings }) {
  const [path, query] = useLocation();
  const user = current();
  useEffect(() => { document.getElementById('page-title')?.focus({ preventScroll: true }); }, [path]);
  if (!user) { signIn(settings); return <p class="center" role="status">Signing in…</p>; }
  const nav = user.role === 'admin' ? ADMIN_NAV : CLIENT_NAV;
  const section = path.split('/')[0] || (user.role === 'admin' ? 'dashboard' : 'services');
  return (
    <>
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <Link to="" class="brand">Provisioning <span>{user.role === 'admin' ? 'admin' : 'client area'}</span></Link>
        <nav aria-label="Main">
          <ul>{nav.map(([to, name]) => <li key={to}><Link to={to} aria-current={section === to ? 'page' : undefined}>{name}</Link></li>)}</ul>
        </nav>
        <div class="user"><span>{user.name}{user.clientId ? ` (${user.clientId})` : ''}</span> <button type="button" class="secondary small" onClick={() => signOut(settings)}>Sign out</button></div>
      </header>
      <main id="main">{route(path, query, user)}</main>
    </>
  );
}

function Failure({ title, message }) {
  return (
    <main id="main" class="center">
      <h1>{title}</h1>
      <p role="alert">{message}</p>
      <p><a href={`${base()}/console`}>Try again</a></p>
    </main>
  );
}

async function boot() {
  const root = document.getElementById('app');
  let config;
  try {
    const answer = await fetch(`${base()}/console/config.json`, { cache: 'no-cache' });
    config = await answer.json();
  } catch (e) {
    return render(<Failure title="The console could not start" message={`Its settings could not be read (${e.message}).`} />, root);
  }
  const settings = config.sign_in;
  if (!settings) return render(<Failure title="Sign-in is not set up" message="This deployment names no identity provider for the console (the template's ConsoleClientId, ConsoleAuthorizeUrl and ConsoleTokenUrl parameters)." />, root);
  configure(settings);
  if (appPath() === 'callback') {
    try {
      navigate(await completeSignIn(settings), { replace: true });
    } catch (e) {
      return render(<Failure title="Sign-in failed" message={e.message} />, root);
    }
  }
  render(<App settings={settings} />, root);
}

boot();
