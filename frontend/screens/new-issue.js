import { html, useState, useRef, useLayoutEffect } from '../vendor/htm-preact/standalone.module.js';
import { api } from '../lib/commands.js';
import { Icon } from '../lib/icons.js';
import { Segmented, ChipInput, Field, toast, useUid } from '../lib/ui.js';
import { useApp, navigate, issueHref, settingValue } from '../lib/state.js';
import { SEVERITIES, SEVERITY_LABEL } from '../lib/format.js';

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
  const [category, setCategory] = useState('');
  const [title, setTitle] = useState('');
  const [severity, setSeverity] = useState(() => settingValue('default_severity', 'medium'));
  const [description, setDescription] = useState('');
  const [tags, setTags] = useState([]);
  const [errors, setErrors] = useState({});
  const [busy, setBusy] = useState(false);
  const [formError, setFormError] = useState('');
  const titleRef = useRef(null);
  const gridRef = useRef(null);
  const ids = { title: useUid('title'), desc: useUid('desc'), tags: useUid('tags') };

  useLayoutEffect(() => {
    if (titleRef.current) titleRef.current.focus();
  }, []);

  const validate = () => {
    const e = {};
    if (!category) e.category = 'Choose the domain this incident belongs to.';
    const t = title.trim();
    if (!t) e.title = 'Give the incident a short title.';
    else if (t.length > 300) e.title = `Keep the title under 300 characters (now ${t.length}).`;
    if (description.length > 100000) e.description = 'The description is too long (100,000 characters at most).';
    if (tags.length > 20) e.tags = 'At most 20 tags.';
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
      });
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
    </div>
    <form class="form card" onSubmit=${submit} noValidate data-testid="new-issue-form"
      onKeyDown=${(e) => e.key === 'Enter' && (e.ctrlKey || e.metaKey) && submit(e)}>
      <${Field} label="Title" htmlFor=${ids.title} error=${errors.title} required testid="new-issue-title">
        <input id=${ids.title} ref=${titleRef} class="input input-lg" value=${title} maxLength="400"
          placeholder="e.g. Checkout API returns 502 for EU customers"
          aria-invalid=${errors.title ? 'true' : 'false'}
          onInput=${(e) => { setTitle(e.currentTarget.value); clearErr('title'); }}
          data-testid="new-issue-title" />
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

      <div class="field">
        <span class="field-label" id="sev-label">Severity</span>
        <${Segmented} options=${SEVERITY_OPTIONS} value=${severity} onChange=${setSeverity} label="Severity" testid="new-issue-severity" />
      </div>

      <${Field} label="Description" htmlFor=${ids.desc} error=${errors.description}
          hint="What is broken, who is affected, since when. Paste error messages as they are." testid="new-issue-description">
        <textarea id=${ids.desc} class="input" rows="7" value=${description}
          onInput=${(e) => { setDescription(e.currentTarget.value); clearErr('description'); }}
          data-testid="new-issue-description"></textarea>
      <//>

      <${Field} label="Tags" htmlFor=${ids.tags} error=${errors.tags} hint="Enter or comma adds a tag; Backspace removes the last." testid="new-issue-tags">
        <${ChipInput} id=${ids.tags} value=${tags} onChange=${(t) => { setTags(t); clearErr('tags'); }}
          testid="new-issue-tags" onError=${(m) => setErrors({ ...errors, tags: m })} />
      <//>

      ${formError ? html`<div class="form-error" role="alert" data-testid="new-issue-error">${formError}</div>` : null}

      <div class="form-actions">
        <a class="btn" href="#/dashboard">Cancel</a>
        <button type="submit" class="btn btn-primary" disabled=${busy} data-testid="new-issue-create">
          ${busy ? html`<span class="spinner sm" aria-hidden="true"></span>` : html`<${Icon} name="plus" />`}
          Create incident
        </button>
      </div>
    </form>
  </div>`;
}
