// Custom connectors (admins): paste or upload a descriptor, register it, and see every validation
// problem at its JSON pointer (the API's 422 body).

import * as api from './api.js';
import { h, show, errorBox, busy } from './ui.js';

/** Where a JSON.parse error is, as "line L, column C", when the engine says. */
function parsePosition(text, err) {
  const m = /position (\d+)/.exec(err.message);
  if (!m) return '';
  const before = text.slice(0, Number(m[1])).split('\n');
  return ` (line ${before.length}, column ${before[before.length - 1].length + 1})`;
}

/** Renders the custom connector page into `main`. */
export async function custom(main) {
  const area = h('textarea', { id: 'descriptor', rows: 22, spellcheck: 'false', 'aria-describedby': 'descriptor-help' });
  const file = h('input', { type: 'file', id: 'descriptor-file', accept: '.json,application/json' });
  const replace = h('input', { type: 'checkbox', id: 'replace' });
  const out = h('div', { 'aria-live': 'polite', id: 'custom-result' });
  const register = h('button', { type: 'submit', id: 'register' }, 'Validate and register');
  file.addEventListener('change', async () => {
    if (file.files.length) area.value = await file.files[0].text();
  });
  const form = h('form', { class: 'panel' },
    h('div', { class: 'field' },
      h('label', { for: 'descriptor' }, 'Connector descriptor (JSON)'),
      area,
      h('p', { class: 'help', id: 'descriptor-help' }, 'The format is descriptors/descriptor.schema.json; ',
        h('code', {}, 'switchboard new'), ' writes a starting point and ', h('code', {}, 'switchboard test'),
        ' runs its examples locally. Registering needs an admin token.')),
    h('div', { class: 'field' }, h('label', { for: 'descriptor-file' }, 'Or upload a file'), file),
    h('label', { class: 'switch', for: 'replace' }, replace, 'Replace a custom connector with the same id'),
    h('div', { class: 'actions' }, register),
    out);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(register, async () => {
      const text = area.value;
      let parsed;
      try {
        parsed = JSON.parse(text);
      } catch (err) {
        show(out, h('div', { class: 'error', role: 'alert' }, `This is not JSON${parsePosition(text, err)}: ${err.message}`));
        return;
      }
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
        show(out, h('div', { class: 'error', role: 'alert' }, 'A descriptor is a JSON object.'));
        return;
      }
      try {
        const r = replace.checked && typeof parsed.id === 'string'
          ? await api.call('PUT', `connectors/${api.seg(parsed.id)}`, text)
          : await api.call('POST', 'connectors', text);
        const id = r.body.descriptor.id;
        show(out, h('div', { class: 'success' }, `Registered ${id}. `, h('a', { href: `#/connect/${api.seg(id)}` }, 'Connect it')));
      } catch (err) {
        show(out, errorBox(err, err.status === 422 ? 'The descriptor has problems' : 'Not registered'));
      }
    });
  });
  show(main, h('h1', {}, 'Custom connectors'), form);
}
