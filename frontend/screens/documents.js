// The incident's Documents tab: generate the RCA and the post-mortem from the incident's
// data, edit them as Markdown with a live preview and autosave, export them, and keep the
// incident's action items (screens/action-items.js). "Draft with AI" lets the active AI
// provider write the sections still waiting for the author (draft_document_with_ai): only
// redacted incident material is sent, and each draft is marked for review.
//
// Routes: #/issue/<id>/documents[/rca|/postmortem|/actions].

import { html, useState, useEffect, useLayoutEffect, useRef, useCallback } from '../vendor/htm-preact/standalone.module.js';
import { call, errorMessage, signedUrl } from '../lib/commands.js';
import { on } from '../lib/events.js';
import { Icon } from '../lib/icons.js';
import { confirmDialog, toast, Spinner, ErrorState, Segmented, useDebounced, openDialog, Modal } from '../lib/ui.js';
import { SignedImg } from '../lib/signed-img.js';
import { navigate, issueHref, useRoute } from '../lib/state.js';
import { relativeTime, formatDateTime, plural } from '../lib/format.js';
import { setSanitisedHtml } from '../lib/sanitised-html.js';
import { downloadUrl } from './audit.js';
import { ActionItemsPanel } from './action-items.js';
import { PublishControl } from './integrations.js';
import { AiIcon, openAiSettings } from './chat.js';
import { confirmDelete } from '../lib/confirm.js';

export const DOC_TYPES = [
  {
    type: 'rca',
    label: 'Root cause analysis',
    short: 'RCA',
    icon: 'target',
    command: 'generate_rca',
    blurb:
      'A technical record of the incident: summary, timeline, response metrics, the 5-Whys chain, ' +
      'the root cause, log evidence, corrective actions and lessons learned.',
  },
  {
    type: 'postmortem',
    label: 'Post-mortem',
    short: 'Post-mortem',
    icon: 'file',
    command: 'generate_postmortem',
    blurb:
      'A blameless write-up to share: impact, timeline, response metrics, root cause and contributing ' +
      'factors, what went well, what could be improved, and action items.',
  },
];
const TYPE = Object.fromEntries(DOC_TYPES.map((t) => [t.type, t]));
const PANES = ['rca', 'postmortem', 'actions'];

const AUTOSAVE_MS = 900;
const PREVIEW_MS = 250;
const VIEW_KEY = 'tftsr.docView';
const VIEWS = [
  { value: 'edit', label: 'Write' },
  { value: 'split', label: 'Split' },
  { value: 'preview', label: 'Preview' },
];
const EXPORTS = [
  { format: 'md', label: 'Markdown' },
  { format: 'html', label: 'HTML' },
  { format: 'pdf', label: 'PDF' },
];

/** The line that opens every AI draft (backend: sections.DRAFT_MARK). */
const DRAFT_MARK = '✎ Drafted by AI';
const DRAFT_EVENTS = ['document_draft_progress', 'document_draft_done', 'document_draft_error'];

const msAgo = (ms) => (ms ? relativeTime(new Date(ms)) : '');
const msTime = (ms) => (ms ? formatDateTime(new Date(ms)) : '');

// ---------------------------------------------------------------- generation
/** The editor currently open, so anything that rewrites a document saves typing first. */
let activeEditor = null;

async function flushActiveEditor() {
  if (activeEditor) await activeEditor.flush();
}

/**
 * Generate (or regenerate) a document. When the stored one was edited since it was
 * generated, ask before overwriting. Resolves to the Document, or null when the user keeps
 * their edits. Throws CommandError for anything else.
 */
export async function generateDocument(issueId, docType) {
  const t = TYPE[docType];
  await flushActiveEditor();
  try {
    return await call(t.command, { issue_id: issueId });
  } catch (err) {
    if (!err || err.code !== 'document_edited') throw err;
    const ok = await confirmDialog({
      title: `Replace your edits to the ${t.short}?`,
      message:
        `The ${t.label.toLowerCase()} was edited after it was generated. Regenerating rewrites it from the ` +
        "incident's current data and those edits are lost. Export it first to keep a copy.",
      confirmLabel: 'Regenerate',
      danger: true,
    });
    if (!ok) return null;
    return call(t.command, { issue_id: issueId, overwrite: true });
  }
}

/** Generate from anywhere (the command palette): toast, then open the document. */
export async function generateAndOpen(issueId, docType) {
  try {
    const doc = await generateDocument(issueId, docType);
    if (!doc) return;
    toast.success(`${TYPE[docType].label} ${doc.created_at === doc.updated_at ? 'generated' : 'regenerated'}`);
    navigate(issueHref(issueId, 'documents/' + docType));
  } catch (err) {
    toast.error(err);
  }
}

/** Command palette entries for the incident on screen. */
export function documentPaletteActions(issueId) {
  return [
    ...DOC_TYPES.map((t) => ({
      id: 'doc-gen-' + t.type,
      label: `Generate ${t.type === 'rca' ? 'the RCA' : 'the post-mortem'} for this incident`,
      icon: t.icon,
      group: 'Actions',
      run: () => generateAndOpen(issueId, t.type),
    })),
    {
      id: 'doc-open',
      label: 'Documents for this incident',
      icon: 'file',
      group: 'Actions',
      run: () => navigate(issueHref(issueId, 'documents')),
    },
    {
      id: 'doc-actions',
      label: 'Action items for this incident',
      icon: 'check',
      group: 'Actions',
      run: () => navigate(issueHref(issueId, 'documents/actions')),
    },
  ];
}

// ---------------------------------------------------------------- tab
export function DocumentsTab({ issue, detail, reload }) {
  const route = useRoute();
  const docs = detail.documents || [];
  const items = detail.action_items || [];
  const byType = Object.fromEntries(docs.map((d) => [d.doc_type, d]));
  const newest = [...docs].sort((a, b) => b.updated_at - a.updated_at)[0];
  const sub = route.parts[0] === 'issue' && route.parts[2] === 'documents' ? route.parts[3] : undefined;
  const pane = PANES.includes(sub) ? sub : newest ? newest.doc_type : 'rca';
  const [generating, setGenerating] = useState(null);
  const [fresh, setFresh] = useState(null); // {doc, n}: a just-generated document to show

  const select = (p) => navigate(issueHref(issue.id, 'documents/' + p));

  // A generated document is handed to its editor once; leaving it drops the hand-over.
  useEffect(() => {
    if (fresh && fresh.doc.doc_type !== pane) setFresh(null);
  }, [pane]);

  const generate = async (type) => {
    setGenerating(type);
    try {
      const doc = await generateDocument(issue.id, type);
      if (!doc) return;
      setFresh((f) => ({ doc, n: f ? f.n + 1 : 1 }));
      toast.success(`${TYPE[type].label} ${byType[type] ? 'regenerated' : 'generated'}`);
      if (pane !== type) select(type);
      reload();
    } catch (err) {
      toast.error(err);
    } finally {
      setGenerating(null);
    }
  };

  const remove = async (summary) => {
    const ok = await confirmDelete({
      title: `Delete the ${TYPE[summary.doc_type].short}?`,
      message: `"${summary.title}" and its edits will be deleted. You can generate it again from the incident's data.`,
      confirmLabel: 'Delete',
    });
    if (!ok) return;
    try {
      await call('delete_document', { document_id: summary.id });
      toast.success('Document deleted');
      reload();
    } catch (err) {
      toast.error(err);
    }
  };

  const open = items.filter((i) => i.status === 'open' || i.status === 'in_progress').length;
  const overdue = items.filter((i) => i.overdue).length;
  const current = pane === 'actions' ? null : byType[pane];

  return html`<div class="docs" data-testid="documents">
    <nav class="doc-rail" aria-label="Documents" data-testid="doc-rail">
      <div class="rail-label">Documents</div>
      ${DOC_TYPES.map((t) => {
        const s = byType[t.type];
        return html`<button key=${t.type} class=${'rail-item' + (pane === t.type ? ' on' : '')}
            aria-current=${pane === t.type ? 'page' : undefined} onClick=${() => select(t.type)}
            data-testid=${'doc-nav-' + t.type}>
          <span class=${'rail-icon doc-' + t.type}><${Icon} name=${t.icon} size=${15} /></span>
          <span class="rail-main">
            <span class="rail-title">${t.label}</span>
            <span class="rail-sub">
              ${s ? (s.edited ? `Edited ${msAgo(s.updated_at)}` : `Generated ${msAgo(s.generated_at || s.updated_at)}`) : 'Not generated yet'}
            </span>
          </span>
          ${s && s.edited ? html`<span class="rail-dot" title="Edited since it was generated" aria-hidden="true"></span>` : null}
        </button>`;
      })}
      <div class="rail-label">Follow-up</div>
      <button class=${'rail-item' + (pane === 'actions' ? ' on' : '')} aria-current=${pane === 'actions' ? 'page' : undefined}
        onClick=${() => select('actions')} data-testid="doc-nav-actions">
        <span class="rail-icon doc-actions"><${Icon} name="check" size=${15} /></span>
        <span class="rail-main">
          <span class="rail-title">Action items</span>
          <span class="rail-sub">${items.length ? `${open} open of ${items.length}` : 'None yet'}</span>
        </span>
        ${overdue ? html`<span class="rail-count late" title=${`${overdue} overdue`}>${overdue}</span>` : null}
      </button>
    </nav>

    <div class="doc-main">
      ${pane === 'actions'
        ? html`<${ActionItemsPanel} issue=${issue} items=${items} reload=${reload} />`
        : current
          ? html`<${DocumentPane} key=${current.id} summary=${current} fresh=${fresh}
              generating=${generating === pane} onRegenerate=${() => generate(pane)} onDelete=${() => remove(current)} />`
          : html`<${GeneratePrompt} type=${TYPE[pane]} busy=${generating === pane} onGenerate=${() => generate(pane)} />`}
    </div>
  </div>`;
}

function GeneratePrompt({ type, busy, onGenerate }) {
  return html`<div class="doc-empty card" data-testid="doc-empty">
    <div class=${'doc-empty-icon doc-' + type.type}><${Icon} name=${type.icon} size=${26} /></div>
    <h2>${type.label}</h2>
    <p>${type.blurb}</p>
    <p class="subtle small">
      Written from the incident's details, 5 Whys, timeline, log files and action items. Sections only a person
      can write are marked for you to fill in.
    </p>
    <button class="btn btn-primary btn-lg" disabled=${busy} onClick=${onGenerate} data-testid=${'doc-generate-' + type.type}>
      ${busy ? html`<span class="spinner sm" aria-hidden="true"></span>` : html`<${Icon} name="play" />`}
      Generate ${type.short === 'RCA' ? 'RCA' : type.label.toLowerCase()}
    </button>
  </div>`;
}

// ---------------------------------------------------------------- one document
/** Loads a document and keeps the editor in step with regenerations and outside writes. */
function DocumentPane({ summary, fresh, generating, onRegenerate, onDelete }) {
  // A just-generated document is shown as is, unless the list already knows a newer save.
  const seeded = fresh && fresh.doc.id === summary.id && fresh.doc.updated_at >= summary.updated_at ? fresh.doc : null;
  const [doc, setDoc] = useState(seeded);
  const [version, setVersion] = useState(0);
  const [error, setError] = useState(null);
  const [justDrafted, setJustDrafted] = useState([]); // section ids drafted by AI just now

  const load = useCallback(() => {
    setError(null);
    call('get_document', { document_id: summary.id })
      .then((d) => {
        setDoc(d);
        setVersion((v) => v + 1);
      })
      .catch(setError);
  }, [summary.id]);

  useEffect(() => {
    if (!seeded) load();
  }, []);

  // A regeneration from this tab hands over the new content directly.
  useEffect(() => {
    if (fresh && fresh.doc.id === summary.id && doc && fresh.doc.updated_at > doc.updated_at) {
      setDoc(fresh.doc);
      setVersion((v) => v + 1);
    }
  }, [fresh && fresh.n]);

  const adopt = useCallback((d) => {
    setDoc(d);
    setVersion((v) => v + 1);
  }, []);

  const drafted = useCallback((d, ids) => {
    setJustDrafted(ids || []);
    adopt(d);
  }, [adopt]);

  if (error && !doc) return html`<${ErrorState} error=${error} onRetry=${load} />`;
  if (!doc) return html`<div class="card"><${Spinner} label="Opening document…" /></div>`;
  return html`<${DocumentEditor} key=${doc.id + ':' + version} doc=${doc} onAdopt=${adopt}
    onDrafted=${drafted} justDrafted=${justDrafted}
    generating=${generating} onRegenerate=${onRegenerate} onDelete=${onDelete} />`;
}

function readView() {
  try {
    const v = localStorage.getItem(VIEW_KEY);
    return VIEWS.some((x) => x.value === v) ? v : 'split';
  } catch (_) {
    return 'split';
  }
}

function escapeRegExp(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The author prompt's mark (backend: sections.AUTHOR_MARK). */
const AUTHOR_MARK = '**✎ For the author:**';
/** A line that is only a screenshot reference (what "Insert screenshot" writes). */
const SCREENSHOT_LINE = /^!\[([^\]\n]{0,300})\]\(attachment:([0-9a-fA-F-]{36})\)$/;

/**
 * What to select when jumping to a section: the author prompt (or the AI draft note) in it,
 * so that typing replaces the prompt and never the heading; else the start of its text.
 * Returns [from, to] offsets, or null when the heading is not in the text.
 */
export function sectionTarget(text, section) {
  const at = headingOffset(text, section.heading);
  if (at < 0) return null;
  const lineEnd = text.indexOf('\n', at);
  const bodyStart = lineEnd < 0 ? text.length : lineEnd + 1;
  const next = /^#{1,2}[ \t]/m.exec(text.slice(bodyStart));
  const end = next ? bodyStart + next.index : text.length;
  const exact = section.placeholder ? text.indexOf(section.placeholder, bodyStart) : -1;
  if (exact >= 0 && exact + section.placeholder.length <= end) return [exact, exact + section.placeholder.length];
  for (const mark of [AUTHOR_MARK, DRAFT_MARK]) {
    const hit = text.indexOf(mark, bodyStart);
    if (hit < 0 || hit >= end) continue;
    const from = text.lastIndexOf('\n', hit) + 1;
    const lineEndAt = (i) => {
      const n = text.indexOf('\n', i);
      return n < 0 || n > end ? end : n;
    };
    let to = lineEndAt(hit);
    // The prompt runs on while the blockquote does (its later lines start with ">").
    while (to < end && /^>[ \t]*\S/.test(text.slice(to + 1, lineEndAt(to + 1)))) to = lineEndAt(to + 1);
    return [from, to];
  }
  let start = bodyStart;
  while (start < end && text[start] === '\n') start += 1;
  return [start, start];
}

/** Offset of a section's heading line in the Markdown ("## 2. Executive summary"), or -1. */
function headingOffset(text, heading) {
  const re = new RegExp('^#{1,6}[ \\t]+(?:\\d+\\.[ \\t]+)?' + escapeRegExp(heading) + '[ \\t]*#*[ \\t]*$', 'm');
  const m = re.exec(text);
  return m ? m.index : -1;
}

const SAVE_TEXT = {
  saved: 'Saved',
  dirty: 'Unsaved changes',
  saving: 'Saving…',
  error: 'Not saved',
  conflict: 'Changed elsewhere',
};

/**
 * Markdown editor with a live preview. Typing autosaves (debounced update_document with
 * base_updated_at); a write from elsewhere in between surfaces as a conflict the user
 * resolves by reloading or keeping their text.
 */
function DocumentEditor({ doc: loaded, onAdopt, onDrafted, justDrafted = [], generating, onRegenerate, onDelete }) {
  const [draft, setDraft] = useState(loaded.content_md);
  const [title, setTitle] = useState(loaded.title);
  const [meta, setMeta] = useState(loaded);
  const [save, setSave] = useState({ state: 'saved', error: '' });
  const [view, setViewState] = useState(readView);
  const [exporting, setExporting] = useState('');
  const [previewHtml, setPreviewHtml] = useState(null);

  const textRef = useRef(null);
  const previewRef = useRef(null);
  const base = useRef(loaded.updated_at);
  const saved = useRef({ content: loaded.content_md, title: loaded.title });
  const latest = useRef({ draft, title });
  latest.current = { draft, title };
  const inflight = useRef(null);
  const timer = useRef(null);
  const conflict = useRef(false);
  const previewSeq = useRef(0);
  const ai = useAiDraft(loaded.id, onDrafted);

  const pending = () => {
    const t = latest.current.title.trim();
    return latest.current.draft !== saved.current.content || (t !== '' && t !== saved.current.title);
  };

  /** Save what is typed now (after any save already on its way). */
  const saveNow = useCallback(async ({ force = false } = {}) => {
    clearTimeout(timer.current);
    while (inflight.current) await inflight.current;
    if (conflict.current && !force) return false;
    const { draft: text, title: rawTitle } = latest.current;
    const changes = {};
    if (text !== saved.current.content) changes.content_md = text;
    const t = rawTitle.trim();
    if (t && t !== saved.current.title) changes.title = t;
    if (!Object.keys(changes).length && !force) {
      setSave((s) => (s.state === 'dirty' ? { state: 'saved', error: '' } : s));
      return true;
    }
    setSave({ state: 'saving', error: '' });
    const request = call('update_document', {
      document_id: loaded.id,
      ...changes,
      base_updated_at: force ? undefined : base.current,
    });
    inflight.current = request.then(() => undefined, () => undefined);
    try {
      const res = await request;
      base.current = res.updated_at;
      saved.current = {
        content: 'content_md' in changes ? changes.content_md : saved.current.content,
        title: changes.title || saved.current.title,
      };
      conflict.current = false;
      setMeta(res);
      const more = pending();
      setSave({ state: more ? 'dirty' : 'saved', error: '' });
      if (more) timer.current = setTimeout(() => saveNow(), AUTOSAVE_MS);
      return true;
    } catch (err) {
      if (err && err.code === 'conflict') {
        conflict.current = true;
        setSave({ state: 'conflict', error: errorMessage(err) });
      } else {
        setSave({ state: 'error', error: errorMessage(err) });
      }
      return false;
    } finally {
      inflight.current = null;
    }
  }, [loaded.id]);

  const schedule = () => {
    clearTimeout(timer.current);
    if (!conflict.current) timer.current = setTimeout(() => saveNow(), AUTOSAVE_MS);
  };

  // Anything that rewrites this document (regenerate, export, leaving) saves first.
  useEffect(() => {
    const entry = { flush: () => (pending() ? saveNow() : Promise.resolve(true)) };
    activeEditor = entry;
    const onHide = () => pending() && saveNow();
    window.addEventListener('pagehide', onHide);
    return () => {
      window.removeEventListener('pagehide', onHide);
      if (activeEditor === entry) activeEditor = null;
      clearTimeout(timer.current);
      if (pending() && !conflict.current) saveNow();
    };
  }, [saveNow]);

  // Someone else wrote the document (regenerated from the palette, another window):
  // follow along while there is nothing unsaved here.
  useEffect(
    () =>
      on('document_changed', (p) => {
        if (!p || p.document_id !== loaded.id || inflight.current || pending() || ai.busyRef.current) return;
        call('get_document', { document_id: loaded.id })
          .then((d) => {
            if (d.updated_at > base.current && !pending() && !inflight.current) onAdopt(d);
          })
          .catch(() => {});
      }),
    [loaded.id, onAdopt],
  );

  // ---- preview
  const source = useDebounced(draft, PREVIEW_MS);
  useEffect(() => {
    const n = ++previewSeq.current;
    call('render_markdown', { markdown: source })
      .then((r) => n === previewSeq.current && setPreviewHtml(r.html))
      .catch((err) => n === previewSeq.current && setPreviewHtml({ error: errorMessage(err) }));
  }, [source]);

  useLayoutEffect(() => {
    const el = previewRef.current;
    if (!el || previewHtml == null || typeof previewHtml !== 'string') return;
    setSanitisedHtml(el, previewHtml);
    showScreenshots(el, loaded.issue_id);
    for (const q of el.querySelectorAll('blockquote')) {
      const text = q.textContent || '';
      if (/^\s*✎\s*For the author/.test(text)) q.classList.add('author-note');
      if (text.trim().startsWith(DRAFT_MARK)) {
        q.classList.add('author-note', 'ai-draft-note');
        q.setAttribute('data-testid', 'doc-ai-draft-note');
      }
    }
  }, [previewHtml, view]);

  // Just drafted: bring the first drafted section into view once.
  const shownDrafted = useRef(false);
  useEffect(() => {
    if (shownDrafted.current || !justDrafted.length || typeof previewHtml !== 'string') return;
    shownDrafted.current = true;
    const first = (meta.sections || []).find((s) => s.id === justDrafted[0]);
    if (first) jumpTo(first);
  }, [previewHtml]);

  // Links in the preview never navigate the window.
  const onPreviewClick = (e) => {
    const a = e.target && e.target.closest ? e.target.closest('a') : null;
    if (!a) return;
    e.preventDefault();
    const href = a.getAttribute('href') || '';
    if (href.startsWith('#')) return;
    toast.info(`Links do not open from the preview: ${href}`);
  };
  const onPreviewAuxClick = (e) => {
    if (e.target && e.target.closest && e.target.closest('a')) e.preventDefault();
  };

  // ---- editing
  const onInput = (e) => {
    const v = e.currentTarget.value;
    latest.current = { ...latest.current, draft: v };
    setDraft(v);
    if (!conflict.current) setSave({ state: 'dirty', error: '' });
    schedule();
  };
  const onTitle = (e) => {
    const v = e.currentTarget.value;
    latest.current = { ...latest.current, title: v };
    setTitle(v);
    if (!conflict.current && v.trim()) setSave({ state: 'dirty', error: '' });
    schedule();
  };

  /** Replace the selection through the browser's editing commands, so Undo still works. */
  const replaceSelection = (text, selectFrom, selectTo) => {
    const ta = textRef.current;
    if (!ta) return;
    ta.focus();
    const start = ta.selectionStart;
    if (!document.execCommand('insertText', false, text)) {
      ta.setRangeText(text, ta.selectionStart, ta.selectionEnd, 'end');
      ta.dispatchEvent(new Event('input', { bubbles: true }));
    }
    if (selectFrom != null) ta.setSelectionRange(start + selectFrom, start + selectTo);
  };

  const wrap = (before, after, placeholder) => {
    const ta = textRef.current;
    if (!ta) return;
    const sel = ta.value.slice(ta.selectionStart, ta.selectionEnd) || placeholder;
    replaceSelection(before + sel + after, before.length, before.length + sel.length);
  };

  const prefixLines = (prefix) => {
    const ta = textRef.current;
    if (!ta) return;
    const v = ta.value;
    const start = v.lastIndexOf('\n', ta.selectionStart - 1) + 1;
    let end = v.indexOf('\n', Math.max(ta.selectionEnd - (ta.selectionEnd > ta.selectionStart ? 1 : 0), start));
    if (end < 0) end = v.length;
    ta.setSelectionRange(start, end);
    const lines = v.slice(start, end).split('\n');
    const text = lines.map((l, i) => (typeof prefix === 'function' ? prefix(i) : prefix) + l).join('\n');
    replaceSelection(text, 0, text.length);
  };

  const FORMATS = [
    { id: 'bold', label: 'Bold', keys: 'Ctrl+B', glyph: 'B', run: () => wrap('**', '**', 'bold text') },
    { id: 'italic', label: 'Italic', keys: 'Ctrl+I', glyph: 'I', run: () => wrap('_', '_', 'text') },
    { id: 'heading', label: 'Heading', glyph: 'H', run: () => prefixLines('### ') },
    { id: 'list', label: 'Bulleted list', glyph: '•', run: () => prefixLines('- ') },
    { id: 'numbered', label: 'Numbered list', glyph: '1.', run: () => prefixLines((i) => `${i + 1}. `) },
    { id: 'quote', label: 'Quote', glyph: '❝', run: () => prefixLines('> ') },
    { id: 'code', label: 'Code', glyph: '</>', run: () => wrap('`', '`', 'code') },
    { id: 'link', label: 'Link', icon: 'link', run: () => wrap('[', '](https://)', 'link text') },
    { id: 'screenshot', label: 'Insert screenshot', icon: 'monitor', run: () => insertScreenshot() },
  ];

  /** Pick one of the incident's images; a line referring to it goes in at the cursor. */
  const insertScreenshot = async () => {
    const ta = textRef.current;
    const caret = ta ? [ta.selectionStart, ta.selectionEnd] : null;
    const image = await openDialog((close) => html`<${ScreenshotPicker} issueId=${loaded.issue_id} onClose=${close} />`);
    if (!image || !textRef.current) return;
    if (caret) textRef.current.setSelectionRange(caret[0], caret[1]);
    const caption = image.file_name.replace(/\.[A-Za-z0-9]{2,5}$/, '').replace(/[[\]\n]/g, ' ').slice(0, 120);
    const before = textRef.current.value.slice(0, textRef.current.selectionStart);
    const lead = before === '' || before.endsWith('\n\n') ? '' : before.endsWith('\n') ? '\n' : '\n\n';
    replaceSelection(`${lead}![${caption}](attachment:${image.id})\n\n`);
    toast.success('Screenshot inserted; it appears in the preview and in HTML and PDF exports');
  };

  /** Ctrl/Cmd+S anywhere in the document saves now (instead of the browser's Save page). */
  const onDocKeyDown = (e) => {
    if ((e.ctrlKey || e.metaKey) && !e.altKey && e.key.toLowerCase() === 's') {
      e.preventDefault();
      saveNow();
    }
  };

  const onKeyDown = (e) => {
    const mod = e.ctrlKey || e.metaKey;
    if (!mod || e.altKey) return;
    const k = e.key.toLowerCase();
    if (k === 'b' && !e.shiftKey) {
      e.preventDefault();
      FORMATS[0].run();
    } else if (k === 'i' && !e.shiftKey) {
      e.preventDefault();
      FORMATS[1].run();
    }
  };

  const setView = (v) => {
    setViewState(v);
    try {
      localStorage.setItem(VIEW_KEY, v);
    } catch (_) {
      /* the choice just is not remembered */
    }
  };

  const jumpTo = (section) => {
    const ta = textRef.current;
    const target = sectionTarget(latest.current.draft, section);
    if (ta && target) {
      ta.blur();
      ta.setSelectionRange(target[0], target[1]);
      ta.focus();
      // Bring the selection into view (focus alone does not scroll a textarea to it).
      const lineHeight = parseFloat(getComputedStyle(ta).lineHeight) || 20;
      const lines = latest.current.draft.slice(0, target[0]).split('\n').length - 1;
      ta.scrollTop = Math.max(0, lines * lineHeight - ta.clientHeight / 3);
    }
    const pv = previewRef.current;
    if (pv) {
      const h = [...pv.querySelectorAll('h1, h2, h3')].find((x) =>
        (x.textContent || '').replace(/^\s*\d+\.\s+/, '').trim() === section.heading);
      if (h) pv.parentElement.scrollTop = h.offsetTop - 12;
    }
  };

  // ---- export
  const doExport = async (format) => {
    setExporting(format);
    try {
      if (!(await saveNow())) {
        toast.error('Your latest edits are not saved, so nothing was exported. Resolve that first.');
        return;
      }
      const res = await call('export_document', { document_id: loaded.id, format });
      if (!res || res.cancelled) return;
      if (res.url) {
        downloadUrl(res.url, res.filename);
        toast.success(`Downloading ${res.filename}`);
      } else if (res.path) {
        toast.success(`Saved to ${res.path}`);
      }
    } catch (err) {
      toast.error(err);
    } finally {
      setExporting('');
    }
  };

  // ---- draft with AI
  const startDraft = async () => {
    const provider = ai.provider;
    if (!provider) return;
    const names = needsAuthor.map((s) => s.heading);
    const ok = await confirmDialog({
      title: `Draft ${plural(names.length, 'section')} with AI?`,
      message:
        `${provider.name} (${provider.model}) will write a first draft of: ${names.join(', ')}. ` +
        'The notes for the author in those sections are replaced; everything else stays as it is. ' +
        "Only the incident's details, 5 Whys, timeline, action items and redacted-log counts are sent, " +
        'with personal data removed first, and the send is recorded in the audit log. ' +
        'Each draft is marked for you to review before publishing.',
      confirmLabel: 'Draft with AI',
    });
    if (!ok) return;
    if (!(await saveNow())) {
      toast.error('Your latest edits are not saved, so nothing was drafted. Resolve that first.');
      return;
    }
    ai.start();
  };

  // ---- conflict
  const reloadTheirs = async () => {
    try {
      const d = await call('get_document', { document_id: loaded.id });
      conflict.current = false;
      saved.current = { content: d.content_md, title: d.title };
      latest.current = { draft: d.content_md, title: d.title };
      onAdopt(d);
    } catch (err) {
      toast.error(err);
    }
  };
  const keepMine = async () => {
    const ok = await saveNow({ force: true });
    if (ok) toast.success('Your version was saved');
  };

  const needsAuthor = (meta.sections || []).filter((s) => s.needs_author);
  const aiDrafted = (meta.sections || []).filter((s) => s.ai_drafted);
  const drafting = ai.job;
  const words = (source.match(/\S+/g) || []).length;
  const t = TYPE[loaded.doc_type] || { label: 'Document', icon: 'file' };

  return html`<article class="doc-editor card" data-testid="doc-editor-pane" data-doc-id=${loaded.id} data-doc-type=${loaded.doc_type}
      onKeyDown=${onDocKeyDown}>
    <header class="doc-head">
      <div class="doc-title-row">
        <span class=${'rail-icon doc-' + loaded.doc_type} aria-hidden="true"><${Icon} name=${t.icon} size=${15} /></span>
        <input class="doc-title" value=${title} maxLength="300" aria-label="Document title" onInput=${onTitle}
          aria-invalid=${title.trim() ? undefined : 'true'} data-testid="doc-title" />
        <span class=${'doc-save s-' + save.state} data-testid="doc-save-state" data-state=${save.state}
          title=${save.error || (meta.updated_at ? 'Last saved ' + msTime(meta.updated_at) : '')} role="status" aria-live="polite">
          ${save.state === 'saving'
            ? html`<span class="spinner sm" aria-hidden="true"></span>`
            : html`<${Icon} name=${save.state === 'saved' ? 'check' : save.state === 'dirty' ? 'edit' : 'alert'} size=${13} />`}
          ${SAVE_TEXT[save.state]}
        </span>
        <${Segmented} options=${VIEWS} value=${view} onChange=${setView} label="Layout" testid="doc-view" size="sm" />
      </div>
      <div class="doc-subline subtle">
        <span>${meta.edited ? 'Edited' : 'As generated'}</span>
        ${meta.generated_at ? html`<span title=${msTime(meta.generated_at)}>Generated ${msAgo(meta.generated_at)}</span>` : null}
        <span title=${msTime(meta.updated_at)}>Updated ${msAgo(meta.updated_at)}</span>
        <span>${plural(words, 'word')}</span>
      </div>
      <div class="doc-toolbar" role="toolbar" aria-label="Document">
        ${view !== 'preview'
          ? html`<div class="fmt-group" role="group" aria-label="Formatting">
              ${FORMATS.map(
                (f) => html`<button key=${f.id} type="button" class=${'fmt-btn fmt-' + f.id}
                    title=${f.label + (f.keys ? ` (${f.keys})` : '')} aria-label=${f.label}
                    onMouseDown=${(e) => e.preventDefault()} onClick=${f.run} data-testid=${'doc-fmt-' + f.id}>
                  ${f.icon ? html`<${Icon} name=${f.icon} size=${14} />` : f.glyph}
                </button>`,
              )}
            </div>`
          : null}
        <span class="spacer"></span>
        <${DraftButton} ai=${ai} waiting=${needsAuthor.length} onDraft=${startDraft} />
        <button class="btn btn-sm" disabled=${generating || Boolean(drafting)} onClick=${onRegenerate} data-testid="doc-regenerate"
          title="Rewrite from the incident's current data">
          ${generating ? html`<span class="spinner sm" aria-hidden="true"></span>` : html`<${Icon} name="refresh" />`} Regenerate
        </button>
        <div class="export-group" role="group" aria-label="Export">
          <span class="export-label"><${Icon} name="download" size=${14} /> Export</span>
          ${EXPORTS.map(
            (x) => html`<button key=${x.format} class="btn btn-sm" disabled=${Boolean(exporting)}
                onClick=${() => doExport(x.format)} data-testid=${'doc-export-' + x.format}>
              ${exporting === x.format ? html`<span class="spinner sm" aria-hidden="true"></span>` : null}${x.label}
            </button>`,
          )}
        </div>
        <${PublishControl} doc=${loaded} issueId=${loaded.issue_id} beforePublish=${() => saveNow()} />
        <button class="icon-btn danger" aria-label="Delete document" title="Delete document" onClick=${onDelete}
          data-testid="doc-delete"><${Icon} name="trash" /></button>
      </div>
    </header>

    ${save.state === 'conflict'
      ? html`<div class="banner banner-warn doc-banner" role="alert" data-testid="doc-conflict">
          <${Icon} name="alert" />
          <span>This document was changed somewhere else (regenerated, or saved from another window) after you
            opened it. Your latest edits are not saved yet.</span>
          <button class="btn btn-sm" onClick=${reloadTheirs} data-testid="doc-conflict-reload">Reload theirs</button>
          <button class="btn btn-sm" onClick=${keepMine} data-testid="doc-conflict-keep">Keep mine</button>
        </div>`
      : save.state === 'error'
        ? html`<div class="banner banner-bad doc-banner" role="alert" data-testid="doc-save-error">
            <${Icon} name="alert" />
            <span>Could not save: ${save.error}</span>
            <button class="btn btn-sm" onClick=${() => saveNow()}>Try again</button>
          </div>`
        : null}

    ${drafting
      ? html`<div class="banner banner-muted doc-banner" role="status" aria-live="polite" data-testid="doc-ai-busy">
          <span class="spinner sm" aria-hidden="true"></span>
          <span>${draftingText(drafting)}</span>
          <button class="btn btn-sm" onClick=${ai.cancel} disabled=${!drafting.draft_id || drafting.cancelling}
            data-testid="doc-ai-cancel">${drafting.cancelling ? 'Cancelling…' : 'Cancel'}</button>
        </div>`
      : null}

    ${aiDrafted.length
      ? html`<div class="doc-needs doc-ai-drafted" data-testid="doc-ai-drafted">
          <span class="doc-needs-label"><${AiIcon} name="sparkle" size=${13} /> Drafted by AI — review before publishing:</span>
          ${aiDrafted.map(
            (s) => html`<button key=${s.id} class="doc-needs-link" onClick=${() => jumpTo(s)} data-testid="doc-ai-drafted-link"
                data-section-id=${s.id} data-new=${justDrafted.includes(s.id) ? 'true' : undefined}
                style=${justDrafted.includes(s.id) ? 'font-weight: 700' : undefined}>${s.heading}</button>`,
          )}
          <span class="subtle">Delete the “${DRAFT_MARK}” line once a section is reviewed.</span>
        </div>`
      : null}

    ${needsAuthor.length
      ? html`<div class="doc-needs" data-testid="doc-needs-author">
          <span class="doc-needs-label"><${Icon} name="edit" size=${13} /> ${plural(needsAuthor.length, 'section')} still need${needsAuthor.length === 1 ? 's' : ''} your words:</span>
          ${needsAuthor.map(
            (s) => html`<button key=${s.id} class="doc-needs-link" onClick=${() => jumpTo(s)} data-testid="doc-section-link"
                data-section-id=${s.id}>${s.heading}</button>`,
          )}
        </div>`
      : null}

    <div class=${'doc-body view-' + view}>
      ${view !== 'preview'
        ? html`<div class="doc-pane doc-pane-edit">
            <textarea ref=${textRef} class="doc-textarea" value=${draft} onInput=${onInput} onKeyDown=${onKeyDown}
              readOnly=${Boolean(drafting)} aria-busy=${drafting ? 'true' : undefined}
              spellcheck="true" aria-label="Markdown" data-testid="doc-editor"></textarea>
          </div>`
        : null}
      ${view !== 'edit'
        ? html`<div class="doc-pane doc-pane-preview" aria-label="Preview">
            ${previewHtml && typeof previewHtml === 'object'
              ? html`<p class="form-error">Preview unavailable: ${previewHtml.error}</p>`
              : null}
            <div class="md-preview" ref=${previewRef} onClick=${onPreviewClick} onAuxClick=${onPreviewAuxClick}
              data-testid="doc-preview"></div>
          </div>`
        : null}
    </div>
  </article>`;
}

// ---------------------------------------------------------------- draft with AI
/** What the busy banner says while a draft is being written. */
function draftingText(job) {
  const who = job.provider ? `${job.provider} (${job.model})` : 'the AI provider';
  if (job.cancelling) return 'Cancelling the draft…';
  if (job.stage === 'retrying') {
    const wait = job.wait_seconds != null ? ` in ${Math.ceil(job.wait_seconds)} s` : '';
    return `${who} did not answer properly; trying again${wait} (attempt ${(job.attempt || 1) + 1})…`;
  }
  if (job.stage === 'writing' && job.chars) return `${who} is writing the draft… ${job.chars.toLocaleString()} characters so far`;
  const n = job.section_ids ? job.section_ids.length : 0;
  return n ? `Sending the redacted incident details to ${who} to draft ${plural(n, 'section')}…` : 'Starting the draft…';
}

/**
 * The active AI provider and the draft being written for one document. The draft runs as
 * a backend job: its events are heard from the start, so one that ends before the
 * command returns is not missed.
 */
function useAiDraft(documentId, onDrafted) {
  const [providers, setProviders] = useState(null); // {active, loaded, error}
  const [job, setJob] = useState(null);
  const busyRef = useRef(false);
  const jobRef = useRef(null);
  const early = useRef(new Map()); // draft_id -> [[name, payload]] heard before the id was known
  const done = useRef(onDrafted);
  done.current = onDrafted;

  const loadProviders = useCallback(() => {
    call('list_ai_providers')
      .then((r) => {
        const items = (r && r.items) || [];
        setProviders({ active: items.find((p) => p.id === r.active_provider_id) || null, error: null });
      })
      .catch((err) => setProviders({ active: null, error: errorMessage(err) }));
  }, []);
  useEffect(() => {
    loadProviders();
    return on('ai_providers_changed', loadProviders);
  }, [loadProviders]);

  const update = (next) => {
    jobRef.current = next;
    busyRef.current = Boolean(next);
    setJob(next);
  };

  const handle = (name, p) => {
    const current = jobRef.current;
    if (!current || p.draft_id !== current.draft_id) return;
    if (name === 'document_draft_progress') {
      update({ ...current, ...p });
    } else if (name === 'document_draft_done') {
      update(null);
      const ids = p.drafted_section_ids || [];
      toast.success(`Drafted ${plural(ids.length, 'section')} with AI. Review ${ids.length === 1 ? 'it' : 'them'} before publishing.`);
      if (p.skipped_section_ids && p.skipped_section_ids.length) {
        toast.info(`${plural(p.skipped_section_ids.length, 'section')} not drafted (no draft in the reply, or changed meanwhile).`);
      }
      if (p.document && done.current) done.current(p.document, ids);
    } else if (name === 'document_draft_error') {
      update(null);
      if (p.code === 'ai_cancelled') toast.info('Drafting cancelled. The document was not changed.');
      else toast.error({ code: p.code, message: `Drafting with AI failed: ${p.message}` });
    }
  };

  useEffect(() => {
    const offs = DRAFT_EVENTS.map((name) =>
      on(name, (p) => {
        if (!p || p.document_id !== documentId) return;
        const current = jobRef.current;
        if (current && !current.draft_id) {
          const list = early.current.get(p.draft_id) || [];
          list.push([name, p]);
          early.current.set(p.draft_id, list);
          return;
        }
        handle(name, p);
      }),
    );
    return () => offs.forEach((off) => off());
  }, [documentId]);

  const start = async () => {
    if (jobRef.current) return;
    update({ draft_id: null, stage: 'starting', chars: 0 });
    try {
      const res = await call('draft_document_with_ai', { document_id: documentId });
      update({ ...res, stage: 'sending', chars: 0 });
      const heard = early.current.get(res.draft_id) || [];
      early.current.clear();
      for (const [name, p] of heard) handle(name, p);
    } catch (err) {
      update(null);
      early.current.clear();
      if (err && err.code === 'ai_no_provider') loadProviders();
      toast.error(err);
    }
  };

  const cancel = async () => {
    const current = jobRef.current;
    if (!current || !current.draft_id) return;
    update({ ...current, cancelling: true });
    try {
      await call('cancel_document_draft', { draft_id: current.draft_id });
    } catch (err) {
      toast.error(err);
    }
  };

  return { provider: providers ? providers.active : null, providersLoaded: Boolean(providers), job, busyRef, start, cancel };
}

/** "Draft with AI": enabled with an active provider and sections waiting for the author. */
function DraftButton({ ai, waiting, onDraft }) {
  const busy = Boolean(ai.job);
  if (ai.providersLoaded && !ai.provider) {
    return html`<span class="doc-ai-setup" data-testid="doc-ai-setup">
      <button class="btn btn-sm" disabled title="No AI provider is set up" data-testid="doc-ai-draft">
        <${AiIcon} name="sparkle" size=${14} /> Draft with AI
      </button>
      <button class="link-btn small" onClick=${openAiSettings} data-testid="doc-ai-setup-link"
        title="Add a provider in Settings → AI providers">Set up in Settings → AI providers</button>
    </span>`;
  }
  const title = !ai.provider
    ? 'Checking the AI provider…'
    : busy
      ? 'A draft is being written'
      : waiting
        ? `Draft the ${plural(waiting, 'section')} waiting for your words with ${ai.provider.name} (${ai.provider.model})`
        : 'No section is waiting for your words';
  return html`<button class="btn btn-sm" disabled=${!ai.provider || busy || !waiting} onClick=${onDraft}
      title=${title} data-testid="doc-ai-draft">
    ${busy ? html`<span class="spinner sm" aria-hidden="true"></span>` : html`<${AiIcon} name="sparkle" size=${14} />`} Draft with AI
  </button>`;
}

// ---------------------------------------------------------------- screenshots
const imageInfo = new Map(); // image id -> promise of the image's listing (or its failure)

function lookupImage(imageId) {
  if (!imageInfo.has(imageId)) {
    const found = call('get_image_attachment', { image_id: imageId });
    found.catch(() => imageInfo.delete(imageId)); // try again on the next preview
    imageInfo.set(imageId, found);
  }
  return imageInfo.get(imageId);
}

/** Replace screenshot reference paragraphs in the preview by the images themselves. */
function showScreenshots(root, issueId) {
  for (const p of root.querySelectorAll('p')) {
    const m = SCREENSHOT_LINE.exec((p.textContent || '').trim());
    if (!m) continue;
    const figure = document.createElement('figure');
    figure.className = 'doc-shot';
    figure.setAttribute('data-testid', 'doc-preview-screenshot');
    const img = document.createElement('img');
    img.alt = m[1];
    const caption = document.createElement('figcaption');
    caption.textContent = m[1];
    figure.append(img, caption);
    p.replaceWith(figure);
    lookupImage(m[2].toLowerCase())
      .then((image) => {
        if (image.issue_id !== issueId) throw new Error('another incident');
        return signedUrl(image.thumbnail_url.replace(/s=\d+$/, 's=512'));
      })
      .then((url) => {
        img.src = url;
      })
      .catch(() => {
        caption.textContent = `${m[1]} — this image is not attached to this incident (it will not be exported)`;
        figure.classList.add('missing');
      });
  }
}

function ScreenshotPicker({ issueId, onClose }) {
  const [images, setImages] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    call('list_image_attachments', { issue_id: issueId }).then(setImages).catch(setError);
  }, [issueId]);
  return html`<${Modal} title="Insert a screenshot" size="md" testid="screenshot-picker" onClose=${() => onClose(null)}
      footer=${html`<button class="btn" onClick=${() => onClose(null)}>Cancel</button>`}>
    ${error
      ? html`<p class="form-error">${errorMessage(error)}</p>`
      : images === null
        ? html`<${Spinner} label="Loading screenshots…" />`
        : !images.length
          ? html`<p class="dialog-text" data-testid="screenshot-none">No screenshots are attached to this incident yet.
              Attach them on the <a href=${issueHref(issueId, 'evidence')} onClick=${() => onClose(null)}>Evidence</a> tab.</p>`
          : html`<p class="dialog-text subtle">The image is shown in the preview and in HTML and PDF exports.</p>
              <ul class="shot-grid">
                ${images.map((im) => html`<li key=${im.id}>
                  <button class="shot-pick" onClick=${() => onClose(im)} data-testid="screenshot-option" title=${im.file_name}>
                    <${SignedImg} src=${im.thumbnail_url} alt="" />
                    <span class="shot-name">${im.file_name}</span>
                  </button>
                </li>`)}
              </ul>`}
  <//>`;
}
