// The incident record: milestones (impact started … closed) and the durations measured
// between them, roles and impact, related incidents, and small form helpers shared by
// the incident screens (drafts kept across navigation, input limits shown early).
//
// Times: the backend stores UTC; inputs show the user's zone (or UTC, per the
// date_display setting), and the zone is always named next to them.

import { html, useState, useEffect } from '../vendor/htm-preact/standalone.module.js';
import { call } from '../lib/commands.js';
import { Icon } from '../lib/icons.js';
import { Modal, StatusBadge, SeverityBadge, Tag, toast, useUid } from '../lib/ui.js';
import { issueHref } from '../lib/state.js';
import { formatDateTime, getDateDisplay, inputToUtc, nowForInput, parseUtc, relativeTime } from '../lib/format.js';

export const PRIORITY_OPTIONS = [
  { value: '', label: 'Not set' },
  { value: 'p1', label: 'P1 — act now' },
  { value: 'p2', label: 'P2 — today' },
  { value: 'p3', label: 'P3 — this week' },
  { value: 'p4', label: 'P4 — when possible' },
];
export const PRIORITY_SHORT = { p1: 'P1', p2: 'P2', p3: 'P3', p4: 'P4' };

// ---------------------------------------------------------------- time zone helpers
const pad = (n) => String(n).padStart(2, '0');

/** The zone inputs are read in, in words: "Europe/Berlin (UTC+01:00)" or "UTC". */
export function zoneLabel() {
  if (getDateDisplay() === 'utc') return 'UTC';
  let name = '';
  try {
    name = Intl.DateTimeFormat().resolvedOptions().timeZone || '';
  } catch (_) {
    name = '';
  }
  const off = -new Date().getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const abs = Math.abs(off);
  const offset = `UTC${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
  if (!name || /^(Etc\/)?(UTC|GMT|UCT|Zulu)$/.test(name)) return off ? offset : 'UTC';
  return `${name} (${offset})`;
}

/** A backend UTC time as a datetime-local input value in the display zone. */
export function utcToInput(s) {
  const d = parseUtc(s);
  if (!d) return '';
  if (getDateDisplay() === 'utc') {
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`
      + (d.getUTCSeconds() ? ':' + pad(d.getUTCSeconds()) : '');
  }
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`
    + (d.getSeconds() ? ':' + pad(d.getSeconds()) : '');
}

/** The latest value a "when did it happen" input accepts: now plus ``hours``. */
export function inputLimit(hours = 24) {
  const d = new Date(Date.now() + hours * 3600 * 1000);
  if (getDateDisplay() === 'utc') {
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
  }
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

// ---------------------------------------------------------------- forms: limits and drafts
/** "123 / 300", shown from ``from`` of the limit on (always when from is 0), amber near it. */
export function CharCount({ value, max, from = 0.8, testid }) {
  const n = (value || '').length;
  if (n < max * from) return null;
  const cls = 'char-count' + (n >= max ? ' over' : n >= max * 0.95 ? ' near' : '');
  return html`<span class=${cls} aria-live="polite" data-testid=${testid}>${n.toLocaleString()} / ${max.toLocaleString()}</span>`;
}

function readDraft(key) {
  try {
    const raw = sessionStorage.getItem(key);
    return raw ? JSON.parse(raw) : null;
  } catch (_) {
    return null;
  }
}

/**
 * A form's unsaved values kept in this tab's sessionStorage under ``key`` until they are
 * saved or discarded, so navigating away (F1, the sidebar) and back loses nothing.
 * Returns [value, setValue, {restored, clear}].
 */
export function useSessionDraft(key, initial) {
  const [restored] = useState(() => readDraft(key));
  const [value, setValue] = useState(() => (restored && restored.value !== undefined ? restored.value : initial()));
  const set = (next) => {
    setValue((cur) => {
      const v = typeof next === 'function' ? next(cur) : next;
      try {
        sessionStorage.setItem(key, JSON.stringify({ value: v, at: Date.now() }));
      } catch (_) {
        /* storage full or off: the draft just is not kept */
      }
      return v;
    });
  };
  const clear = (next) => {
    try {
      sessionStorage.removeItem(key);
    } catch (_) {
      /* nothing kept */
    }
    if (next !== undefined) setValue(next);
  };
  return [value, set, { restored: Boolean(restored), clear }];
}

// ---------------------------------------------------------------- milestones
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "Dec 4, 02:10" (with the year when it is not this year), in the display zone. */
export function shortMoment(s) {
  const d = parseUtc(s);
  if (!d) return '—';
  const utc = getDateDisplay() === 'utc';
  const y = utc ? d.getUTCFullYear() : d.getFullYear();
  const mo = utc ? d.getUTCMonth() : d.getMonth();
  const day = utc ? d.getUTCDate() : d.getDate();
  const time = `${pad(utc ? d.getUTCHours() : d.getHours())}:${pad(utc ? d.getUTCMinutes() : d.getMinutes())}`;
  const year = y === new Date().getFullYear() ? '' : ` ${y}`;
  return `${MONTHS[mo]} ${day}${year}, ${time}${utc ? ' UTC' : ''}`;
}

/** The six milestones in the header: click one to set or correct them. */
export function MilestoneStrip({ detail, onEdit }) {
  const list = detail.milestones || [];
  return html`<div class="milestone-strip" data-testid="milestone-strip" role="group" aria-label="Milestones">
    ${list.map(
      (m) => html`<button key=${m.key} type="button" class=${'ms' + (m.at ? ' set' : '')} onClick=${() => onEdit(m.key)}
          title=${m.at ? `${m.hint}. ${formatDateTime(m.at, { seconds: true })}` : `${m.hint}. Not set — click to set it.`}
          data-testid=${'milestone-' + m.key} data-set=${m.at ? 'true' : 'false'}>
        <span class="ms-dot" aria-hidden="true"></span>
        <span class="ms-label">${m.label}</span>
        <span class="ms-time">${m.at ? shortMoment(m.at) : 'not set'}</span>
      </button>`,
    )}
  </div>`;
}

/** "Impact 15 min" beside the incident's badges, once impact start and its end are set. */
export function ImpactPill({ detail }) {
  const impact = (detail.metrics || []).find((m) => m.key === 'impact_duration');
  if (!impact || impact.seconds == null) return null;
  return html`<span class="ms-impact" data-testid="impact-duration" title=${`Impact started ${formatDateTime(impact.start)} → ${formatDateTime(impact.end)}`}>
    <${Icon} name="clock" size=${13} /> Impact ${impact.display}
  </span>`;
}

/** Set, correct or clear milestones; the user's zone is named; suggestions one click away. */
export function MilestonesDialog({ issue, detail, focus, onClose }) {
  const list = detail.milestones || [];
  const initial = Object.fromEntries(list.map((m) => [m.key, utcToInput(m.at)]));
  const [values, setValues] = useState(initial);
  const [err, setErr] = useState('');
  const [busy, setBusy] = useState(false);
  const suggestions = Object.fromEntries((detail.milestone_suggestions || []).map((s) => [s.milestone, s]));
  const zone = zoneLabel();
  const max = inputLimit(0.1);

  const set = (key, v) => {
    setValues((cur) => ({ ...cur, [key]: v }));
    setErr('');
  };

  const save = async (e) => {
    if (e) e.preventDefault();
    const { changes, error } = changedMoments(list, values, initial);
    if (error) return setErr(error);
    if (!Object.keys(changes).length) return onClose(null);
    setBusy(true);
    try {
      const result = await call('set_issue_milestones', { issue_id: issue.id, ...changes });
      onClose(result);
    } catch (error) {
      setErr(inZone(error.message));
      setBusy(false);
    }
    return undefined;
  };

  return html`<${Modal} title="Milestones" size="md" testid="milestones-dialog" onClose=${() => onClose(null)}
      footer=${html`
        <span class="subtle small modal-foot-note">Times in ${zone}</span>
        <button class="btn" type="button" onClick=${() => onClose(null)}>Cancel</button>
        <button class="btn btn-primary" type="button" disabled=${busy} onClick=${save} data-testid="milestones-save">Save milestones</button>
      `}>
    <form class="milestones-form" onSubmit=${save}>
      <p class="dialog-text subtle">
        Enter when each moment really happened — back-date freely. Durations in the documents and on the dashboard are
        measured between these, never from when the incident was opened in TFTSR.
      </p>
      <${ZoneNote} zone=${zone} testid="milestones-zone" />
      ${list.map((m) => {
        const s = suggestions[m.key];
        return html`<${MilestoneField} key=${m.key} m=${m} value=${values[m.key] || ''} max=${max}
          autofocus=${focus === m.key} suggestion=${!values[m.key] ? s : null}
          onChange=${(v) => set(m.key, v)} />`;
      })}
      ${err ? html`<div class="form-error" role="alert" data-testid="milestones-error">${err}</div>` : null}
      <button type="submit" hidden></button>
    </form>
  <//>`;
}

/** A refusal's times ("2026-03-01 02:20:00 UTC") in the zone the user entered them in. */
export function inZone(message) {
  return String(message || '').replace(/(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) UTC/g, (_, t) => formatDateTime(t));
}

/** "Your time zone: Europe/Berlin (UTC+01:00)" above inputs read in that zone. */
export function ZoneNote({ zone, testid }) {
  return html`<p class="zone-note" data-testid=${testid}><${Icon} name="clock" size=${13} /> Your time zone: <strong>${zone}</strong></p>`;
}

/**
 * The milestones among ``fields`` whose input changed from ``initial``, in UTC ("" for
 * one cleared): {changes}; or {error} naming the first time that cannot be read.
 */
export function changedMoments(fields, values, initial) {
  const changes = {};
  for (const m of fields) {
    const v = values[m.key] || '';
    if (v === (initial[m.key] || '')) continue;
    if (!v) {
      changes[m.key] = '';
      continue;
    }
    const utc = inputToUtc(v);
    if (!utc) return { error: `${m.label}: that time is not valid.` };
    changes[m.key] = utc;
  }
  return { changes };
}

/** One milestone's input in the display zone, with Now and (when ``clearable``) Clear. */
export function MilestoneField({ m, value, max, autofocus, suggestion, onChange, clearable = true }) {
  const id = useUid('ms');
  return html`<div class="ms-field" data-testid=${'ms-field-' + m.key}>
    <label class="field-label" for=${id}>${m.label}</label>
    <div class="ms-input-row">
      <input id=${id} type="datetime-local" class="input" value=${value} max=${max}
        data-autofocus=${autofocus ? true : undefined} required=${!clearable}
        onInput=${(e) => onChange(e.currentTarget.value)} data-testid=${'ms-input-' + m.key} />
      <button type="button" class="btn btn-sm" onClick=${() => onChange(nowForInput())}>Now</button>
      ${clearable
        ? html`<button type="button" class="icon-btn" aria-label=${'Clear ' + m.label} title="Clear" disabled=${!value}
            onClick=${() => onChange('')} data-testid=${'ms-clear-' + m.key}><${Icon} name="x" size=${14} /></button>`
        : null}
    </div>
    <div class="field-hint">${m.hint}.</div>
    ${suggestion
      ? html`<button type="button" class="ms-suggest" onClick=${() => onChange(utcToInput(suggestion.at))}
            data-testid=${'ms-suggest-' + m.key}>
          <${Icon} name="activity" size=${12} /> ${suggestion.source} at ${formatDateTime(suggestion.at)}
          ${suggestion.description ? html`<span class="subtle"> — “${clip(suggestion.description, 60)}”</span>` : null}
          <span class="ms-suggest-use">Use</span>
        </button>`
      : null}
  </div>`;
}

function clip(s, n) {
  s = String(s || '').replace(/\s+/g, ' ').trim();
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}

/** Durations from the milestones, suggestions to accept, and the way to edit them. */
export function ResponseCard({ issue, detail, onEdit, onChanged }) {
  const [busy, setBusy] = useState('');
  const metrics = detail.metrics || [];
  const suggestions = detail.milestone_suggestions || [];

  const accept = async (s) => {
    setBusy(s.milestone);
    try {
      await call('set_issue_milestones', { issue_id: issue.id, [s.milestone]: s.at });
      toast.success(`${s.label} set to ${formatDateTime(s.at)}`);
      onChanged();
    } catch (err) {
      toast.error(err);
    } finally {
      setBusy('');
    }
  };

  return html`<section class="card response-card" data-testid="response-card" aria-labelledby="resp-h">
    <div class="card-head">
      <h2 class="card-title" id="resp-h">Response times</h2>
      <button class="btn btn-sm" onClick=${() => onEdit()} data-testid="milestones-edit"><${Icon} name="clock" /> Milestones</button>
    </div>
    <dl class="metrics-list">
      ${metrics.map(
        (m) => html`<div key=${m.key} class=${'metric' + (m.seconds == null ? ' unset' : '')} data-testid=${'metric-' + m.key}>
          <dt title=${m.definition}>${m.label}</dt>
          <dd>
            <strong>${m.display}</strong>
            <span class="subtle small">${m.seconds == null ? m.missing_reason : m.definition}</span>
          </dd>
        </div>`,
      )}
    </dl>
    ${suggestions.length
      ? html`<div class="suggestions" data-testid="milestone-suggestions">
          <div class="suggestions-label">From the timeline</div>
          ${suggestions.map(
            (s) => html`<div key=${s.milestone} class="suggestion" data-testid="milestone-suggestion" data-milestone=${s.milestone}>
              <span>${s.source} at <strong>${formatDateTime(s.at)}</strong> — set as ${s.label.toLowerCase()}?</span>
              <button class="btn btn-sm" disabled=${Boolean(busy)} onClick=${() => accept(s)}
                data-testid=${'suggestion-accept-' + s.milestone}>Set</button>
            </div>`,
          )}
        </div>`
      : null}
  </section>`;
}

// ---------------------------------------------------------------- roles in the header
export function RoleLine({ issue }) {
  const bits = [];
  if (issue.priority) bits.push(html`<span key="p" class=${'prio prio-' + issue.priority} data-testid="issue-priority" title="Priority (how soon to act), apart from severity">${PRIORITY_SHORT[issue.priority]}</span>`);
  if (issue.incident_commander) bits.push(html`<span key="ic" class="meta-item" data-testid="issue-commander"><${Icon} name="flag" size=${13} /> IC ${issue.incident_commander}</span>`);
  bits.push(html`<span key="a" class="meta-item" data-testid="issue-assignee"><${Icon} name="users" size=${13} /> ${issue.assigned_to ? issue.assigned_to : 'Not assigned'}</span>`);
  if ((issue.responders || []).length) bits.push(html`<span key="r" class="meta-item" title=${issue.responders.join(', ')}>+${issue.responders.length} responder${issue.responders.length === 1 ? '' : 's'}</span>`);
  return bits;
}

// ---------------------------------------------------------------- related incidents
export function RelatedIncidents({ issue }) {
  const [state, setState] = useState({ items: null, error: null });
  useEffect(() => {
    let live = true;
    call('get_related_incidents', { issue_id: issue.id })
      .then((r) => live && setState({ items: r.items || [], error: null }))
      .catch((error) => live && setState({ items: [], error }));
    return () => {
      live = false;
    };
  }, [issue.id, issue.updated_at]);

  const items = state.items;
  return html`<section class="card related" data-testid="related-incidents" aria-labelledby="rel-h">
    <h2 class="card-title" id="rel-h">Related past incidents</h2>
    ${items === null
      ? html`<p class="subtle small">Looking for similar incidents…</p>`
      : state.error
        ? html`<p class="subtle small">Could not look for similar incidents: ${state.error.message}</p>`
        : !items.length
          ? html`<p class="subtle small" data-testid="related-empty">No similar past incident. Incidents opened before this one are compared by tags, title, whys and root cause.</p>`
          : html`<ul class="related-list">
              ${items.map((r) => html`<li key=${r.issue.id} class="related-item" data-testid="related-item" data-issue-id=${r.issue.id}>
                <a class="related-title" href=${issueHref(r.issue.id)} data-testid="related-link">${r.issue.title}</a>
                <div class="related-meta">
                  <${SeverityBadge} value=${r.issue.severity} /><${StatusBadge} value=${r.issue.status} />
                  <span class="subtle small" title=${formatDateTime(r.issue.created_at)}>${relativeTime(r.issue.created_at)}</span>
                </div>
                <p class="related-line"><span class="related-k">Root cause</span> ${r.root_cause || html`<span class="subtle">not identified</span>`}</p>
                <p class="related-line"><span class="related-k">Resolved by</span> ${r.resolution ? r.resolution.text : html`<span class="subtle">not recorded</span>`}</p>
                ${r.shared_terms && r.shared_terms.length
                  ? html`<div class="related-terms" title="Words both incidents share">${r.shared_terms.slice(0, 5).map((t) => html`<${Tag} key=${t}>${t}<//>`)}</div>`
                  : null}
              </li>`)}
            </ul>`}
  </section>`;
}
