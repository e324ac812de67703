import { html, useState, useEffect, useRef, useCallback } from '../vendor/htm-preact/standalone.module.js';
import { api, errorMessage } from '../lib/commands.js';
import { on } from '../lib/events.js';
import { Icon } from '../lib/icons.js';
import { Skeleton, ErrorState, EmptyState, toast } from '../lib/ui.js';
import { copyText } from './help.js';
import { formatDateTime, relativeTime, humanize, shortId, summarizeDetails, plural } from '../lib/format.js';

const PAGE = 50;

/** Follow a download URL from the backend, same origin only. */
export function downloadUrl(url, filename) {
  let target;
  try {
    target = new URL(url, window.location.href);
  } catch (_) {
    throw new Error('The export link is not valid.');
  }
  if (target.origin !== window.location.origin) throw new Error('Refusing to download from another origin.');
  const a = document.createElement('a');
  a.href = target.href;
  a.download = filename || '';
  a.rel = 'noopener';
  a.hidden = true;
  document.body.appendChild(a);
  a.click();
  setTimeout(() => a.remove(), 0);
}

export function Audit() {
  const [action, setAction] = useState('');
  const [entityType, setEntityType] = useState('');
  const [page, setPage] = useState(0);
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [loading, setLoading] = useState(false);
  const [chain, setChain] = useState(null);
  const [chainError, setChainError] = useState(null);
  const [open, setOpen] = useState(() => new Set());
  const [exporting, setExporting] = useState('');
  const seq = useRef(0);

  const load = useCallback(() => {
    const n = ++seq.current;
    setLoading(true);
    api
      .getAuditLog({ action: action || undefined, entity_type: entityType || undefined, limit: PAGE, offset: page * PAGE })
      .then((d) => {
        if (n !== seq.current) return;
        setData(d);
        setError(null);
      })
      .catch((e) => n === seq.current && setError(e))
      .finally(() => n === seq.current && setLoading(false));
  }, [action, entityType, page]);

  const verify = useCallback(() => {
    setChainError(null);
    api
      .verifyAudit()
      .then(setChain)
      .catch((e) => setChainError(e));
  }, []);

  useEffect(load, [load]);
  useEffect(verify, [verify]);
  useEffect(
    () =>
      on('*', () => {
        load();
        verify();
      }),
    [load, verify],
  );

  const toggle = (id) =>
    setOpen((cur) => {
      const next = new Set(cur);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  const doExport = async (format) => {
    setExporting(format);
    try {
      const res = await api.exportAuditLog({ format, action: action || undefined, entity_type: entityType || undefined });
      if (!res || res.cancelled) return;
      if (res.url) {
        downloadUrl(res.url, res.filename || `tftsr-audit.${format}`);
        toast.success(`Downloading ${res.filename || 'audit log'}`);
      } else if (res.path) {
        toast.success(`Saved to ${res.path}`);
      }
    } catch (err) {
      toast.error(errorMessage(err));
    } finally {
      setExporting('');
    }
  };

  const items = data ? data.items || [] : [];
  const total = data ? data.total || 0 : 0;
  const actions = data ? data.actions || [] : [];
  const entityTypes = data ? data.entity_types || [] : [];

  return html`<div class="page audit" data-testid="audit">
    <div class="page-head">
      <div>
        <h1>Audit log</h1>
        <p class="subtle">
          A tamper-evident record of every change and everything that left this machine. Read-only. <a href="#/help/privacy">What it proves</a>
        </p>
      </div>
      <div class="page-actions">
        <button class="btn" disabled=${Boolean(exporting)} onClick=${() => doExport('json')} data-testid="export-json">
          <${Icon} name="download" /> Export JSON
        </button>
        <button class="btn" disabled=${Boolean(exporting)} onClick=${() => doExport('csv')} data-testid="export-csv">
          <${Icon} name="download" /> Export CSV
        </button>
      </div>
    </div>

    <${ChainBanner} chain=${chain} error=${chainError} onRetry=${verify} />
    <${ChainHead} head=${(data && data.head) || (chain && chain.head)} />

    <div class="filters card">
      <div class="filter-row">
        <select class="input" value=${action} aria-label="Action" data-testid="audit-filter-action"
          onChange=${(e) => { setAction(e.currentTarget.value); setPage(0); }}>
          <option value="">All actions</option>
          ${(action && !actions.includes(action) ? [action, ...actions] : actions).map(
            (a) => html`<option key=${a} value=${a}>${humanize(a)}</option>`,
          )}
        </select>
        <select class="input" value=${entityType} aria-label="Entity type" data-testid="audit-filter-entity"
          onChange=${(e) => { setEntityType(e.currentTarget.value); setPage(0); }}>
          <option value="">All entity types</option>
          ${(entityType && !entityTypes.includes(entityType) ? [entityType, ...entityTypes] : entityTypes).map(
            (t) => html`<option key=${t} value=${t}>${humanize(t)}</option>`,
          )}
        </select>
        ${action || entityType
          ? html`<button class="btn btn-ghost btn-sm" onClick=${() => { setAction(''); setEntityType(''); setPage(0); }}>Clear</button>`
          : null}
        <span class="spacer"></span>
        ${data ? html`<span class="subtle">${plural(total, 'entry', 'entries')}</span>` : null}
      </div>
    </div>

    ${error
      ? html`<${ErrorState} error=${error} onRetry=${load} />`
      : !data
        ? html`<div class="card"><${Skeleton} lines=${8} /></div>`
        : items.length === 0
          ? html`<${EmptyState} icon="shield" title="No audit entries" testid="audit-empty">
              ${action || entityType ? 'Nothing matches these filters.' : 'Entries appear as soon as anything changes.'}
            <//>`
          : html`<div class=${'card table-card' + (loading ? ' is-loading' : '')}>
              <table class="table" data-testid="audit-table">
                <thead>
                  <tr>
                    <th scope="col" class="col-caret"><span class="sr-only">Expand</span></th>
                    <th scope="col">Time</th>
                    <th scope="col">Action</th>
                    <th scope="col">Entity</th>
                    <th scope="col">ID</th>
                    <th scope="col">Details</th>
                  </tr>
                </thead>
                <tbody>
                  ${items.map((en) => {
                    const isOpen = open.has(en.id);
                    const bad = chain && chain.first_bad_id === en.id;
                    return [
                      html`<tr key=${en.id} class=${'audit-row' + (isOpen ? ' open' : '') + (bad ? ' bad' : '')}
                          data-testid="audit-row" data-entry-id=${en.id}
                          tabIndex="0" aria-expanded=${isOpen ? 'true' : 'false'}
                          onClick=${() => toggle(en.id)}
                          onKeyDown=${(e) => (e.key === 'Enter' || e.key === ' ') && (e.preventDefault(), toggle(en.id))}>
                        <td class="col-caret"><${Icon} name=${isOpen ? 'down' : 'right'} size=${12} /></td>
                        <td class="nowrap" title=${relativeTime(en.timestamp)}>${formatDateTime(en.timestamp, { seconds: true })}</td>
                        <td><span class="action-chip">${en.action}</span></td>
                        <td>${en.entity_type}</td>
                        <td class="mono" title=${en.entity_id || ''}>${shortId(en.entity_id)}</td>
                        <td class="details-cell">${summarizeDetails(en.details)}</td>
                      </tr>`,
                      isOpen
                        ? html`<tr key=${en.id + '-d'} class="audit-detail" data-testid="audit-detail">
                            <td></td>
                            <td colspan="5">
                              <dl class="kv kv-inline">
                                <dt>Entry</dt><dd class="mono">${en.id}</dd>
                                <dt>Entity ID</dt><dd class="mono">${en.entity_id || '—'}</dd>
                                <dt>User</dt><dd>${en.user_id || '—'}</dd>
                                <dt>Entry hash</dt><dd class="mono hash">${en.entry_hash || '—'}</dd>
                                <dt>Previous hash</dt><dd class="mono hash">${en.prev_hash || '—'}</dd>
                              </dl>
                              <pre class="json" data-testid="audit-details-json">${en.details == null ? 'null' : JSON.stringify(en.details, null, 2)}</pre>
                            </td>
                          </tr>`
                        : null,
                    ];
                  })}
                </tbody>
              </table>
              ${total > PAGE
                ? html`<nav class="pager" aria-label="Pages">
                    <button class="btn btn-sm" disabled=${page === 0} onClick=${() => setPage(page - 1)} data-testid="audit-prev">
                      <${Icon} name="left" /> Newer
                    </button>
                    <span class="subtle">${page * PAGE + 1}–${Math.min((page + 1) * PAGE, total)} of ${total}</span>
                    <button class="btn btn-sm" disabled=${(page + 1) * PAGE >= total} onClick=${() => setPage(page + 1)} data-testid="audit-next">
                      Older <${Icon} name="right" />
                    </button>
                  </nav>`
                : null}
            </div>`}
  </div>`;
}

function ChainBanner({ chain, error, onRetry }) {
  if (error) {
    return html`<div class="banner banner-warn" role="alert" data-testid="audit-chain-status" data-state="error">
      <${Icon} name="alert" />
      <span>Could not verify the audit chain: ${errorMessage(error)}</span>
      <button class="btn btn-sm" onClick=${onRetry}>Retry</button>
    </div>`;
  }
  if (!chain) {
    return html`<div class="banner banner-muted" data-testid="audit-chain-status" data-state="checking">
      <span class="spinner sm" aria-hidden="true"></span><span>Verifying the audit chain…</span>
    </div>`;
  }
  if (chain.ok) {
    return html`<div class="banner banner-ok" role="status" data-testid="audit-chain-status" data-state="ok">
      <${Icon} name="shield" />
      <span>Audit chain intact — ${plural(chain.entries || 0, 'entry', 'entries')}; every audited record has its creation entry</span>
      <button class="btn btn-sm btn-ghost" onClick=${onRetry} data-testid="audit-verify">Verify again</button>
    </div>`;
  }
  if (chain.chain_ok === false || !chain.missing || !chain.missing.total) {
    return html`<div class="banner banner-bad" role="alert" data-testid="audit-chain-status" data-state="broken">
      <${Icon} name="alert" />
      <span>
        <strong>Audit chain broken</strong> at entry <span class="mono">${chain.first_bad_id || (chain.first_bad_seq ? '#' + chain.first_bad_seq : 'unknown')}</span>${chain.reason ? ` — ${chain.reason}` : ''}.
        Entries from there on cannot be trusted.
      </span>
      <button class="btn btn-sm" onClick=${onRetry} data-testid="audit-verify">Verify again</button>
    </div>`;
  }
  const items = chain.missing.items || [];
  return html`<div class="banner banner-bad" role="alert" data-testid="audit-chain-status" data-state="incomplete">
    <${Icon} name="alert" />
    <span>
      <strong>Audit log incomplete</strong> — ${chain.reason}.
      ${items.length
        ? html`<span class="block small" data-testid="audit-missing">
            ${items.slice(0, 5).map((it, i) => html`${i ? ', ' : 'Without their entry: '}${it.label} <span class="mono">${shortId(it.id)}</span>`)}${chain.missing.total > 5 ? ` and ${chain.missing.total - 5} more` : ''}.
          </span>`
        : null}
    </span>
    <button class="btn btn-sm" onClick=${onRetry} data-testid="audit-verify">Verify again</button>
  </div>`;
}

/** The chain head, to record outside TFTSR: the anchor for verify-audit --expect-head. */
function ChainHead({ head }) {
  if (!head) return null;
  const copy = () => copyText(head, 'Audit head copied');
  return html`<div class="card audit-head" data-testid="audit-head-card">
    <dl class="kv">
      <dt><${Icon} name="key" /> Chain head</dt>
      <dd>
        <span class="path">
          <code class="mono" data-testid="audit-head">${head}</code>
          <button class="icon-btn" aria-label="Copy the audit head" title="Copy" onClick=${copy} data-testid="audit-head-copy">
            <${Icon} name="copy" size=${14} />
          </button>
        </span>
      </dd>
    </dl>
    <p class="subtle small">
      Keep a copy somewhere the database key does not reach (a ticket, an email, a note). Later, <code class="mono">tftsr db verify-audit --expect-head ${head.split(':')[0]}:…</code> proves
      the log up to this entry is unchanged, even against someone who holds the key. Every exported document carries the head at its export.
    </p>
  </div>`;
}
