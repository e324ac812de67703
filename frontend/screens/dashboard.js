import { html, useState, useEffect, useRef, useCallback } from '../vendor/htm-preact/standalone.module.js';
import { api } from '../lib/commands.js';
import { on } from '../lib/events.js';
import { Icon, EVENT_ICON } from '../lib/icons.js';
import { Skeleton, ErrorState, Segmented, useWidth } from '../lib/ui.js';
import { navigate, issueHref } from '../lib/state.js';
import { ActionItemsCard } from './action-items.js';
import {
  SEVERITIES, SEVERITY_LABEL, STATUSES, STATUS_LABEL, formatDuration, formatDay,
  relativeTime, formatDateTime, humanize, plural,
} from '../lib/format.js';

const RANGES = [
  { value: 7, label: '7 days' },
  { value: 30, label: '30 days' },
  { value: 90, label: '90 days' },
];

export function Dashboard() {
  const [days, setDays] = useState(30);
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const seq = useRef(0);

  const load = useCallback(() => {
    const n = ++seq.current;
    setError(null);
    api
      .getDashboard(days)
      .then((d) => n === seq.current && setData(d))
      .catch((e) => n === seq.current && setError(e));
  }, [days]);

  useEffect(load, [load]);
  useEffect(() => on('issue_changed', () => load()), [load]);

  if (error) return html`<div class="page"><${ErrorState} error=${error} onRetry=${load} /></div>`;
  if (!data) {
    return html`<div class="page" aria-busy="true">
      <div class="page-head"><h1>Dashboard</h1></div>
      <div class="grid-4">${[0, 1, 2, 3].map((i) => html`<div class="card" key=${i}><${Skeleton} lines=${2} /></div>`)}</div>
      <div class="card"><${Skeleton} lines=${6} /></div>
    </div>`;
  }

  if (!data.total) return html`<div class="page"><${Welcome} /></div>`;

  const open = data.open_by_severity || {};
  const openTotal = SEVERITIES.reduce((a, s) => a + (open[s] || 0), 0);
  const sc = data.status_counts || {};

  return html`<div class="page dashboard" data-testid="dashboard">
    <div class="page-head">
      <div>
        <h1>Dashboard</h1>
        <p class="subtle">${plural(openTotal, 'open incident')} · ${plural(data.total, 'incident')} in total</p>
      </div>
      <div class="page-actions">
        <${Segmented} options=${RANGES} value=${days} onChange=${setDays} label="Time range" testid="dashboard-range" size="sm" />
        <a class="btn btn-primary" href="#/new" data-testid="dashboard-new"><${Icon} name="plus" /> New incident</a>
      </div>
    </div>

    <section aria-labelledby="open-sev-h">
      <h2 class="section-title" id="open-sev-h">Open by severity</h2>
      <div class="grid-4">
        ${SEVERITIES.map(
          (s) => html`<a key=${s} class=${'card stat sev-card sev-' + s} href=${'#/history?severity=' + s + '&status=open,investigating'}
              data-testid=${'dashboard-card-' + s}>
            <span class="stat-label"><span class="dot" aria-hidden="true"></span>${SEVERITY_LABEL[s]}</span>
            <span class="stat-value" data-testid=${'dashboard-count-' + s}>${open[s] || 0}</span>
            <span class="stat-foot">${open[s] ? 'open or investigating' : 'none open'}</span>
          </a>`,
        )}
      </div>
    </section>

    <div class="grid-dash">
      <section class="card" aria-labelledby="status-h" data-testid="dashboard-status">
        <h2 class="card-title" id="status-h">Status</h2>
        <${StatusBar} counts=${sc} total=${data.total} />
        <ul class="status-list">
          ${STATUSES.map(
            (s) => html`<li key=${s}>
              <a href=${'#/history?status=' + s} data-testid=${'dashboard-status-' + s}>
                <span class=${'swatch status-' + s} aria-hidden="true"></span>
                <span>${STATUS_LABEL[s]}</span>
                <span class="num">${sc[s] || 0}</span>
              </a>
            </li>`,
          )}
        </ul>
      </section>
      <section class="card stat mttr" aria-labelledby="mttr-h" data-testid="dashboard-mttr">
        <h2 class="card-title" id="mttr-h">Mean time to resolve</h2>
        <span class="stat-value big">${formatDuration(data.mttr_hours)}</span>
        <span class="stat-foot">
          ${data.resolved_in_range
            ? `across ${plural(data.resolved_in_range, 'incident')} resolved in the last ${days} days`
            : `no incidents resolved in the last ${days} days`}
        </span>
      </section>
    </div>

    <${ActionItemsCard} />

    <section class="card" aria-labelledby="chart-h" data-testid="dashboard-chart">
      <div class="card-head">
        <h2 class="card-title" id="chart-h">Incidents over time</h2>
        <span class="subtle">new incidents per day, last ${days} days</span>
      </div>
      <${TimeChart} points=${data.incidents_over_time || []} />
    </section>

    <section class="card" aria-labelledby="recent-h" data-testid="dashboard-recent">
      <h2 class="card-title" id="recent-h">Recent activity</h2>
      ${(data.recent_activity || []).length
        ? html`<ul class="activity">
            ${data.recent_activity.map(({ event, issue_title }) => html`<li key=${event.id}>
              <button class="activity-row" data-testid="activity-item" onClick=${() => navigate(issueHref(event.issue_id))}>
                <span class=${'ev-icon ev-' + event.event_type}><${Icon} name=${EVENT_ICON[event.event_type] || 'dots'} size=${14} /></span>
                <span class="activity-main">
                  <span class="activity-title">${issue_title || 'Untitled incident'}</span>
                  <span class="activity-desc">${event.description || humanize(event.event_type)}</span>
                </span>
                <time class="activity-time" title=${formatDateTime(event.created_at)}>${relativeTime(event.created_at)}</time>
              </button>
            </li>`)}
          </ul>`
        : html`<p class="subtle pad">Nothing has happened yet.</p>`}
    </section>
  </div>`;
}

function Welcome() {
  return html`<div class="welcome" data-testid="dashboard-empty">
    <div class="welcome-art" aria-hidden="true">
      <${Icon} name="activity" size=${40} />
    </div>
    <h1>No incidents yet</h1>
    <p>
      When something breaks, open an incident here. Walk it down to a root cause with the 5 Whys,
      keep a timeline as you go, and everything stays encrypted on this machine.
    </p>
    <a class="btn btn-primary btn-lg" href="#/new" data-testid="empty-open-first">
      <${Icon} name="plus" /> Open your first incident
    </a>
    <p class="subtle small">Tip: press <kbd>Ctrl</kbd> <kbd>K</kbd> for the command palette, <kbd>?</kbd> for shortcuts.</p>
  </div>`;
}

function StatusBar({ counts, total }) {
  if (!total) return null;
  return html`<div class="status-bar" aria-hidden="true">
    ${STATUSES.map((s) =>
      counts[s]
        ? html`<span key=${s} class=${'status-' + s} style=${{ flexGrow: counts[s] }}></span>`
        : null,
    )}
  </div>`;
}

/** Integer axis: a round step so that 0..max has at most five ticks. */
function niceScale(v) {
  if (v <= 4) {
    const max = Math.max(1, v);
    return { max, ticks: Array.from({ length: max + 1 }, (_, i) => i) };
  }
  const raw = v / 4;
  const pow = Math.pow(10, Math.floor(Math.log10(raw)));
  let step = pow;
  for (const m of [1, 2, 5, 10]) {
    if (m * pow >= raw) {
      step = m * pow;
      break;
    }
  }
  step = Math.max(1, Math.round(step));
  const max = Math.ceil(v / step) * step;
  const ticks = [];
  for (let t = 0; t <= max; t += step) ticks.push(t);
  return { max, ticks };
}

function TimeChart({ points }) {
  const wrap = useRef(null);
  const width = useWidth(wrap);
  const [hover, setHover] = useState(null);
  const height = 220;
  const pad = { l: 36, r: 12, t: 12, b: 28 };

  const n = points.length;
  const { max, ticks } = niceScale(points.reduce((a, p) => Math.max(a, p.count || 0), 0));
  const total = points.reduce((a, p) => a + (p.count || 0), 0);

  const W = Math.max(width, 200);
  const iw = W - pad.l - pad.r;
  const ih = height - pad.t - pad.b;
  const step = n ? iw / n : iw;
  const barW = Math.max(1, Math.min(28, step * 0.7));
  const y = (v) => pad.t + ih - (v / max) * ih;

  const labelEvery = Math.max(1, Math.ceil(n / Math.max(2, Math.floor(iw / 70))));

  const hovered = hover != null ? points[hover] : null;
  const tipLeft = hover != null ? Math.min(Math.max(pad.l + step * hover + step / 2, 70), W - 70) : 0;

  return html`<div class="chart" ref=${wrap} onMouseLeave=${() => setHover(null)}>
    ${width > 0
      ? html`<svg width=${W} height=${height} role="img"
          aria-label=${`Incidents per day: ${total} in the last ${n} days`} data-testid="chart-svg">
          ${ticks.map(
            (t) => html`<g key=${'t' + t} class="chart-grid">
              <line x1=${pad.l} x2=${W - pad.r} y1=${y(t)} y2=${y(t)} />
              <text x=${pad.l - 8} y=${y(t) + 4} text-anchor="end" class="chart-label">${t}</text>
            </g>`,
          )}
          ${points.map((p, i) => {
            const x = pad.l + step * i + (step - barW) / 2;
            const h = ((p.count || 0) / max) * ih;
            return html`<g key=${p.date}>
              ${p.count
                ? html`<rect class=${'chart-bar' + (hover === i ? ' on' : '')} x=${x} y=${pad.t + ih - h} width=${barW} height=${h} rx=${Math.min(3, barW / 3)} />`
                : null}
              ${i % labelEvery === 0 || (i === n - 1 && (n - 1) % labelEvery >= labelEvery / 2)
                ? html`<text class="chart-label" x=${pad.l + step * i + step / 2} y=${height - 8} text-anchor="middle">${formatDay(p.date)}</text>`
                : null}
              <rect class="chart-hit" x=${pad.l + step * i} y=${pad.t} width=${step} height=${ih}
                data-testid="chart-hit" onMouseEnter=${() => setHover(i)} />
            </g>`;
          })}
          <line class="chart-axis" x1=${pad.l} x2=${W - pad.r} y1=${pad.t + ih} y2=${pad.t + ih} />
        </svg>`
      : null}
    ${hovered
      ? html`<div class="chart-tip" role="tooltip" data-testid="chart-tooltip" style=${{ left: tipLeft + 'px', top: '4px' }}>
          <strong>${formatDay(hovered.date, { withYear: true })}</strong>
          <span>${plural(hovered.count || 0, 'incident')}</span>
        </div>`
      : null}
  </div>`;
}
