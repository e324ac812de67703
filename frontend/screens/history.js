import { html, useState, useEffect, useLayoutEffect, useRef } from '../vendor/htm-preact/standalone.module.js';
import { api } from '../lib/commands.js';
import { on } from '../lib/events.js';
import { Icon } from '../lib/icons.js';
import {
  Skeleton, ErrorState, EmptyState, SeverityBadge, StatusBadge, Highlighted, Tag, useDebounced, useStore,
} from '../lib/ui.js';
import { useApp, replaceHash, issueHref, domainLabel, uiStore } from '../lib/state.js';
import {
  SEVERITIES, SEVERITY_LABEL, STATUS_LABEL, relativeTime, formatDateTime, plural,
} from '../lib/format.js';

const PAGE = 25;

const STATUS_FILTERS = [
  { value: '', label: 'Any status' },
  { value: 'open,investigating', label: 'Active' },
  ...Object.entries(STATUS_LABEL).map(([value, label]) => ({ value, label })),
];

const SORTS = [
  { value: 'created_desc', label: 'Newest first' },
  { value: 'created_asc', label: 'Oldest first' },
  { value: 'updated_desc', label: 'Recently updated' },
  { value: 'severity', label: 'Severity' },
];

function fromQuery(query) {
  return {
    q: query.get('q') || '',
    status: query.get('status') || '',
    severity: query.get('severity') || '',
    category: query.get('domain') || '',
    from: query.get('from') || '',
    to: query.get('to') || '',
    sort: query.get('sort') || 'created_desc',
    page: Math.max(0, parseInt(query.get('page') || '0', 10) || 0),
  };
}

function toQuery(f) {
  const p = new URLSearchParams();
  if (f.q) p.set('q', f.q);
  if (f.status) p.set('status', f.status);
  if (f.severity) p.set('severity', f.severity);
  if (f.category) p.set('domain', f.category);
  if (f.from) p.set('from', f.from);
  if (f.to) p.set('to', f.to);
  if (f.sort && f.sort !== 'created_desc') p.set('sort', f.sort);
  if (f.page) p.set('page', String(f.page));
  const s = p.toString();
  return '/history' + (s ? '?' + s : '');
}

const multi = (v) => {
  if (!v) return undefined;
  const parts = v.split(',').filter(Boolean);
  return parts.length > 1 ? parts : parts[0];
};

export function History({ route }) {
  const { info } = useApp();
  const ui = useStore(uiStore);
  const queryKey = route.query.toString();
  const [f, setF] = useState(() => fromQuery(route.query));
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [loading, setLoading] = useState(false);
  const [tick, setTick] = useState(0);
  const seq = useRef(0);
  const inputRef = useRef(null);
  const q = useDebounced(f.q.trim(), 150);

  // Follow real navigation (e.g. a dashboard card or the top-bar search).
  useEffect(() => setF(fromQuery(route.query)), [queryKey]);

  useLayoutEffect(() => {
    if (Date.now() - ui.focusSearch < 1500 && inputRef.current) {
      inputRef.current.focus();
      inputRef.current.select();
    }
  }, [ui.focusSearch]);

  useEffect(() => replaceHash(toQuery({ ...f, q: f.q.trim() })), [f]);

  useEffect(() => on('issue_changed', () => setTick((t) => t + 1)), []);

  useEffect(() => {
    const n = ++seq.current;
    setLoading(true);
    const common = {
      status: multi(f.status),
      severity: multi(f.severity),
      category: f.category || undefined,
      date_from: f.from || undefined,
      date_to: f.to || undefined,
      limit: PAGE,
      offset: f.page * PAGE,
    };
    const req = q
      ? api.searchIssues({ query: q.slice(0, 500), ...common }).then((r) => ({ mode: 'search', ...r }))
      : api.listIssues({ ...common, sort: f.sort }).then((r) => ({
          mode: 'list',
          total: r.total,
          items: (r.items || []).map((issue) => ({ issue })),
        }));
    req
      .then((r) => {
        if (n !== seq.current) return;
        setData(r);
        setError(null);
      })
      .catch((e) => n === seq.current && setError(e))
      .finally(() => n === seq.current && setLoading(false));
  }, [q, f.status, f.severity, f.category, f.from, f.to, f.sort, f.page, tick]);

  const set = (k) => (e) => {
    const v = e && e.currentTarget ? e.currentTarget.value : e;
    setF((cur) => ({ ...cur, [k]: v, page: k === 'page' ? v : 0 }));
  };
  const filtered = Boolean(f.status || f.severity || f.category || f.from || f.to);
  const clear = () => setF((cur) => ({ ...cur, q: '', status: '', severity: '', category: '', from: '', to: '', page: 0 }));

  const total = data ? data.total || 0 : 0;
  const start = f.page * PAGE;
  const items = data ? data.items || [] : [];
  const domains = (info && info.domains) || [];

  return html`<div class="page history" data-testid="history">
    <div class="page-head">
      <div>
        <h1>History</h1>
        <p class="subtle">Every incident on this machine. Search looks through titles, descriptions, tags, the 5 Whys,
          root causes, action items, timeline notes and documents, and shows where it matched.</p>
      </div>
      <div class="page-actions">
        <a class="btn" href="#/attachments" data-testid="history-attachments"><${Icon} name="file" /> Attachments</a>
        <a class="btn btn-primary" href="#/new"><${Icon} name="plus" /> New incident</a>
      </div>
    </div>

    <div class="filters card">
      <div class="search-box">
        <${Icon} name="search" />
        <input ref=${inputRef} type="search" class="input" placeholder="Search incidents…" value=${f.q}
          aria-label="Search incidents" onInput=${set('q')} maxLength="500" data-testid="search-input"
          onKeyDown=${(e) => e.key === 'Escape' && f.q && (e.stopPropagation(), setF((c) => ({ ...c, q: '', page: 0 })))} />
        ${loading ? html`<span class="spinner sm" aria-hidden="true"></span>` : null}
      </div>
      <div class="filter-row">
        <select class="input" value=${f.status} onChange=${set('status')} aria-label="Status" data-testid="filter-status">
          ${STATUS_FILTERS.map((o) => html`<option key=${o.value} value=${o.value}>${o.label}</option>`)}
        </select>
        <select class="input" value=${f.severity} onChange=${set('severity')} aria-label="Severity" data-testid="filter-severity">
          <option value="">Any severity</option>
          ${SEVERITIES.map((s) => html`<option key=${s} value=${s}>${SEVERITY_LABEL[s]}</option>`)}
        </select>
        <select class="input" value=${f.category} onChange=${set('category')} aria-label="Domain" data-testid="filter-domain">
          <option value="">Any domain</option>
          ${domains.map((d) => html`<option key=${d.id} value=${d.id}>${d.label}</option>`)}
        </select>
        <label class="inline-label">From
          <input type="date" class="input" value=${f.from} max=${f.to || undefined} onChange=${set('from')} data-testid="filter-from" />
        </label>
        <label class="inline-label">To
          <input type="date" class="input" value=${f.to} min=${f.from || undefined} onChange=${set('to')} data-testid="filter-to" />
        </label>
        ${q
          ? null
          : html`<select class="input" value=${f.sort} onChange=${set('sort')} aria-label="Sort" data-testid="filter-sort">
              ${SORTS.map((o) => html`<option key=${o.value} value=${o.value}>${o.label}</option>`)}
            </select>`}
        ${filtered || f.q ? html`<button class="btn btn-ghost btn-sm" onClick=${clear} data-testid="filter-clear">Clear</button>` : null}
      </div>
    </div>

    ${error
      ? html`<${ErrorState} error=${error} onRetry=${() => setTick((t) => t + 1)} />`
      : !data
        ? html`<div class="card"><${Skeleton} lines=${6} /></div>`
        : items.length === 0
          ? q || filtered
            ? html`<${EmptyState} icon="search" title=${q ? `No incidents match “${q}”` : 'No incidents match these filters'}
                  testid="search-empty" action=${html`<button class="btn" onClick=${clear}>Clear search and filters</button>`}>
                Try fewer words, another spelling, or a wider date range.
              <//>`
            : html`<${EmptyState} icon="history" title="No incidents yet" testid="history-empty"
                  action=${html`<a class="btn btn-primary" href="#/new"><${Icon} name="plus" /> Open your first incident</a>`}>
                Incidents you open appear here, newest first.
              <//>`
          : html`<div class=${'results card' + (loading ? ' is-loading' : '')} aria-busy=${loading ? 'true' : 'false'}>
              <div class="results-head">
                <span data-testid="results-count">
                  ${q
                    ? `${data.total_is_capped ? total + '+ matches' : plural(total, 'match', 'matches')} for “${q}”`
                    : plural(total, 'incident')}
                </span>
              </div>
              <ul class="result-list" data-testid="search-results">
                ${items.map((it) => html`<${ResultRow} key=${it.issue.id} item=${it} info=${info} />`)}
              </ul>
              ${total > PAGE
                ? html`<nav class="pager" aria-label="Pages">
                    <button class="btn btn-sm" disabled=${f.page === 0} onClick=${() => set('page')(f.page - 1)} data-testid="page-prev">
                      <${Icon} name="left" /> Previous
                    </button>
                    <span class="subtle" data-testid="page-info">${start + 1}–${Math.min(start + PAGE, total)} of ${total}</span>
                    <button class="btn btn-sm" disabled=${start + PAGE >= total} onClick=${() => set('page')(f.page + 1)} data-testid="page-next">
                      Next <${Icon} name="right" />
                    </button>
                  </nav>`
                : null}
            </div>`}
  </div>`;
}

/** The place a result matched that says most about it: the description, else the first
 *  other place (tags, whys, root cause, …) that is not the title. */
function bestPlace(item) {
  const places = (item.matches || []).filter((m) => m.field !== 'title');
  return places.find((m) => m.field === 'description') || places[0] || null;
}

function ResultRow({ item, info }) {
  const { issue } = item;
  const title = item.title_snippet && item.title_snippet.includes('\uE000') ? item.title_snippet : null;
  const place = bestPlace(item);
  const snippet = place ? place.snippet.trim() : item.matches ? '' : item.description_snippet || '';
  const desc = (issue.description || '').replace(/\s+/g, ' ').trim();
  const where = (item.matches || []).map((m) => m.label);
  return html`<li>
    <a class="result" href=${issueHref(issue.id)} data-testid="search-result" data-issue-id=${issue.id}>
      <span class=${'sev-rail sev-' + issue.severity} aria-hidden="true"></span>
      <span class="result-main">
        <span class="result-title">${title ? html`<${Highlighted} text=${title} />` : issue.title}</span>
        ${where.length
          ? html`<span class="result-where" data-testid="result-where">Matched in ${where.join(' · ')}</span>`
          : null}
        ${snippet
          ? html`<span class="result-snippet" data-testid="result-snippet">
              ${place && place.field !== 'description' ? html`<span class="result-place">${place.label}:</span> ` : null}<${Highlighted} text=${snippet} />
            </span>`
          : desc
            ? html`<span class="result-snippet">${desc.length > 180 ? desc.slice(0, 179) + '…' : desc}</span>`
            : null}
        <span class="result-meta">
          <${SeverityBadge} value=${issue.severity} />
          <${StatusBadge} value=${issue.status} />
          <span class="meta-item">${domainLabel(info, issue.category)}</span>
          ${(issue.tags || []).slice(0, 4).map((t) => html`<${Tag} key=${t}>${t}<//>`)}
        </span>
      </span>
      <time class="result-time" title=${formatDateTime(issue.created_at)}>${relativeTime(issue.created_at)}</time>
    </a>
  </li>`;
}
