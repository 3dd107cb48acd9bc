// The setup flow (spec §8.2): credential and configuration fields from the descriptor, Test
// connection (which saves the instance disabled and runs its health check), Confirm (enables it),
// OAuth2 connect, and the webhook URL for webhook connectors.

import * as api from './api.js';
import { h, show, errorBox, busy, copyRow, icon, paintIcons, onLeave } from './ui.js';

/** The fields a descriptor asks for: `{ credentials, config }`. */
export function fieldsOf(descriptor) {
  const auth = descriptor.auth || {};
  return {
    credentials: (auth.config && auth.config.credentialFields) || [],
    config: descriptor.configFields || [],
  };
}

/** The webhook URL the provider must deliver to, when the connector takes webhooks. */
export function webhookUrl(descriptor) {
  const mode = descriptor.ingestion && descriptor.ingestion.mode;
  if (mode !== 'webhook' && mode !== 'polling_and_webhook') return null;
  return api.apiUrl(`webhooks/${api.seg(descriptor.id)}/${api.seg(api.project())}`);
}

function input(prefix, field, existing) {
  const id = `${prefix}-${field.key}`;
  const secret = prefix === 'cred' || field.type === 'password';
  const attrs = {
    id, name: field.key,
    type: secret ? 'password' : field.type === 'url' ? 'url' : 'text',
    placeholder: field.placeholder || (field.default ? field.default : undefined),
    required: field.required && !(secret && existing) ? true : undefined,
    autocomplete: secret ? 'new-password' : 'off',
    spellcheck: 'false',
    'aria-describedby': field.helpText ? `${id}-help` : undefined,
  };
  const el = h('input', attrs);
  if (!secret && existing && existing.config && existing.config[field.key] !== undefined) el.value = existing.config[field.key];
  const setNote = secret && existing && existing.credentialsSet.includes(field.key) ? ' (set; leave empty to keep)' : '';
  return h('div', { class: 'field' },
    h('label', { for: id }, field.label, field.required ? ' *' : '', setNote),
    el,
    field.helpText ? h('p', { class: 'help', id: `${id}-help` }, field.helpText) : null);
}

function values(form, fields, prefix, keepEmpty) {
  const out = {};
  for (const field of fields) {
    const value = form.querySelector(`#${CSS.escape(`${prefix}-${field.key}`)}`).value;
    if (value !== '' || keepEmpty) out[field.key] = value;
  }
  return out;
}

/** Renders the setup flow of connector `id` into `main`. */
export async function setup(main, id) {
  show(main, h('p', { class: 'muted' }, 'Loading…'));
  const path = api.instancePath(id);
  const [view, existing] = await Promise.all([
    api.get(`connectors/${api.seg(id)}`),
    // The project's list, not GET of the instance: a 404 would be logged by the browser.
    api.get(`projects/${api.seg(api.project())}/connectors`).then((list) => list.instances.find((i) => i.connectorId === id) || null),
  ]);
  const d = view.descriptor;
  const summary = { id: d.id, name: d.name };
  const fields = fieldsOf(d);
  const oauth = d.auth && d.auth.method === 'oauth2';
  const hasCheck = Boolean(d.healthCheck) || d.kind === 'native';
  let instance = existing;
  let createdHere = false;

  const out = h('div', { 'aria-live': 'polite', id: 'setup-result' });
  const form = h('form', { id: 'setup-form', novalidate: false },
    fields.credentials.length
      ? h('fieldset', {}, h('legend', {}, '1. Credentials'), fields.credentials.map((f) => input('cred', f, existing)))
      : h('p', { class: 'muted' }, 'This connector needs no credentials.'),
    fields.config.length
      ? h('fieldset', {}, h('legend', {}, `${fields.credentials.length ? 2 : 1}. Configuration`), fields.config.map((f) => input('conf', f, existing)))
      : null);

  const testButton = h('button', { type: 'button', class: 'secondary', id: 'test' }, 'Test connection');
  const confirmButton = h('button', { type: 'submit', id: 'confirm' }, existing ? 'Save changes' : 'Confirm and connect');
  const cancel = h('a', { href: '#/', class: 'button secondary' }, 'Cancel');
  form.append(h('div', { class: 'actions' }, hasCheck ? testButton : null, confirmButton, cancel), out);
  if (!hasCheck) form.append(h('p', { class: 'help' }, 'This connector has no health check: its first deliveries show it works.'));

  /** Creates the instance (disabled until confirmed) or updates it; returns the instance. */
  async function save(enabled) {
    const config = values(form, fields.config, 'conf', false);
    const credentials = values(form, fields.credentials, 'cred', false);
    if (!instance) {
      instance = (await api.call('POST', path, { config, credentials, enabled })).body;
      createdHere = true;
    } else {
      const body = { config };
      if (Object.keys(credentials).length) body.credentials = credentials;
      if (enabled !== undefined) body.enabled = enabled;
      instance = (await api.call('PATCH', path, body)).body;
    }
    return instance;
  }

  testButton.addEventListener('click', () => busy(testButton, async () => {
    if (!form.reportValidity()) return;
    show(out, h('p', { class: 'muted' }, 'Testing…'));
    try {
      await save(instance ? undefined : false);
      const result = (await api.call('POST', `${path}/test`)).body;
      show(out, result.healthy
        ? h('div', { class: 'success', id: 'test-outcome' }, `Connection works (HTTP ${result.httpStatus ?? '—'}, ${result.latencyMs} ms).`)
        : h('div', { class: 'error', id: 'test-outcome' }, h('strong', {}, 'Connection failed: '), result.reason || 'no reason given',
          result.failureClass ? ` (${result.failureClass}${result.httpStatus ? `, HTTP ${result.httpStatus}` : ''})` : ''));
    } catch (err) {
      show(out, errorBox(err, 'Could not test the connection'));
    }
  }));

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!form.reportValidity()) return;
    busy(confirmButton, async () => {
      try {
        await save(true);
        createdHere = false;
        if (oauth && !(instance.credentialsSet || []).includes('accessToken')) {
          await connectOAuth();
          return;
        }
        location.hash = `#/instance/${api.seg(id)}`;
      } catch (err) {
        show(out, errorBox(err, 'Could not save the connection'));
      }
    });
  });

  async function connectOAuth() {
    const returnTo = `${location.pathname}#/instance/${api.seg(id)}`;
    const started = (await api.call('GET', `${path}/oauth/start?returnTo=${encodeURIComponent(returnTo)}`)).body;
    location.assign(started.authorizeUrl);
  }

  // Leaving before confirming removes the disabled instance a test created.
  onLeave(() => {
    if (createdHere) api.call('DELETE', path).catch(() => {});
  });

  const hook = webhookUrl(d);
  const title = h('div', { class: 'head' }, icon(summary), h('h1', {}, existing ? `${d.name}: settings` : `Connect ${d.name}`));
  show(main, title, h('p', { class: 'muted' }, d.description, ' Project ', h('strong', {}, api.project()), '.'),
    oauth ? h('div', { class: 'notice' }, `Enter the OAuth app's client id and secret, then confirm: you are sent to ${d.name} to grant access and come back here.`) : null,
    hook ? h('div', { class: 'panel' }, h('h2', {}, 'Webhook URL'),
      h('p', {}, `Paste this URL into ${d.name}'s webhook settings, with the secret you enter below.`),
      copyRow('webhook URL', hook),
      (d.ingestion.subscription) ? h('p', { class: 'help' }, 'Switchboard registers this webhook itself when the server has a public URL; the instance page shows its status.') : null)
      : null,
    form);
  paintIcons(main);
  const first = form.querySelector('input');
  if (first) first.focus();
}
