// Shared UI pieces: store, toasts, dialogs, form controls, badges.
// Everything renders data as text children; nothing here touches innerHTML.

import {
  html,
  useState,
  useEffect,
  useLayoutEffect,
  useRef,
  useCallback,
} from '../vendor/htm-preact/standalone.module.js';
import { Icon } from './icons.js';
import { errorMessage } from './commands.js';
import { SEVERITY_LABEL, STATUS_LABEL, splitMarks } from './format.js';

export { html };

// ---------------------------------------------------------------- tiny store
export function createStore(initial) {
  let state = initial;
  const subs = new Set();
  return {
    get: () => state,
    set(next) {
      state = typeof next === 'function' ? next(state) : next;
      subs.forEach((fn) => fn(state));
    },
    subscribe(fn) {
      subs.add(fn);
      return () => subs.delete(fn);
    },
  };
}

export function useStore(store) {
  const [state, setState] = useState(store.get());
  useEffect(() => store.subscribe(setState), [store]);
  return state;
}

let uidCounter = 0;
export function useUid(prefix = 'uid') {
  const ref = useRef(null);
  if (ref.current === null) ref.current = `${prefix}-${++uidCounter}`;
  return ref.current;
}

// ---------------------------------------------------------------- toasts
// At most three at a time; the same message again is counted ("×3") on the toast already
// showing instead of stacking another, and the older of two successes gives way.
const toastStore = createStore([]);
const toastTimers = new Map();
const MAX_TOASTS = 3;
let toastSeq = 0;

function pushToast(kind, message, timeout) {
  const text = String(message);
  const same = toastStore.get().find((t) => t.kind === kind && t.message === text);
  const id = same ? same.id : ++toastSeq;
  if (same) {
    toastStore.set((list) => list.map((t) => (t.id === id ? { ...t, count: t.count + 1 } : t)));
  } else {
    toastStore.set((list) => {
      let kept = kind === 'success' ? list.filter((t) => t.kind !== 'success') : list;
      kept = kept.slice(-(MAX_TOASTS - 1));
      for (const t of list) if (!kept.includes(t)) clearTimeout(toastTimers.get(t.id));
      return [...kept, { id, kind, message: text, count: 1 }];
    });
  }
  clearTimeout(toastTimers.get(id));
  toastTimers.set(id, setTimeout(() => dismissToast(id), timeout));
  return id;
}
export function dismissToast(id) {
  clearTimeout(toastTimers.get(id));
  toastTimers.delete(id);
  toastStore.set((list) => list.filter((t) => t.id !== id));
}
export const toast = {
  success: (msg) => pushToast('success', msg, 2800),
  info: (msg) => pushToast('info', msg, 4000),
  error: (errOrMsg) => pushToast('error', errorMessage(errOrMsg), 7000),
};

export function Toaster() {
  const list = useStore(toastStore);
  return html`
    <div class="toasts" role="status" aria-live="polite" data-testid="toasts">
      ${list.map(
        (t) => html`
          <div class="toast toast-${t.kind}" key=${t.id} data-testid=${'toast-' + t.kind}
               role=${t.kind === 'error' ? 'alert' : undefined}>
            <${Icon} name=${t.kind === 'error' ? 'alert' : t.kind === 'success' ? 'check' : 'info'} />
            <span class="toast-msg">${t.message}</span>
            ${t.count > 1 ? html`<span class="toast-count" data-testid="toast-count" title=${`${t.count} times`}>×${t.count}</span>` : null}
            <button class="icon-btn toast-close" aria-label="Dismiss" onClick=${() => dismissToast(t.id)}>
              <${Icon} name="x" size=${14} />
            </button>
          </div>
        `,
      )}
    </div>
  `;
}

// ---------------------------------------------------------------- dialogs
const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), ' +
  'textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

const modalStack = [];

/** Escape closes the topmost dialog, wherever focus is. */
document.addEventListener('keydown', (e) => {
  if (e.key !== 'Escape' || !modalStack.length) return;
  const top = modalStack[modalStack.length - 1];
  e.preventDefault();
  e.stopPropagation();
  top.close();
});

export function Modal({ title, onClose, children, footer, testid, size = 'md', labelId, className = '', hideHeader = false }) {
  const ref = useRef(null);
  const autoId = useUid('dlg');
  const titleId = labelId || autoId;
  const closeRef = useRef(onClose);
  closeRef.current = onClose;

  // Layout effect: focus lands in the dialog before the next key event is handled.
  useLayoutEffect(() => {
    const entry = { close: () => closeRef.current && closeRef.current() };
    modalStack.push(entry);
    const prev = document.activeElement;
    const el = ref.current;
    const target = el && (el.querySelector('[data-autofocus]') || el.querySelector(FOCUSABLE) || el);
    if (target) target.focus();
    return () => {
      const i = modalStack.indexOf(entry);
      if (i >= 0) modalStack.splice(i, 1);
      if (prev && typeof prev.focus === 'function' && document.contains(prev)) prev.focus();
    };
  }, []);

  const onKeyDown = (e) => {
    if (e.key !== 'Tab') return;
    const nodes = [...ref.current.querySelectorAll(FOCUSABLE)].filter((n) => n.offsetParent !== null);
    if (!nodes.length) return;
    const first = nodes[0];
    const last = nodes[nodes.length - 1];
    if (e.shiftKey && document.activeElement === first) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && document.activeElement === last) {
      e.preventDefault();
      first.focus();
    }
  };

  return html`
    <div class="modal-backdrop" onMouseDown=${(e) => e.target === e.currentTarget && onClose && onClose()}>
      <div class=${`modal modal-${size} ${className}`} role="dialog" aria-modal="true" aria-labelledby=${titleId}
           tabIndex="-1" ref=${ref} data-testid=${testid} onKeyDown=${onKeyDown}>
        ${hideHeader
          ? html`<h2 id=${titleId} class="sr-only">${title}</h2>`
          : html`<div class="modal-head">
              <h2 id=${titleId}>${title}</h2>
              <button class="icon-btn" aria-label="Close" onClick=${onClose} data-testid="dialog-close">
                <${Icon} name="x" />
              </button>
            </div>`}
        <div class="modal-body">${children}</div>
        ${footer ? html`<div class="modal-foot">${footer}</div>` : null}
      </div>
    </div>
  `;
}

const dialogStore = createStore([]);
let dialogSeq = 0;

/** Open a dialog rendered by render(close); returns a promise of the close value. */
export function openDialog(render) {
  return new Promise((resolve) => {
    const id = ++dialogSeq;
    const close = (value) => {
      dialogStore.set((list) => list.filter((d) => d.id !== id));
      resolve(value);
    };
    dialogStore.set((list) => [...list, { id, render: () => render(close) }]);
  });
}

export function DialogHost() {
  const list = useStore(dialogStore);
  return list.map((d) => html`<${DialogSlot} key=${d.id} render=${d.render} />`);
}
function DialogSlot({ render }) {
  return render();
}

/** Confirm with a dialog. Resolves true/false. */
export function confirmDialog({ title, message, confirmLabel = 'Confirm', danger = false }) {
  return openDialog((close) =>
    html`<${Modal}
      title=${title}
      size="sm"
      testid="confirm-dialog"
      onClose=${() => close(false)}
      footer=${html`
        <button class="btn" onClick=${() => close(false)} data-testid="confirm-cancel"
                data-autofocus=${danger ? true : undefined}>Cancel</button>
        <button class=${'btn ' + (danger ? 'btn-danger' : 'btn-primary')} data-autofocus=${danger ? undefined : true}
                onClick=${() => close(true)} data-testid="confirm-ok">${confirmLabel}</button>
      `}
    >
      <p class="dialog-text">${message}</p>
    <//>`,
  );
}

// ---------------------------------------------------------------- controls
export function Spinner({ label = 'Loading…', inline = false }) {
  return html`<span class=${inline ? 'spinner-inline' : 'spinner-wrap'} role="status" aria-live="polite">
    <span class="spinner" aria-hidden="true"></span>
    ${inline ? null : html`<span class="spinner-label">${label}</span>`}
    ${inline ? html`<span class="sr-only">${label}</span>` : null}
  </span>`;
}

export function Skeleton({ lines = 3 }) {
  return html`<div class="skeleton" aria-hidden="true">
    ${Array.from({ length: lines }, (_, i) => html`<div class="skeleton-line" key=${i}></div>`)}
  </div>`;
}

export function EmptyState({ icon = 'info', title, children, action, testid }) {
  return html`<div class="empty" data-testid=${testid}>
    <div class="empty-icon"><${Icon} name=${icon} size=${28} /></div>
    <h3>${title}</h3>
    ${children ? html`<p>${children}</p>` : null}
    ${action || null}
  </div>`;
}

export function ErrorState({ error, onRetry }) {
  return html`<div class="empty empty-error" role="alert" data-testid="error-state">
    <div class="empty-icon"><${Icon} name="alert" size=${28} /></div>
    <h3>Could not load this</h3>
    <p>${errorMessage(error)}</p>
    ${onRetry ? html`<button class="btn" onClick=${onRetry}>Try again</button>` : null}
  </div>`;
}

export function SeverityBadge({ value }) {
  return html`<span class=${'badge sev sev-' + value} data-testid="severity-badge">
    <span class="dot" aria-hidden="true"></span>${SEVERITY_LABEL[value] || value}
  </span>`;
}

export function StatusBadge({ value }) {
  return html`<span class=${'badge status status-' + value} data-testid="status-badge">${STATUS_LABEL[value] || value}</span>`;
}

export function Tag({ children }) {
  return html`<span class="tag">${children}</span>`;
}

/** Render U+E000/U+E001 marked text as text nodes and <mark> elements. */
export function Highlighted({ text }) {
  return splitMarks(text).map((seg, i) => (seg.hit ? html`<mark key=${i}>${seg.text}</mark>` : seg.text));
}

/** A radio-group styled as a segmented control. */
export function Segmented({ options, value, onChange, label, testid, disabled = false, size = '' }) {
  const refs = useRef([]);
  const idx = Math.max(0, options.findIndex((o) => o.value === value));
  const onKeyDown = (e) => {
    let next = null;
    if (e.key === 'ArrowRight' || e.key === 'ArrowDown') next = (idx + 1) % options.length;
    if (e.key === 'ArrowLeft' || e.key === 'ArrowUp') next = (idx - 1 + options.length) % options.length;
    if (next === null) return;
    e.preventDefault();
    onChange(options[next].value);
    const btn = refs.current[next];
    if (btn) btn.focus();
  };
  return html`<div class=${'segmented ' + size} role="radiogroup" aria-label=${label} data-testid=${testid} onKeyDown=${onKeyDown}>
    ${options.map(
      (o, i) => html`<button type="button" key=${o.value} role="radio"
          ref=${(el) => (refs.current[i] = el)}
          aria-checked=${o.value === value ? 'true' : 'false'}
          tabIndex=${i === idx ? 0 : -1}
          disabled=${disabled}
          class=${'seg ' + (o.value === value ? 'on ' : '') + (o.className || '')}
          data-testid=${testid ? `${testid}-${o.value}` : undefined}
          onClick=${() => onChange(o.value)}>${o.label}</button>`,
    )}
  </div>`;
}

export function Switch({ checked, onChange, label, testid, disabled = false, id }) {
  return html`<button type="button" role="switch" id=${id} aria-checked=${checked ? 'true' : 'false'}
      aria-label=${label} disabled=${disabled}
      class=${'switch' + (checked ? ' on' : '')} data-testid=${testid}
      onClick=${() => onChange(!checked)}>
    <span class="switch-knob" aria-hidden="true"></span>
  </button>`;
}

/** Tags input: Enter or comma adds, Backspace on empty removes the last chip. */
export function ChipInput({ value = [], onChange, placeholder = 'Add tag…', testid, maxItems = 20, maxLen = 50, id, onError }) {
  const [draft, setDraft] = useState('');
  const inputRef = useRef(null);

  const add = useCallback(
    (raw) => {
      const parts = String(raw)
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      if (!parts.length) return;
      let next = [...value];
      for (const p of parts) {
        if (p.length > maxLen) {
          onError && onError(`A tag can be at most ${maxLen} characters.`);
          continue;
        }
        if (next.length >= maxItems) {
          onError && onError(`At most ${maxItems} tags.`);
          break;
        }
        if (!next.some((t) => t.toLowerCase() === p.toLowerCase())) next.push(p);
      }
      onChange(next);
      setDraft('');
    },
    [value, onChange, maxItems, maxLen, onError],
  );

  const onKeyDown = (e) => {
    if (e.key === 'Enter' || e.key === ',') {
      e.preventDefault();
      add(draft);
    } else if (e.key === 'Backspace' && draft === '' && value.length) {
      e.preventDefault();
      onChange(value.slice(0, -1));
    }
  };
  const onInput = (e) => {
    const v = e.currentTarget.value;
    if (v.includes(',')) add(v);
    else setDraft(v);
  };

  return html`<div class="chip-input" data-testid=${testid} onClick=${() => inputRef.current && inputRef.current.focus()}>
    ${value.map(
      (t, i) => html`<span class="chip" key=${t} data-testid="tag-chip">
        <span class="chip-text">${t}</span>
        <button type="button" class="chip-x" aria-label=${'Remove tag ' + t}
          onClick=${(e) => {
            e.stopPropagation();
            onChange(value.filter((_, j) => j !== i));
          }}><${Icon} name="x" size=${11} /></button>
      </span>`,
    )}
    <input ref=${inputRef} id=${id} class="chip-field" value=${draft} placeholder=${value.length ? '' : placeholder}
      onInput=${onInput} onKeyDown=${onKeyDown} onBlur=${() => draft.trim() && add(draft)}
      aria-label="Tags" data-testid=${testid ? testid + '-field' : undefined} maxLength=${maxLen + 1} />
  </div>`;
}

export function Field({ label, htmlFor, error, hint, children, required = false, testid }) {
  return html`<div class=${'field' + (error ? ' has-error' : '')}>
    ${label ? html`<label class="field-label" for=${htmlFor}>${label}${required ? html`<span class="req" aria-hidden="true"> *</span>` : null}</label>` : null}
    ${children}
    ${error
      ? html`<div class="field-error" role="alert" data-testid=${testid ? testid + '-error' : 'field-error'}>${error}</div>`
      : hint
        ? html`<div class="field-hint">${hint}</div>`
        : null}
  </div>`;
}

/** Run an async action with a busy flag and an error toast. */
export function useBusy() {
  const [busy, setBusy] = useState(false);
  const run = useCallback(async (fn) => {
    setBusy(true);
    try {
      return await fn();
    } catch (err) {
      toast.error(err);
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return [busy, run];
}

/** Width of an element, tracked with ResizeObserver. */
export function useWidth(ref) {
  const [w, setW] = useState(0);
  useEffect(() => {
    const el = ref.current;
    if (!el) return undefined;
    setW(el.clientWidth);
    if (typeof ResizeObserver === 'undefined') return undefined;
    const ro = new ResizeObserver((entries) => {
      for (const en of entries) setW(Math.floor(en.contentRect.width));
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, [ref.current]);
  return w;
}

export function useDebounced(value, ms) {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}
