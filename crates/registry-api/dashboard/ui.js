// DOM helpers. Text from the API only ever goes into text nodes and attributes, never HTML.

/** Builds an element: `h('a', { href, class: 'x', onclick }, 'text', child)`. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** SVG element with attributes. */
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  append(el, children);
  return el;
}

/** Replaces an element's content. */
export function show(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/** An API error as a block: its message, and each detail with its JSON pointer. */
export function errorBox(err, title) {
  const details = (err && err.details) || [];
  return h('div', { class: 'error', role: 'alert' },
    h('strong', {}, title ? `${title}: ` : ''),
    (err && err.message) || String(err),
    err && err.status ? h('span', { class: 'muted' }, ` (HTTP ${err.status}${err.code ? `, ${err.code}` : ''})`) : null,
    details.length
      ? h('ul', { class: 'problems' }, details.map((d) =>
        h('li', {}, h('code', {}, d.pointer === '' ? '(whole document)' : d.pointer), ' ', d.message)))
      : null);
}

/** Deterministic colour and letter for a connector's icon. */
export function icon(summary) {
  let hash = 0;
  for (const ch of summary.id) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  const hue = hash % 360;
  return h('span', { class: 'icon', 'aria-hidden': 'true', style: null, 'data-hue': hue },
    (summary.name || summary.id).trim().charAt(0).toUpperCase());
}

/** Applies the colours of {@link icon}s (CSP forbids inline style attributes). */
export function paintIcons(root) {
  for (const el of root.querySelectorAll('.icon[data-hue]')) {
    el.style.background = `hsl(${el.dataset.hue} 55% 36%)`;
  }
}

/** "3 min ago" for a timestamp, or an em dash. */
export function ago(iso) {
  if (!iso) return '—';
  const seconds = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (Number.isNaN(seconds)) return iso;
  const abs = Math.abs(seconds);
  const [value, unit] = abs < 60 ? [abs, 's'] : abs < 3600 ? [Math.round(abs / 60), 'min']
    : abs < 86400 ? [Math.round(abs / 3600), 'h'] : [Math.round(abs / 86400), 'd'];
  return seconds >= 0 ? `${value} ${unit} ago` : `in ${value} ${unit}`;
}

/** A `<time>` element showing {@link ago} with the full date as its title. */
export function time(iso) {
  if (!iso) return '—';
  return h('time', { datetime: iso, title: new Date(iso).toLocaleString() }, ago(iso));
}

/** Human text for snake_case names. */
export function words(name) {
  return String(name || '').replace(/_/g, ' ').replace(/^\w/, (c) => c.toUpperCase());
}

/** Runs an async action with its button disabled, showing errors in `out`. */
export async function busy(button, action) {
  button.disabled = true;
  try { return await action(); } finally { button.disabled = false; }
}

/** A copy-to-clipboard row for a value. */
export function copyRow(label, value) {
  const status = h('span', { class: 'muted', 'aria-live': 'polite' });
  const button = h('button', {
    type: 'button', class: 'secondary',
    onclick: async () => {
      try {
        await navigator.clipboard.writeText(value);
        status.textContent = 'Copied';
      } catch {
        status.textContent = 'Select the text and copy it (the browser refused clipboard access)';
      }
    },
  }, `Copy ${label}`);
  return h('div', { class: 'copy' }, h('code', {}, value), button, status);
}

/** Asks for confirmation in a modal dialog; resolves to true when confirmed. */
export function confirmDialog(message, confirmLabel) {
  return new Promise((resolve) => {
    const dialog = h('dialog', { 'aria-labelledby': 'confirm-text' },
      h('p', { id: 'confirm-text' }, message),
      h('form', { method: 'dialog', class: 'actions' },
        h('button', { value: 'cancel', class: 'secondary', autofocus: true }, 'Cancel'),
        h('button', { value: 'ok', class: 'danger' }, confirmLabel)));
    dialog.addEventListener('close', () => { dialog.remove(); resolve(dialog.returnValue === 'ok'); });
    document.body.append(dialog);
    dialog.showModal();
  });
}

let cleanup = null;
/** Pages register what to stop (timers) when the user leaves them. */
export function onLeave(callback) { cleanup = callback; }
/** Stops what the current page registered with {@link onLeave}. */
export function leave() {
  if (cleanup) { const run = cleanup; cleanup = null; run(); }
}
