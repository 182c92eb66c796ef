// The local stack's OpenID Connect provider (make dev, make test): oidc-provider (certified,
// https://github.com/panva/node-oidc-provider) with three seeded users, so the console signs in
// locally exactly as it does against a deployment's identity provider: authorization code + PKCE
// for the public client `console`, RS256 JWT access tokens for the API's audience carrying the
// claims the API reads (role, client_id), verified by the API through this provider's JWKS.
// Local only: the users' passwords come from the environment (make dev prints them), the signing
// key is made at each start, and the login page is this file's own (no script, no external asset).
//
// Environment: OIDC_PORT, OIDC_ISSUER (default http://127.0.0.1:$OIDC_PORT), CONSOLE_ORIGIN (the
// API's origin; the console's redirect URI is $CONSOLE_ORIGIN/console/callback), API_AUDIENCE,
// OIDC_PASSWORD_ADMIN, OIDC_PASSWORD_ALICE, OIDC_PASSWORD_BOB.
import { generateKeyPairSync, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { Provider, errors } from 'oidc-provider';

const PORT = Number(process.env.OIDC_PORT || 4400);
const ISSUER = process.env.OIDC_ISSUER || `http://127.0.0.1:${PORT}`;
const CONSOLE = process.env.CONSOLE_ORIGIN || 'http://127.0.0.1:9000';
const AUDIENCE = process.env.API_AUDIENCE || 'provisioning-api';
// A resource indicator must be an absolute URI; the audience the API checks is AUDIENCE.
const RESOURCE = 'urn:provisioning:api';
const TTL = 15 * 60;

const password = (name) => {
  const value = process.env[`OIDC_PASSWORD_${name.toUpperCase()}`];
  if (!value || value.length < 12) throw new Error(`OIDC_PASSWORD_${name.toUpperCase()} must be set (12 characters or more)`);
  return value;
};
// An admin and two clients of the billing system (client ids as the seeds' client area uses them).
const USERS = {
  admin: { role: 'admin', name: 'Local Admin', password: password('admin') },
  alice: { role: 'client', client_id: 'client-1', name: 'Alice Client', password: password('alice') },
  bob: { role: 'client', client_id: 'client-2', name: 'Bob Client', password: password('bob') },
};
const claimsOf = (sub) => ({ sub, name: USERS[sub].name, role: USERS[sub].role, ...(USERS[sub].client_id && { client_id: USERS[sub].client_id }) });
const same = (a, b) => {
  const x = Buffer.from(String(a)), y = Buffer.from(String(b));
  return x.length === y.length && timingSafeEqual(x, y);
};

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'RS256', use: 'sig' };

const provider = new Provider(ISSUER, {
  clients: [{
    client_id: 'console',
    token_endpoint_auth_method: 'none', // a public client: PKCE is required
    redirect_uris: [`${CONSOLE}/console/callback`],
    post_logout_redirect_uris: [`${CONSOLE}/console`],
    grant_types: ['authorization_code'],
    response_types: ['code'],
  }],
  pkce: { required: () => true },
  jwks: { keys: [jwk] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  scopes: ['openid'],
  claims: { openid: ['sub', 'name', 'role', 'client_id'] },
  conformIdTokenClaims: false, // the console reads role and client_id from the ID token
  async findAccount(ctx, sub) {
    if (!USERS[sub]) return undefined;
    return { accountId: sub, claims: async () => claimsOf(sub) };
  },
  features: {
    devInteractions: { enabled: false }, // this file's own login page, which checks passwords
    rpInitiatedLogout: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => RESOURCE,
      useGrantedResource: () => true,
      getResourceServerInfo(ctx, indicator) {
        if (indicator !== RESOURCE) throw new errors.InvalidTarget();
        return { scope: 'api', audience: AUDIENCE, accessTokenTTL: TTL, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } };
      },
    },
  },
  formats: {
    customizers: {
      // RFC 9068 puts the OAuth client in client_id; the API reads client_id as the billing
      // system's client, so the OAuth client moves to azp (and an admin has no client_id).
      async jwt(ctx, token, jwt) {
        const c = claimsOf(token.accountId);
        jwt.payload.azp = token.clientId;
        jwt.payload.role = c.role;
        if (c.client_id) jwt.payload.client_id = c.client_id;
        else delete jwt.payload.client_id;
      },
    },
  },
  // The console is first party: no consent screen.
  async loadExistingGrant(ctx) {
    const id = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (id) return ctx.oidc.provider.Grant.find(id);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid');
    grant.addOIDCClaims(['sub', 'name', 'role', 'client_id']);
    grant.addResourceScope(RESOURCE, 'api');
    await grant.save();
    return grant;
  },
  ttl: { AccessToken: TTL, IdToken: TTL, AuthorizationCode: 60, Interaction: 600, Session: 3600, Grant: 3600 },
  clientBasedCORS: (ctx, origin) => origin === CONSOLE, // the console calls /token from the page
  renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign-in error</title></head><body><main><h1>Sign-in error</h1><pre>${esc(JSON.stringify(out, null, 2))}</pre></main></body></html>`;
  },
});

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (uid, error = '') => `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Sign in</title></head>
<body><main><h1>Sign in to the provisioning console</h1>${error && `<p role="alert">${esc(error)}</p>`}
<form method="post" action="/interaction/${esc(uid)}/login">
<p><label for="username">Username</label> <input id="username" name="username" autocomplete="username" required></p>
<p><label for="password">Password</label> <input id="password" name="password" type="password" autocomplete="current-password" required></p>
<p><button type="submit">Sign in</button></p></form></main></body></html>`;
const readForm = async (req) => {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 8192) throw new Error('form too large');
  }
  return new URLSearchParams(body);
};
const html = (res, status, body) => {
  // form-action covers the redirects after the post too: back through /auth to the console.
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': `default-src 'none'; form-action 'self' ${CONSOLE}; frame-ancestors 'none'` });
  res.end(body);
};

const oidc = provider.callback();
createServer(async (req, res) => {
  const m = /^\/interaction\/([\w-]+)(\/login)?$/.exec(req.url);
  if (!m) return oidc(req, res);
  try {
    const { uid, prompt } = await provider.interactionDetails(req, res);
    if (prompt.name !== 'login') throw new Error(`unexpected prompt ${prompt.name}`);
    if (req.method === 'GET' && !m[2]) return html(res, 200, page(uid));
    if (req.method !== 'POST' || !m[2]) return html(res, 405, page(uid, 'Use the form.'));
    const form = await readForm(req);
    const user = form.get('username');
    if (!Object.hasOwn(USERS, user || '') || !same(form.get('password') || '', USERS[user].password)) {
      return html(res, 401, page(uid, 'Unknown user or wrong password.'));
    }
    await provider.interactionFinished(req, res, { login: { accountId: user } }, { mergeWithLastSubmission: false });
  } catch (e) {
    html(res, 400, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign-in error</title></head><body><main><p role="alert">${esc(e.message)}</p></main></body></html>`);
  }
}).listen(PORT, '127.0.0.1', () => console.log(`[oidc] ${ISSUER} (discovery /.well-known/openid-configuration, JWKS /jwks) for ${CONSOLE}/console`));
