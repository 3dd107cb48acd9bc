// Signing in. Locally (`switchboard serve`) with the admin token; deployed with the OIDC issuer of
// the API's JWT authorizer: the authorization code flow with PKCE (RFC 7636) as a public client.
// The page sends the ID token as its bearer token (its audience is the dashboard's client id, which
// the authorizer accepts). The code verifier, state and nonce live in sessionStorage for the
// round trip only; the token, like the admin token, is kept for this tab alone.

import * as api from './api.js';

const PENDING_KEY = 'switchboard.oidc.pending';

let options = null;

/** How this server lets the page sign in: `{ adminToken, oidc }` (GET dashboard/sign-in.json). */
export async function signInOptions() {
  if (!options) options = await api.get('dashboard/sign-in.json');
  return options;
}

function base64url(bytes) {
  let text = '';
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function randomText(bytes) {
  const buffer = new Uint8Array(bytes);
  crypto.getRandomValues(buffer);
  return base64url(buffer);
}

/** The page's own URL without query or fragment: the redirect URI registered at the issuer. */
export function redirectUri() {
  return location.origin + location.pathname;
}

/** Sends the browser to the issuer; it comes back to this page with `?code=…&state=…`. */
export async function startOidc(oidc) {
  const verifier = randomText(48);
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  const pending = { verifier, state: randomText(24), nonce: randomText(24), route: location.hash || '#/' };
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  const url = new URL(oidc.authorizationEndpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: oidc.clientId,
    redirect_uri: redirectUri(),
    scope: oidc.scopes,
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: base64url(new Uint8Array(digest)),
    code_challenge_method: 'S256',
  }).toString();
  location.assign(url.toString());
}

function jwtClaims(token) {
  const part = token.split('.')[1] || '';
  const padded = part.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (part.length % 4)) % 4);
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(padded), (c) => c.charCodeAt(0))));
}

/**
 * Finishes a sign-in the issuer sent the browser back from (`?code=…&state=…` or `?error=…`):
 * checks the state, exchanges the code with the PKCE verifier, checks the ID token's issuer,
 * audience and nonce, and keeps the token. Does nothing on an ordinary load. The query is
 * removed from the address bar and the history either way.
 */
export async function finishOidc() {
  const params = new URLSearchParams(location.search);
  if (!params.has('code') && !params.has('error')) return;
  const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) || 'null');
  sessionStorage.removeItem(PENDING_KEY);
  history.replaceState(null, '', location.pathname + ((pending && pending.route) || '#/'));
  if (params.has('error')) {
    throw new Error(`The identity provider refused the sign-in: ${params.get('error')}` +
      `${params.get('error_description') ? ` (${params.get('error_description')})` : ''}.`);
  }
  if (!pending || params.get('state') !== pending.state) {
    throw new Error('This sign-in answer does not match a sign-in started in this tab. Sign in again.');
  }
  const { oidc } = await signInOptions();
  if (!oidc) throw new Error('This server does not sign in with an OIDC issuer.');
  const body = new URLSearchParams({
    grant_type: 'authorization_code',
    code: params.get('code'),
    redirect_uri: redirectUri(),
    client_id: oidc.clientId,
    code_verifier: pending.verifier,
  });
  let response;
  try {
    response = await fetch(oidc.tokenEndpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body,
      credentials: 'omit',
    });
  } catch (e) {
    throw new Error(`The identity provider's token endpoint did not answer (${e.message}).`);
  }
  const json = await response.json().catch(() => null);
  if (!response.ok || !json || typeof json.id_token !== 'string') {
    const reason = json && json.error ? `: ${json.error}${json.error_description ? ` (${json.error_description})` : ''}` : '';
    throw new Error(`The identity provider gave no ID token (HTTP ${response.status}${reason}). Sign in again.`);
  }
  const claims = jwtClaims(json.id_token);
  const audiences = [].concat(claims.aud);
  if (claims.nonce !== pending.nonce || claims.iss !== oidc.issuer || !audiences.includes(oidc.clientId)) {
    throw new Error('The ID token is not for this sign-in (issuer, audience or nonce differ). Sign in again.');
  }
  api.setToken(json.id_token);
}
