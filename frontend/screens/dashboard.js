import { html, useState, useEffect, useRef, useCallback } from '../vendor/htm-preact/standalone.module.js';
import { call } from '../lib/commands.js';
import { on } from '../lib/events.js';
import { Icon, EVENT_ICON } from '../lib/icons.js';
import { Skeleton, ErrorState, Segmented, useWidth } from '../lib/ui.js';
import { navigate, issueHref, useApp } from '../lib/state.js';
import { ActionItemsCard } from './action-items.js';
import {
  SEVERITIES, SEVERITY_LABEL, STATUSES, STATUS_LABEL, formatDuration, formatDay,
  relativeTime, formatDateTime, humanize, plural,
} from '../lib/format.js';

const RANGES = [
  { value: 7, label: '7 days' },
  { value: 30, label: '30 days' },
  { value: 90, label: '90 days' },
  { value: 365, label: '1 year' },
];
// The response metrics, as the backend names them; colours of the trend lines.
const RESPONSE = [
  { key: 'mttd', short: 'MTTD', label: 'Mean time to detect', from: 'impact started', to: 'detected', cls: 'line-a' },
  { key: 'mtta', short: 'MTTA', label: 'Mean time to acknowledge', from: 'detected', to: 'acknowledged', cls: 'line-b' },
  { key: 'mttr', short: 'MTTR', label: 'Mean time to resolve', from: 'detected', to: 'resolved', cls: 'line-c' },
];
const hours = (seconds) => (seconds == null ? null : seconds / 3600);

export function Dashboard() {
  const { info } = useApp();
  const [days, setDays] = useState(30);
  const [severity, setSeverity] = useState('');
  const [category, setCategory] = useState('');
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const seq = useRef(0);

  const load = useCallback(() => {
    const n = ++seq.current;
    setError(null);
    call('get_dashboard', { days, severity: severity || undefined, category: category || undefined })
      .then((d) => n === seq.current && setData(d))
      .catch((e) => n === seq.current && setError(e));
  }, [days, severity, category]);

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
    </div>

    <${ResponseTimes} rm=${data.response_metrics} info=${info} days=${days}
      severity=${severity} category=${category} onSeverity=${setSeverity} onCategory=${setCategory} />

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

// ---------------------------------------------------------------- response times
function Mean({ figure }) {
  if (!figure || figure.seconds == null) return html`<span class="subtle">not set</span>`;
  return html`<span title=${`over ${plural(figure.count, 'incident')}`}>${formatDuration(hours(figure.seconds))}</span>`;
}

/** MTTD, MTTA and MTTR over the period, by severity and by domain, with their trend. */
function ResponseTimes({ rm, info, days, severity, category, onSeverity, onCategory }) {
  if (!rm) return null;
  const domains = (info && info.domains) || [];
  const label = (id) => (domains.find((d) => d.id === id) || {}).label || id || 'No domain';
  const o = rm.overall;
  return html`<section class="card response" aria-labelledby="resp-dash-h" data-testid="dashboard-response">
    <div class="card-head wrap">
      <div>
        <h2 class="card-title" id="resp-dash-h">Response times</h2>
        <span class="subtle small">Incidents opened in the last ${days === 365 ? 'year' : `${days} days`}, measured between their milestones.
          An incident counts towards a mean only when both of its milestones are set.</span>
      </div>
      <div class="resp-filters">
        <select class="input input-sm" value=${severity} onChange=${(e) => onSeverity(e.currentTarget.value)}
          aria-label="Severity" data-testid="dashboard-resp-severity">
          <option value="">All severities</option>
          ${SEVERITIES.map((s) => html`<option key=${s} value=${s}>${SEVERITY_LABEL[s]}</option>`)}
        </select>
        <select class="input input-sm" value=${category} onChange=${(e) => onCategory(e.currentTarget.value)}
          aria-label="Domain" data-testid="dashboard-resp-domain">
          <option value="">All domains</option>
          ${domains.map((d) => html`<option key=${d.id} value=${d.id}>${d.label}</option>`)}
        </select>
      </div>
    </div>
    <div class="resp-tiles">
      ${RESPONSE.map((r) => html`<div key=${r.key} class=${'resp-tile ' + r.cls} data-testid=${'dashboard-' + r.key}>
        <span class="stat-label"><span class="swatch" aria-hidden="true"></span>${r.short} · ${r.label}</span>
        <span class="stat-value"><${Mean} figure=${o[r.key]} /></span>
        <span class="stat-foot">${r.from} → ${r.to} · ${o[r.key].count} of ${plural(o.incidents, 'incident')}</span>
      </div>`)}
    </div>
    <${TrendChart} trend=${rm.trend} bucket=${rm.bucket} />
    <div class="resp-tables">
      <${Breakdown} title="By severity" rows=${rm.by_severity.map((r) => ({ ...r, name: SEVERITY_LABEL[r.severity] || r.severity, sev: r.severity }))} testid="dashboard-resp-by-severity" />
      <${Breakdown} title="By domain" rows=${rm.by_domain.map((r) => ({ ...r, name: label(r.category) }))} testid="dashboard-resp-by-domain" />
    </div>
  </section>`;
}

function Breakdown({ title, rows, testid }) {
  return html`<div class="resp-table-wrap">
    <h3 class="resp-table-title">${title}</h3>
    ${rows.length
      ? html`<table class="resp-table" data-testid=${testid}>
          <thead><tr><th scope="col"></th><th scope="col" class="num">Incidents</th>${RESPONSE.map((r) => html`<th key=${r.key} scope="col" class="num" title=${r.label}>${r.short}</th>`)}</tr></thead>
          <tbody>
            ${rows.map((row) => html`<tr key=${row.name}>
              <th scope="row">${row.sev ? html`<span class=${'dot sev-' + row.sev} aria-hidden="true"></span>` : null}${row.name}</th>
              <td class="num">${row.incidents}</td>
              ${RESPONSE.map((r) => html`<td key=${r.key} class="num"><${Mean} figure=${row[r.key]} /></td>`)}
            </tr>`)}
          </tbody>
        </table>`
      : html`<p class="subtle small">No incidents in this period.</p>`}
  </div>`;
}

/** One line per metric over the period's days or weeks; gaps where nothing was measured. */
function TrendChart({ trend, bucket }) {
  const wrap = useRef(null);
  const width = useWidth(wrap);
  const [hover, setHover] = useState(null);
  const height = 200;
  const pad = { l: 48, r: 12, t: 12, b: 26 };
  const W = Math.max(width, 240);
  const iw = W - pad.l - pad.r;
  const ih = height - pad.t - pad.b;
  const n = trend.length;
  const values = trend.flatMap((b) => RESPONSE.map((r) => hours(b[r.key].seconds)).filter((v) => v != null));
  const measured = values.length > 0;
  const top = measured ? Math.max(...values) * 1.1 || 1 : 1;
  const x = (i) => pad.l + (n <= 1 ? iw / 2 : (iw * i) / (n - 1));
  const y = (v) => pad.t + ih - (v / top) * ih;
  const ticks = [0, top / 2, top];
  const labelEvery = Math.max(1, Math.ceil(n / Math.max(2, Math.floor(iw / 70))));
  const segments = (key) => {
    const out = [];
    let cur = [];
    trend.forEach((b, i) => {
      const v = hours(b[key].seconds);
      if (v == null) {
        if (cur.length) out.push(cur);
        cur = [];
      } else cur.push([x(i), y(v)]);
    });
    if (cur.length) out.push(cur);
    return out;
  };
  const hovered = hover != null ? trend[hover] : null;
  return html`<div class="chart trend" ref=${wrap} onMouseLeave=${() => setHover(null)} data-testid="dashboard-trend">
    ${width > 0
      ? html`<svg width=${W} height=${height} role="img" data-testid="trend-svg"
          aria-label=${measured ? `Response times per ${bucket}` : 'No response times measured in this period'}>
          ${ticks.map((t, i) => html`<g key=${'t' + i} class="chart-grid">
            <line x1=${pad.l} x2=${W - pad.r} y1=${y(t)} y2=${y(t)} />
            <text x=${pad.l - 6} y=${y(t) + 4} text-anchor="end" class="chart-label">${!measured ? '' : t ? formatDuration(t) : '0'}</text>
          </g>`)}
          ${trend.map((b, i) => (i % labelEvery === 0
            ? html`<text key=${'l' + i} class="chart-label" x=${x(i)} y=${height - 8} text-anchor="middle">${formatDay(b.start)}</text>`
            : null))}
          ${RESPONSE.map((r) => segments(r.key).map((seg, j) => (seg.length === 1
            ? html`<circle key=${r.key + j} class=${'trend-dot ' + r.cls} cx=${seg[0][0]} cy=${seg[0][1]} r="3.5" />`
            : html`<polyline key=${r.key + j} class=${'trend-line ' + r.cls} points=${seg.map((pt) => pt.join(',')).join(' ')} />`)))}
          ${trend.map((b, i) => html`<rect key=${'h' + i} class="chart-hit" x=${x(i) - iw / Math.max(1, n) / 2} y=${pad.t}
            width=${iw / Math.max(1, n)} height=${ih} onMouseEnter=${() => setHover(i)} />`)}
          <line class="chart-axis" x1=${pad.l} x2=${W - pad.r} y1=${pad.t + ih} y2=${pad.t + ih} />
        </svg>`
      : null}
    ${!measured ? html`<p class="chart-empty subtle small">No incident in this period has the milestones to measure. Set them on each incident (header → milestones).</p>` : null}
    <div class="trend-legend">${RESPONSE.map((r) => html`<span key=${r.key} class=${'legend ' + r.cls}><span class="swatch"></span>${r.short}</span>`)}
      <span class="subtle small">per ${bucket}</span></div>
    ${hovered
      ? html`<div class="chart-tip" role="tooltip" style=${{ left: Math.min(Math.max(x(hover), 90), W - 90) + 'px', top: '4px' }}>
          <strong>${bucket === 'week' ? 'Week of ' : ''}${formatDay(hovered.start, { withYear: true })}</strong>
          ${RESPONSE.map((r) => html`<span key=${r.key}>${r.short}: <${Mean} figure=${hovered[r.key]} /></span>`)}
        </div>`
      : null}
  </div>`;
}
