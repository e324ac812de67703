// The incident's Evidence tab: log files and images.
//
// Log files arrive by file input, drag and drop or (desktop) the native Browse… dialog.
// Each upload shows its own progress row: bytes sent (XHR upload progress), then the
// server's reading / scanning / storing phases (`upload_progress` events). The server scans
// every log for personal data and secrets; a log stays "Not reviewed" until someone has
// decided on every finding in the review screen and finalised the redaction.
//
// Images arrive by file input, drag and drop or paste. Screenshots often show names, IP
// addresses or tokens, so nothing is uploaded before the user acknowledges a warning.

import { html, useState, useEffect, useRef, useCallback } from '../vendor/htm-preact/standalone.module.js';
import { call, desktopMode, errorMessage } from '../lib/commands.js';
import { on } from '../lib/events.js';
import { Icon } from '../lib/icons.js';
import { Modal, openDialog, confirmDialog, toast, createStore, useStore } from '../lib/ui.js';
import { appStore, settingValue } from '../lib/state.js';
import { formatDateTime, relativeTime, plural } from '../lib/format.js';
import { uploadLog, uploadImage, newUploadId } from '../lib/upload.js';
import { confirmDelete } from '../lib/confirm.js';
import { SignedImg } from '../lib/signed-img.js';

// ---------------------------------------------------------------- shared helpers
/** Known PII types in a stable order: the order fixes each type's colour. */
export const PII_TYPES = [
  'Email', 'Ipv4', 'Password', 'ApiKey', 'BearerToken', 'UrlWithCredentials', 'Ipv6',
  'PhoneNumber', 'CreditCard', 'Ssn', 'MacAddress', 'Hostname', 'Manual',
  'AwsAccessKey', 'Jwt', 'PrivateKey', 'SecretAssignment', 'GitHubToken', 'GitLabToken', 'SlackToken',
];
/** Colour slot per type; types rarely seen together may share one. */
const TYPE_COLOUR = { SecretAssignment: 8, GitHubToken: 9, GitLabToken: 10, SlackToken: 7 };
const TYPE_LABEL = {
  Email: 'Email', Ipv4: 'IPv4', Ipv6: 'IPv6', Password: 'Password', ApiKey: 'API key',
  BearerToken: 'Bearer token', UrlWithCredentials: 'URL with credentials', PhoneNumber: 'Phone',
  CreditCard: 'Credit card', Ssn: 'SSN', MacAddress: 'MAC address', Hostname: 'Hostname', Manual: 'Manual',
  AwsAccessKey: 'AWS access key', Jwt: 'JWT', PrivateKey: 'Private key', SecretAssignment: 'Secret',
  GitHubToken: 'GitHub token', GitLabToken: 'GitLab token', SlackToken: 'Slack token',
};
/** What each type is replaced with (the backend's defaults; used for manual redactions). */
export const TYPE_REPLACEMENT = {
  UrlWithCredentials: '[URL]', BearerToken: '[Bearer]', ApiKey: '[ApiKey]', Password: '[Password]',
  Ssn: '[SSN]', CreditCard: '[CreditCard]', Email: '[Email]', MacAddress: '[MAC]', Ipv6: '[IPv6]',
  Ipv4: '[IPv4]', PhoneNumber: '[Phone]', Hostname: '[Hostname]', Manual: '[Redacted]',
  AwsAccessKey: '[AwsKey]', Jwt: '[JWT]', PrivateKey: '[PrivateKey]', SecretAssignment: '[Secret]',
  GitHubToken: '[GitHubToken]', GitLabToken: '[GitLabToken]', SlackToken: '[SlackToken]',
};
const PALETTE_SIZE = 16;

export function typeLabel(t) {
  if (TYPE_LABEL[t]) return TYPE_LABEL[t];
  return String(t || '').replace(/([a-z0-9])([A-Z])/g, '$1 $2');
}

/** CSS class carrying a type's colour (`pii-c0` … `pii-c15`). */
export function typeClass(t) {
  let i = t in TYPE_COLOUR ? TYPE_COLOUR[t] : PII_TYPES.indexOf(t);
  if (i < 0) {
    i = 0;
    for (const ch of String(t)) i = (i * 31 + ch.charCodeAt(0)) % PALETTE_SIZE;
  }
  return 'pii-c' + (i % PALETTE_SIZE);
}

/** Sort type names: known types first in palette order, others alphabetically. */
export function sortTypes(types) {
  const rank = (t) => (PII_TYPES.includes(t) ? PII_TYPES.indexOf(t) : 100);
  return [...types].sort((a, b) => rank(a) - rank(b) || String(a).localeCompare(String(b)));
}

export function formatBytes(n) {
  if (n == null || !Number.isFinite(Number(n))) return '—';
  n = Number(n);
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u += 1;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

export const formatCount = (n) => (n == null ? '—' : Number(n).toLocaleString('en-US'));
export const shortHash = (h) => (h ? String(h).slice(0, 12) : '—');
export const reviewHref = (issueId, logFileId) =>
  '#/issue/' + encodeURIComponent(issueId) + '/review/' + encodeURIComponent(logFileId);

/** "Redacted" (ok colour) or "Not reviewed" (warning colour). */
export function LogStatusBadge({ file }) {
  return file.redacted
    ? html`<span class="badge ev-badge ev-ok" data-testid="log-status" data-status="redacted" title=${file.reviewed_at ? 'Redacted ' + formatDateTime(file.reviewed_at) : 'Redacted'}>
        <${Icon} name="check" size=${12} />Redacted</span>`
    : html`<span class="badge ev-badge ev-warn" data-testid="log-status" data-status="not_reviewed"
        title="Nothing from this log leaves the machine until its findings are reviewed and redacted.">
        <${Icon} name="alert" size=${12} />Not reviewed</span>`;
}

/** Chips with a count per PII type, coloured like the review screen. */
export function TypeChips({ byType, testid = 'pii-type-count', limit = 6 }) {
  const types = sortTypes(Object.keys(byType || {})).filter((t) => countOf(byType[t]) > 0);
  if (!types.length) return null;
  const shown = types.slice(0, limit);
  return html`<span class="pii-chips">
    ${shown.map(
      (t) => html`<span key=${t} class=${'pii-chip ' + typeClass(t)} data-testid=${testid} data-pii-type=${t}>
        <span class="pii-swatch" aria-hidden="true"></span>${typeLabel(t)} <b>${formatCount(countOf(byType[t]))}</b>
      </span>`,
    )}
    ${types.length > limit ? html`<span class="subtle small">+${types.length - limit} more</span>` : null}
  </span>`;
}

function countOf(v) {
  if (v == null) return 0;
  if (typeof v === 'number') return v;
  return (v.pending || 0) + (v.approved || 0) + (v.rejected || 0);
}

/** An inline picture glyph (the shared icon set has none). */
function ImageGlyph({ size = 16 }) {
  return html`<svg class="icon" width=${size} height=${size} viewBox="0 0 24 24" fill="none" stroke="currentColor"
      stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false">
    <rect x="3" y="4.5" width="18" height="15" rx="2"></rect><circle cx="9" cy="10" r="1.8"></circle>
    <path d="M4 17.5l5-4.5 4 3.5 3-2.5 4 3.5"></path>
  </svg>`;
}
export { ImageGlyph };


// ---------------------------------------------------------------- upload queue
// Module-level so uploads carry on (and stay visible) while the user looks elsewhere.
const queueStore = createStore([]);
let runningLogs = false;
let progressHooked = false;

const PHASE_LABEL = {
  waiting: 'Waiting…',
  uploading: 'Uploading',
  reading: 'Reading',
  scanning: 'Scanning for personal data',
  storing: 'Storing',
  done: 'Done',
  error: 'Failed',
};

function patchItem(key, patch) {
  queueStore.set((list) => list.map((it) => (it.key === key ? { ...it, ...patch } : it)));
}
export function dismissUpload(key) {
  queueStore.set((list) => list.filter((it) => it.key !== key));
}

function hookProgressEvents() {
  if (progressHooked) return;
  progressHooked = true;
  on('upload_progress', (p) => {
    if (!p || typeof p !== 'object') return;
    // Events travel separately from the HTTP answer and may arrive after it: an upload
    // that has finished (or failed) keeps its final state.
    const live = queueStore.get().filter((it) => it.phase !== 'done' && it.phase !== 'error' && it.phase !== 'waiting');
    const match = p.upload_id
      ? live.find((it) => it.uploadId === p.upload_id)
      : live.find((it) => it.issueId === p.issue_id && it.name === p.file_name);
    if (!match || !PHASE_LABEL[p.phase] || p.phase === 'done' || p.phase === 'error') return;
    patchItem(match.key, { phase: p.phase, done: Number(p.done_bytes) || 0, total: Number(p.total_bytes) || match.total });
  });
}

function enqueue(items) {
  queueStore.set((list) => [...list, ...items]);
}

/** Upload queued log files one at a time (keeps the machine responsive). */
async function drainLogs(onUploaded) {
  if (runningLogs) return;
  runningLogs = true;
  try {
    for (;;) {
      const next = queueStore.get().find((it) => it.kind === 'log' && it.phase === 'waiting');
      if (!next) break;
      patchItem(next.key, { phase: 'uploading', done: 0 });
      try {
        const { promise } = uploadLog(next.issueId, next.file, {
          uploadId: next.uploadId,
          onProgress: (sent, total) => {
            const cur = queueStore.get().find((it) => it.key === next.key);
            if (cur && cur.phase === 'uploading') patchItem(next.key, { done: sent, total });
          },
        });
        const res = await promise;
        finishItem(next.key, res, onUploaded);
      } catch (err) {
        patchItem(next.key, { phase: 'error', error: { code: err.code || 'internal', message: errorMessage(err) } });
      }
    }
  } finally {
    runningLogs = false;
  }
}

function finishItem(key, res, onUploaded) {
  const findings = res && res.findings;
  patchItem(key, {
    phase: 'done',
    result: res,
    notice: (res && res.notice) || (res && res.log_file && res.log_file.encoding_notice) || null,
    findings: findings || null,
  });
  if (onUploaded) onUploaded(res);
  const item = queueStore.get().find((it) => it.key === key);
  // Finished uploads leave the list after a moment; ones with a notice stay until dismissed.
  if (item && !item.notice) setTimeout(() => dismissUpload(key), 6000);
}

function queueLogFiles(issueId, files, onUploaded) {
  hookProgressEvents();
  const items = files.map((file) => ({
    key: newUploadId(),
    uploadId: newUploadId(),
    issueId,
    kind: 'log',
    file,
    name: file.name || 'log.txt',
    size: file.size,
    total: file.size,
    done: 0,
    phase: 'waiting',
  }));
  enqueue(items);
  drainLogs(onUploaded);
}

async function uploadImages(issueId, files, isPaste, onUploaded) {
  hookProgressEvents();
  for (const file of files) {
    const key = newUploadId();
    enqueue([{ key, issueId, kind: 'image', file, name: file.name || 'pasted-image.png', size: file.size, total: file.size, done: 0, phase: 'uploading' }]);
    try {
      const { promise } = uploadImage(issueId, file, {
        isPaste,
        onProgress: (sent, total) => patchItem(key, { done: sent, total }),
      });
      const res = await promise;
      finishItem(key, res, onUploaded);
    } catch (err) {
      patchItem(key, { phase: 'error', error: { code: err.code || 'internal', message: errorMessage(err) } });
    }
  }
}

const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);
const isImage = (f) => IMAGE_TYPES.has(f.type) || /\.(png|jpe?g|gif|webp)$/i.test(f.name || '');

// ---------------------------------------------------------------- image warning
/** Ask the user to acknowledge what images may reveal. Resolves true when they do. */
export function confirmImagePii(files, isPaste) {
  return openDialog((close) => html`<${ImagePiiDialog} files=${files} isPaste=${isPaste} onClose=${close} />`);
}

function ImagePiiDialog({ files, isPaste, onClose }) {
  const [urls, setUrls] = useState([]);
  useEffect(() => {
    const made = files.slice(0, 6).map((f) => URL.createObjectURL(f));
    setUrls(made);
    return () => made.forEach((u) => URL.revokeObjectURL(u));
  }, []);
  const what = isPaste ? 'pasted image' : files.length === 1 ? 'image' : `${files.length} images`;
  return html`<${Modal} title="Check the image before you keep it" size="md" testid="image-pii-warning" onClose=${() => onClose(false)}
      footer=${html`
        <button class="btn" onClick=${() => onClose(false)} data-testid="image-pii-cancel">Cancel</button>
        <button class="btn btn-primary" data-autofocus onClick=${() => onClose(true)} data-testid="image-pii-ack">
          <${Icon} name="check" /> I have checked — keep ${what}
        </button>`}>
    <div class="ev-warning">
      <span class="ev-warning-icon"><${Icon} name="shield" size=${20} /></span>
      <div>
        <p><b>Screenshots often show personal data and secrets:</b> names, email addresses, IP addresses,
          access tokens, customer records. TFTSR cannot scan images for them.</p>
        <p class="subtle">Keep only what the investigation needs. The image is stored encrypted on this machine
          and is never sent anywhere without your say-so.</p>
      </div>
    </div>
    ${urls.length
      ? html`<div class="ev-preview-row">
          ${urls.map((u, i) => html`<figure key=${u} class="ev-preview"><img src=${u} alt="" /><figcaption>${files[i].name || 'Pasted image'}</figcaption></figure>`)}
        </div>`
      : null}
  <//>`;
}

// ---------------------------------------------------------------- image viewer
function ImageViewer({ image, onClose }) {
  return html`<${Modal} title=${image.file_name || 'Image'} size="lg" className="ev-viewer" testid="image-viewer" onClose=${onClose}>
    <div class="ev-viewer-stage">
      <${SignedImg} src=${image.full_url} alt=${image.file_name || 'Image'} data-testid="image-full" />
    </div>
    <p class="subtle small ev-viewer-meta">
      ${image.width && image.height ? `${image.width} × ${image.height} · ` : ''}${formatBytes(image.file_size)} ·
      ${image.is_paste ? ' pasted' : ' uploaded'} ${formatDateTime(image.uploaded_at)}
    </p>
  <//>`;
}

export function openImageViewer(image) {
  return openDialog((close) => html`<${ImageViewer} image=${image} onClose=${() => close()} />`);
}

// ---------------------------------------------------------------- tab
export function EvidenceTab({ issue, detail, reload }) {
  const queue = useStore(queueStore).filter((it) => it.issueId === issue.id);
  const logs = (detail && detail.log_files) || [];
  const images = (detail && detail.image_attachments) || [];
  const [dragging, setDragging] = useState(false);
  const dragDepth = useRef(0);
  const logInput = useRef(null);
  const imageInput = useRef(null);
  const rootRef = useRef(null);
  const { info } = appStore.get();
  const isDesktop = desktopMode || (info && info.mode === 'desktop');

  const onUploaded = useCallback(() => reload(), [reload]);

  const addLogs = (files) => {
    if (files.length) queueLogFiles(issue.id, files, onUploaded);
  };
  const addImages = async (files, isPaste = false) => {
    if (!files.length) return;
    const ok = await confirmImagePii(files, isPaste);
    if (ok) uploadImages(issue.id, files, isPaste, onUploaded);
  };
  const addAny = (list) => {
    const files = [...list];
    addLogs(files.filter((f) => !isImage(f)));
    addImages(files.filter(isImage));
  };

  const browseLogs = async () => {
    if (isDesktop) {
      try {
        const res = await call('open_log_files_dialog', { issue_id: issue.id });
        const uploaded = (res && res.uploaded) || [];
        const errors = (res && res.errors) || [];
        errors.forEach((e) =>
          enqueue([{ key: newUploadId(), issueId: issue.id, kind: 'log', name: e.file_name, size: 0, total: 0, done: 0, phase: 'error', error: { code: e.code, message: e.message } }]),
        );
        if (uploaded.length) {
          toast.success(`${plural(uploaded.length, 'log file')} added`);
          reload();
        }
        return;
      } catch (err) {
        // No native dialog here (e.g. an older backend): fall back to the file picker.
        if (err && err.code !== 'not_found' && err.code !== 'unavailable') {
          toast.error(err);
          return;
        }
      }
    }
    if (logInput.current) logInput.current.click();
  };

  // Paste anywhere while this tab is open: images become attachments.
  useEffect(() => {
    const onPaste = (e) => {
      if (document.querySelector('.modal-backdrop')) return;
      const dt = e.clipboardData;
      if (!dt) return;
      const files = [...(dt.files || [])].filter(isImage);
      if (!files.length && dt.items) {
        for (const it of dt.items) {
          if (it.kind === 'file' && IMAGE_TYPES.has(it.type)) {
            const f = it.getAsFile();
            if (f) files.push(f);
          }
        }
      }
      if (!files.length) return;
      e.preventDefault();
      const named = files.map((f, i) =>
        f.name && f.name !== 'image.png'
          ? f
          : new File([f], `pasted-${stamp()}${files.length > 1 ? '-' + (i + 1) : ''}.${(f.type.split('/')[1] || 'png').replace('jpeg', 'jpg')}`, { type: f.type }),
      );
      addImages(named, true);
    };
    document.addEventListener('paste', onPaste);
    return () => document.removeEventListener('paste', onPaste);
  }, [issue.id]);

  const dragProps = {
    onDragEnter: (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      dragDepth.current += 1;
      setDragging(true);
    },
    onDragOver: (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
    },
    onDragLeave: () => {
      dragDepth.current = Math.max(0, dragDepth.current - 1);
      if (!dragDepth.current) setDragging(false);
    },
    onDrop: (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      dragDepth.current = 0;
      setDragging(false);
      addAny(e.dataTransfer.files || []);
    },
  };

  const deleteLog = async (f) => {
    const ok = await confirmDelete({
      title: 'Delete this log file?',
      message: `"${f.file_name}" and its PII findings will be deleted from this incident.`,
      confirmLabel: 'Delete log file',
    });
    if (!ok) return;
    try {
      await call('delete_log_file', { log_file_id: f.id });
      toast.success('Log file deleted');
      reload();
    } catch (err) {
      toast.error(err);
    }
  };

  const deleteImage = async (img) => {
    const ok = await confirmDialog({
      title: 'Delete this image?',
      message: `"${img.file_name}" will be deleted from this incident.`,
      confirmLabel: 'Delete image',
      danger: true,
    });
    if (!ok) return;
    try {
      await call('delete_image_attachment', { image_id: img.id });
      toast.success('Image deleted');
      reload();
    } catch (err) {
      toast.error(err);
    }
  };

  const unreviewed = logs.filter((f) => !f.redacted).length;
  const empty = !logs.length && !images.length && !queue.length;

  return html`<div class=${'evidence' + (dragging ? ' is-dragging' : '')} data-testid="evidence" ref=${rootRef} ...${dragProps}>
    <input type="file" multiple class="sr-only" tabIndex="-1" aria-hidden="true" ref=${logInput} data-testid="log-file-input"
      onChange=${(e) => { addAny(e.currentTarget.files || []); e.currentTarget.value = ''; }} />
    <input type="file" multiple accept="image/png,image/jpeg,image/gif,image/webp" class="sr-only" tabIndex="-1" aria-hidden="true"
      ref=${imageInput} data-testid="image-file-input"
      onChange=${(e) => { addImages([...(e.currentTarget.files || [])]); e.currentTarget.value = ''; }} />

    <div class="ev-toolbar">
      <div class="ev-toolbar-text">
        <h2 class="ev-h">Evidence</h2>
        <span class="subtle small">
          ${plural(logs.length, 'log file')} · ${plural(images.length, 'image')}
          ${unreviewed ? html` · <span class="ev-warn-text" data-testid="evidence-unreviewed">${unreviewed} not reviewed</span>` : null}
        </span>
      </div>
      <span class="spacer"></span>
      <button class="btn" onClick=${() => imageInput.current && imageInput.current.click()} data-testid="image-add">
        <${ImageGlyph} /> Add image
      </button>
      <button class="btn btn-primary" onClick=${browseLogs} data-testid="log-browse">
        <${Icon} name="upload" /> Add log files…
      </button>
    </div>

    ${queue.length ? html`<${UploadList} items=${queue} />` : null}

    ${empty
      ? html`<div class="empty ev-empty" data-testid="evidence-empty">
          <div class="empty-icon"><${Icon} name="upload" size=${28} /></div>
          <h3>Drop log files here or <button class="link-btn" onClick=${browseLogs} data-testid="evidence-empty-browse">Browse…</button></h3>
          <p>TFTSR finds personal data and secrets before anything leaves your machine. You review every finding,
            then only the redacted copy is ever shared.</p>
          <p class="subtle small">Plain text and .gz logs up to ${settingValue('max_upload_mb', 200)} MB · images: paste a screenshot (${/Mac/.test(navigator.platform) ? '⌘' : 'Ctrl'}+V) or drop PNG, JPEG, GIF, WebP</p>
        </div>`
      : html`
        <section class="card ev-section" aria-labelledby="ev-logs-h">
          <div class="card-head">
            <h3 class="card-title" id="ev-logs-h"><${Icon} name="file" size=${14} /> Log files</h3>
            <span class="subtle small">Drop more files anywhere on this tab</span>
          </div>
          ${logs.length
            ? html`<${LogTable} issueId=${issue.id} files=${logs} onDelete=${deleteLog} />`
            : html`<p class="subtle ev-none" data-testid="logs-empty">No log files yet. Drop them here or use <b>Add log files…</b></p>`}
        </section>
        <section class="card ev-section" aria-labelledby="ev-img-h">
          <div class="card-head">
            <h3 class="card-title" id="ev-img-h"><${ImageGlyph} size=${14} /> Images</h3>
            <span class="subtle small">Paste a screenshot with ${/Mac/.test(navigator.platform) ? '⌘' : 'Ctrl'}+V</span>
          </div>
          ${images.length
            ? html`<ul class="ev-grid" data-testid="image-grid">
                ${images.map((img) => html`<${ImageTile} key=${img.id} image=${img} onDelete=${() => deleteImage(img)} />`)}
              </ul>`
            : html`<p class="subtle ev-none" data-testid="images-empty">No images yet. Paste a screenshot or drop an image here.</p>`}
        </section>`}

    ${dragging
      ? html`<div class="ev-drop" aria-hidden="true"><div class="ev-drop-inner"><${Icon} name="upload" size=${28} />
          <span>Drop to add — logs are scanned for personal data first</span></div></div>`
      : null}
  </div>`;
}

function stamp() {
  const d = new Date();
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

function hasFiles(e) {
  const types = e.dataTransfer && e.dataTransfer.types;
  return Boolean(types && [...types].includes('Files'));
}

// ---------------------------------------------------------------- uploads
function UploadList({ items }) {
  return html`<ul class="ev-uploads card" data-testid="upload-list" aria-live="polite">
    ${items.map((it) => html`<${UploadRow} key=${it.key} item=${it} />`)}
  </ul>`;
}

function UploadRow({ item }) {
  const total = item.total || item.size || 0;
  const frac = total ? Math.min(1, item.done / total) : 0;
  const active = item.phase !== 'done' && item.phase !== 'error' && item.phase !== 'waiting';
  const pct = Math.round(frac * 100);
  const f = item.findings;
  return html`<li class=${'ev-upload ev-upload-' + item.phase} data-testid="upload-item" data-phase=${item.phase} data-file-name=${item.name}>
    <span class="ev-upload-icon" aria-hidden="true">
      ${item.phase === 'error' ? html`<${Icon} name="alert" />` : item.phase === 'done' ? html`<${Icon} name="check" />` : item.kind === 'image' ? html`<${ImageGlyph} />` : html`<${Icon} name="file" />`}
    </span>
    <div class="ev-upload-main">
      <div class="ev-upload-top">
        <span class="ev-upload-name" title=${item.name}>${item.name}</span>
        <span class="subtle small">${item.size ? formatBytes(item.size) : ''}</span>
        <span class="spacer"></span>
        <span class="ev-upload-phase small">
          ${PHASE_LABEL[item.phase] || item.phase}${active && total ? ` · ${pct}%` : ''}
        </span>
      </div>
      ${active || item.phase === 'waiting'
        ? html`<div class="ev-progress" role="progressbar" aria-label=${'Progress of ' + item.name} aria-valuemin="0" aria-valuemax="100"
              aria-valuenow=${pct} data-testid="upload-progress">
            <span class="ev-progress-bar" style=${{ width: pct + '%' }}></span>
          </div>`
        : null}
      ${item.phase === 'error'
        ? html`<div class="ev-upload-error" role="alert" data-testid="upload-error" data-code=${item.error.code}>
            <b>${ERROR_TITLE[item.error.code] || 'Not added'}:</b> ${item.error.message}
          </div>`
        : null}
      ${item.phase === 'done' && f
        ? html`<div class="small subtle" data-testid="upload-result">
            ${f.total ? `${plural(f.total, 'finding')} to review` : 'No personal data found — review to confirm'}
          </div>`
        : null}
      ${item.notice
        ? html`<div class="ev-notice" data-testid="upload-notice"><span class="badge ev-badge ev-warn"><${Icon} name="alert" size=${12} />Encoding</span> ${item.notice}</div>`
        : null}
    </div>
    ${item.phase === 'error' || item.phase === 'done'
      ? html`<button class="icon-btn" aria-label="Dismiss" title="Dismiss" onClick=${() => dismissUpload(item.key)} data-testid="upload-dismiss"><${Icon} name="x" size=${14} /></button>`
      : null}
  </li>`;
}

const ERROR_TITLE = {
  too_large: 'Too large',
  empty_file: 'Empty file',
  binary_file: 'Not a text log',
  duplicate: 'Already added',
  unsupported_image: 'Not a supported image',
  corrupt_image: 'Damaged image',
  not_acknowledged: 'Not acknowledged',
  invalid_argument: 'Not accepted',
  not_found: 'Incident not found',
  unavailable: 'Connection lost',
};

// ---------------------------------------------------------------- log list
function LogTable({ issueId, files, onDelete }) {
  return html`<div class="ev-table-wrap">
    <table class="ev-table" data-testid="log-list">
      <thead>
        <tr>
          <th>File</th><th>Status</th><th>Personal data found</th>
          <th class="num">Size</th><th class="num">Lines</th><th>Encoding</th><th>SHA-256</th><th></th>
        </tr>
      </thead>
      <tbody>
        ${files.map((f) => html`<${LogRow} key=${f.id} issueId=${issueId} file=${f} onDelete=${() => onDelete(f)} />`)}
      </tbody>
    </table>
  </div>`;
}

/** Per-type counts for a file: the LogFile may carry them; otherwise ask get_pii_spans once. */
function useTypeCounts(file) {
  const inline = file.pii_counts && file.pii_counts.by_type;
  const [byType, setByType] = useState(inline || null);
  const key = `${file.id}:${file.redacted}:${JSON.stringify(file.pii_counts || {})}`;
  useEffect(() => {
    if (inline) {
      setByType(inline);
      return undefined;
    }
    let live = true;
    call('get_pii_spans', { log_file_id: file.id, limit: 1 })
      .then((r) => live && setByType((r && r.by_type) || {}))
      .catch(() => live && setByType({}));
    return () => {
      live = false;
    };
  }, [key]);
  return byType;
}

function LogRow({ issueId, file, onDelete }) {
  const byType = useTypeCounts(file);
  const c = file.pii_counts || {};
  const href = reviewHref(issueId, file.id);
  return html`<tr data-testid="log-file-row" data-log-file-id=${file.id} class=${file.redacted ? '' : 'ev-row-unreviewed'}>
    <td class="ev-file">
      <a href=${href} class="ev-file-link" data-testid="log-open">
        <${Icon} name="file" size=${15} /><span class="ev-file-name" title=${file.file_name}>${file.file_name || '(unnamed)'}</span>
      </a>
      <span class="subtle small" title=${formatDateTime(file.uploaded_at)}>${relativeTime(file.uploaded_at)}${file.compressed ? ' · from .gz' : ''}</span>
    </td>
    <td><${LogStatusBadge} file=${file} /></td>
    <td class="ev-types">
      ${byType === null
        ? html`<span class="subtle small">…</span>`
        : Object.keys(byType).length
          ? html`<${TypeChips} byType=${byType} />`
          : html`<span class="subtle small">None found</span>`}
      ${!file.redacted && c.pending ? html`<span class="small ev-warn-text" data-testid="log-pending">${formatCount(c.pending)} to decide</span>` : null}
    </td>
    <td class="num" title=${file.original_size && file.original_size !== file.file_size ? `${formatBytes(file.original_size)} compressed` : ''}>${formatBytes(file.file_size)}</td>
    <td class="num" data-testid="log-lines">${formatCount(file.line_count)}</td>
    <td>
      <span class="mono small">${file.encoding || '—'}</span>
      ${file.encoding_notice
        ? html` <span class="badge ev-badge ev-warn" title=${file.encoding_notice} data-testid="log-encoding-notice"><${Icon} name="alert" size=${12} />Check</span>`
        : null}
    </td>
    <td><code class="ev-hash" title=${file.content_hash || ''}>${shortHash(file.content_hash)}</code></td>
    <td class="ev-actions">
      <a class=${'btn btn-sm' + (file.redacted ? '' : ' btn-primary')} href=${href} data-testid="log-review">
        ${file.redacted ? html`<${Icon} name="eye" size=${14} /> View` : html`<${Icon} name="shield" size=${14} /> Review`}
      </a>
      <button class="icon-btn danger" aria-label=${'Delete ' + file.file_name} title="Delete" onClick=${onDelete} data-testid="log-delete">
        <${Icon} name="trash" />
      </button>
    </td>
  </tr>`;
}

// ---------------------------------------------------------------- images
function ImageTile({ image, onDelete }) {
  return html`<li class="ev-tile" data-testid="image-tile" data-image-id=${image.id}>
    <button class="ev-thumb" onClick=${() => openImageViewer(image)} aria-label=${'Open ' + image.file_name} data-testid="image-thumb">
      <${SignedImg} src=${image.thumbnail_url} alt="" loading="lazy" data-testid="image-thumb-img" />
    </button>
    <div class="ev-tile-meta">
      <span class="ev-tile-name" title=${image.file_name}>${image.file_name}</span>
      <span class="subtle small">${image.width && image.height ? `${image.width}×${image.height} · ` : ''}${formatBytes(image.file_size)}${image.is_paste ? ' · pasted' : ''}</span>
    </div>
    <button class="icon-btn danger ev-tile-del" aria-label=${'Delete ' + image.file_name} title="Delete image" onClick=${onDelete} data-testid="image-delete">
      <${Icon} name="trash" size=${14} />
    </button>
  </li>`;
}
