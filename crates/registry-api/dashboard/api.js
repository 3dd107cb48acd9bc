// Talking to the registry API: the bearer token (from the sign-in link's fragment or the sign-in
// form, kept in sessionStorage only), the current project, and fetch with the API's error body.

const TOKEN_KEY = 'switchboard.token';
const PROJECT_KEY = 'switchboard.project';

/** An API failure: HTTP status, the error body's code and message, and its details (pointer, message). */
export class ApiError extends Error {
  constructor(status, code, message, details = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/**
 * Takes a token from the address bar's fragment (`#token=...`, the link `switchboard serve`
 * prints), stores it for this tab and removes it from the address bar and the history.
 */
export function adoptTokenFromFragment() {
  const match = /^#token=([^&]+)/.exec(location.hash);
  if (!match) return;
  setToken(decodeURIComponent(match[1]));
  history.replaceState(null, '', location.pathname + location.search + '#/');
}

export function token() { return sessionStorage.getItem(TOKEN_KEY); }
export function setToken(value) { sessionStorage.setItem(TOKEN_KEY, value.trim()); }
export function signOut() { sessionStorage.removeItem(TOKEN_KEY); }

export function project() { return localStorage.getItem(PROJECT_KEY) || 'demo'; }
export function setProject(value) { localStorage.setItem(PROJECT_KEY, value.trim()); }

/** The URL of an API path, relative to the page (so a stage prefix such as `/prod/` is kept). */
export function apiUrl(path) {
  return new URL(path.replace(/^\//, ''), document.baseURI).toString();
}

/** A path segment, escaped. */
export const seg = encodeURIComponent;

/** The instance path of a connector in the current project. */
export function instancePath(connectorId) {
  return `projects/${seg(project())}/connectors/${seg(connectorId)}`;
}

let onUnauthenticated = () => {};
/** What to do when the API answers 401 (show the sign-in form). */
export function whenUnauthenticated(callback) { onUnauthenticated = callback; }

/**
 * Calls the API; resolves to `{ body, headers, status }`, rejects with an {@link ApiError}
 * carrying the server's message (or saying why there was no answer).
 */
export async function call(method, path, body) {
  const headers = { Accept: 'application/json' };
  const bearer = token();
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  let payload;
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = typeof body === 'string' ? body : JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(apiUrl(path), { method, headers, body: payload, credentials: 'same-origin' });
  } catch (e) {
    throw new ApiError(0, 'network', `The Switchboard server did not answer (${e.message}). Is it still running?`);
  }
  const text = await response.text();
  let json = null;
  if (text) {
    try { json = JSON.parse(text); } catch { /* not JSON: reported below */ }
  }
  if (!response.ok) {
    const error = json && json.error;
    const err = error
      ? new ApiError(response.status, error.code, error.message, error.details || [])
      : new ApiError(response.status, 'http', `${method} ${path} answered ${response.status} ${response.statusText}`);
    if (response.status === 401) onUnauthenticated(err);
    throw err;
  }
  if (text && json === null) {
    throw new ApiError(response.status, 'bad_response', `${method} ${path} did not answer JSON`);
  }
  return { body: json, headers: response.headers, status: response.status };
}

export const get = async (path) => (await call('GET', path)).body;
