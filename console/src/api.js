// The API client: same origin, the access token as a bearer, the API's error shape turned into
// an ApiError the pages show (never swallowed). A 401 goes back through sign-in to this page.
import { base } from './router.js';
import { current, signIn } from './auth.js';

export class ApiError extends Error {
  constructor(status, body) {
    const e = body?.error || {};
    super(e.message || `The API answered ${status}`);
    this.status = status;
    this.code = e.code || 'unknown';
    this.details = e.details || {};
    this.fields = e.details?.fields || {};
    this.logId = body?.log_id || null;
    this.requestId = e.details?.request_id || null;
  }
}

let settings = null;
export const configure = (s) => { settings = s; };

/** One API call; `signal` cancels it (a page left before its data came). */
export async function api(method, path, body, signal) {
  const user = current();
  if (!user) return signIn(settings);
  let answer;
  try {
    answer = await fetch(`${base()}${path}`, {
      method,
      headers: { authorization: `Bearer ${user.token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, { error: { code: 'network', message: `The API could not be reached (${e.message}).` } });
  }
  const data = await answer.json().catch(() => null);
  if (answer.status === 401) return signIn(settings);
  if (!answer.ok) throw new ApiError(answer.status, data);
  return data;
}

export const get = (path, query, signal) => api('GET', query ? `${path}?${new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined && v !== null && v !== ''))}` : path, undefined, signal);
export const post = (path, body) => api('POST', path, body ?? {});
export const patch = (path, body) => api('PATCH', path, body);
export const del = (path) => api('DELETE', path);

// The catalogue is the same for every caller: asked once per page load.
let catalogue = null;
export const blueprints = () => (catalogue ??= get('/blueprints').catch((e) => { catalogue = null; throw e; }));
