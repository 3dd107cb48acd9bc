// The signals feed: the project's recent signals, refreshed every 5 seconds, filtered by source,
// type (asked of the API) and priority, each linking back to its source item; a related item's
// key opens its context packet (context.js).

import * as api from './api.js';
import { h, show, errorBox, time, onLeave } from './ui.js';

const REFRESH_MS = 5000;
const PRIORITIES = ['critical', 'high', 'medium', 'low'];

/** One signal as a list item: time, source, type, priority, the summary linking to the source
 * item, and its related items' keys, each opening that key's context packet. */
export function item(s) {
  const related = (s.relatedItems || []).filter((key) => key);
  return h('li', { 'data-source': s.source, 'data-type': s.signalType },
    h('div', { class: 'meta' },
      time(s.timestamp),
      h('span', { class: 'chip' }, s.source),
      h('span', { class: 'chip' }, s.signalType),
      s.priority ? h('span', { class: `chip prio-${s.priority}` }, s.priority) : null),
    h('p', {}, s.url ? h('a', { href: s.url, target: '_blank', rel: 'noopener noreferrer' }, s.summary) : s.summary),
    related.length ? h('p', { class: 'refs' }, 'Related: ',
      related.map((key) => h('a', { class: 'ref', href: `#/context/${encodeURIComponent(key)}`, title: `Context of ${key}` }, key))) : null);
}

/** Renders the feed into `main`. */
export async function signals(main) {
  const source = h('select', { id: 'f-source' }, h('option', { value: '' }, 'All sources'));
  const type = h('input', { id: 'f-type', type: 'search', placeholder: 'e.g. issue_opened', autocomplete: 'off', spellcheck: 'false' });
  const priority = h('select', { id: 'f-priority' }, h('option', { value: '' }, 'Any priority'),
    PRIORITIES.map((p) => h('option', { value: p }, p)));
  const live = h('input', { type: 'checkbox', id: 'f-live', checked: true });
  const status = h('p', { class: 'muted', 'aria-live': 'polite', id: 'feed-status' });
  const list = h('ul', { class: 'feed', id: 'feed' });
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Older signals');
  const out = h('div');
  show(main, h('h1', {}, 'Signals'),
    h('p', { class: 'muted' }, 'Recent signals of project ', h('strong', {}, api.project()), ', newest first.'),
    h('div', { class: 'toolbar', role: 'search' },
      h('div', {}, h('label', { for: 'f-source' }, 'Source'), source),
      h('div', {}, h('label', { for: 'f-type' }, 'Type'), type),
      h('div', {}, h('label', { for: 'f-priority' }, 'Priority'), priority),
      h('label', { class: 'switch', for: 'f-live' }, live, 'Live')),
    out, status, list, h('div', { class: 'actions' }, more));

  let loaded = [];
  let next = null;
  let timer = null;
  const sources = new Set();
  onLeave(() => clearTimeout(timer));

  function draw() {
    for (const s of loaded) {
      if (!sources.has(s.source)) { sources.add(s.source); source.append(h('option', { value: s.source }, s.source)); }
    }
    const shown = loaded.filter((s) => (!source.value || s.source === source.value) && (!priority.value || s.priority === priority.value));
    list.replaceChildren(...shown.map(item));
    status.textContent = `${shown.length} shown of ${loaded.length} loaded` + (live.checked ? ' · live' : '');
    more.hidden = !next;
  }

  async function fetchPage(token) {
    const query = new URLSearchParams({ limit: '100' });
    if (type.value.trim()) query.set('type', type.value.trim());
    if (token) query.set('nextToken', token);
    return api.get(`projects/${api.seg(api.project())}/signals?${query}`);
  }

  async function refresh() {
    clearTimeout(timer);
    try {
      const page = await fetchPage(null);
      // Keep older pages the user loaded: newest page replaces the head.
      const ids = new Set(page.signals.map((s) => s.id));
      const older = loaded.filter((s) => !ids.has(s.id) && page.signals.length && s.timestamp < page.signals[page.signals.length - 1].timestamp);
      loaded = [...page.signals, ...older];
      if (!older.length) next = page.nextToken;
      out.replaceChildren();
      draw();
    } catch (err) {
      show(out, errorBox(err, 'Could not load signals'));
    }
    if (live.checked) timer = setTimeout(refresh, REFRESH_MS);
  }

  more.addEventListener('click', async () => {
    try {
      const page = await fetchPage(next);
      loaded = [...loaded, ...page.signals];
      next = page.nextToken;
      draw();
    } catch (err) {
      show(out, errorBox(err, 'Could not load older signals'));
    }
  });
  let typing = null;
  type.addEventListener('input', () => { clearTimeout(typing); typing = setTimeout(() => { loaded = []; next = null; refresh(); }, 300); });
  source.addEventListener('change', draw);
  priority.addEventListener('change', draw);
  live.addEventListener('change', () => { if (live.checked) refresh(); else { clearTimeout(timer); draw(); } });
  await refresh();
}
