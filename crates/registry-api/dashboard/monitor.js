// Monitoring of one instance (spec §8.3): health with an animated indicator, last sync, latency,
// failures, signal counts, a chart of signals over the last 24 hours, recent syncs, enable /
// disable, Test connection and Disconnect. Refreshes every 10 seconds.

import * as api from './api.js';
import { h, svg, show, errorBox, busy, time, copyRow, confirmDialog, icon, paintIcons, onLeave } from './ui.js';
import { webhookUrl } from './setup.js';

const REFRESH_MS = 10000;

/** Signals of `connectorId` in the last 24 hours, newest first (at most 1000). */
async function recentSignals(connectorId) {
  const since = new Date(Date.now() - 24 * 3600 * 1000).toISOString();
  const found = [];
  let next = null;
  for (let page = 0; page < 10; page += 1) {
    const query = new URLSearchParams({ since, limit: '100' });
    if (next) query.set('nextToken', next);
    const body = await api.get(`projects/${api.seg(api.project())}/signals?${query}`);
    found.push(...body.signals.filter((s) => s.source === connectorId));
    next = body.nextToken;
    if (!next) break;
  }
  return found;
}

/**
 * An SVG bar chart of signals per hour over the last 24 hours, by each signal's `timestamp` (when
 * the event happened; the counts above are by when signals were received).
 */
export function chart(signals, now = Date.now()) {
  const hour = 3600 * 1000;
  const end = Math.floor(now / hour) * hour + hour;
  const buckets = new Array(24).fill(0);
  for (const s of signals) {
    const index = 23 - Math.floor((end - 1 - Date.parse(s.timestamp)) / hour);
    if (index >= 0 && index < 24) buckets[index] += 1;
  }
  const max = Math.max(1, ...buckets);
  const W = 480; const H = 120; const bw = W / 24;
  const total = buckets.reduce((a, b) => a + b, 0);
  const label = `${total} signals timestamped in the last 24 hours (by the time of the event), busiest hour ${Math.max(...buckets)}`;
  return svg('svg', { class: 'chart', viewBox: `0 0 ${W} ${H + 18}`, role: 'img', 'aria-label': label, id: 'signal-chart' },
    svg('title', {}, label),
    svg('line', { x1: 0, y1: H, x2: W, y2: H, stroke: '#9ca3af' }),
    buckets.map((count, i) => {
      const bh = (count / max) * (H - 14);
      return svg('rect', { class: 'bar', x: i * bw + 2, y: H - bh, width: bw - 4, height: bh, 'data-count': count },
        svg('title', {}, `${count} signals, ${24 - i} h ago`));
    }),
    svg('text', { x: 0, y: H + 14 }, '24 h ago'),
    svg('text', { x: W, y: H + 14, 'text-anchor': 'end' }, 'now'),
    svg('text', { x: 0, y: 10 }, `max ${max}/h`));
}

function facts(pairs) {
  return h('dl', { class: 'facts' }, pairs.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

/** Renders the monitoring page of connector `id` in the current project. */
export async function monitor(main, id) {
  const path = api.instancePath(id);
  const [view] = await Promise.all([api.get(`connectors/${api.seg(id)}`)]);
  const d = view.descriptor;
  const hasCheck = Boolean(d.healthCheck) || d.kind === 'native';
  const body = h('div', { id: 'monitor' });
  const out = h('div', { 'aria-live': 'polite', id: 'monitor-result' });
  show(main,
    h('div', { class: 'head' }, icon({ id: d.id, name: d.name }), h('h1', {}, d.name)),
    h('p', { class: 'muted' }, 'Project ', h('strong', {}, api.project()), '. ', h('a', { href: `#/connect/${api.seg(id)}` }, 'Change settings or credentials')),
    out, body);
  paintIcons(main);

  let timer = null;
  onLeave(() => clearTimeout(timer));

  async function refresh() {
    clearTimeout(timer);
    let instance; let health; let signals;
    try {
      [instance, health, signals] = await Promise.all([api.get(path), api.get(`${path}/health`), recentSignals(id)]);
    } catch (err) {
      if (err.status === 404) {
        show(body, h('div', { class: 'notice' }, `${d.name} is not connected in this project. `, h('a', { href: `#/connect/${api.seg(id)}` }, 'Connect it')));
        return;
      }
      show(body, errorBox(err, 'Could not load the instance'));
      timer = setTimeout(refresh, REFRESH_MS);
      return;
    }
    render(instance, health, signals);
    timer = setTimeout(refresh, REFRESH_MS);
  }

  function render(instance, health, signals) {
    const status = instance.enabled ? health.status : 'disabled';
    const toggle = h('input', { type: 'checkbox', role: 'switch', id: 'enabled', checked: instance.enabled });
    toggle.addEventListener('change', () => busy(toggle, async () => {
      try {
        await api.call('POST', `${path}/enable`, { enabled: toggle.checked });
        show(out, h('div', { class: 'success' }, toggle.checked ? 'Enabled: polling and webhooks resume.' : 'Disabled: no polling, webhooks refused.'));
      } catch (err) {
        toggle.checked = !toggle.checked;
        show(out, errorBox(err, 'Could not change it'));
      }
      refresh();
    }));
    const test = h('button', { type: 'button', class: 'secondary', id: 'test' }, 'Test connection');
    test.addEventListener('click', () => busy(test, async () => {
      try {
        const r = (await api.call('POST', `${path}/test`)).body;
        show(out, r.healthy
          ? h('div', { class: 'success', id: 'test-outcome' }, `Connection works (HTTP ${r.httpStatus ?? '—'}, ${r.latencyMs} ms).`)
          : h('div', { class: 'error', id: 'test-outcome' }, h('strong', {}, 'Connection failed: '), r.reason || 'no reason given',
            r.failureClass ? ` (${r.failureClass})` : ''));
      } catch (err) {
        show(out, errorBox(err, 'Could not test the connection'));
      }
      refresh();
    }));
    const disconnect = h('button', { type: 'button', class: 'danger', id: 'disconnect' }, 'Disconnect');
    disconnect.addEventListener('click', async () => {
      if (!await confirmDialog(`Disconnect ${d.name} from project ${api.project()}? Its stored credentials are deleted.`, 'Disconnect')) return;
      await busy(disconnect, async () => {
        try {
          const r = await api.call('DELETE', path);
          const warning = r.headers.get('x-switchboard-warning');
          clearTimeout(timer);
          location.hash = '#/';
          if (warning) {
            const box = document.getElementById('alert');
            box.textContent = `Disconnected, but: ${warning}`;
            box.hidden = false;
          }
        } catch (err) {
          show(out, errorBox(err, 'Could not disconnect'));
        }
      });
    });

    const reauth = health.lastError && /auth|401|403|token/i.test(health.lastError) && health.status !== 'healthy';
    const hook = webhookUrl(d);
    const sub = instance.subscription;
    show(body,
      h('div', { class: 'panel' },
        h('div', { class: 'head' }, h('span', { class: `dot ${status}`, 'aria-hidden': 'true' }),
          h('h2', { id: 'health-status' }, `Health: ${status}`)),
        reauth ? h('div', { class: 'notice' }, 'The credentials may need renewing: ', h('a', { href: `#/connect/${api.seg(id)}` }, 're-authenticate')) : null,
        facts([
          ['Last sync', time(health.lastSyncAt)],
          ['Last health check', health.lastHealthCheck ? [time(health.lastHealthCheck), health.lastCheckPassed ? ' (passed)' : ' (failed)'] : '—'],
          ['Latency', health.latencyMs != null ? `${health.latencyMs} ms` : '—'],
          ['Consecutive failures', String(health.consecutiveFailures)],
          ['Last error', health.lastError || '—'],
          ['Credentials set', instance.credentialsSet.join(', ') || '—'],
        ]),
        h('div', { class: 'actions' },
          h('label', { class: 'switch', for: 'enabled' }, toggle, 'Enabled'),
          hasCheck ? test : null, disconnect)),
      hook || sub ? h('div', { class: 'panel' }, h('h2', {}, 'Webhook'),
        sub ? h('p', { id: 'subscription' }, `Managed subscription: ${sub.status}`, sub.message ? ` — ${sub.message}` : '', sub.expiresAt ? [' (expires ', time(sub.expiresAt), ')'] : '') : null,
        copyRow('webhook URL', sub && /^https?:/.test(sub.webhookUrl) ? sub.webhookUrl : hook)) : null,
      h('h2', {}, 'Signals'),
      h('div', { class: 'stats' },
        h('div', { class: 'stat' }, h('b', { id: 'count-24h' }, String(health.signals.last24h.signals)), 'last 24 h'),
        h('div', { class: 'stat' }, h('b', { id: 'count-7d' }, String(health.signals.last7d.signals)), 'last 7 days'),
        h('div', { class: 'stat' }, h('b', {}, String(health.signals.last7d.ignored)), 'ignored (7 d)'),
        h('div', { class: 'stat' }, h('b', {}, String(health.signals.last7d.failed)), 'failed to map (7 d)')),
      h('div', { class: 'panel' }, h('p', { class: 'help' }, 'Signals per hour, by when the event happened:'), chart(signals)),
      h('h2', {}, 'Recent syncs'),
      health.recentSyncs.length
        ? h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Recent sync runs (scrolls sideways)' }, h('table', { id: 'syncs' },
          h('thead', {}, h('tr', {}, ['Started', 'Status', 'Items', 'Pages', 'Duration', 'Error'].map((t) => h('th', { scope: 'col' }, t)))),
          h('tbody', {}, health.recentSyncs.map((r) => h('tr', {},
            h('td', {}, time(r.startedAt)), h('td', {}, h('span', { class: `status ${r.status === 'succeeded' ? 'healthy' : r.status === 'partial' ? 'degraded' : 'error'}` }, r.status)),
            h('td', {}, String(r.items)), h('td', {}, String(r.pages)), h('td', {}, `${r.durationMs} ms`), h('td', {}, r.error || ''))))))
        : h('p', { class: 'muted' }, 'No sync has run yet (webhook-only connectors never sync).'));
  }

  await refresh();
}
