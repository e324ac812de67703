import { html, useState, useEffect, useLayoutEffect, useRef, useCallback } from '../vendor/htm-preact/standalone.module.js';
import { api, call } from '../lib/commands.js';
import { on } from '../lib/events.js';
import { Icon, EVENT_ICON } from '../lib/icons.js';
import {
  Modal, openDialog, toast, Spinner, ErrorState, SeverityBadge, StatusBadge,
  Segmented, ChipInput, Field, useUid, Tag,
} from '../lib/ui.js';
import { useApp, navigate, parseHash, issueHref, domainLabel } from '../lib/state.js';
import {
  STATUS_LABEL, formatDateTime, relativeTime, humanize, shortId, inputToUtc, nowForInput, plural,
} from '../lib/format.js';
import { SEVERITY_OPTIONS, DomainGlyph } from './new-issue.js';
import { EvidenceTab } from './evidence.js';
import { ChatTab } from './chat.js';
import { DocumentsTab } from './documents.js';
import { DiagnosticsTab } from './diagnostics.js';
import { confirmDelete } from '../lib/confirm.js';
import { IncidentIntegrationsCard, afterStatusChange } from './integrations.js';
import {
  MilestoneStrip, MilestonesDialog, MilestoneField, ZoneNote, changedMoments, inZone, ImpactPill, ResponseCard,
  RelatedIncidents, RoleLine, CharCount, useSessionDraft, PRIORITY_OPTIONS, zoneLabel, utcToInput, inputLimit,
} from './incident-record.js';

const TABS = [
  { id: 'overview', label: 'Overview' },
  { id: 'whys', label: '5 Whys' },
  { id: 'timeline', label: 'Timeline' },
  { id: 'evidence', label: 'Evidence' },
  { id: 'chat', label: 'AI triage' },
  { id: 'diagnostics', label: 'Diagnostics' },
  { id: 'documents', label: 'Documents' },
];

const MANUAL_TYPES = [
  { value: 'note', label: 'Note' },
  { value: 'impact_started', label: 'Impact began' },
  { value: 'detected', label: 'Detected / alert fired' },
  { value: 'mitigation_applied', label: 'Mitigation applied' },
  { value: 'escalated', label: 'Escalated' },
  { value: 'customer_notified', label: 'Customer notified' },
  { value: 'service_restored', label: 'Service restored' },
  { value: 'monitoring', label: 'Monitoring' },
  { value: 'other', label: 'Other' },
];

export function transitionLabel(from, to) {
  if (to === 'investigating') return from === 'open' ? 'Start investigating' : 'Reopen';
  if (to === 'resolved') return 'Mark resolved';
  if (to === 'closed') return 'Close';
  if (to === 'open') return 'Move back to open';
  return STATUS_LABEL[to] || to;
}
const TRANSITION_ICON = { investigating: 'play', resolved: 'check', closed: 'x', open: 'refresh' };


const INCIDENT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function IssueScreen({ id, tab }) {
  // An address that cannot name an incident is answered without asking the backend.
  if (!INCIDENT_ID.test(String(id || ''))) return html`<${IncidentNotFound} id=${id} />`;
  return html`<${IssueView} id=${id} tab=${tab} />`;
}

function IssueView({ id, tab }) {
  const { info } = useApp();
  const [detail, setDetail] = useState(null);
  const [error, setError] = useState(null);
  const seq = useRef(0);
  const deleted = useRef(false);
  const activeTab = TABS.some((t) => t.id === tab) ? tab : 'overview';

  const load = useCallback(() => {
    if (deleted.current) return Promise.resolve(null);
    const n = ++seq.current;
    return api
      .getIssue(id)
      .then((d) => {
        if (n === seq.current) {
          setDetail(d);
          setError(null);
        }
        return d;
      })
      .catch((e) => {
        if (n === seq.current) setError(e);
      });
  }, [id]);

  useEffect(() => {
    setDetail(null);
    setError(null);
    load();
  }, [load]);

  useEffect(
    () =>
      on('issue_changed', (p) => {
        if (!p || !p.issue_id || p.issue_id === id) load();
      }),
    [id, load],
  );

  if (error && !detail) {
    if (error.code === 'not_found' || error.code === 'invalid_argument') return html`<${IncidentNotFound} id=${id} />`;
    return html`<div class="page">
      <${ErrorState} error=${error} onRetry=${load} />
      <p class="center"><a href="#/history">Back to history</a></p>
    </div>`;
  }
  if (!detail) return html`<div class="page"><${Spinner} label="Loading incident…" /></div>`;

  const issue = detail.issue;
  const steps = [...(detail.resolution_steps || [])].sort((a, b) => a.step_order - b.step_order);
  const events = detail.timeline_events || [];

  const changeStatus = async (to) => {
    const result = await openDialog(
      (close) => html`<${StatusDialog} issue=${issue} detail=${detail} to=${to} onClose=${close} />`,
    );
    if (result) {
      toast.success(`Status changed to ${STATUS_LABEL[result.status] || result.status}`);
      load();
      afterStatusChange(issue, result.status);
    }
  };

  const editMilestones = async (focus) => {
    const result = await openDialog(
      (close) => html`<${MilestonesDialog} issue=${issue} detail=${detail} focus=${focus} onClose=${close} />`,
    );
    if (result) {
      toast.success('Milestones saved');
      load();
    }
  };

  const deleteIssue = async () => {
    const ok = await confirmDelete({
      title: 'Delete this incident?',
      message: `"${issue.title}" and its 5 Whys, timeline and log files will be deleted. The audit log keeps a record that it existed.`,
      confirmLabel: 'Delete incident',
    });
    if (!ok) return;
    try {
      deleted.current = true;
      await api.deleteIssue(issue.id);
      toast.success('Incident deleted');
      // Leave the deleted incident for History, unless the user has already gone elsewhere.
      if (parseHash().parts[1] === issue.id) navigate('/history');
    } catch (err) {
      deleted.current = false;
      toast.error(err);
    }
  };

  const selectTab = (t) => navigate(issueHref(issue.id, t === 'overview' ? '' : t));
  const onTabKey = (e) => {
    const i = TABS.findIndex((t) => t.id === activeTab);
    let n = null;
    if (e.key === 'ArrowRight') n = (i + 1) % TABS.length;
    if (e.key === 'ArrowLeft') n = (i - 1 + TABS.length) % TABS.length;
    if (n === null) return;
    e.preventDefault();
    selectTab(TABS[n].id);
    setTimeout(() => {
      const el = document.getElementById('tab-' + TABS[n].id);
      if (el) el.focus();
    }, 0);
  };
  const domain = info && info.domains ? info.domains.find((d) => d.id === issue.category) : null;
  const root = steps.find((s) => s.is_root_cause);

  return html`<div class="page issue" data-testid="issue-view" data-issue-id=${issue.id}>
    <header class="issue-head">
      <div class="crumbs"><a href="#/history">History</a><${Icon} name="right" size=${12} /><span title=${issue.id}>#${shortId(issue.id)}</span></div>
      <div class="issue-title-row">
        <h1 data-testid="issue-title">${issue.title}</h1>
        <div class="issue-head-actions">
          <button class="btn btn-ghost btn-danger-text" onClick=${deleteIssue} data-testid="issue-delete">
            <${Icon} name="trash" /> Delete
          </button>
        </div>
      </div>
      <div class="issue-meta">
        <${SeverityBadge} value=${issue.severity} />
        <${StatusBadge} value=${issue.status} />
        <span class="meta-item" data-testid="issue-domain">
          ${domain ? html`<${DomainGlyph} domain=${domain} size="xs" />` : null}${domainLabel(info, issue.category)}
        </span>
        <span class="meta-item" title=${relativeTime(issue.created_at)} data-testid="issue-created-at">
          <${Icon} name="clock" size=${13} /> Opened ${formatDateTime(issue.created_at)}
        </span>
        ${issue.resolved_at && (issue.status === 'resolved' || issue.status === 'closed')
          ? html`<span class="meta-item" title=${relativeTime(issue.resolved_at)} data-testid="issue-resolved-at">
              <${Icon} name="check" size=${13} /> Resolved ${formatDateTime(issue.resolved_at)}
            </span>`
          : null}
        <${ImpactPill} detail=${detail} />
        <${RoleLine} issue=${issue} />
        ${(issue.tags || []).map((t) => html`<${Tag} key=${t}>${t}<//>`)}
      </div>
      <${MilestoneStrip} detail=${detail} onEdit=${editMilestones} />
      <div class="status-actions" data-testid="status-actions">
        ${(detail.allowed_transitions || []).map(
          (to) => html`<button key=${to}
              class=${'btn ' + ((issue.status === 'open' && to === 'investigating') || (issue.status === 'investigating' && to === 'resolved') ? 'btn-primary' : '')}
              onClick=${() => changeStatus(to)} data-testid=${'status-btn-' + to}>
            <${Icon} name=${TRANSITION_ICON[to] || 'right'} /> ${transitionLabel(issue.status, to)}
          </button>`,
        )}
      </div>
    </header>

    <div class="tabs" role="tablist" aria-label="Incident sections" onKeyDown=${onTabKey}>
      ${TABS.map(
        (t) => html`<button key=${t.id} role="tab" id=${'tab-' + t.id} aria-selected=${activeTab === t.id ? 'true' : 'false'}
            aria-controls=${'panel-' + t.id} tabIndex=${activeTab === t.id ? 0 : -1}
            class=${'tab' + (activeTab === t.id ? ' on' : '')} data-testid=${'tab-' + t.id}
            onClick=${() => selectTab(t.id)}>
          ${t.label}
          ${t.id === 'whys' ? html`<span class="count">${steps.length}/5</span>` : null}
          ${t.id === 'timeline' ? html`<span class="count">${events.length}</span>` : null}
          ${t.id === 'evidence' ? html`<${EvidenceCount} detail=${detail} />` : null}
          ${t.id === 'documents' ? html`<span class="count" data-testid="documents-count">${(detail.documents || []).length}</span>` : null}
        </button>`,
      )}
    </div>

    <div role="tabpanel" id=${'panel-' + activeTab} aria-labelledby=${'tab-' + activeTab} class="tab-panel">
      ${activeTab === 'documents'
        ? html`<${DocumentsTab} key=${issue.id} issue=${issue} detail=${detail} reload=${load} />`
        : activeTab === 'chat'
        ? html`<${ChatTab} key=${issue.id} issue=${issue} detail=${detail} reload=${load} />`
        : activeTab === 'evidence'
        ? html`<${EvidenceTab} key=${issue.id} issue=${issue} detail=${detail} reload=${load} />`
        : activeTab === 'diagnostics'
        ? html`<${DiagnosticsTab} key=${issue.id} issue=${issue} />`
        : activeTab === 'overview'
        ? html`<${Overview} key=${issue.id} issue=${issue} info=${info} steps=${steps} root=${root} events=${events}
            detail=${detail} onSaved=${load} onEditMilestones=${editMilestones} />`
        : activeTab === 'whys'
          ? html`<${FiveWhys} key=${issue.id} issue=${issue} steps=${steps} reload=${load} />`
          : html`<${Timeline} key=${issue.id} issue=${issue} events=${events} detail=${detail} reload=${load} />`}
    </div>
  </div>`;
}

/** `#/issue/<unknown>`: say so plainly and offer the ways on (no "Try again"). */
function IncidentNotFound({ id }) {
  return html`<div class="page"><div class="empty not-found" data-testid="issue-not-found">
    <div class="empty-icon"><${Icon} name="search" size=${28} /></div>
    <h3>This incident does not exist</h3>
    <p>There is no incident at this address${id ? html` (<span class="mono">${String(id).slice(0, 60)}</span>)` : ''}.
      It may have been deleted, or the link was cut short.</p>
    <div class="empty-actions">
      <a class="btn btn-primary" href="#/history" data-testid="not-found-history"><${Icon} name="search" /> Find it in History</a>
      <a class="btn" href="#/new"><${Icon} name="plus" /> Open a new incident</a>
    </div>
  </div></div>`;
}

/** Evidence tab count; amber while some log still waits for its PII review. */
function EvidenceCount({ detail }) {
  const logs = detail.log_files || [];
  const n = logs.length + (detail.image_attachments || []).length;
  const unreviewed = logs.filter((f) => !f.redacted).length;
  return html`<span class=${'count' + (unreviewed ? ' warn' : '')} data-testid="evidence-count"
    title=${unreviewed ? `${unreviewed} log file${unreviewed === 1 ? '' : 's'} not reviewed` : undefined}>${n}</span>`;
}

// ---------------------------------------------------------------- status dialog
/** The milestones a move to ``to`` sets: resolving asks when it was resolved; closing an
 * incident not yet resolved asks both. */
function statusMoments(issue, to) {
  if (to === 'resolved') return ['resolved'];
  if (to === 'closed') return issue.status === 'resolved' ? ['closed'] : ['resolved', 'closed'];
  return [];
}

function StatusDialog({ issue, detail, to, onClose }) {
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState('');
  const noteId = useUid('note');
  // When it was resolved / closed: an entered milestone, else now; editable and
  // back-datable in the user's zone, checked by the milestones' rules on save.
  const keys = statusMoments(issue, to);
  const fields = (detail.milestones || []).filter((m) => keys.includes(m.key));
  const [initial] = useState(() => Object.fromEntries(fields.map((m) => [m.key, utcToInput(m.at) || nowForInput()])));
  const [values, setValues] = useState(initial);
  const zone = zoneLabel();
  const submit = async (e) => {
    e && e.preventDefault();
    const missing = fields.find((m) => !values[m.key]);
    if (missing) return setErr(`Enter when it was ${missing.label.toLowerCase()} (or press Now).`);
    const { changes, error } = changedMoments(fields, values, initial);
    if (error) return setErr(error);
    setBusy(true);
    setErr('');
    try {
      // An untouched "now" is left to the backend, which takes the moment of saving.
      const moments = Object.fromEntries(Object.entries(changes).map(([k, v]) => [k + '_at', v]));
      const updated = await api.setIssueStatus(issue.id, to, note.trim(), moments);
      onClose(updated || { status: to });
    } catch (error) {
      setErr(inZone(error.message));
      setBusy(false);
    }
    return undefined;
  };
  const label = transitionLabel(issue.status, to);
  return html`<${Modal} title=${label} size="sm" testid="status-dialog" onClose=${() => onClose(null)}
      footer=${html`
        ${fields.length ? html`<span class="subtle small modal-foot-note">Times in ${zone}</span>` : null}
        <button class="btn" onClick=${() => onClose(null)}>Cancel</button>
        <button class="btn btn-primary" disabled=${busy} onClick=${submit} data-testid="status-confirm">${label}</button>
      `}>
    <form onSubmit=${submit}>
      <p class="dialog-text transition-row">
        <${StatusBadge} value=${issue.status} /> <${Icon} name="right" size=${12} /> <${StatusBadge} value=${to} />
      </p>
      ${fields.length
        ? html`<div class="status-moments" data-testid="status-moments">
            <p class="dialog-text subtle">${`Recorded as now unless you enter when it really happened (back-date it if
              it came earlier). Durations are measured to ${fields.length > 1 ? 'these times' : 'this time'}.`}</p>
            <${ZoneNote} zone=${zone} testid="status-zone" />
            ${fields.map((m) => html`<${MilestoneField} key=${m.key} m=${m} value=${values[m.key] || ''}
              max=${inputLimit(0.1)} clearable=${false}
              onChange=${(v) => { setValues((cur) => ({ ...cur, [m.key]: v })); setErr(''); }} />`)}
          </div>`
        : null}
      <${Field} label="Note (optional)" htmlFor=${noteId} hint="Recorded on the timeline with the status change.">
        <textarea id=${noteId} class="input" rows="3" value=${note} data-autofocus maxLength="2000"
          onInput=${(e) => setNote(e.currentTarget.value)}
          onKeyDown=${(e) => (e.key === 'Enter' && (e.ctrlKey || e.metaKey) ? submit(e) : null)}
          data-testid="status-note"></textarea>
      <//>
      ${err ? html`<div class="form-error" role="alert" data-testid="status-error">${err}</div>` : null}
      <button type="submit" hidden></button>
    </form>
  <//>`;
}

// ---------------------------------------------------------------- overview
const TEXT_FIELDS = ['title', 'description', 'severity', 'category', 'priority', 'incident_commander',
  'assigned_to', 'customer_impact'];
const LIST_FIELDS = ['tags', 'responders', 'services_affected'];

function Overview({ issue, info, steps, root, events, detail, onSaved, onEditMilestones }) {
  const initial = () => ({
    title: issue.title,
    description: issue.description || '',
    severity: issue.severity,
    category: issue.category,
    priority: issue.priority || '',
    incident_commander: issue.incident_commander || '',
    assigned_to: issue.assigned_to || '',
    customer_impact: issue.customer_impact || '',
    tags: issue.tags || [],
    responders: issue.responders || [],
    services_affected: issue.services_affected || [],
  });
  // Unsaved edits survive leaving the screen (kept in this tab until saved or discarded).
  const [form, setFormDraft, draft] = useSessionDraft('tftsr.draft.issue.' + issue.id, initial);
  const [base, setBase] = useState(initial);
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState({});
  const ids = {
    title: useUid('ot'), desc: useUid('od'), dom: useUid('odm'), tags: useUid('otg'), prio: useUid('op'),
    ic: useUid('oic'), as: useUid('oas'), resp: useUid('ors'), svc: useUid('osv'), imp: useUid('oim'),
  };

  const dirty = JSON.stringify(form) !== JSON.stringify(base);

  // Follow outside changes unless the user is editing.
  useEffect(() => {
    const fresh = initial();
    if (!dirty) draft.clear(fresh);
    setBase(fresh);
  }, [issue.updated_at]);

  const set = (k) => (v) => {
    setFormDraft((f) => ({ ...f, [k]: v }));
    if (err[k]) setErr({ ...err, [k]: undefined });
  };
  const discard = () => draft.clear(base);

  const save = async (e) => {
    e.preventDefault();
    const t = form.title.trim();
    if (!t) return setErr({ title: 'The title cannot be empty.' });
    if (t.length > 300) return setErr({ title: 'Keep the title under 300 characters.' });
    const changes = {};
    const next = { ...form, title: t };
    for (const k of TEXT_FIELDS) if (next[k] !== base[k]) changes[k] = k === 'title' || k === 'description' ? next[k] : next[k].trim();
    for (const k of LIST_FIELDS) if (JSON.stringify(next[k]) !== JSON.stringify(base[k])) changes[k] = next[k];
    if (!Object.keys(changes).length) return undefined;
    setBusy(true);
    try {
      await api.updateIssue(issue.id, changes);
      setBase(next);
      draft.clear(next);
      toast.success('Changes saved');
      onSaved();
    } catch (error) {
      toast.error(error);
    } finally {
      setBusy(false);
    }
    return undefined;
  };

  const domains = (info && info.domains) || [];
  const lastEvent = events.length ? events[events.length - 1] : null;

  return html`<div class="overview">
    <div class="overview-main">
    <form class="card form" onSubmit=${save} data-testid="overview-form">
      ${draft.restored && dirty
        ? html`<div class="banner banner-muted draft-note" data-testid="draft-restored">
            <${Icon} name="edit" /> <span>Your unsaved changes were kept while you were away.</span>
            <button type="button" class="btn btn-sm" onClick=${discard}>Discard them</button>
          </div>`
        : null}
      <${Field} label="Title" htmlFor=${ids.title} error=${err.title} testid="overview-title">
        <div class="with-count">
          <input id=${ids.title} class="input" value=${form.title} onInput=${(e) => set('title')(e.currentTarget.value)}
            maxLength="300" data-testid="overview-title" />
          <${CharCount} value=${form.title} max=${300} from=${0.6} testid="overview-title-count" />
        </div>
      <//>
      <div class="row-2">
        <div class="field">
          <span class="field-label">Severity</span>
          <${Segmented} options=${SEVERITY_OPTIONS} value=${form.severity} onChange=${set('severity')} label="Severity" testid="overview-severity" size="sm" />
        </div>
        <${Field} label="Domain" htmlFor=${ids.dom}>
          <select id=${ids.dom} class="input" value=${form.category} onChange=${(e) => set('category')(e.currentTarget.value)} data-testid="overview-domain">
            ${domains.some((d) => d.id === form.category) ? null : html`<option value=${form.category}>${form.category || '—'}</option>`}
            ${domains.map((d) => html`<option key=${d.id} value=${d.id}>${d.label}</option>`)}
          </select>
        <//>
      </div>
      <${Field} label="Description" htmlFor=${ids.desc}>
        <textarea id=${ids.desc} class="input" rows="6" value=${form.description} maxLength="100000"
          onInput=${(e) => set('description')(e.currentTarget.value)} data-testid="overview-description"
          placeholder="No description yet."></textarea>
        <${CharCount} value=${form.description} max=${100000} />
      <//>
      <${Field} label="Tags" htmlFor=${ids.tags} hint="Up to 20 tags of up to 50 characters.">
        <${ChipInput} id=${ids.tags} value=${form.tags} onChange=${set('tags')} testid="overview-tags"
          onError=${(m) => setErr({ ...err, tags: m })} />
      <//>

      <fieldset class="form-group" data-testid="overview-roles">
        <legend>People and impact</legend>
        <div class="row-3">
          <${Field} label="Priority" htmlFor=${ids.prio} hint="How soon to act — apart from severity.">
            <select id=${ids.prio} class="input" value=${form.priority} onChange=${(e) => set('priority')(e.currentTarget.value)} data-testid="overview-priority">
              ${PRIORITY_OPTIONS.map((o) => html`<option key=${o.value} value=${o.value}>${o.label}</option>`)}
            </select>
          <//>
          <${Field} label="Incident commander" htmlFor=${ids.ic}>
            <input id=${ids.ic} class="input" value=${form.incident_commander} maxLength="200" placeholder="Who leads the response"
              onInput=${(e) => set('incident_commander')(e.currentTarget.value)} data-testid="overview-commander" />
          <//>
          <${Field} label="Assigned to" htmlFor=${ids.as}>
            <input id=${ids.as} class="input" value=${form.assigned_to} maxLength="200" placeholder="Who owns the follow-up"
              onInput=${(e) => set('assigned_to')(e.currentTarget.value)} data-testid="overview-assignee" />
          <//>
        </div>
        <div class="row-2">
          <${Field} label="Responders" htmlFor=${ids.resp} error=${err.responders} hint="Enter or comma adds a name (up to 30).">
            <${ChipInput} id=${ids.resp} value=${form.responders} onChange=${set('responders')} testid="overview-responders"
              placeholder="Add a name…" maxItems=${30} maxLen=${200} onError=${(m) => setErr({ ...err, responders: m })} />
          <//>
          <${Field} label="Services affected" htmlFor=${ids.svc} error=${err.services_affected} hint="Enter or comma adds a service (up to 30).">
            <${ChipInput} id=${ids.svc} value=${form.services_affected} onChange=${set('services_affected')} testid="overview-services"
              placeholder="Add a service…" maxItems=${30} maxLen=${100} onError=${(m) => setErr({ ...err, services_affected: m })} />
          <//>
        </div>
        <${Field} label="Customer impact" htmlFor=${ids.imp} hint="Who was affected and how (users, requests, regions, SLAs). Up to 5,000 characters.">
          <textarea id=${ids.imp} class="input" rows="3" value=${form.customer_impact} maxLength="5000"
            onInput=${(e) => set('customer_impact')(e.currentTarget.value)} data-testid="overview-impact"
            placeholder="e.g. EU customers could not pay for about 15 minutes"></textarea>
          <${CharCount} value=${form.customer_impact} max=${5000} />
        <//>
      </fieldset>
      <div class="form-actions">
        ${dirty ? html`<span class="subtle dirty-note" data-testid="overview-dirty">Unsaved changes</span>` : null}
        <button type="button" class="btn" disabled=${!dirty || busy} onClick=${discard} data-testid="overview-discard">Discard</button>
        <button type="submit" class="btn btn-primary" disabled=${!dirty || busy} data-testid="overview-save">
          ${busy ? html`<span class="spinner sm" aria-hidden="true"></span>` : null} Save changes
        </button>
      </div>
    </form>
    </div>

    <aside class="side">
      <${ResponseCard} issue=${issue} detail=${detail} onEdit=${onEditMilestones} onChanged=${onSaved} />
      <section class="card">
        <h2 class="card-title">Root cause analysis</h2>
        <${WhyProgress} steps=${steps} />
        ${root
          ? html`<div class="root-summary" data-testid="overview-root-cause">
              <span class="root-flag"><${Icon} name="target" size=${13} /> Root cause</span>
              <p class="pre">${root.answer || root.why_question}</p>
            </div>`
          : html`<p class="subtle">${steps.length ? 'No root cause marked yet.' : 'No whys asked yet.'}</p>`}
        <a class="btn btn-sm" href=${issueHref(issue.id, 'whys')}>Open 5 Whys</a>
      </section>
      <${RelatedIncidents} issue=${issue} />
      <${IncidentIntegrationsCard} issue=${issue} />
      <section class="card">
        <h2 class="card-title">Details</h2>
        <dl class="kv">
          <dt>ID</dt><dd class="mono" title=${issue.id}>${issue.id}</dd>
          <dt>Created</dt><dd>${formatDateTime(issue.created_at)}</dd>
          <dt>Updated</dt><dd>${formatDateTime(issue.updated_at)}</dd>
          ${issue.source ? html`<dt>Source</dt><dd>${issue.source}</dd>` : null}
          <dt>Last activity</dt><dd>${lastEvent ? relativeTime(lastEvent.created_at) : '—'}</dd>
        </dl>
      </section>
    </aside>
  </div>`;
}

function WhyProgress({ steps }) {
  return html`<div class="why-progress" data-testid="why-progress" aria-label=${`${steps.length} of 5 whys`} role="img">
    ${[1, 2, 3, 4, 5].map((n) => {
      const s = steps[n - 1];
      const cls = 'why-pip' + (s ? ' done' : '') + (s && s.is_root_cause ? ' root' : '');
      return html`<span key=${n} class=${cls}>
        ${s && s.is_root_cause ? html`<${Icon} name="target" size=${12} />` : n}
      </span>`;
    })}
    <span class="why-progress-label">${steps.length} of 5</span>
  </div>`;
}

// ---------------------------------------------------------------- 5 whys
function FiveWhys({ issue, steps: fromServer, reload }) {
  const [steps, setSteps] = useState(fromServer);
  const [editing, setEditing] = useState(null); // step id
  const [busy, setBusy] = useState(false);

  useEffect(() => setSteps(fromServer), [fromServer]);

  const run = async (fn, msg) => {
    setBusy(true);
    try {
      const res = await fn();
      if (Array.isArray(res)) setSteps([...res].sort((a, b) => a.step_order - b.step_order));
      if (msg) toast.success(msg);
      reload();
      return res;
    } catch (err) {
      toast.error(err);
      return null;
    } finally {
      setBusy(false);
    }
  };

  const move = (i, dir) => {
    const j = i + dir;
    if (j < 0 || j >= steps.length) return;
    const order = steps.map((s) => s.id);
    [order[i], order[j]] = [order[j], order[i]];
    setSteps((cur) => {
      const next = [...cur];
      [next[i], next[j]] = [next[j], next[i]];
      return next.map((s, k) => ({ ...s, step_order: k + 1 }));
    });
    run(() => api.reorderFiveWhys(issue.id, order));
  };

  const remove = async (step) => {
    const ok = await confirmDelete({
      title: `Delete why ${step.step_order}?`,
      message: 'The remaining whys are renumbered.',
      confirmLabel: 'Delete',
    });
    if (!ok) return;
    run(() => api.deleteFiveWhy(step.id), 'Why deleted');
  };

  const toggleRoot = (step) =>
    run(() => api.setRootCause(step.id, !step.is_root_cause), step.is_root_cause ? 'Root cause unmarked' : 'Marked as root cause');

  const saveEdit = async (step, fields) => {
    const res = await run(() => api.updateFiveWhy(step.id, fields), 'Why saved');
    if (res) {
      setSteps((cur) => cur.map((s) => (s.id === res.id ? res : s)));
      setEditing(null);
    }
  };

  const add = async (fields) => {
    const res = await run(() => api.addFiveWhy(issue.id, fields), 'Why added');
    if (res && !Array.isArray(res)) setSteps((cur) => [...cur.filter((s) => s.id !== res.id), res]);
    return Boolean(res);
  };

  const last = steps[steps.length - 1];
  return html`<div class="whys" data-testid="whys">
    <div class="whys-head">
      <${WhyProgress} steps=${steps} />
      <p class="subtle">Ask “why?” until you reach a cause you can act on, then mark it as the root cause.</p>
    </div>
    ${steps.length === 0
      ? html`<div class="empty slim"><p>No whys yet. Start with the symptom: why did it happen?</p></div>`
      : null}
    <ol class="why-list" data-testid="why-list">
      ${steps.map(
        (s, i) => html`<li key=${s.id} class=${'why-card card' + (s.is_root_cause ? ' is-root' : '')}
            data-testid="why-step" data-step-order=${s.step_order} data-root=${s.is_root_cause ? 'true' : 'false'}>
          <div class="why-num" aria-hidden="true">${s.step_order}</div>
          ${editing === s.id
            ? html`<${WhyForm} initial=${s} submitLabel="Save" busy=${busy}
                onSubmit=${(f) => saveEdit(s, f)} onCancel=${() => setEditing(null)} testid="why-edit" />`
            : html`<div class="why-body">
                <div class="why-top">
                  <span class="sr-only">Why ${s.step_order}: </span>
                  <h3 class="why-q" data-testid="why-question">${s.why_question}</h3>
                  ${s.is_root_cause
                    ? html`<span class="root-flag" data-testid="root-cause-marker"><${Icon} name="target" size=${13} /> Root cause</span>`
                    : null}
                </div>
                ${s.answer
                  ? html`<p class="why-a pre" data-testid="why-answer">${s.answer}</p>`
                  : html`<p class="why-a subtle">No answer yet.</p>`}
                ${s.evidence
                  ? html`<div class="why-ev"><span class="why-ev-label">Evidence</span><p class="pre" data-testid="why-evidence">${s.evidence}</p></div>`
                  : null}
                <div class="why-actions">
                  <button class=${'btn btn-sm root-toggle' + (s.is_root_cause ? ' on' : '')} aria-pressed=${s.is_root_cause ? 'true' : 'false'}
                    title=${s.is_root_cause ? 'Click to unmark' : 'Mark this why as the root cause'}
                    disabled=${busy} onClick=${() => toggleRoot(s)} data-testid="why-root-toggle">
                    <${Icon} name=${s.is_root_cause ? 'check' : 'target'} /> ${s.is_root_cause ? 'Root cause' : 'Mark as root cause'}
                  </button>
                  <span class="spacer"></span>
                  <button class="icon-btn" aria-label=${'Move why ' + s.step_order + ' up'} title="Move up"
                    disabled=${busy || i === 0} onClick=${() => move(i, -1)} data-testid="why-up"><${Icon} name="up" /></button>
                  <button class="icon-btn" aria-label=${'Move why ' + s.step_order + ' down'} title="Move down"
                    disabled=${busy || i === steps.length - 1} onClick=${() => move(i, 1)} data-testid="why-down"><${Icon} name="down" /></button>
                  <button class="icon-btn" aria-label=${'Edit why ' + s.step_order} title="Edit"
                    disabled=${busy} onClick=${() => setEditing(s.id)} data-testid="why-edit"><${Icon} name="edit" /></button>
                  <button class="icon-btn danger" aria-label=${'Delete why ' + s.step_order} title="Delete"
                    disabled=${busy} onClick=${() => remove(s)} data-testid="why-delete"><${Icon} name="trash" /></button>
                </div>
              </div>`}
        </li>`,
      )}
    </ol>
    ${steps.length < 5
      ? html`<section class="card why-add" aria-label="Add a why">
          <h3 class="card-title">Why ${steps.length + 1}</h3>
          <${WhyForm} key=${steps.length} busy=${busy} submitLabel="Add why" onSubmit=${add} testid="why-new"
            placeholder=${last && last.answer ? `Why did “${clip(last.answer, 80)}” happen?` : 'Why did this happen?'} />
        </section>`
      : html`<p class="subtle center" data-testid="whys-full">All five whys are in. Edit, reorder or mark the root cause above.</p>`}
  </div>`;
}

function clip(s, n) {
  s = String(s).replace(/\s+/g, ' ').trim();
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}

function WhyForm({ initial, onSubmit, onCancel, submitLabel, busy, placeholder, testid }) {
  const [q, setQ] = useState(initial ? initial.why_question : '');
  const [a, setA] = useState(initial ? initial.answer || '' : '');
  const [ev, setEv] = useState(initial ? initial.evidence || '' : '');
  const [err, setErr] = useState('');
  const ids = { q: useUid('wq'), a: useUid('wa'), e: useUid('we') };
  const isNew = !initial;
  const qRef = useRef(null);
  useLayoutEffect(() => {
    if (!isNew && qRef.current) qRef.current.focus();
  }, []);

  const submit = async (e) => {
    e.preventDefault();
    const question = q.trim();
    if (!question) return setErr('Write the why question first.');
    if (question.length > 2000) return setErr('Keep the question under 2,000 characters.');
    setErr('');
    const fields = { why_question: question, answer: a.trim(), evidence: ev.trim() };
    const ok = await onSubmit(fields);
    if (ok && isNew) {
      setQ('');
      setA('');
      setEv('');
    }
    return undefined;
  };
  const onKeyDown = (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) submit(e);
  };

  return html`<form class="why-form" onSubmit=${submit} onKeyDown=${onKeyDown} data-testid=${testid + '-form'}>
    <${Field} label="Why?" htmlFor=${ids.q} error=${err} testid=${testid + '-question'}>
      <input id=${ids.q} ref=${qRef} class="input" value=${q} placeholder=${placeholder || ''} maxLength="2000"
        onInput=${(e) => { setQ(e.currentTarget.value); setErr(''); }}
        data-testid=${isNew ? 'why-question-input' : 'why-edit-question'} />
    <//>
    <${Field} label="Answer" htmlFor=${ids.a}>
      <textarea id=${ids.a} class="input" rows="2" value=${a} onInput=${(e) => setA(e.currentTarget.value)}
        placeholder="Because…" data-testid=${isNew ? 'why-answer-input' : 'why-edit-answer'}></textarea>
    <//>
    <${Field} label="Evidence" htmlFor=${ids.e} hint="Log lines, metrics or observations that support the answer.">
      <textarea id=${ids.e} class="input mono-input" rows="2" value=${ev} onInput=${(e) => setEv(e.currentTarget.value)}
        data-testid=${isNew ? 'why-evidence-input' : 'why-edit-evidence'}></textarea>
    <//>
    <div class="form-actions">
      ${onCancel ? html`<button type="button" class="btn" onClick=${onCancel} data-testid="why-edit-cancel">Cancel</button>` : null}
      <button type="submit" class="btn btn-primary" disabled=${busy} data-testid=${isNew ? 'add-why-btn' : 'why-save-btn'}>
        ${isNew ? html`<${Icon} name="plus" />` : html`<${Icon} name="check" />`} ${submitLabel}
      </button>
    </div>
  </form>`;
}

// ---------------------------------------------------------------- timeline
const TYPE_LABEL = {
  ...Object.fromEntries(MANUAL_TYPES.map((t) => [t.value, t.label])),
  triage_started: 'Incident opened', status_changed: 'Status changed', issue_updated: 'Details updated',
  why_level_advanced: '5 Whys', root_cause_identified: 'Root cause identified', log_uploaded: 'Log file',
  rca_generated: 'RCA generated', postmortem_generated: 'Post-mortem generated', document_exported: 'Document exported',
};
const typeLabel = (t) => TYPE_LABEL[t] || humanize(t);

/** Only what reads as part of the story: a status move shows its two states. Ids, flags
 *  and other bookkeeping stay in the audit log. */
function EventMeta({ ev }) {
  const m = ev.metadata;
  if (ev.event_type !== 'status_changed' || !m || typeof m !== 'object') return null;
  if (!m.from || !m.to || !STATUS_LABEL[m.to]) return null;
  return html`<p class="tl-meta tl-transition">
    <${StatusBadge} value=${m.from} /> <${Icon} name="right" size=${11} /> <${StatusBadge} value=${m.to} />
  </p>`;
}

/** The fields of a manual entry, for adding one and for correcting one. */
function EntryForm({ initial, busy, submitLabel, onSubmit, onCancel, testid }) {
  const [type, setType] = useState(initial ? initial.event_type : 'note');
  const [desc, setDesc] = useState(initial ? initial.description : '');
  const [when, setWhen] = useState(initial ? utcToInput(initial.created_at) : '');
  const [err, setErr] = useState('');
  const ids = { t: useUid('tt'), d: useUid('td'), w: useUid('tw') };
  const limit = inputLimit(24);

  const submit = async (e) => {
    e.preventDefault();
    const d = desc.trim();
    if (!d) return setErr('Describe what happened.');
    if (d.length > 2000) return setErr('Keep it under 2,000 characters.');
    let occurred;
    if (when) {
      occurred = inputToUtc(when);
      if (!occurred) return setErr('That time is not valid.');
      if (when > limit) return setErr('That is more than a day ahead. Check the date (and the year).');
    }
    setErr('');
    const error = await onSubmit({ event_type: type, description: d, occurred_at: occurred });
    if (error) setErr(error);
    else if (!initial) {
      setDesc('');
      setWhen('');
    }
    return undefined;
  };

  return html`<form class=${initial ? 'tl-edit' : 'card timeline-form'} onSubmit=${submit} noValidate data-testid=${testid}>
    ${initial ? null : html`<h3 class="card-title">Add to timeline</h3>`}
    <div class="timeline-form-row">
      <${Field} label="Type" htmlFor=${ids.t}>
        <select id=${ids.t} class="input" value=${type} onChange=${(e) => setType(e.currentTarget.value)} data-testid="timeline-type">
          ${MANUAL_TYPES.map((t) => html`<option key=${t.value} value=${t.value}>${t.label}</option>`)}
        </select>
      <//>
      <${Field} label=${initial ? 'When' : 'When (optional)'} htmlFor=${ids.w}
          hint=${`Your time zone: ${zoneLabel()}.` + (when || initial ? '' : ' Leave empty for now.')}>
        <div class="with-btn">
          <input id=${ids.w} type="datetime-local" class="input" value=${when} max=${limit}
            onInput=${(e) => { setWhen(e.currentTarget.value); setErr(''); }} data-testid="timeline-time" />
          <button type="button" class="btn btn-sm" onClick=${() => setWhen(nowForInput())}>Now</button>
        </div>
      <//>
    </div>
    <${Field} label="What happened" htmlFor=${ids.d} error=${err} testid="timeline-description">
      <textarea id=${ids.d} class="input" rows="2" value=${desc} maxLength="2000"
        onInput=${(e) => { setDesc(e.currentTarget.value); setErr(''); }}
        onKeyDown=${(e) => (e.key === 'Enter' && (e.ctrlKey || e.metaKey) ? submit(e) : null)}
        placeholder="e.g. Rolled back deploy 2024.11.3 on the EU cluster" data-testid="timeline-description"></textarea>
      <${CharCount} value=${desc} max=${2000} />
    <//>
    <div class="form-actions">
      ${onCancel ? html`<button type="button" class="btn" onClick=${onCancel} data-testid="timeline-edit-cancel">Cancel</button>` : null}
      <button type="submit" class="btn btn-primary" disabled=${busy} data-testid=${initial ? 'timeline-save' : 'timeline-add'}>
        <${Icon} name=${initial ? 'check' : 'plus'} /> ${submitLabel}
      </button>
    </div>
  </form>`;
}

function Timeline({ issue, events, detail, reload }) {
  const [busy, setBusy] = useState(false);
  const [editing, setEditing] = useState(null);
  const [newestFirst, setNewestFirst] = useState(false);

  const add = async (fields) => {
    setBusy(true);
    try {
      await api.addTimelineEvent({ issue_id: issue.id, ...fields });
      toast.success('Added to the timeline');
      reload();
      return null;
    } catch (error) {
      return error.message;
    } finally {
      setBusy(false);
    }
  };

  const saveEdit = async (ev, fields) => {
    setBusy(true);
    try {
      await call('update_timeline_event', { event_id: ev.id, ...fields });
      setEditing(null);
      toast.success('Entry updated');
      reload();
      return null;
    } catch (error) {
      return error.message;
    } finally {
      setBusy(false);
    }
  };

  const remove = async (ev) => {
    const ok = await confirmDelete({
      title: 'Delete this timeline entry?',
      message: ev.description,
      confirmLabel: 'Delete',
    });
    if (!ok) return;
    try {
      await api.deleteTimelineEvent(ev.id);
      toast.success('Entry deleted');
      reload();
    } catch (error) {
      toast.error(error);
    }
  };

  // Milestones stand in the timeline as markers between the entries.
  const marks = ((detail && detail.milestones) || []).filter((m) => m.at)
    .map((m) => ({ id: 'ms-' + m.key, milestone: m, created_at: m.at }));
  const merged = [...events, ...marks].sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0));
  const list = newestFirst ? merged.reverse() : merged;

  return html`<div class="timeline-wrap">
    <${EntryForm} busy=${busy} submitLabel="Add entry" onSubmit=${add} testid="timeline-form" />

    <div class="timeline-toolbar">
      <span class="subtle">${plural(events.length, 'event')}${marks.length ? ` · ${plural(marks.length, 'milestone')}` : ''}</span>
      <button class="btn btn-sm btn-ghost" onClick=${() => setNewestFirst(!newestFirst)} data-testid="timeline-sort">
        <${Icon} name=${newestFirst ? 'down' : 'up'} /> ${newestFirst ? 'Newest first' : 'Oldest first'}
      </button>
    </div>

    ${events.length === 0
      ? html`<div class="empty slim"><p>No events yet.</p></div>`
      : html`<ol class="timeline" data-testid="timeline">
          ${list.map((ev) => (ev.milestone
            ? html`<li key=${ev.id} class="tl-item tl-milestone" data-testid="timeline-milestone" data-milestone=${ev.milestone.key}>
                <span class="tl-icon ev-milestone" aria-hidden="true"><${Icon} name="flag" size=${14} /></span>
                <div class="tl-body">
                  <div class="tl-head">
                    <span class="tl-type">${ev.milestone.label}</span><span class="pill">milestone</span>
                    <time class="tl-time" title=${formatDateTime(ev.created_at, { seconds: true })}>${formatDateTime(ev.created_at)}</time>
                  </div>
                </div>
              </li>`
            : html`<li key=${ev.id} class=${'tl-item' + (ev.manual ? ' manual' : '')} data-testid="timeline-event" data-event-type=${ev.event_type}>
              <span class=${'tl-icon ev-' + ev.event_type} aria-hidden="true"><${Icon} name=${EVENT_ICON[ev.event_type] || 'dots'} size=${14} /></span>
              <div class="tl-body">
                ${editing === ev.id
                  ? html`<${EntryForm} initial=${ev} busy=${busy} submitLabel="Save" testid="timeline-edit-form"
                      onSubmit=${(f) => saveEdit(ev, f)} onCancel=${() => setEditing(null)} />`
                  : html`<div class="tl-head">
                      <span class="tl-type">${typeLabel(ev.event_type)}</span>
                      ${ev.manual ? html`<span class="pill" title="Added by hand">added by hand</span>` : null}
                      <time class="tl-time" title=${formatDateTime(ev.created_at, { seconds: true })}>
                        ${relativeTime(ev.created_at)} · ${formatDateTime(ev.created_at)}
                      </time>
                      <span class="spacer"></span>
                      ${ev.manual
                        ? html`<button class="icon-btn" aria-label="Edit entry" title="Edit entry"
                              onClick=${() => setEditing(ev.id)} data-testid="timeline-edit"><${Icon} name="edit" /></button>
                            <button class="icon-btn danger" aria-label="Delete entry" title="Delete entry"
                              onClick=${() => remove(ev)} data-testid="timeline-delete"><${Icon} name="trash" /></button>`
                        : null}
                    </div>
                    <p class="tl-desc pre" data-testid="timeline-text">${ev.description}</p>
                    <${EventMeta} ev=${ev} />`}
              </div>
            </li>`))}
        </ol>`}
  </div>`;
}
