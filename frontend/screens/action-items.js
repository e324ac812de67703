// Action items: the follow-up work an incident produces (owner, due date, status, kind).
//
// ActionItemsPanel edits one incident's items inline (Documents tab → Action items);
// ActionItemsCard lists open items across incidents on the dashboard, overdue first.

import { html, useState, useEffect, useRef, useCallback, useLayoutEffect } from '../vendor/htm-preact/standalone.module.js';
import { call } from '../lib/commands.js';
import { on } from '../lib/events.js';
import { Icon } from '../lib/icons.js';
import { toast, Skeleton, ErrorState, SeverityBadge, useUid } from '../lib/ui.js';
import { navigate, issueHref } from '../lib/state.js';
import { formatDay, plural } from '../lib/format.js';
import { confirmDelete } from '../lib/confirm.js';
import { PushActionItems, WorkItemLink, useIntegrationLinks } from './integrations.js';

export const ACTION_KINDS = [
  { value: 'immediate', label: 'Immediate' },
  { value: 'long_term', label: 'Long-term' },
  { value: 'preventive', label: 'Preventive' },
];
export const ACTION_STATUSES = [
  { value: 'open', label: 'Open' },
  { value: 'in_progress', label: 'In progress' },
  { value: 'done', label: 'Done' },
  { value: 'cancelled', label: 'Cancelled' },
];
const KIND_LABEL = Object.fromEntries(ACTION_KINDS.map((k) => [k.value, k.label]));
const STATUS_LABEL = Object.fromEntries(ACTION_STATUSES.map((s) => [s.value, s.label]));
const CLOSED = new Set(['done', 'cancelled']);


/** "Due Mar 4, 2025" style label for a YYYY-MM-DD date. */
function dueLabel(day) {
  return day ? formatDay(day, { withYear: true }) : '';
}

/** Whole days from today (UTC) to a YYYY-MM-DD date; negative when it is past. */
function daysUntil(day) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day || '');
  if (!m) return null;
  const now = new Date();
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return Math.round((Date.UTC(+m[1], +m[2] - 1, +m[3]) - today) / 86400000);
}

function dueHint(item) {
  const d = daysUntil(item.due_date);
  if (d === null || CLOSED.has(item.status)) return '';
  if (item.overdue || d < 0) return `${plural(-d, 'day')} late`;
  if (d === 0) return 'due today';
  if (d === 1) return 'due tomorrow';
  return `in ${plural(d, 'day')}`;
}

export function OverdueBadge() {
  return html`<span class="badge ai-overdue" data-testid="action-item-overdue">
    <${Icon} name="clock" size=${11} /> Overdue
  </span>`;
}

// ---------------------------------------------------------------- incident panel
/**
 * One incident's action items with inline add, edit, status change and delete.
 * @param {{issue: object, items: object[], reload: () => void}} props
 */
export function ActionItemsPanel({ issue, items: fromServer, reload }) {
  const [items, setItems] = useState(fromServer || []);
  const [editing, setEditing] = useState(null);
  const [busyId, setBusyId] = useState(null);
  const [links] = useIntegrationLinks(issue.id);

  useEffect(() => setItems(fromServer || []), [fromServer]);

  const replace = (item) => setItems((cur) => cur.map((x) => (x.id === item.id ? item : x)));

  const update = async (item, changes, message) => {
    setBusyId(item.id);
    try {
      const res = await call('update_action_item', { action_item_id: item.id, ...changes });
      replace(res);
      if (message) toast.success(message);
      reload();
      return res;
    } catch (err) {
      toast.error(err);
      return null;
    } finally {
      setBusyId(null);
    }
  };

  const remove = async (item) => {
    const ok = await confirmDelete({
      title: 'Delete this action item?',
      message: item.title,
      confirmLabel: 'Delete',
    });
    if (!ok) return;
    setBusyId(item.id);
    try {
      await call('delete_action_item', { action_item_id: item.id });
      setItems((cur) => cur.filter((x) => x.id !== item.id));
      toast.success('Action item deleted');
      reload();
    } catch (err) {
      toast.error(err);
    } finally {
      setBusyId(null);
    }
  };

  const add = async (fields) => {
    try {
      const res = await call('create_action_item', { issue_id: issue.id, ...fields });
      setItems((cur) => [...cur, res]);
      toast.success('Action item added');
      reload();
      return true;
    } catch (err) {
      toast.error(err);
      return false;
    }
  };

  const open = items.filter((i) => !CLOSED.has(i.status)).length;
  const overdue = items.filter((i) => i.overdue).length;

  return html`<div class="ai-panel" data-testid="action-items">
    <div class="ai-head">
      <div>
        <h2 class="doc-h">Action items</h2>
        <p class="subtle">
          ${items.length
            ? [
                plural(open, 'open item'),
                overdue ? [' · ', html`<span class="ai-overdue-text">${overdue} overdue</span>`] : null,
                ` · ${items.length} in total. Regenerate the post-mortem to bring changes into its Action items section.`,
              ]
            : 'What will stop this from happening again? Give each item an owner and a due date.'}
        </p>
      </div>
      <${PushActionItems} issue=${issue} count=${items.length} />
    </div>

    <${NewActionItem} onAdd=${add} />

    ${items.length
      ? html`<ul class="ai-list card" aria-label="Action items">
          ${items.map((item) =>
            editing === item.id
              ? html`<li key=${item.id} class="ai-row editing" data-testid="action-item" data-item-id=${item.id}>
                  <${ActionItemForm} item=${item} busy=${busyId === item.id}
                    onCancel=${() => setEditing(null)}
                    onSave=${async (changes) => {
                      const res = await update(item, changes, 'Action item saved');
                      if (res) setEditing(null);
                    }} />
                </li>`
              : html`<${ActionItemRow} key=${item.id} item=${item} busy=${busyId === item.id} links=${links}
                  onStatus=${(status) => update(item, { status })}
                  onEdit=${() => setEditing(item.id)} onDelete=${() => remove(item)} />`,
          )}
        </ul>`
      : html`<div class="empty slim" data-testid="action-items-empty"><p>No action items yet.</p></div>`}
  </div>`;
}

function ActionItemRow({ item, busy, links, onStatus, onEdit, onDelete }) {
  const closed = CLOSED.has(item.status);
  const hint = dueHint(item);
  return html`<li class=${'ai-row' + (closed ? ' closed' : '') + (item.overdue ? ' overdue' : '')}
      data-testid="action-item" data-item-id=${item.id} data-status=${item.status}
      data-overdue=${item.overdue ? 'true' : 'false'}>
    <button class=${'ai-check' + (item.status === 'done' ? ' on' : '')} disabled=${busy}
      aria-pressed=${item.status === 'done' ? 'true' : 'false'}
      aria-label=${item.status === 'done' ? `Reopen “${item.title}”` : `Mark “${item.title}” done`}
      title=${item.status === 'done' ? 'Reopen' : 'Mark done'}
      onClick=${() => onStatus(item.status === 'done' ? 'open' : 'done')} data-testid="action-item-done">
      <${Icon} name="check" size=${12} />
    </button>
    <div class="ai-main">
      <div class="ai-title-row">
        <span class="ai-title" data-testid="action-item-title">${item.title}</span>
        ${item.overdue ? html`<${OverdueBadge} />` : null}
      </div>
      <div class="ai-meta">
        <span class=${'ai-kind kind-' + item.kind} data-testid="action-item-kind">${KIND_LABEL[item.kind] || item.kind}</span>
        <span class=${'ai-owner' + (item.owner ? '' : ' none')} data-testid="action-item-owner">
          <${Icon} name="users" size=${12} /> ${item.owner || 'No owner'}
        </span>
        <span class=${'ai-due' + (item.due_date ? '' : ' none') + (item.overdue ? ' late' : '')} data-testid="action-item-due">
          <${Icon} name="clock" size=${12} />
          ${item.due_date ? html`${dueLabel(item.due_date)}${hint ? html`<span class="ai-due-hint"> · ${hint}</span>` : null}` : 'No due date'}
        </span>
        <span class="ai-work-item"><${WorkItemLink} links=${links} itemId=${item.id} /></span>
      </div>
      ${item.notes ? html`<p class="ai-notes pre">${item.notes}</p>` : null}
    </div>
    <select class=${'input ai-status st-' + item.status} value=${item.status} disabled=${busy}
      aria-label=${'Status of “' + item.title + '”'} data-testid="action-item-status"
      onChange=${(e) => onStatus(e.currentTarget.value)}>
      ${ACTION_STATUSES.map((s) => html`<option key=${s.value} value=${s.value}>${s.label}</option>`)}
    </select>
    <div class="ai-actions">
      <button class="icon-btn" aria-label=${'Edit “' + item.title + '”'} title="Edit" disabled=${busy}
        onClick=${onEdit} data-testid="action-item-edit"><${Icon} name="edit" /></button>
      <button class="icon-btn danger" aria-label=${'Delete “' + item.title + '”'} title="Delete" disabled=${busy}
        onClick=${onDelete} data-testid="action-item-delete"><${Icon} name="trash" /></button>
    </div>
  </li>`;
}

/** Quick add: title, kind, owner and due date on one line; Enter adds. */
function NewActionItem({ onAdd }) {
  const [title, setTitle] = useState('');
  const [kind, setKind] = useState('immediate');
  const [owner, setOwner] = useState('');
  const [due, setDue] = useState('');
  const [err, setErr] = useState('');
  const [busy, setBusy] = useState(false);
  const titleRef = useRef(null);
  const ids = { t: useUid('ait'), k: useUid('aik'), o: useUid('aio'), d: useUid('aid') };

  const submit = async (e) => {
    e.preventDefault();
    const t = title.trim();
    if (!t) {
      setErr('What needs to be done?');
      if (titleRef.current) titleRef.current.focus();
      return;
    }
    if (t.length > 300) return setErr('Keep the title under 300 characters.');
    setErr('');
    setBusy(true);
    const ok = await onAdd({ title: t, kind, owner: owner.trim() || undefined, due_date: due || undefined });
    setBusy(false);
    if (ok) {
      setTitle('');
      setOwner('');
      setDue('');
      if (titleRef.current) titleRef.current.focus();
    }
  };

  return html`<form class="card ai-new" onSubmit=${submit} data-testid="action-new-form" aria-label="Add an action item">
    <div class="ai-new-grid">
      <div class="field ai-new-title">
        <label class="field-label" for=${ids.t}>New action item</label>
        <input id=${ids.t} ref=${titleRef} class="input" value=${title} maxLength="320"
          placeholder="e.g. Alert when the DB pool is above 80 %"
          aria-invalid=${err ? 'true' : undefined}
          onInput=${(e) => { setTitle(e.currentTarget.value); setErr(''); }} data-testid="action-new-title" />
      </div>
      <div class="field">
        <label class="field-label" for=${ids.k}>Kind</label>
        <select id=${ids.k} class="input" value=${kind} onChange=${(e) => setKind(e.currentTarget.value)} data-testid="action-new-kind">
          ${ACTION_KINDS.map((k) => html`<option key=${k.value} value=${k.value}>${k.label}</option>`)}
        </select>
      </div>
      <div class="field">
        <label class="field-label" for=${ids.o}>Owner</label>
        <input id=${ids.o} class="input" value=${owner} maxLength="200" placeholder="Name or team"
          onInput=${(e) => setOwner(e.currentTarget.value)} data-testid="action-new-owner" />
      </div>
      <div class="field">
        <label class="field-label" for=${ids.d}>Due</label>
        <input id=${ids.d} type="date" class="input" value=${due} onInput=${(e) => setDue(e.currentTarget.value)}
          data-testid="action-new-due" />
      </div>
      <button type="submit" class="btn btn-primary ai-new-add" disabled=${busy} data-testid="action-new-add">
        <${Icon} name="plus" /> Add
      </button>
    </div>
    ${err ? html`<div class="field-error" role="alert" data-testid="action-new-error">${err}</div>` : null}
  </form>`;
}

/** Edit-in-place form for one item; only changed fields are sent. */
function ActionItemForm({ item, busy, onSave, onCancel }) {
  const [f, setF] = useState({
    title: item.title,
    kind: item.kind,
    status: item.status,
    owner: item.owner || '',
    due_date: item.due_date || '',
    notes: item.notes || '',
  });
  const [err, setErr] = useState('');
  const titleRef = useRef(null);
  const ids = { t: useUid('aet'), k: useUid('aek'), s: useUid('aes'), o: useUid('aeo'), d: useUid('aed'), n: useUid('aen') };
  useLayoutEffect(() => {
    if (titleRef.current) titleRef.current.focus();
  }, []);
  const set = (k) => (e) => setF({ ...f, [k]: e.currentTarget.value });

  const submit = (e) => {
    e.preventDefault();
    const title = f.title.trim();
    if (!title) return setErr('The title cannot be empty.');
    if (title.length > 300) return setErr('Keep the title under 300 characters.');
    const changes = {};
    if (title !== item.title) changes.title = title;
    for (const k of ['kind', 'status']) if (f[k] !== item[k]) changes[k] = f[k];
    for (const k of ['owner', 'due_date', 'notes']) {
      const v = k === 'notes' ? f[k] : f[k].trim();
      if (v !== (item[k] || '')) changes[k] = v; // "" clears the field
    }
    if (!Object.keys(changes).length) return onCancel();
    return onSave(changes);
  };
  const onKeyDown = (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) submit(e);
    if (e.key === 'Escape') {
      e.stopPropagation();
      onCancel();
    }
  };

  return html`<form class="ai-edit" onSubmit=${submit} onKeyDown=${onKeyDown} data-testid="action-edit-form">
    <div class="field">
      <label class="field-label" for=${ids.t}>Title</label>
      <input id=${ids.t} ref=${titleRef} class="input" value=${f.title} maxLength="320" onInput=${set('title')}
        aria-invalid=${err ? 'true' : undefined} data-testid="action-edit-title" />
      ${err ? html`<div class="field-error" role="alert">${err}</div>` : null}
    </div>
    <div class="ai-edit-grid">
      <div class="field">
        <label class="field-label" for=${ids.k}>Kind</label>
        <select id=${ids.k} class="input" value=${f.kind} onChange=${set('kind')} data-testid="action-edit-kind">
          ${ACTION_KINDS.map((k) => html`<option key=${k.value} value=${k.value}>${k.label}</option>`)}
        </select>
      </div>
      <div class="field">
        <label class="field-label" for=${ids.s}>Status</label>
        <select id=${ids.s} class="input" value=${f.status} onChange=${set('status')} data-testid="action-edit-status">
          ${ACTION_STATUSES.map((s) => html`<option key=${s.value} value=${s.value}>${s.label}</option>`)}
        </select>
      </div>
      <div class="field">
        <label class="field-label" for=${ids.o}>Owner</label>
        <input id=${ids.o} class="input" value=${f.owner} maxLength="200" onInput=${set('owner')} data-testid="action-edit-owner" />
      </div>
      <div class="field">
        <label class="field-label" for=${ids.d}>Due</label>
        <input id=${ids.d} type="date" class="input" value=${f.due_date} onInput=${set('due_date')} data-testid="action-edit-due" />
      </div>
    </div>
    <div class="field">
      <label class="field-label" for=${ids.n}>Notes</label>
      <textarea id=${ids.n} class="input" rows="2" maxLength="5000" value=${f.notes} onInput=${set('notes')}
        placeholder="Links to tickets, context, acceptance criteria…" data-testid="action-edit-notes"></textarea>
    </div>
    <div class="form-actions">
      <button type="button" class="btn" onClick=${onCancel} data-testid="action-edit-cancel">Cancel</button>
      <button type="submit" class="btn btn-primary" disabled=${busy} data-testid="action-edit-save">
        <${Icon} name="check" /> Save
      </button>
    </div>
  </form>`;
}

// ---------------------------------------------------------------- dashboard card
const CARD_LIMIT = 8;

/** Open and in-progress action items across all incidents, overdue first. */
export function ActionItemsCard() {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const seq = useRef(0);

  const load = useCallback(() => {
    const n = ++seq.current;
    call('list_all_action_items', { limit: CARD_LIMIT })
      .then((d) => {
        if (n !== seq.current) return;
        setData(d);
        setError(null);
      })
      .catch((e) => n === seq.current && setError(e));
  }, []);

  useEffect(load, [load]);
  useEffect(() => {
    const offA = on('action_items_changed', load);
    const offB = on('issue_changed', load);
    return () => {
      offA();
      offB();
    };
  }, [load]);

  const items = data ? data.items || [] : [];
  const total = data ? data.total || 0 : 0;
  const overdue = data ? data.overdue || 0 : 0;

  return html`<section class="card ai-card" aria-labelledby="ai-card-h" data-testid="dashboard-actions">
    <div class="card-head">
      <h2 class="card-title" id="ai-card-h">Action items</h2>
      ${data
        ? html`<span class="subtle">
            ${plural(total, 'open item')}${overdue ? ' · ' : null}${overdue
              ? html`<span class="ai-overdue-text" data-testid="dashboard-actions-overdue">${overdue} overdue</span>`
              : null}
          </span>`
        : null}
    </div>
    ${error
      ? html`<${ErrorState} error=${error} onRetry=${load} />`
      : !data
        ? html`<${Skeleton} lines=${3} />`
        : !items.length
          ? html`<p class="subtle pad" data-testid="dashboard-actions-empty">
              No open action items. Add them to an incident from its Documents tab.
            </p>`
          : html`<ul class="ai-card-list">
              ${items.map(
                (it) => html`<li key=${it.id}>
                  <button class=${'ai-card-row' + (it.overdue ? ' overdue' : '')} data-testid="dashboard-action-item"
                    data-overdue=${it.overdue ? 'true' : 'false'}
                    onClick=${() => navigate(issueHref(it.issue_id, 'documents/actions'))}>
                    <span class=${'ai-card-status st-' + it.status} title=${STATUS_LABEL[it.status] || it.status} aria-hidden="true"></span>
                    <span class="ai-card-main">
                      <span class="ai-card-title">
                        <span class="ai-card-text">${it.title}</span>
                        ${it.overdue ? html`<${OverdueBadge} />` : null}
                      </span>
                      <span class="ai-card-sub">
                        ${it.issue_severity ? html`<${SeverityBadge} value=${it.issue_severity} />` : null}
                        <span class="ai-card-issue">${it.issue_title || 'Untitled incident'}</span>
                      </span>
                    </span>
                    <span class="ai-card-side">
                      <span class=${'ai-card-due' + (it.overdue ? ' late' : '')}>${it.due_date ? dueLabel(it.due_date) : 'No due date'}</span>
                      <span class="ai-card-owner">${it.owner || 'No owner'} · ${KIND_LABEL[it.kind] || it.kind}</span>
                    </span>
                  </button>
                </li>`,
              )}
            </ul>
            ${total > items.length ? html`<p class="subtle small ai-card-more">${plural(total - items.length, 'more item')} not shown.</p>` : null}`}
  </section>`;
}
