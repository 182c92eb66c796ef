// The console's routes are paths under /console (the function serves the page for each); this
// module maps them to pages and moves between them with the History API.
import { useEffect, useState } from 'preact/hooks';

/** The API Gateway stage prefix ("" or "/prod"), from the page the function served. */
export const base = () => document.querySelector('meta[name="console-base"]')?.content || '';

/** The in-app path: "/console/services/cp-1" → "services/cp-1". */
export const appPath = () => location.pathname.slice(`${base()}/console`.length).replace(/^\/+|\/+$/g, '');

// The app's root is /console (API Gateway routes /console/ to no route).
export const href = (path) => (path.replace(/^\/+/, '') ? `${base()}/console/${path.replace(/^\/+/, '')}` : `${base()}/console`);

const listeners = new Set();
export function navigate(path, { replace = false } = {}) {
  const url = path.startsWith(`${base()}/console`) ? path : href(path);
  history[replace ? 'replaceState' : 'pushState'](null, '', url);
  listeners.forEach((f) => f());
  window.scrollTo(0, 0);
}
window.addEventListener('popstate', () => listeners.forEach((f) => f()));

/** Re-renders on every navigation; answers [path, query]. */
export function useLocation() {
  const [, set] = useState(0);
  useEffect(() => {
    const f = () => set((n) => n + 1);
    listeners.add(f);
    return () => listeners.delete(f);
  }, []);
  return [appPath(), new URLSearchParams(location.search)];
}

/** Matches "services/:id" against a path; answers the parameters or null. */
export function match(pattern, path) {
  const p = pattern.split('/');
  const s = path.split('/');
  if (p.length !== s.length) return null;
  const params = {};
  for (let i = 0; i < p.length; i++) {
    if (p[i].startsWith(':')) params[p[i].slice(1)] = decodeURIComponent(s[i]);
    else if (p[i] !== s[i]) return null;
  }
  return params;
}
