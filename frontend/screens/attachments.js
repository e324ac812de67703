// Attachments (#/attachments?kind=logs|images&page=N): every log file and image across
// incidents, newest first, each linked to its incident. Unreviewed logs are flagged here
// too, so nothing waiting for a PII review gets forgotten.

import { html, useState, useEffect, useRef } from '../vendor/htm-preact/standalone.module.js';
import { call } from '../lib/commands.js';
import { on } from '../lib/events.js';
import { Icon } from '../lib/icons.js';
import { Skeleton, ErrorState, EmptyState, Segmented } from '../lib/ui.js';
import { replaceHash, issueHref, navigate } from '../lib/state.js';
import { relativeTime, formatDateTime, plural } from '../lib/format.js';
import { SignedImg } from '../lib/signed-img.js';
import {
  LogStatusBadge, formatBytes, formatCount, reviewHref, openImageViewer, ImageGlyph,
} from './evidence.js';

const PAGE = 25;

export function Attachments({ route }) {
  const kind = route.query.get('kind') === 'images' ? 'images' : 'logs';
  const page = Math.max(0, parseInt(route.query.get('page') || '0', 10) || 0);
  const [data, setData] = useState(null);
  const [counts, setCounts] = useState({ logs: null, images: null });
  const [error, setError] = useState(null);
  const [tick, setTick] = useState(0);
  const seq = useRef(0);

  const go = (k, p) => navigate('/attachments?kind=' + k + (p ? '&page=' + p : ''));

  useEffect(() => on('issue_changed', () => setTick((t) => t + 1)), []);

  useEffect(() => {
    replaceHash('/attachments?kind=' + kind + (page ? '&page=' + page : ''));
    const n = ++seq.current;
    const name = kind === 'images' ? 'list_all_image_attachments' : 'list_all_log_files';
    call(name, { limit: PAGE, offset: page * PAGE })
      .then((r) => {
        if (n !== seq.current) return;
        setData({ kind, ...r });
        setError(null);
        setCounts((c) => ({ ...c, [kind]: r.total }));
      })
      .catch((e) => n === seq.current && setError(e));
    // The other kind's total, for its label.
    const other = kind === 'images' ? 'list_all_log_files' : 'list_all_image_attachments';
    call(other, { limit: 1, offset: 0 })
      .then((r) => setCounts((c) => ({ ...c, [kind === 'images' ? 'logs' : 'images']: r.total })))
      .catch(() => {});
  }, [kind, page, tick]);

  const items = data && data.kind === kind ? data.items || [] : null;
  const total = data && data.kind === kind ? data.total || 0 : 0;
  const start = page * PAGE;
  const label = (k, word) => (counts[k] == null ? word : `${word} (${formatCount(counts[k])})`);

  return html`<div class="page attachments" data-testid="attachments">
    <div class="page-head">
      <div>
        <h1>Attachments</h1>
        <p class="subtle">Log files and images of every incident. Logs marked <b>Not reviewed</b> still need a PII review before anything from them can be shared.</p>
      </div>
      <${Segmented} label="Kind" testid="attachments-kind" value=${kind} onChange=${(k) => go(k, 0)}
        options=${[{ value: 'logs', label: label('logs', 'Log files') }, { value: 'images', label: label('images', 'Images') }]} />
    </div>

    ${error
      ? html`<${ErrorState} error=${error} onRetry=${() => setTick((t) => t + 1)} />`
      : items === null
        ? html`<div class="card"><${Skeleton} lines=${6} /></div>`
        : items.length === 0
          ? html`<${EmptyState} icon=${kind === 'images' ? 'eye' : 'file'} testid="attachments-empty"
                title=${kind === 'images' ? 'No images yet' : 'No log files yet'}
                action=${html`<a class="btn" href="#/history">Open an incident</a>`}>
              ${kind === 'images'
                ? 'Paste a screenshot or drop an image on an incident’s Evidence tab.'
                : 'Drop log files on an incident’s Evidence tab. TFTSR finds personal data and secrets before anything leaves your machine.'}
            <//>`
          : html`<div class="card att-card">
              ${kind === 'images' ? html`<${ImageList} items=${items} />` : html`<${LogList} items=${items} />`}
              ${total > PAGE
                ? html`<nav class="pager" aria-label="Pages">
                    <button class="btn btn-sm" disabled=${page === 0} onClick=${() => go(kind, page - 1)} data-testid="attachments-prev">
                      <${Icon} name="left" /> Previous
                    </button>
                    <span class="subtle" data-testid="attachments-page-info">${start + 1}–${Math.min(start + PAGE, total)} of ${formatCount(total)}</span>
                    <button class="btn btn-sm" disabled=${start + PAGE >= total} onClick=${() => go(kind, page + 1)} data-testid="attachments-next">
                      Next <${Icon} name="right" />
                    </button>
                  </nav>`
                : html`<div class="att-foot subtle small">${kind === 'images' ? plural(total, 'image') : plural(total, 'log file')}</div>`}
            </div>`}
  </div>`;
}

function LogList({ items }) {
  return html`<div class="ev-table-wrap">
    <table class="ev-table" data-testid="attachments-logs">
      <thead><tr><th>File</th><th>Incident</th><th>Status</th><th class="num">Findings</th><th class="num">Size</th><th class="num">Lines</th><th>Uploaded</th></tr></thead>
      <tbody>
        ${items.map((f) => {
          const c = f.pii_counts || {};
          return html`<tr key=${f.id} data-testid="attachment-log" data-log-file-id=${f.id} class=${f.redacted ? '' : 'ev-row-unreviewed'}>
            <td class="ev-file">
              <a class="ev-file-link" href=${reviewHref(f.issue_id, f.id)} data-testid="attachment-open">
                <${Icon} name="file" size=${15} /><span class="ev-file-name" title=${f.file_name}>${f.file_name || '(unnamed)'}</span>
              </a>
            </td>
            <td class="att-issue"><a href=${issueHref(f.issue_id, 'evidence')} data-testid="attachment-issue" title=${f.issue_title}>${f.issue_title || 'Incident'}</a></td>
            <td><${LogStatusBadge} file=${f} /></td>
            <td class="num">
              ${c.total ? formatCount(c.total) : html`<span class="subtle">0</span>`}
              ${!f.redacted && c.pending ? html`<div class="small ev-warn-text">${formatCount(c.pending)} to decide</div>` : null}
            </td>
            <td class="num">${formatBytes(f.file_size)}</td>
            <td class="num">${formatCount(f.line_count)}</td>
            <td class="nowrap" title=${formatDateTime(f.uploaded_at)}>${relativeTime(f.uploaded_at)}</td>
          </tr>`;
        })}
      </tbody>
    </table>
  </div>`;
}

function ImageList({ items }) {
  return html`<ul class="ev-grid att-grid" data-testid="attachments-images">
    ${items.map(
      (img) => html`<li key=${img.id} class="ev-tile" data-testid="attachment-image" data-image-id=${img.id}>
        <button class="ev-thumb" onClick=${() => openImageViewer(img)} aria-label=${'Open ' + img.file_name} data-testid="image-thumb">
          <${SignedImg} src=${img.thumbnail_url} alt="" loading="lazy" />
        </button>
        <div class="ev-tile-meta">
          <span class="ev-tile-name" title=${img.file_name}><${ImageGlyph} size=${12} /> ${img.file_name}</span>
          <a class="small att-issue-link" href=${issueHref(img.issue_id, 'evidence')} data-testid="attachment-issue" title=${img.issue_title}>${img.issue_title || 'Incident'}</a>
          <span class="subtle small" title=${formatDateTime(img.uploaded_at)}>${formatBytes(img.file_size)} · ${relativeTime(img.uploaded_at)}</span>
        </div>
      </li>`,
    )}
  </ul>`;
}
