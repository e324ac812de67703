import { html, useState, useRef, useLayoutEffect } from '../vendor/htm-preact/standalone.module.js';
import { api, call } from '../lib/commands.js';
import { Icon } from '../lib/icons.js';
import { Segmented, ChipInput, Field, toast, useUid } from '../lib/ui.js';
import { useApp, navigate, issueHref, settingValue } from '../lib/state.js';
import { SEVERITIES, SEVERITY_LABEL, inputToUtc, nowForInput } from '../lib/format.js';
import { CharCount, useSessionDraft, PRIORITY_OPTIONS, zoneLabel, inputLimit } from './incident-record.js';

const DRAFT_KEY = 'tftsr.draft.new-issue';
const TITLE_MAX = 300;
const DESCRIPTION_MAX = 100000;

export const SEVERITY_OPTIONS = SEVERITIES.map((s) => ({
  value: s,
  label: html`<span class=${'dot sev-' + s} aria-hidden="true"></span>${SEVERITY_LABEL[s]}`,
  className: 'sev-' + s,
}));

export function initials(label) {
  const words = String(label || '?')
    .replace(/[^\p{L}\p{N}\s&/-]/gu, '')
    .split(/[\s&/-]+/)
    .filter(Boolean);
  if (!words.length) return '?';
  if (words.length === 1) return words[0].slice(0, 2).toUpperCase();
  return (words[0][0] + words[1][0]).toUpperCase();
}

export function colorIndex(id) {
  let h = 0;
  for (const ch of String(id)) h = (h * 31 + ch.codePointAt(0)) >>> 0;
  return h % 8;
}

export function DomainGlyph({ domain, size = '' }) {
  return html`<span class=${'domain-glyph c' + colorIndex(domain ? domain.id : '') + (size ? ' ' + size : '')} aria-hidden="true">
    ${initials(domain ? domain.label : '?')}
  </span>`;
}

export function NewIssue() {
  const { info } = useApp();
  const domains = (info && info.domains) || [];
  // What is typed is kept in this tab until the incident is created or the form is
  // cleared, so pressing F1 or clicking the sidebar and coming back loses nothing.
  const blank = () => ({
    category: '', title: '', severity: settingValue('default_severity', 'medium'), description: '',
    tags: [], priority: '', impact_started: '',
  });
  const [form, setForm, draft] = useSessionDraft(DRAFT_KEY, blank);
  const { category, title, severity, description, tags, priority } = form;
  const field = (k) => (v) => setForm((f) => ({ ...f, [k]: v }));
  const setCategory = field('category');
  const setTitle = field('title');
  const setSeverity = field('severity');
  const setDescription = field('description');
  const setTags = field('tags');
  const [errors, setErrors] = useState({});
  const [busy, setBusy] = useState(false);
  const [formError, setFormError] = useState('');
  const titleRef = useRef(null);
  const gridRef = useRef(null);
  const ids = { title: useUid('title'), desc: useUid('desc'), tags: useUid('tags'), prio: useUid('prio'), when: useUid('when') };
  const hasDraft = Boolean(title || description || category || tags.length || form.impact_started || priority);
  const discard = () => {
    draft.clear(blank());
    setErrors({});
  };

  useLayoutEffect(() => {
    if (titleRef.current) titleRef.current.focus();
  }, []);

  const validate = () => {
    const e = {};
    if (!category) e.category = 'Choose the domain this incident belongs to.';
    const t = title.trim();
    if (!t) e.title = 'Give the incident a short title.';
    else if (t.length > TITLE_MAX) e.title = `Keep the title under ${TITLE_MAX} characters (now ${t.length}).`;
    if (description.length > DESCRIPTION_MAX) e.description = 'The description is too long (100,000 characters at most).';
    if (tags.length > 20) e.tags = 'At most 20 tags.';
    if (form.impact_started && (!inputToUtc(form.impact_started) || form.impact_started > inputLimit(0.1))) {
      e.impact_started = 'Enter when the impact began (not in the future).';
    }
    return e;
  };

  const submit = async (ev) => {
    ev.preventDefault();
    const e = validate();
    setErrors(e);
    setFormError('');
    if (Object.keys(e).length) {
      if (e.title && titleRef.current) titleRef.current.focus();
      else if (e.category && gridRef.current) {
        const first = gridRef.current.querySelector('button');
        if (first) first.focus();
      }
      return;
    }
    setBusy(true);
    try {
      const detail = await api.createIssue({
        title: title.trim(),
        severity,
        category,
        description: description.trim() ? description : undefined,
        tags,
        priority: priority || undefined,
      });
      draft.clear();
      if (form.impact_started) {
        try {
          await call('set_issue_milestones', { issue_id: detail.issue.id, impact_started: inputToUtc(form.impact_started) });
        } catch (err) {
          toast.error(err);
        }
      }
      toast.success('Incident opened');
      navigate(issueHref(detail.issue.id));
    } catch (err) {
      setFormError(err.message);
      toast.error(err);
    } finally {
      setBusy(false);
    }
  };

  const clearErr = (k) => errors[k] && setErrors({ ...errors, [k]: undefined });

  return html`<div class="page narrow" data-testid="new-issue">
    <div class="page-head">
      <div>
        <h1>New incident</h1>
        <p class="subtle">Capture what you know now; you can refine everything later.</p>
      </div>
      ${hasDraft
        ? html`<div class="page-actions"><span class="subtle small" data-testid="new-issue-draft">Draft kept</span>
            <button type="button" class="btn btn-sm btn-ghost" onClick=${discard} data-testid="new-issue-discard">Clear form</button></div>`
        : null}
    </div>
    <form class="form card" onSubmit=${submit} noValidate data-testid="new-issue-form"
      onKeyDown=${(e) => e.key === 'Enter' && (e.ctrlKey || e.metaKey) && submit(e)}>
      <${Field} label="Title" htmlFor=${ids.title} error=${errors.title} required testid="new-issue-title"
          hint="A short line people will recognise in a list — up to 300 characters.">
        <div class="with-count">
          <input id=${ids.title} ref=${titleRef} class="input input-lg" value=${title} maxLength=${TITLE_MAX}
            placeholder="e.g. Checkout API returns 502 for EU customers"
            aria-invalid=${errors.title ? 'true' : 'false'}
            onInput=${(e) => { setTitle(e.currentTarget.value); clearErr('title'); }}
            data-testid="new-issue-title" />
          <${CharCount} value=${title} max=${TITLE_MAX} from=${0.6} testid="new-issue-title-count" />
        </div>
      <//>

      <div class=${'field' + (errors.category ? ' has-error' : '')}>
        <span class="field-label" id="domain-label">Domain<span class="req" aria-hidden="true"> *</span></span>
        <div class="domain-grid" ref=${gridRef} role="radiogroup" aria-labelledby="domain-label" data-testid="domain-grid">
          ${domains.map(
            (d) => html`<button type="button" key=${d.id} role="radio" aria-checked=${category === d.id ? 'true' : 'false'}
                class=${'domain-card' + (category === d.id ? ' on' : '')} title=${d.description || d.label}
                data-testid=${'domain-' + d.id}
                onClick=${() => { setCategory(d.id); clearErr('category'); }}>
              <${DomainGlyph} domain=${d} />
              <span class="domain-text">
                <span class="domain-name">${d.label}</span>
                ${d.description ? html`<span class="domain-desc">${d.description}</span>` : null}
              </span>
              ${category === d.id ? html`<span class="domain-check"><${Icon} name="check" size=${14} /></span>` : null}
            </button>`,
          )}
        </div>
        ${errors.category ? html`<div class="field-error" role="alert" data-testid="new-issue-domain-error">${errors.category}</div>` : null}
      </div>

      <div class="row-2 new-issue-row">
        <div class="field">
          <span class="field-label" id="sev-label">Severity</span>
          <${Segmented} options=${SEVERITY_OPTIONS} value=${severity} onChange=${setSeverity} label="Severity" testid="new-issue-severity" />
        </div>
        <${Field} label="Priority" htmlFor=${ids.prio} hint="How soon to act; severity says how bad it is.">
          <select id=${ids.prio} class="input" value=${priority} onChange=${(e) => field('priority')(e.currentTarget.value)} data-testid="new-issue-priority">
            ${PRIORITY_OPTIONS.map((o) => html`<option key=${o.value} value=${o.value}>${o.label}</option>`)}
          </select>
        <//>
      </div>

      <${Field} label="Impact started (optional)" htmlFor=${ids.when} error=${errors.impact_started} testid="new-issue-impact"
          hint=${`When customers or services were first affected, if it began before now. Your time zone: ${zoneLabel()}.`}>
        <div class="with-btn">
          <input id=${ids.when} type="datetime-local" class="input" value=${form.impact_started} max=${inputLimit(0.1)}
            onInput=${(e) => { field('impact_started')(e.currentTarget.value); clearErr('impact_started'); }}
            data-testid="new-issue-impact-started" />
          <button type="button" class="btn btn-sm" onClick=${() => field('impact_started')(nowForInput())}>Now</button>
        </div>
      <//>

      <${Field} label="Description" htmlFor=${ids.desc} error=${errors.description}
          hint="What is broken, who is affected, since when. Paste error messages as they are." testid="new-issue-description">
        <textarea id=${ids.desc} class="input" rows="7" value=${description} maxLength=${DESCRIPTION_MAX}
          onInput=${(e) => { setDescription(e.currentTarget.value); clearErr('description'); }}
          data-testid="new-issue-description"></textarea>
        <${CharCount} value=${description} max=${DESCRIPTION_MAX} />
      <//>

      <${Field} label="Tags" htmlFor=${ids.tags} error=${errors.tags} hint="Enter or comma adds a tag (up to 20, each up to 50 characters); Backspace removes the last." testid="new-issue-tags">
        <${ChipInput} id=${ids.tags} value=${tags} onChange=${(t) => { setTags(t); clearErr('tags'); }}
          testid="new-issue-tags" onError=${(m) => setErrors({ ...errors, tags: m })} />
      <//>

      ${formError ? html`<div class="form-error" role="alert" data-testid="new-issue-error">${formError}</div>` : null}

      <div class="form-actions">
        <a class="btn" href="#/dashboard" onClick=${() => draft.clear()} data-testid="new-issue-cancel">Cancel</a>
        <button type="submit" class="btn btn-primary" disabled=${busy} data-testid="new-issue-create">
          ${busy ? html`<span class="spinner sm" aria-hidden="true"></span>` : html`<${Icon} name="plus" />`}
          Create incident
        </button>
      </div>
    </form>
  </div>`;
}
