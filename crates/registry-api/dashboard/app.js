// The dashboard's entry module: sign-in, the project picker, hash routing and the error banner.

import * as api from './api.js';
import { h, show, errorBox, leave } from './ui.js';
import { catalogue } from './catalogue.js';
import { setup } from './setup.js';
import { monitor } from './monitor.js';
import { signals } from './signals.js';
import { context } from './context.js';
import { custom } from './custom.js';
import { signInOptions, startOidc, finishOidc } from './signin.js';

const main = document.getElementById('main');
const alertBox = document.getElementById('alert');
const projectForm = document.getElementById('project-form');
const projectInput = document.getElementById('project');

/** Routes: `#/`, `#/connect/<id>`, `#/instance/<id>`, `#/signals`, `#/context/<key>`, `#/custom`. */
const routes = [
  [/^#?\/?$/, 'catalogue', () => catalogue(main)],
  [/^#\/connect\/([^/]+)$/, 'catalogue', (id) => setup(main, decodeURIComponent(id))],
  [/^#\/instance\/([^/]+)$/, 'catalogue', (id) => monitor(main, decodeURIComponent(id))],
  [/^#\/signals$/, 'signals', () => signals(main)],
  [/^#\/context\/(.+)$/, 'signals', (key) => context(main, decodeURIComponent(key))],
  [/^#\/custom$/, 'custom', () => custom(main)],
];

async function render() {
  leave();
  hideAlert();
  if (!api.token()) { signIn(); return; }
  projectForm.hidden = false;
  projectInput.value = api.project();
  const route = routes.find(([pattern]) => pattern.test(location.hash));
  for (const link of document.querySelectorAll('[data-nav]')) {
    if (route && link.dataset.nav === route[1]) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  if (!route) {
    show(main, h('h1', {}, 'Not found'), h('p', {}, 'No page here. ', h('a', { href: '#/' }, 'Back to the catalogue')));
    return;
  }
  const [pattern, , page] = route;
  const args = pattern.exec(location.hash).slice(1);
  try {
    await page(...args);
  } catch (err) {
    show(main, errorBox(err, 'This page could not be loaded'), h('p', {}, h('a', { href: '#/' }, 'Back to the catalogue')));
  }
}

/** The sign-in page: the issuer's button and/or the admin token form, as the server offers. */
async function signIn(reason) {
  projectForm.hidden = true;
  for (const link of document.querySelectorAll('[data-nav]')) link.removeAttribute('aria-current');
  const panel = h('section', { class: 'panel signin', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, 'Sign in'),
    reason ? errorBox(reason) : null);
  show(main, panel);
  let offered;
  try {
    offered = await signInOptions();
  } catch (err) {
    panel.append(errorBox(err, 'Sign-in is not available'));
    return;
  }
  if (offered.oidc) {
    const issuer = new URL(offered.oidc.issuer).host;
    const button = h('button', { type: 'button', id: 'oidc-sign-in', onclick: () => startOidc(offered.oidc).catch(showFailure) },
      `Sign in with ${issuer}`);
    panel.append(h('p', {}, 'Sign in with your organisation\'s account.'), h('div', { class: 'actions' }, button));
    if (!offered.adminToken) button.focus();
  }
  if (offered.adminToken) {
    const input = h('input', { id: 'token', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' });
    const form = h('form', {
      onsubmit: (event) => {
        event.preventDefault();
        api.setToken(input.value);
        render();
      },
    },
    h('p', {}, 'Open the dashboard link ', h('code', {}, 'switchboard serve'), ' printed (it signs you in), or paste the admin token here. ',
      'It is kept in this browser tab only.'),
    h('div', { class: 'field' }, h('label', { for: 'token' }, 'Admin token'), input),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Sign in')));
    panel.append(form);
    input.focus();
  }
  if (!offered.oidc && !offered.adminToken) {
    panel.append(h('p', {}, 'This deployment has no dashboard sign-in configured. Set the stack\'s ',
      h('code', {}, 'DashboardClientId'), ' parameter to the dashboard\'s app client at your identity provider ',
      '(README, "Dashboard sign-in").'));
  }
}

function showFailure(err) {
  api.signOut();
  signIn(err);
}

function showAlert(message) {
  alertBox.textContent = message;
  alertBox.hidden = false;
}
function hideAlert() { alertBox.hidden = true; alertBox.textContent = ''; }

api.whenUnauthenticated((err) => {
  api.signOut();
  leave();
  signIn(err);
});

projectForm.addEventListener('submit', (event) => {
  event.preventDefault();
  if (!projectInput.reportValidity()) return;
  api.setProject(projectInput.value);
  render();
});
document.getElementById('sign-out').addEventListener('click', () => {
  api.signOut();
  render();
});

// Nothing fails silently: an error no page handled is shown at the top.
window.addEventListener('unhandledrejection', (event) => {
  const reason = event.reason;
  showAlert(reason && reason.message ? reason.message : String(reason));
});
window.addEventListener('error', (event) => showAlert(event.message));

api.adoptTokenFromFragment();
window.addEventListener('hashchange', () => { render(); main.focus(); });
finishOidc().then(render, showFailure);
