// The catalogue (spec §8.1): every connector with its status in the current project, filtered by
// category and name as the user types.

import * as api from './api.js';
import { h, show, icon, paintIcons, words } from './ui.js';

/** Renders the catalogue into `main`. */
export async function catalogue(main) {
  show(main, h('h1', {}, 'Connectors'), h('p', { class: 'muted' }, 'Loading the catalogue…'));
  const [list, instances] = await Promise.all([
    api.get('connectors'),
    api.get(`projects/${api.seg(api.project())}/connectors`),
  ]);
  const byConnector = new Map(instances.instances.map((i) => [i.connectorId, i]));
  const categories = [...new Set(list.connectors.map((c) => c.category))].sort();

  const search = h('input', { id: 'search', type: 'search', placeholder: 'Name or description', autocomplete: 'off' });
  const category = h('select', { id: 'category' },
    h('option', { value: '' }, 'All categories'),
    categories.map((c) => h('option', { value: c }, words(c))));
  const count = h('p', { class: 'muted', 'aria-live': 'polite', id: 'count' });
  const grid = h('ul', { class: 'grid', id: 'connectors' });

  const cards = list.connectors.map((c) => {
    const instance = byConnector.get(c.id);
    const state = !instance ? ['none', 'Not configured'] : instance.enabled ? ['connected', 'Connected'] : ['disabled', 'Disabled'];
    const card = h('li', { class: 'card', 'data-id': c.id, 'data-category': c.category },
      h('div', { class: 'head' }, icon(c), h('div', {}, h('h2', {}, c.name), h('span', { class: 'chip' }, words(c.category)))),
      h('p', { title: c.description }, c.description),
      h('div', { class: 'row' },
        h('span', { class: `status ${state[0]}` }, state[1]),
        instance
          ? h('a', { class: 'button secondary', href: `#/instance/${api.seg(c.id)}`, 'aria-label': `Manage ${c.name}` }, 'Manage')
          : h('a', { class: 'button', href: `#/connect/${api.seg(c.id)}`, 'aria-label': `Connect ${c.name}` }, 'Connect')));
    card.searchText = `${c.id} ${c.name} ${c.description}`.toLowerCase();
    return card;
  });

  function filter() {
    const text = search.value.trim().toLowerCase();
    const cat = category.value;
    let shown = 0;
    for (const card of cards) {
      const visible = (!cat || card.dataset.category === cat) && (!text || card.searchText.includes(text));
      card.hidden = !visible;
      if (visible) shown += 1;
    }
    count.textContent = `${shown} of ${cards.length} connectors` + (shown === 0 ? ' — nothing matches; clear the filters.' : '');
  }
  search.addEventListener('input', filter);
  category.addEventListener('change', filter);
  grid.append(...cards);
  show(main,
    h('h1', {}, 'Connectors'),
    h('p', { class: 'muted' }, `Project `, h('strong', {}, api.project()), `: ${byConnector.size} connected.`),
    h('div', { class: 'toolbar', role: 'search' },
      h('div', {}, h('label', { for: 'search' }, 'Search'), search),
      h('div', {}, h('label', { for: 'category' }, 'Category'), category)),
    count, grid);
  paintIcons(grid);
  filter();
}
