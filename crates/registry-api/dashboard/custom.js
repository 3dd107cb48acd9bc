// Custom connectors (admins): paste or upload a descriptor, run its examples, register it, and see
// every validation problem at its JSON pointer (the API's 422 body).

import * as api from './api.js';
import { h, show, errorBox, busy } from './ui.js';

/** Where a JSON.parse error is, as "line L, column C", when the engine says. */
function parsePosition(text, err) {
  const m = /position (\d+)/.exec(err.message);
  if (!m) return '';
  const before = text.slice(0, Number(m[1])).split('\n');
  return ` (line ${before.length}, column ${before[before.length - 1].length + 1})`;
}

/** The descriptor in the text area as text, or null after showing why it is not a JSON object. */
function descriptorText(area, out) {
  const text = area.value;
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    show(out, h('div', { class: 'error', role: 'alert' }, `This is not JSON${parsePosition(text, err)}: ${err.message}`));
    return null;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    show(out, h('div', { class: 'error', role: 'alert' }, 'A descriptor is a JSON object.'));
    return null;
  }
  return { text, parsed };
}

/** The result of `POST /examples`: one line per example, each difference at its pointer. */
function examplesReport(report) {
  const items = report.examples.map((e) => h('li', { class: e.status === 'passed' ? 'example-ok' : 'example-failed' },
    h('strong', {}, e.status === 'passed' ? 'ok ' : `${e.status} `), e.name,
    e.reason ? h('div', {}, e.reason) : '',
    ...e.mismatches.map((m) => h('div', {}, h('code', {}, m.pointer), `: expected ${m.expected}, got ${m.actual}`)),
    e.status === 'failed' ? h('div', { class: 'help' }, `The mapping gave: ${e.observed}`) : ''));
  const summary = `${report.examples.length} example(s): ${report.passed} passed, ${report.failed} failed`;
  return h('div', { class: report.failed ? 'error' : 'success', role: 'status', id: 'examples-result' },
    h('p', {}, report.examples.length ? summary : 'This descriptor has no examples.'), h('ul', {}, ...items));
}

/** Renders the custom connector page into `main`. */
export async function custom(main) {
  const area = h('textarea', { id: 'descriptor', rows: 22, spellcheck: 'false', 'aria-describedby': 'descriptor-help' });
  const file = h('input', { type: 'file', id: 'descriptor-file', accept: '.json,application/json' });
  const replace = h('input', { type: 'checkbox', id: 'replace' });
  const out = h('div', { 'aria-live': 'polite', id: 'custom-result' });
  const register = h('button', { type: 'submit', id: 'register' }, 'Validate and register');
  const runExamples = h('button', { type: 'button', id: 'run-examples', class: 'secondary' }, 'Run its examples');
  file.addEventListener('change', async () => {
    if (file.files.length) area.value = await file.files[0].text();
  });
  const form = h('form', { class: 'panel' },
    h('div', { class: 'field' },
      h('label', { for: 'descriptor' }, 'Connector descriptor (JSON)'),
      area,
      h('p', { class: 'help', id: 'descriptor-help' }, 'The format is descriptors/descriptor.schema.json; ',
        h('code', {}, 'switchboard init'), ' writes a starting point. Examples with an inline ',
        h('code', {}, 'payload'), ' run here (', h('code', {}, 'payloadFile'), 's with ',
        h('code', {}, 'switchboard test'), '); registering needs an admin token.')),
    h('div', { class: 'field' }, h('label', { for: 'descriptor-file' }, 'Or upload a file'), file),
    h('label', { class: 'switch', for: 'replace' }, replace, 'Replace a custom connector with the same id'),
    h('div', { class: 'actions' }, runExamples, register),
    out);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(register, async () => {
      const read = descriptorText(area, out);
      if (!read) return;
      const { text, parsed } = read;
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
  runExamples.addEventListener('click', () => busy(runExamples, async () => {
    const read = descriptorText(area, out);
    if (!read) return;
    try {
      show(out, examplesReport((await api.call('POST', 'examples', read.text)).body));
    } catch (err) {
      show(out, errorBox(err, err.status === 422 ? 'The descriptor has problems' : 'The examples did not run'));
    }
  }));
  show(main, h('h1', {}, 'Custom connectors'), form);
}
