// PII review of one log file (#/issue/<id>/review/<logFileId>).
//
// Left: the findings by type (colour legend, counts, approve / reject all of a type).
// Right: the current finding and two panes, the original text and a live preview of the
// redacted text, scrolled together. The reviewer approves (redact) or rejects (keep) each
// finding — buttons or J / K / A / R — may mark more text by selecting it in the original
// pane, and finalises once nothing is pending. After that the stored text is the redacted
// copy and only it is shown.
//
// Large logs: lines have a fixed height and only the visible ones (plus a margin) are in the
// DOM. Text arrives in pages of lines from get_log_file_content and findings in pages from
// get_pii_spans, so a 100,000-line log costs a few hundred elements, not 100,000.
//
// Offsets: the backend counts characters as Python does (code points); JavaScript strings
// count UTF-16 units. The two differ only around astral characters (emoji), which the
// helpers below convert.

import { html, useState, useEffect, useLayoutEffect, useRef, useMemo, useCallback } from '../vendor/htm-preact/standalone.module.js';
import { call } from '../lib/commands.js';
import { Icon } from '../lib/icons.js';
import { Spinner, ErrorState, confirmDialog, toast, useUid } from '../lib/ui.js';
import { issueHref } from '../lib/state.js';
import { formatDateTime, plural } from '../lib/format.js';
import {
  LogStatusBadge, typeLabel, typeClass, sortTypes, formatBytes, formatCount, shortHash,
  PII_TYPES, TYPE_REPLACEMENT,
} from './evidence.js';

export const LINE_HEIGHT = 20; // px; must match .vline in styles/evidence.css
const PAGE_LINES = 500; // lines per get_log_file_content request
const OVERSCAN = 12; // lines rendered above and below the visible ones
const MAX_CACHED_PAGES = 48;
const SPAN_PAGE = 10000; // findings per get_pii_spans request

// ---------------------------------------------------------------- code points vs UTF-16
const ASTRAL = /[\uD800-\uDFFF]/;
function cpLength(s) {
  if (!ASTRAL.test(s)) return s.length;
  let n = 0;
  for (const _ of s) n += 1; // eslint-disable-line no-unused-vars
  return n;
}
function cpToUnit(s, cp) {
  if (!ASTRAL.test(s)) return cp;
  let u = 0;
  let c = 0;
  for (const ch of s) {
    if (c >= cp) break;
    u += ch.length;
    c += 1;
  }
  return u;
}
function unitToCp(s, unit) {
  return ASTRAL.test(s) ? cpLength(s.slice(0, unit)) : unit;
}

// ---------------------------------------------------------------- findings index
/** Findings sorted by start, with a running maximum of `end` for overlap queries. */
function indexSpans(spans) {
  const sorted = [...spans].sort((a, b) => a.start - b.start || a.end - b.end);
  const maxEnd = new Array(sorted.length);
  let m = -1;
  sorted.forEach((s, i) => {
    m = Math.max(m, s.end);
    maxEnd[i] = m;
  });
  const pos = new Map(sorted.map((s, i) => [s.id, i]));
  return { sorted, maxEnd, pos };
}

/** Findings overlapping [from, to), in text order. */
function spansIn(index, from, to) {
  const { sorted, maxEnd } = index;
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid].start < to) lo = mid + 1;
    else hi = mid;
  }
  const out = [];
  for (let i = lo - 1; i >= 0 && maxEnd[i] > from; i -= 1) {
    const s = sorted[i];
    if (s.end > from && s.end > s.start) out.push(s);
  }
  return out.reverse();
}

function countByType(spans) {
  const out = {};
  for (const s of spans) {
    const t = (out[s.pii_type] = out[s.pii_type] || { pending: 0, approved: 0, rejected: 0 });
    t[s.status] = (t[s.status] || 0) + 1;
  }
  return out;
}

// ---------------------------------------------------------------- screen
export function PiiReview({ issueId, logFileId }) {
  const [issue, setIssue] = useState(null);
  const [file, setFile] = useState(null);
  const [error, setError] = useState(null);
  const [spans, setSpans] = useState(null);
  const [spansTotal, setSpansTotal] = useState(0);
  const [lineCount, setLineCount] = useState(null);
  const [currentId, setCurrentId] = useState(null);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState(null); // apply_redactions answer
  const pages = useRef(new Map()); // page index -> {lines, offsets} | 'loading'
  const [pageTick, setPageTick] = useState(0);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewH, setViewH] = useState(600);
  const [pendingAdd, setPendingAdd] = useState(null); // {start, end, text, x, y}
  const panes = useRef([]);
  const syncing = useRef(false);
  const contentGen = useRef(0);
  const [gen, setGen] = useState(0);

  const redacted = Boolean(file && file.redacted);

  // -------------------------------------------------------------- loading
  const loadFile = useCallback(async () => {
    const d = await call('get_issue', { issue_id: issueId });
    const lf = (d.log_files || []).find((f) => f.id === logFileId);
    if (!lf) throw Object.assign(new Error('This log file is no longer part of the incident.'), { code: 'not_found' });
    setIssue(d.issue);
    setFile(lf);
    return lf;
  }, [issueId, logFileId]);

  const loadSpans = useCallback(async () => {
    const all = [];
    let total = 0;
    for (let offset = 0; ; offset += SPAN_PAGE) {
      const r = await call('get_pii_spans', { log_file_id: logFileId, limit: SPAN_PAGE, offset });
      all.push(...(r.spans || []));
      total = r.total == null ? all.length : r.total;
      if (!r.truncated || !(r.spans || []).length) break;
    }
    setSpans(all);
    setSpansTotal(total);
    return all;
  }, [logFileId]);

  const resetContent = () => {
    contentGen.current += 1;
    pages.current = new Map();
    setGen(contentGen.current);
    setPageTick((t) => t + 1);
  };

  const fetchPage = useCallback(
    async (p) => {
      if (pages.current.has(p)) return;
      pages.current.set(p, 'loading');
      const gen = contentGen.current;
      try {
        const r = await call('get_log_file_content', { log_file_id: logFileId, offset_line: p * PAGE_LINES, max_lines: PAGE_LINES });
        if (gen !== contentGen.current) return;
        const lines = r.text === '' && !r.lines_returned ? [] : r.text.split('\n');
        const wanted = r.lines_returned != null ? r.lines_returned : Math.min(PAGE_LINES, r.line_count - r.first_line);
        if (lines.length > wanted) lines.length = wanted;
        const offsets = new Array(lines.length);
        let off = r.char_offset;
        for (let i = 0; i < lines.length; i += 1) {
          offsets[i] = off;
          off += cpLength(lines[i]) + 1;
        }
        pages.current.set(p, { lines, offsets });
        evictPages(pages.current, p);
        setLineCount(r.line_count);
        setPageTick((t) => t + 1);
      } catch (err) {
        pages.current.delete(p);
        if (gen === contentGen.current) toast.error(err);
      }
    },
    [logFileId],
  );

  useEffect(() => {
    let live = true;
    setError(null);
    Promise.all([loadFile(), loadSpans(), fetchPage(0)]).catch((e) => live && setError(e));
    return () => {
      live = false;
    };
  }, [loadFile, loadSpans, fetchPage]);

  // Fetch the pages the visible window needs.
  const firstVisible = Math.max(0, Math.floor(scrollTop / LINE_HEIGHT) - OVERSCAN);
  const lastVisible = Math.min(Math.max(0, (lineCount || 0) - 1), Math.ceil((scrollTop + viewH) / LINE_HEIGHT) + OVERSCAN);
  useEffect(() => {
    if (lineCount == null) return undefined;
    const t = setTimeout(() => {
      for (let p = Math.floor(firstVisible / PAGE_LINES); p <= Math.floor(lastVisible / PAGE_LINES); p += 1) fetchPage(p);
    }, 40);
    return () => clearTimeout(t);
  }, [firstVisible, lastVisible, lineCount, gen, fetchPage]);

  const lineAt = (i) => {
    const pg = pages.current.get(Math.floor(i / PAGE_LINES));
    if (!pg || pg === 'loading') return null;
    const k = i % PAGE_LINES;
    return k < pg.lines.length ? { text: pg.lines[k], offset: pg.offsets[k] } : null;
  };

  // -------------------------------------------------------------- findings
  const index = useMemo(() => indexSpans(spans || []), [spans]);
  const byType = useMemo(() => countByType(spans || []), [spans]);
  const types = sortTypes(Object.keys(byType));
  const pending = (spans || []).filter((s) => s.status === 'pending').length;
  const current = currentId && index.pos.has(currentId) ? index.sorted[index.pos.get(currentId)] : null;
  const currentPos = current ? index.pos.get(current.id) : -1;

  // Start on the first pending finding (or the first finding).
  useEffect(() => {
    if (!spans || currentId) return;
    const first = index.sorted.find((s) => s.status === 'pending') || index.sorted[0];
    if (first) setCurrentId(first.id);
  }, [spans]);

  const revealMark = useRef(false); // set when the user moves to a finding
  const scrollToLine = (line) => {
    const top = Math.max(0, (line - 1) * LINE_HEIGHT - Math.floor(viewH / 3));
    for (const el of panes.current) if (el) el.scrollTop = top;
    setScrollTop(top);
  };

  const lineOfSpan = (s) => s.line || 1;

  const goTo = (s, { scroll = true } = {}) => {
    if (!s) return;
    setCurrentId(s.id);
    revealMark.current = true;
    if (!scroll) return;
    const line = lineOfSpan(s);
    const top = (line - 1) * LINE_HEIGHT;
    if (top < scrollTop + LINE_HEIGHT || top > scrollTop + viewH - 2 * LINE_HEIGHT) scrollToLine(line);
  };

  const step = (dir) => {
    const list = index.sorted;
    if (!list.length) return;
    const i = currentPos < 0 ? (dir > 0 ? 0 : list.length - 1) : (currentPos + dir + list.length) % list.length;
    goTo(list[i]);
  };

  const nextPendingAfter = (pos, list) => {
    for (let k = 1; k <= list.length; k += 1) {
      const s = list[(pos + k) % list.length];
      if (s.status === 'pending') return s;
    }
    return null;
  };

  const decide = async (s, status) => {
    if (!s || redacted || busy) return;
    const before = spans;
    const nextList = spans.map((x) => (x.id === s.id ? { ...x, status } : x));
    setSpans(nextList);
    const after = nextPendingAfter(index.pos.get(s.id), index.sorted.map((x) => (x.id === s.id ? { ...x, status } : x)));
    if (after) goTo(after);
    try {
      await call('set_pii_span_status', { span_ids: [s.id], status });
    } catch (err) {
      setSpans(before);
      toast.error(err);
    }
  };

  const decideType = async (type, status) => {
    if (redacted) return;
    setBusy(true);
    try {
      const r = await call('set_pii_type_status', { log_file_id: logFileId, pii_type: type, status });
      await loadSpans();
      toast.success(`${status === 'approved' ? 'Redacting' : 'Keeping'} ${plural(r && r.updated != null ? r.updated : 0, typeLabel(type) + ' finding')}`);
    } catch (err) {
      toast.error(err);
    } finally {
      setBusy(false);
    }
  };

  const addRedaction = async (type, replacement, everyOccurrence = false) => {
    if (!pendingAdd) return;
    setBusy(true);
    try {
      const span = await call('add_pii_span', {
        log_file_id: logFileId, start: pendingAdd.start, end: pendingAdd.end, pii_type: type, replacement,
        every_occurrence: everyOccurrence,
      });
      setPendingAdd(null);
      const sel = window.getSelection();
      if (sel) sel.removeAllRanges();
      await loadSpans();
      if (span && span.id) setCurrentId(span.id);
      toast.success(span && span.occurrences > 1
        ? `Marked ${span.occurrences} places for redaction as ${typeLabel(type)}`
        : `Marked for redaction as ${typeLabel(type)}`);
    } catch (err) {
      toast.error(err);
    } finally {
      setBusy(false);
    }
  };

  const finalise = async () => {
    if (pending || redacted) return;
    const approved = (spans || []).filter((s) => s.status === 'approved').length;
    const ok = await confirmDialog({
      title: 'Finalise the redaction?',
      message: `${plural(approved, 'finding')} will be replaced and the original values erased. From then on TFTSR only shows and shares the redacted copy. This cannot be undone.`,
      confirmLabel: 'Finalise redaction',
    });
    if (!ok) return;
    setBusy(true);
    try {
      const r = await call('apply_redactions', { log_file_id: logFileId });
      setResult(r);
      setPendingAdd(null);
      if (r && r.log_file) setFile(r.log_file);
      resetContent();
      await Promise.all([loadFile(), loadSpans()]);
      toast.success(`Redaction finalised · ${plural((r && r.applied) || 0, 'finding')} replaced`);
    } catch (err) {
      toast.error(err);
    } finally {
      setBusy(false);
    }
  };

  // -------------------------------------------------------------- keyboard
  const keyRef = useRef(null);
  keyRef.current = { step, decide, current, pendingAdd };
  useEffect(() => {
    const onKey = (e) => {
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      const t = e.target;
      if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable)) {
        if (e.key === 'Escape' && keyRef.current.pendingAdd) setPendingAdd(null);
        return;
      }
      if (document.querySelector('.modal-backdrop')) return;
      const k = e.key.toLowerCase();
      const r = keyRef.current;
      if (k === 'j') r.step(1);
      else if (k === 'k') r.step(-1);
      else if (k === 'a') r.decide(r.current, 'approved');
      else if (k === 'r') r.decide(r.current, 'rejected');
      else if (e.key === 'Escape' && r.pendingAdd) setPendingAdd(null);
      else return;
      e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  // -------------------------------------------------------------- selection -> redaction
  useEffect(() => {
    if (redacted) return undefined;
    let timer = 0;
    const onSel = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        const pane = panes.current[0];
        const sel = window.getSelection();
        if (!pane || !sel || sel.isCollapsed || sel.rangeCount === 0) return;
        if (!pane.contains(sel.anchorNode) || !pane.contains(sel.focusNode)) return;
        const a = pointToOffset(sel.anchorNode, sel.anchorOffset);
        const b = pointToOffset(sel.focusNode, sel.focusOffset);
        if (a == null || b == null || a === b) return;
        const range = sel.getRangeAt(0);
        const rect = range.getBoundingClientRect();
        setPendingAdd({
          start: Math.min(a, b),
          end: Math.max(a, b),
          text: sel.toString(),
          x: Math.min(window.innerWidth - 340, Math.max(8, rect.left)),
          y: Math.min(window.innerHeight - 150, rect.bottom + 8),
        });
      }, 120);
    };
    document.addEventListener('selectionchange', onSel);
    return () => {
      clearTimeout(timer);
      document.removeEventListener('selectionchange', onSel);
    };
  }, [redacted]);

  // -------------------------------------------------------------- panes
  const onPaneScroll = (i) => (e) => {
    if (syncing.current) {
      syncing.current = false;
      return;
    }
    const { scrollTop: top, scrollLeft: left } = e.currentTarget;
    panes.current.forEach((el, j) => {
      if (el && j !== i && (el.scrollTop !== top || el.scrollLeft !== left)) {
        syncing.current = true;
        el.scrollTop = top;
        el.scrollLeft = left;
      }
    });
    setScrollTop(top);
  };

  const paneBox = useRef(null);
  useLayoutEffect(() => {
    const el = paneBox.current;
    if (!el) return undefined;
    const measure = () => setViewH(Math.max(100, el.clientHeight - 30));
    measure();
    if (typeof ResizeObserver === 'undefined') return undefined;
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, [Boolean(file)]);

  // After the user moves to a finding, bring it into view horizontally once its line is
  // drawn. (On opening, the panes stay at the start of the lines.)
  useEffect(() => {
    if (!current || !revealMark.current) return;
    panes.current.slice(0, 1).forEach((pane) => {
      if (!pane) return;
      const mark = pane.querySelector(`[data-span-id="${CSS.escape(current.id)}"]`);
      if (!mark) return;
      revealMark.current = false;
      const gutter = 70;
      const left = mark.offsetLeft;
      const right = left + mark.offsetWidth;
      if (right > pane.scrollLeft + pane.clientWidth - 16) pane.scrollLeft = right - pane.clientWidth + 48;
      else if (left < pane.scrollLeft + gutter) pane.scrollLeft = Math.max(0, left - gutter - 24);
    });
  }, [currentId, pageTick]);

  if (error) {
    return html`<div class="page">
      <${ErrorState} error=${error} onRetry=${() => window.location.reload()} />
      <p class="center"><a href=${issueHref(issueId, 'evidence')}>Back to the incident's evidence</a></p>
    </div>`;
  }
  if (!file || !spans || lineCount == null) return html`<div class="page"><${Spinner} label="Loading the log…" /></div>`;

  const replacements = redacted ? replacementTypes(spans) : null;
  panes.current.length = redacted ? 1 : 2;
  const rows = [];
  for (let i = firstVisible; i <= lastVisible && i < lineCount; i += 1) rows.push(i);

  const renderPane = (which) => html`<div class="rv-pane" data-testid=${'review-pane-' + which}>
    <div class="rv-pane-head">
      ${which === 'original' ? 'Original' : redacted ? 'Redacted text (stored)' : 'Redacted preview'}
      <span class="subtle small">
        ${which === 'original' ? 'Select text to redact more' : redacted ? (result && result.redacted_sha256 ? `SHA-256 ${shortHash(result.redacted_sha256)}` : "Original values erased") : 'What will be kept'}
      </span>
    </div>
    <div class="rv-scroll" ref=${(el) => (panes.current[which === 'original' ? 0 : redacted ? 0 : 1] = el)}
      onScroll=${onPaneScroll(which === 'original' || redacted ? 0 : 1)}
      onMouseDown=${which === 'original' ? () => setPendingAdd(null) : undefined}
      tabIndex="0" aria-label=${which === 'original' ? 'Original log text' : 'Redacted log text'}
      data-testid=${which === 'original' ? 'review-original' : redacted ? 'review-redacted-text' : 'review-preview'}>
      <div class="rv-spacer" style=${{ height: lineCount * LINE_HEIGHT + 'px' }}>
        <div class="rv-window" style=${{ transform: `translateY(${firstVisible * LINE_HEIGHT}px)` }}>
          ${rows.map((i) => {
            const line = lineAt(i);
            return html`<div key=${i} class=${'vline' + (line ? '' : ' is-loading')} data-line=${i}
                data-offset=${line ? line.offset : undefined} data-testid="review-line">
              <span class="ln" aria-hidden="true">${i + 1}</span>
              ${line
                ? html`<span class="vt">${which === 'original'
                    ? originalSegments(line, index, currentId, setCurrentId)
                    : redacted
                      ? storedSegments(line.text, replacements)
                      : previewSegments(line, index, currentId, setCurrentId)}</span>`
                : html`<span class="vt-skel"></span>`}
            </div>`;
          })}
        </div>
      </div>
    </div>
  </div>`;

  const issueTitle = issue ? issue.title : 'Incident';
  return html`<div class="page review" data-testid="pii-review" data-log-file-id=${file.id} data-state=${redacted ? 'redacted' : 'pending'}>
    <header class="rv-head">
      <div class="crumbs">
        <a href="#/history">History</a><${Icon} name="right" size=${12} />
        <a href=${issueHref(issueId)} class="rv-crumb-issue">${issueTitle}</a><${Icon} name="right" size=${12} />
        <a href=${issueHref(issueId, 'evidence')} data-testid="review-back">Evidence</a>
      </div>
      <div class="rv-title-row">
        <h1 class="rv-title"><${Icon} name="file" size=${18} /> <span data-testid="review-file-name">${file.file_name}</span></h1>
        <${LogStatusBadge} file=${file} />
        <span class="spacer"></span>
        ${redacted
          ? html`<a class="btn" href=${issueHref(issueId, 'evidence')}><${Icon} name="left" /> Back to evidence</a>`
          : html`<div class="rv-finalise">
              <span class=${'small ' + (pending ? 'ev-warn-text' : 'subtle')} data-testid="review-finalise-hint" id="rv-fin-hint">
                ${pending
                  ? `${plural(pending, 'finding')} still need${pending === 1 ? 's' : ''} a decision`
                  : 'Every finding has a decision'}
              </span>
              <button class="btn btn-primary" disabled=${Boolean(pending) || busy} onClick=${finalise}
                aria-describedby="rv-fin-hint" data-testid="review-finalise"
                title=${pending ? 'Approve or reject every finding first (A / R)' : 'Write the redacted copy'}>
                <${Icon} name="shield" /> Finalise redaction
              </button>
            </div>`}
      </div>
      <div class="rv-meta small subtle">
        <span>${formatCount(lineCount)} lines</span>
        <span>${formatBytes(file.file_size)}</span>
        <span class="mono">${file.encoding || ''}</span>
        <span title=${file.content_hash}>SHA-256 <code>${shortHash(file.content_hash)}</code></span>
        <span>Uploaded ${formatDateTime(file.uploaded_at)}</span>
        ${file.reviewed_at ? html`<span>Finalised ${formatDateTime(file.reviewed_at)}</span>` : null}
        ${file.encoding_notice ? html`<span class="badge ev-badge ev-warn" title=${file.encoding_notice}><${Icon} name="alert" size=${12} />${file.encoding_notice}</span>` : null}
      </div>
    </header>

    ${redacted
      ? html`<div class="banner banner-ok" data-testid="review-done">
          <${Icon} name="check" />
          <span>Redaction finalised${result ? ` — ${plural(result.applied || 0, 'finding')} replaced` : ''}. The original values are erased; this is the copy TFTSR shares.</span>
        </div>`
      : null}

    <div class="rv-body">
      <aside class="rv-side card" data-testid="review-legend" aria-label="Findings by type">
        <div class="rv-side-head">
          <h2 class="card-title">Findings</h2>
          <span class="subtle small" data-testid="review-total">${formatCount(spansTotal)}</span>
        </div>
        ${spans.length
          ? html`<div class="rv-progress" data-testid="review-progress">
              <div class="rv-progress-text small">
                <span>${redacted ? 'Finalised' : `${formatCount(spans.length - pending)} of ${formatCount(spans.length)} decided`}</span>
                <span class="subtle">${Math.round(((spans.length - pending) / spans.length) * 100)}%</span>
              </div>
              <div class="ev-progress"><span class="ev-progress-bar rv-progress-bar" style=${{ width: ((spans.length - pending) / spans.length) * 100 + '%' }}></span></div>
            </div>`
          : null}
        ${types.length
          ? html`<ul class="rv-types">
              ${types.map((t) => html`<${TypeRow} key=${t} type=${t} counts=${byType[t]} locked=${redacted || busy}
                  onAll=${(st) => decideType(t, st)}
                  onJump=${() => goTo(index.sorted.find((s) => s.pii_type === t && s.status === 'pending') || index.sorted.find((s) => s.pii_type === t))} />`)}
            </ul>`
          : html`<p class="subtle small" data-testid="review-no-findings">No personal data or secrets were found. Read through the log, select anything that should not leave this machine, then finalise.</p>`}
        ${redacted
          ? null
          : html`<div class="rv-keys small subtle">
              <div><kbd>J</kbd> <kbd>K</kbd> next / previous</div>
              <div><kbd>A</kbd> redact · <kbd>R</kbd> keep</div>
              <div>Select text in the original to redact more</div>
            </div>`}
      </aside>

      <div class="rv-main">
        ${redacted
          ? null
          : html`<${CurrentFinding} span=${current} pos=${currentPos} count=${index.sorted.length}
              onPrev=${() => step(-1)} onNext=${() => step(1)}
              onApprove=${() => decide(current, 'approved')} onReject=${() => decide(current, 'rejected')} />`}
        <div class=${'rv-panes' + (redacted ? ' single' : '')} ref=${paneBox}>
          ${redacted ? renderPane('stored') : [renderPane('original'), renderPane('preview')]}
        </div>
      </div>
    </div>

    ${pendingAdd && !redacted
      ? html`<${AddRedaction} at=${pendingAdd} busy=${busy} onAdd=${addRedaction} onCancel=${() => setPendingAdd(null)} />`
      : null}
  </div>`;
}

function evictPages(map, keep) {
  if (map.size <= MAX_CACHED_PAGES) return;
  const far = [...map.keys()].filter((k) => map.get(k) !== 'loading').sort((a, b) => Math.abs(b - keep) - Math.abs(a - keep));
  for (const k of far.slice(0, map.size - MAX_CACHED_PAGES)) map.delete(k);
}

/** Character offset (code points, whole text) of a DOM point inside the original pane. */
function pointToOffset(node, offset) {
  const el = node.nodeType === 1 ? node : node.parentElement;
  const row = el && el.closest('.vline');
  if (!row || row.dataset.offset == null) return null;
  const base = Number(row.dataset.offset);
  const vt = row.querySelector('.vt');
  if (!vt) return null;
  const text = vt.textContent;
  if (!vt.contains(node) && node !== vt) {
    // The point is in the line-number gutter or the row itself: start or end of the line.
    const before = el.closest('.ln') || (node === row && offset === 0);
    return base + (before ? 0 : cpLength(text));
  }
  const r = document.createRange();
  r.setStart(vt, 0);
  r.setEnd(node, offset);
  return base + unitToCp(text, r.toString().length);
}

// ---------------------------------------------------------------- line rendering
/** Pieces of one line: [{from, to, span}] in UTF-16 units, spans clipped to the line. */
function pieces(line, index) {
  const len = cpLength(line.text);
  const lineStart = line.offset;
  const found = spansIn(index, lineStart, lineStart + Math.max(len, 1));
  const out = [];
  let at = 0; // code points
  for (const s of found) {
    const a = Math.max(s.start - lineStart, at);
    const b = Math.min(s.end - lineStart, len);
    if (b <= a) continue;
    if (a > at) out.push({ from: at, to: a, span: null });
    out.push({ from: a, to: b, span: s, head: s.start >= lineStart + a });
    at = b;
  }
  if (at < len) out.push({ from: at, to: len, span: null });
  return out.map((p) => ({ ...p, u0: cpToUnit(line.text, p.from), u1: cpToUnit(line.text, p.to) }));
}

function markClass(s, currentId) {
  return `pii ${typeClass(s.pii_type)} is-${s.status}${s.id === currentId ? ' is-current' : ''}`;
}

function originalSegments(line, index, currentId, select) {
  return pieces(line, index).map((p) =>
    p.span
      ? html`<mark class=${markClass(p.span, currentId)} data-span-id=${p.span.id} data-pii-type=${p.span.pii_type}
          data-status=${p.span.status} title=${`${typeLabel(p.span.pii_type)} · ${STATUS_WORD[p.span.status]}`}
          onClick=${() => select(p.span.id)}>${line.text.slice(p.u0, p.u1)}</mark>`
      : line.text.slice(p.u0, p.u1),
  );
}

function previewSegments(line, index, currentId, select) {
  return pieces(line, index).map((p) => {
    const s = p.span;
    if (!s) return line.text.slice(p.u0, p.u1);
    if (s.status === 'rejected') {
      return html`<span class="pii-kept" data-span-id=${s.id} title=${typeLabel(s.pii_type) + ' · kept'}>${line.text.slice(p.u0, p.u1)}</span>`;
    }
    return p.head
      ? html`<mark class=${markClass(s, currentId)} data-span-id=${s.id} title=${`${typeLabel(s.pii_type)} · ${STATUS_WORD[s.status]}`}
          onClick=${() => select(s.id)}>${s.replacement}</mark>`
      : null;
  });
}

/** After finalising: highlight the replacement tokens in the stored redacted text. */
function replacementTypes(spans) {
  const map = new Map();
  for (const s of spans) if (s.status === 'approved' && s.replacement && !map.has(s.replacement)) map.set(s.replacement, s.pii_type);
  if (!map.size) return null;
  const alt = [...map.keys()].sort((a, b) => b.length - a.length).map((r) => r.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return { map, re: new RegExp(alt.join('|'), 'g') };
}

function storedSegments(text, repl) {
  if (!repl) return text;
  const out = [];
  let at = 0;
  repl.re.lastIndex = 0;
  for (let m = repl.re.exec(text); m; m = repl.re.exec(text)) {
    if (!m[0]) {
      repl.re.lastIndex += 1;
      continue;
    }
    if (m.index > at) out.push(text.slice(at, m.index));
    out.push(html`<mark class=${'pii is-approved ' + typeClass(repl.map.get(m[0]))} data-testid="review-replacement">${m[0]}</mark>`);
    at = m.index + m[0].length;
  }
  if (at < text.length) out.push(text.slice(at));
  return out;
}

const STATUS_WORD = { pending: 'needs a decision', approved: 'will be redacted', rejected: 'kept' };

// ---------------------------------------------------------------- side panel
function TypeRow({ type, counts, locked, onAll, onJump }) {
  const word = locked ? { approved: 'redacted', rejected: 'kept' } : { approved: 'to redact', rejected: 'to keep' };
  const total = (counts.pending || 0) + (counts.approved || 0) + (counts.rejected || 0);
  return html`<li class="rv-type" data-testid=${'review-type-' + type} data-pii-type=${type}>
    <button class="rv-type-name" onClick=${onJump} title="Go to the first finding of this type">
      <span class=${'pii-swatch ' + typeClass(type)} aria-hidden="true"></span>
      <span class="rv-type-label">${typeLabel(type)}</span>
      <span class="rv-type-total" data-testid="review-type-count">${formatCount(total)}</span>
    </button>
    <div class="rv-type-bar" aria-hidden="true">
      <span class="seg-approved" style=${{ flexGrow: counts.approved || 0 }}></span>
      <span class="seg-rejected" style=${{ flexGrow: counts.rejected || 0 }}></span>
      <span class="seg-pending" style=${{ flexGrow: counts.pending || 0 }}></span>
    </div>
    <div class="rv-type-counts small subtle">
      ${counts.pending ? html`<span class="ev-warn-text">${formatCount(counts.pending)} pending</span>` : null}
      ${counts.approved ? html`<span>${formatCount(counts.approved)} ${word.approved}</span>` : null}
      ${counts.rejected ? html`<span>${formatCount(counts.rejected)} ${word.rejected}</span>` : null}
    </div>
    ${locked
      ? null
      : html`<div class="rv-type-actions">
          <button class="btn btn-sm" onClick=${() => onAll('approved')} disabled=${!(counts.pending || counts.rejected)}
            data-testid="review-type-approve" title=${'Redact every ' + typeLabel(type) + ' finding'}>Redact all</button>
          <button class="btn btn-sm" onClick=${() => onAll('rejected')} disabled=${!(counts.pending || counts.approved)}
            data-testid="review-type-reject" title=${'Keep every ' + typeLabel(type) + ' finding'}>Keep all</button>
        </div>`}
  </li>`;
}

function CurrentFinding({ span, pos, count, onPrev, onNext, onApprove, onReject }) {
  if (!count) {
    return html`<div class="rv-current card" data-testid="review-current">
      <span class="subtle">Nothing was detected. Select text in the original to redact it by hand.</span>
    </div>`;
  }
  return html`<div class="rv-current card" data-testid="review-current" data-span-id=${span ? span.id : undefined}
      data-status=${span ? span.status : undefined}>
    <div class="rv-nav">
      <button class="icon-btn" onClick=${onPrev} aria-label="Previous finding (K)" title="Previous (K)" data-testid="review-prev"><${Icon} name="up" /></button>
      <button class="icon-btn" onClick=${onNext} aria-label="Next finding (J)" title="Next (J)" data-testid="review-next"><${Icon} name="down" /></button>
      <span class="rv-pos">
        <span><span data-testid="review-position">${span ? `${formatCount(pos + 1)} of ${formatCount(count)}` : `${formatCount(count)} findings`}</span>
          ${span ? html`<span class="subtle"> · line ${formatCount(span.line)}</span>` : null}</span>
        ${span ? html`<span class=${'rv-status rv-status-' + span.status} data-testid="review-current-status">${STATUS_WORD[span.status]}</span>` : null}
      </span>
    </div>
    ${span
      ? html`<div class="rv-current-body">
          <span class=${'pii-chip ' + typeClass(span.pii_type)}><span class="pii-swatch" aria-hidden="true"></span>${typeLabel(span.pii_type)}</span>
          <code class="rv-value" title=${span.original || ''} data-testid="review-current-original">${span.original || '—'}</code>
          <${Icon} name="right" size=${12} />
          <code class=${'rv-value rv-repl ' + typeClass(span.pii_type)}>${span.replacement}</code>
          ${span.source === 'manual' ? html`<span class="subtle small">added by hand</span>` : null}
        </div>`
      : html`<span class="subtle rv-current-body">Pick a finding in the text or press J.</span>`}
    <div class="rv-decide">
      <button class=${'btn' + (span && span.status === 'rejected' ? ' on' : '')} disabled=${!span} onClick=${onReject} data-testid="review-reject"
        title="Keep the original text (R)"><${Icon} name="eye" /> Keep <kbd>R</kbd></button>
      <button class=${'btn btn-primary' + (span && span.status === 'approved' ? ' on' : '')} disabled=${!span} onClick=${onApprove} data-testid="review-approve"
        title="Replace it in the redacted copy (A)"><${Icon} name="shield" /> Redact <kbd>A</kbd></button>
    </div>
  </div>`;
}

function AddRedaction({ at, busy, onAdd, onCancel }) {
  const types = PII_TYPES;
  const [type, setType] = useState('Manual');
  const [repl, setRepl] = useState(TYPE_REPLACEMENT.Manual);
  const [touched, setTouched] = useState(false);
  const [everywhere, setEverywhere] = useState(true);
  const ids = { t: useUid('rvt'), r: useUid('rvr'), e: useUid('rve') };
  const preview = at.text.length > 60 ? at.text.slice(0, 57) + '…' : at.text;
  const submit = (e) => {
    e.preventDefault();
    onAdd(type, repl, everywhere);
  };
  return html`<form class="rv-add" role="dialog" aria-label="Redact the selected text" data-testid="review-add"
      style=${{ left: at.x + 'px', top: at.y + 'px' }} onSubmit=${submit}>
    <div class="rv-add-head">
      <${Icon} name="shield" size=${14} /> Redact <code>${preview}</code>
      <span class="subtle small">${formatCount(at.end - at.start)} chars</span>
    </div>
    <div class="rv-add-row">
      <label class="sr-only" for=${ids.t}>Type</label>
      <select id=${ids.t} class="input" value=${type} data-testid="review-add-type"
        onChange=${(e) => {
          const t = e.currentTarget.value;
          setType(t);
          if (!touched) setRepl(TYPE_REPLACEMENT[t] || '[Redacted]');
        }}>
        ${types.map((t) => html`<option key=${t} value=${t}>${typeLabel(t)}</option>`)}
      </select>
      <label class="sr-only" for=${ids.r}>Replacement</label>
      <input id=${ids.r} class="input mono-input" value=${repl} maxLength="64" data-testid="review-add-replacement"
        onInput=${(e) => { setRepl(e.currentTarget.value); setTouched(true); }} />
    </div>
    <label class="rv-add-every small" for=${ids.e}>
      <input type="checkbox" id=${ids.e} checked=${everywhere} data-testid="review-add-every"
        onChange=${(e) => setEverywhere(e.currentTarget.checked)} /> Every occurrence in this log
    </label>
    <div class="rv-add-actions">
      <button type="button" class="btn btn-sm" onClick=${onCancel} data-testid="review-add-cancel">Cancel</button>
      <button type="submit" class="btn btn-sm btn-primary" disabled=${busy} data-testid="review-add-confirm">Redact selection</button>
    </div>
  </form>`;
}
