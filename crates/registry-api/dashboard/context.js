// A reference key's context packet (`GET /projects/{p}/context/{key}`): the tracker item that is
// the key, the people involved, then every signal that references the key, grouped by kind
// (code changes, builds, incidents, conversations, ...), each linking back to its source.

import * as api from './api.js';
import { h, show, errorBox } from './ui.js';
import { item } from './signals.js';

/** Renders the packet of `key` into `main`. */
export async function context(main, key) {
  const out = h('div');
  const people = h('p', { class: 'muted', id: 'ctx-people' });
  const head = h('section', { class: 'panel', 'aria-labelledby': 'ctx-item-title', id: 'ctx-item' });
  const groups = h('div', { id: 'ctx-groups' });
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Older signals');
  show(main, h('p', {}, h('a', { href: '#/signals' }, '← Signals')),
    h('h1', {}, 'Context of ', h('code', {}, key)),
    h('p', { class: 'muted' }, 'Everything project ', h('strong', {}, api.project()), ' knows that references this key, newest first.'),
    out, head, people, groups, h('div', { class: 'actions' }, more));

  const byKind = new Map();
  let next = null;

  function fetchPage(token) {
    const query = new URLSearchParams({ limit: '100' });
    if (token) query.set('nextToken', token);
    return api.get(`projects/${api.seg(api.project())}/context/${api.seg(key)}?${query}`);
  }

  function drawItem(packet) {
    const s = packet.item;
    head.replaceChildren(h('h2', { id: 'ctx-item-title' }, 'Item'),
      s ? h('ul', { class: 'feed' }, item(s)) : h('p', { class: 'muted' }, 'No tracker item is this key (yet).'));
    people.textContent = packet.participants.length
      ? `People: ${packet.participants.map((p) => `${p.name} (${p.signals})`).join(', ')}` : '';
  }

  function add(packet) {
    for (const group of packet.groups) {
      let entry = byKind.get(group.kind);
      if (!entry) {
        const id = `ctx-${group.kind}`;
        const count = h('span', { class: 'muted' });
        const list = h('ul', { class: 'feed' });
        const section = h('section', { 'aria-labelledby': `${id}-title`, id, 'data-kind': group.kind },
          h('h2', { id: `${id}-title` }, group.title, ' ', count), list);
        entry = { list, count, n: 0 };
        byKind.set(group.kind, entry);
        groups.append(section);
      }
      entry.list.append(...group.signals.map(item));
      entry.n += group.signals.length;
      entry.count.textContent = `(${entry.n})`;
    }
    if (!byKind.size) groups.replaceChildren(h('p', { class: 'muted' }, 'No other signals reference this key.'));
    next = packet.nextToken;
    more.hidden = !next;
  }

  more.addEventListener('click', async () => {
    try {
      add(await fetchPage(next));
    } catch (err) {
      show(out, errorBox(err, 'Could not load older signals'));
    }
  });
  const packet = await fetchPage(null);
  drawItem(packet);
  add(packet);
}
