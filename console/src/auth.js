// Sign-in with OpenID Connect: authorization code + PKCE (S256) for the public client the
// console's settings name. The access token is kept in memory only (never in storage a script
// could read later); a reload or an expired token goes back through the provider, whose own
// session makes that a redirect, and returns to the page the user was on.
import { base } from './router.js';

const PENDING = 'console.sign-in';
let session = null;

const b64url = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const random = () => b64url(crypto.getRandomValues(new Uint8Array(32)));
const redirectUri = () => `${location.origin}${base()}/console/callback`;

/** The claims of a JWT, unverified: the API verifies every token; the console only reads them. */
export function claimsOf(token) {
  const part = token.split('.')[1] || '';
  const json = atob(part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '='));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0))));
}

/** The signed-in user: { token, role, clientId, name, exp } or null. */
export const current = () => (session && session.exp * 1000 > Date.now() + 5000 ? session : null);

/** Sends the browser to the provider; it comes back to `returnTo` (this page by default). */
export async function signIn(settings, returnTo = location.pathname + location.search) {
  if (!window.isSecureContext) throw new Error('Sign-in needs a secure context (https, or http on 127.0.0.1 / localhost).');
  const verifier = random();
  const state = random();
  const nonce = random();
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, nonce, returnTo }));
  const url = new URL(settings.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code', client_id: settings.client_id, redirect_uri: redirectUri(), scope: 'openid',
    state, nonce, code_challenge: b64url(digest), code_challenge_method: 'S256',
  }).toString();
  location.assign(url.toString());
  return new Promise(() => {}); // the page is leaving
}

/** On /console/callback: trades the code for tokens; answers the path to go back to. */
export async function completeSignIn(settings) {
  const params = new URLSearchParams(location.search);
  const pending = JSON.parse(sessionStorage.getItem(PENDING) || 'null');
  sessionStorage.removeItem(PENDING);
  if (params.get('error')) throw new Error(`The identity provider refused the sign-in: ${params.get('error_description') || params.get('error')}`);
  if (!pending || !params.get('code') || params.get('state') !== pending.state) throw new Error('This sign-in answer does not belong to a sign-in started here. Sign in again.');
  const answer = await fetch(settings.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: params.get('code'), redirect_uri: redirectUri(), client_id: settings.client_id, code_verifier: pending.verifier }),
  });
  const tokens = await answer.json().catch(() => ({}));
  if (!answer.ok || !tokens.access_token) throw new Error(`The token exchange failed: ${tokens.error_description || tokens.error || answer.status}`);
  if (tokens.id_token && claimsOf(tokens.id_token).nonce !== pending.nonce) throw new Error('The ID token does not answer this sign-in (nonce). Sign in again.');
  const claims = claimsOf(tokens.access_token);
  const idClaims = tokens.id_token ? claimsOf(tokens.id_token) : {};
  session = {
    token: tokens.access_token,
    idToken: tokens.id_token,
    role: claims.role,
    // The billing client (Cognito's tokens carry it as billing_client_id: their client_id is the app's).
    clientId: claims.role === 'client' ? claims.billing_client_id ?? claims.client_id : undefined,
    name: idClaims.name || idClaims.email || idClaims['cognito:username'] || claims.sub,
    exp: claims.exp,
  };
  return pending.returnTo && pending.returnTo.startsWith(`${base()}/console`) && !pending.returnTo.startsWith(`${base()}/console/callback`) ? pending.returnTo : `${base()}/console`;
}

/** Forgets the token and ends the provider's session where it offers that. */
export function signOut(settings) {
  const idToken = session?.idToken;
  session = null;
  if (settings.end_session_endpoint) {
    const url = new URL(settings.end_session_endpoint);
    const back = `${location.origin}${base()}/console`;
    // OpenID Connect RP-initiated logout, or Cognito's /logout, which names the way back
    // logout_uri (the template registers it as .../console/, which leads to the console).
    const cognito = url.pathname.endsWith('/logout');
    url.search = new URLSearchParams(cognito ? { client_id: settings.client_id, logout_uri: `${back}/` } : { client_id: settings.client_id, post_logout_redirect_uri: back, ...(idToken && { id_token_hint: idToken }) }).toString();
    location.assign(url.toString());
  } else {
    location.assign(`${base()}/console`);
  }
}
