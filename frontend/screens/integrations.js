// Integrations: Confluence, ServiceNow and Azure DevOps.
//
// Settings → Integrations configures the three services (address, account, token, space or
// project) and tests the connection. Tokens are write-only: the backend returns only whether
// one is set and its last four characters. The other screens use the pieces exported here:
// the Publish button and page link on a document, the ServiceNow card and the knowledge
// search on the incident overview, the Azure DevOps push and work-item links on the action
// items. Every string that comes from a service (messages, titles, excerpts) is rendered as
// text; links are shown only when they are http(s).

import { html, useState, useEffect, useCallback } from '../vendor/htm-preact/standalone.module.js';
import { call, errorMessage } from '../lib/commands.js';
import { confirmDelete } from '../lib/confirm.js';
import { on } from '../lib/events.js';
import { Icon } from '../lib/icons.js';
import { Modal, openDialog, confirmDialog, toast, Spinner, Field, Switch, useUid } from '../lib/ui.js';
import { navigate, issueHref } from '../lib/state.js';
import { relativeTime, plural } from '../lib/format.js';

export const integrations = {
  list: () => call('list_integrations'),
  save: (fields) => call('save_integration', fields),
  test: (service) => call('test_integration', { service }),
  remove: (service) => call('delete_integration', { service }),
  links: (issue_id) => call('get_integration_links', { issue_id }),
  publish: (document_id, overwrite) => call('publish_document', { document_id, overwrite: overwrite || undefined }),
  createIncident: (issue_id) => call('create_external_incident', { issue_id }),
  resolveIncident: (issue_id) => call('resolve_external_incident', { issue_id }),
  pushActionItems: (issue_id) => call('push_action_items', { issue_id }),
  search: (issue_id, query, services) =>
    call('search_knowledge', { issue_id, query: query || undefined, services: services && services.length ? services : undefined }),
};

const SERVICES = {
  confluence: {
    label: 'Confluence',
    blurb: 'Publish the RCA and the post-mortem as pages in a space, with the timeline chart attached.',
    address: 'Site address',
    addressHint: 'Cloud: https://SITE.atlassian.net/wiki. Data Center: the address of your Confluence.',
    placeholder: 'https://your-site.atlassian.net/wiki',
    user: 'Email (Cloud)',
    userHint: 'Cloud signs in with your email and an API token. For Data Center, leave it empty and use a personal access token.',
    token: 'API token or personal access token',
    extra: 'space_key',
  },
  servicenow: {
    label: 'ServiceNow',
    blurb: 'Open the incident in ServiceNow, keep its INC number, and resolve it with the notes.',
    address: 'Instance address',
    addressHint: 'Such as https://your-instance.service-now.com.',
    placeholder: 'https://your-instance.service-now.com',
    user: 'User name',
    userHint: 'With a user name the password is sent as Basic auth. Leave it empty to use an OAuth bearer token.',
    token: 'Password or OAuth token',
    extra: 'auto',
  },
  azuredevops: {
    label: 'Azure DevOps',
    blurb: 'Push action items as work items (a Bug for immediate ones, a Task otherwise).',
    address: 'Organisation address',
    addressHint: 'Such as https://dev.azure.com/your-organisation.',
    placeholder: 'https://dev.azure.com/your-organisation',
    user: null,
    token: 'Personal access token',
    extra: 'project_name',
  },
};

const SERVICE_ORDER = ['confluence', 'servicenow', 'azuredevops'];

/** An http(s) address from a service, or null (nothing else becomes a link). */
export function safeUrl(url) {
  return typeof url === 'string' && /^https?:\/\//i.test(url) ? url : null;
}

/** A link that opens in the system browser (the desktop window never navigates away). */
export function ExternalLink({ url, children, testid, title }) {
  const href = safeUrl(url);
  if (!href) return html`<span data-testid=${testid}>${children}</span>`;
  return html`<a class="ext-link" href=${href} target="_blank" rel="noopener noreferrer" title=${title || href}
      data-testid=${testid}>${children}<${Icon} name="link" size=${12} /></a>`;
}

// ---------------------------------------------------------------- shared state
/** The incident's remote records and which services are set up; follows changes. */
export function useIntegrationLinks(issueId) {
  const [links, setLinks] = useState(null);
  const load = useCallback(
    () => integrations.links(issueId).then(setLinks).catch(() => setLinks((cur) => cur || { issue: {}, documents: {}, action_items: {}, services: {} })),
    [issueId],
  );
  useEffect(() => {
    load();
  }, [load]);
  useEffect(() => on('integrations_changed', (p) => (!p || !p.issue_id || p.issue_id === issueId) && load()), [issueId, load]);
  useEffect(() => on('issue_changed', (p) => (!p || p.issue_id === issueId) && load()), [issueId, load]);
  return [links, load];
}

function configured(links, service) {
  return Boolean(links && links.services && links.services[service] && links.services[service].configured);
}

function SetUpLink({ service }) {
  return html`<a class="btn btn-sm btn-ghost" href="#/settings" data-testid=${'integration-setup-' + service}
      title=${`Set up ${SERVICES[service].label} in Settings → Integrations`}>
    <${Icon} name="settings" size=${13} /> Set up ${SERVICES[service].label}
  </a>`;
}

// ---------------------------------------------------------------- Settings → Integrations
export function IntegrationsSection() {
  const [items, setItems] = useState(null);
  const [error, setError] = useState(null);
  const load = useCallback(
    () => integrations.list().then((d) => {
      setItems(d.items);
      setError(null);
    }).catch(setError),
    [],
  );
  useEffect(() => {
    load();
  }, [load]);
  useEffect(() => on('integrations_changed', () => load()), [load]);

  return html`<section class="card settings-card integrations" aria-labelledby="int-h" data-testid="integrations" id="integrations">
    <div class="card-head"><h2 class="card-title" id="int-h">Integrations</h2></div>
    <p class="subtle">Where your RCA goes when it leaves TFTSR. Everything sent passes the same PII gate as the AI:
      personal data and secrets are replaced by placeholders first, and every request is recorded in the audit log
      before it leaves. Tokens are stored encrypted, are only ever sent to the address they were entered for, and are
      never shown again.</p>
    ${error ? html`<p class="form-error" role="alert">${errorMessage(error)}</p>` : null}
    ${!items && !error ? html`<${Spinner} label="Loading integrations…" />` : null}
    ${items
      ? html`<div class="int-list">
          ${SERVICE_ORDER.map((s) => {
            const item = items.find((i) => i.service === s);
            return item ? html`<${ServiceForm} key=${s} item=${item} onChanged=${load} />` : null;
          })}
        </div>`
      : null}
  </section>`;
}

function formFrom(item) {
  return {
    base_url: item.base_url || '',
    username: item.username || '',
    token: '',
    space_key: item.space_key || '',
    project_name: item.project_name || '',
    auto_create_enabled: Boolean(item.auto_create_enabled),
  };
}

function ServiceForm({ item, onChanged }) {
  const spec = SERVICES[item.service];
  const s = item.service;
  const [form, setForm] = useState(() => formFrom(item));
  const [busy, setBusy] = useState('');
  const [result, setResult] = useState(null); // {ok, message}
  const [err, setErr] = useState('');
  const ids = { url: useUid('iu'), user: useUid('iw'), token: useUid('it'), extra: useUid('ix') };
  useEffect(() => setForm(formFrom(item)), [item.updated_at, item.configured]);

  const set = (k) => (e) => {
    const v = e && e.currentTarget ? e.currentTarget.value : e;
    setForm((f) => ({ ...f, [k]: v }));
    setErr('');
  };

  const fields = (extra = {}) => ({
    service: s,
    base_url: form.base_url.trim(),
    token: form.token.trim() || undefined,
    username: spec.user ? form.username.trim() || undefined : undefined,
    space_key: spec.extra === 'space_key' ? form.space_key.trim() || undefined : undefined,
    project_name: spec.extra === 'project_name' ? form.project_name.trim() || undefined : undefined,
    auto_create_enabled: spec.extra === 'auto' ? form.auto_create_enabled : undefined,
    ...extra,
  });

  const save = async (e) => {
    if (e) e.preventDefault();
    if (!form.base_url.trim()) return setErr(`Enter the ${spec.address.toLowerCase()}.`);
    setBusy('save');
    setResult(null);
    try {
      try {
        await integrations.save(fields());
      } catch (error) {
        if (error.code !== 'api_key_reentry_required') throw error;
        const origin = new URL(form.base_url.trim()).origin;
        const ok = await confirmDialog({
          title: 'Send the stored token to a new address?',
          message: `${error.message} Confirm only if ${origin} is really your ${spec.label}.`,
          confirmLabel: `Use the token for ${origin}`,
        });
        if (!ok) return undefined;
        await integrations.save(fields({ confirm_origin: origin }));
      }
      toast.success(`${spec.label} saved`);
      setForm((f) => ({ ...f, token: '' }));
      onChanged();
    } catch (error) {
      setErr(errorMessage(error));
    } finally {
      setBusy('');
    }
    return undefined;
  };

  const test = async () => {
    setBusy('test');
    setResult(null);
    try {
      setResult(await integrations.test(s));
    } catch (error) {
      setResult({ ok: false, message: errorMessage(error) });
    } finally {
      setBusy('');
    }
  };

  const remove = async () => {
    const ok = await confirmDelete({
      title: `Remove ${spec.label}?`,
      message: 'Its address and stored token are deleted. Pages, incidents and work items already created stay linked.',
      confirmLabel: 'Remove',
    });
    if (!ok) return;
    setBusy('delete');
    try {
      await integrations.remove(s);
      toast.success(`${spec.label} removed`);
      setResult(null);
      onChanged();
    } catch (error) {
      toast.error(error);
    } finally {
      setBusy('');
    }
  };

  const tokenHint = item.token_set
    ? `A token is stored (…${item.token_last4 || '••••'}) for ${item.token_origin}. Leave empty to keep it.`
    : 'Stored encrypted on this machine; never shown again.';

  return html`<form class=${'int-service' + (item.configured ? ' on' : '')} onSubmit=${save}
      data-testid=${'integration-' + s} data-configured=${item.configured ? 'true' : 'false'} aria-label=${spec.label}>
    <div class="int-head">
      <strong>${spec.label}</strong>
      <span class=${'badge int-state' + (item.configured ? ' on' : '')} data-testid=${'integration-' + s + '-status'}>
        ${item.configured ? html`<${Icon} name="check" size=${12} /> Set up` : 'Not set up'}
      </span>
      ${item.updated_at ? html`<span class="subtle small">Saved ${relativeTime(item.updated_at)}</span>` : null}
    </div>
    <p class="subtle small int-blurb">${spec.blurb}</p>
    <div class="int-grid">
      <${Field} label=${spec.address} htmlFor=${ids.url} hint=${spec.addressHint}>
        <input id=${ids.url} class="input" type="url" value=${form.base_url} placeholder=${spec.placeholder} maxLength="500"
          autocomplete="off" spellcheck="false" onInput=${set('base_url')} data-testid=${'integration-' + s + '-base-url'} />
      <//>
      ${spec.user
        ? html`<${Field} label=${spec.user} htmlFor=${ids.user} hint=${spec.userHint}>
            <input id=${ids.user} class="input" value=${form.username} maxLength="200" autocomplete="off" spellcheck="false"
              onInput=${set('username')} data-testid=${'integration-' + s + '-username'} />
          <//>`
        : null}
      <${Field} label=${spec.token} htmlFor=${ids.token} hint=${tokenHint}>
        <input id=${ids.token} class="input mono" type="password" value=${form.token} maxLength="4096"
          autocomplete="new-password" spellcheck="false" placeholder=${item.token_set ? '•••• stored' : ''}
          onInput=${set('token')} data-testid=${'integration-' + s + '-token'} />
      <//>
      ${spec.extra === 'space_key'
        ? html`<${Field} label="Space key" htmlFor=${ids.extra} hint="The space pages are published to, such as OPS.">
            <input id=${ids.extra} class="input" value=${form.space_key} maxLength="100" autocomplete="off" spellcheck="false"
              onInput=${set('space_key')} data-testid=${'integration-' + s + '-space-key'} />
          <//>`
        : spec.extra === 'project_name'
          ? html`<${Field} label="Project" htmlFor=${ids.extra} hint="The project the work items are created in.">
              <input id=${ids.extra} class="input" value=${form.project_name} maxLength="200" autocomplete="off"
                onInput=${set('project_name')} data-testid=${'integration-' + s + '-project'} />
            <//>`
          : html`<div class="field int-switch">
              <${Switch} id=${ids.extra} checked=${form.auto_create_enabled} testid=${'integration-' + s + '-auto'}
                label="Resolve the ServiceNow record when the incident is resolved"
                onChange=${(v) => setForm((f) => ({ ...f, auto_create_enabled: v }))} />
              <span class="field-hint">Resolve the ServiceNow record with the resolution notes as soon as the incident is resolved here, without asking.</span>
            </div>`}
    </div>
    ${err ? html`<p class="form-error" role="alert" data-testid=${'integration-' + s + '-error'}>${err}</p>` : null}
    ${result
      ? html`<p class=${'int-result ' + (result.ok ? 'ok' : 'bad')} role="status" data-testid=${'integration-' + s + '-test-result'}
          data-ok=${result.ok ? 'true' : 'false'}>
          <${Icon} name=${result.ok ? 'check' : 'alert'} size=${14} /><span>${result.message}</span>
        </p>`
      : null}
    <div class="int-actions">
      <button type="submit" class="btn btn-sm btn-primary" disabled=${Boolean(busy)} data-testid=${'integration-' + s + '-save'}>
        ${busy === 'save' ? html`<span class="spinner sm" aria-hidden="true"></span>` : null} Save
      </button>
      <button type="button" class="btn btn-sm" disabled=${Boolean(busy) || !item.configured} onClick=${test}
        data-testid=${'integration-' + s + '-test'} title=${item.configured ? '' : 'Save the settings first'}>
        ${busy === 'test' ? html`<span class="spinner sm" aria-hidden="true"></span>` : html`<${Icon} name="activity" size=${13} />`} Test connection
      </button>
      ${item.base_url
        ? html`<button type="button" class="btn btn-sm btn-ghost btn-danger-text" disabled=${Boolean(busy)} onClick=${remove}
            data-testid=${'integration-' + s + '-delete'}><${Icon} name="trash" size=${13} /> Remove</button>`
        : null}
    </div>
  </form>`;
}

// ---------------------------------------------------------------- documents: publish
/**
 * Publish to Confluence (or the way to set it up) and the page link, for a document.
 * Call `beforePublish` to save pending edits first; it returns false when that failed.
 */
export function PublishControl({ doc, issueId, beforePublish }) {
  const [links] = useIntegrationLinks(issueId);
  const [busy, setBusy] = useState(false);
  const page = links && links.documents[doc.id] ? links.documents[doc.id].confluence : null;

  const publish = async (overwrite = false) => {
    setBusy(true);
    try {
      if (beforePublish && !(await beforePublish())) {
        toast.error('Your latest edits are not saved, so nothing was published. Resolve that first.');
        return;
      }
      const res = await integrations.publish(doc.id, overwrite);
      if (res.warnings && res.warnings.length) toast.info(res.message);
      else toast.success(res.message);
    } catch (err) {
      if (err.code === 'integration_conflict' && /edited in Confluence/.test(err.message) && !overwrite) {
        const ok = await confirmDialog({
          title: 'The Confluence page was edited there',
          message: `${err.message} Replacing it keeps Confluence's history, so the edits can still be found there.`,
          confirmLabel: 'Replace the page',
          danger: true,
        });
        if (ok) {
          setBusy(false);
          await publish(true);
        }
        return;
      }
      toast.error(err);
    } finally {
      setBusy(false);
    }
  };

  if (!links) return null;
  if (!configured(links, 'confluence')) {
    return page ? html`<${PageLink} page=${page} />` : html`<${SetUpLink} service="confluence" />`;
  }
  return html`<div class="publish-group" role="group" aria-label="Publish">
    <button class="btn btn-sm" disabled=${busy} onClick=${() => publish(false)} data-testid="doc-publish"
      title=${page ? 'Update the Confluence page with this version' : 'Publish this document as a Confluence page'}>
      ${busy ? html`<span class="spinner sm" aria-hidden="true"></span>` : html`<${Icon} name="upload" size=${14} />`}
      ${page ? 'Update in Confluence' : 'Publish to Confluence'}
    </button>
    ${page ? html`<${PageLink} page=${page} />` : null}
  </div>`;
}

function PageLink({ page }) {
  return html`<${ExternalLink} url=${page.url} testid="doc-confluence-link"
      title=${`Confluence page ${page.remote_id}, version ${page.version}`}>
    Confluence page <span class="subtle">v${page.version}</span>
  <//>`;
}

// ---------------------------------------------------------------- incident: ServiceNow + search
/** The incident's ServiceNow record (INC number and link) and the knowledge search. */
export function IncidentIntegrationsCard({ issue }) {
  const [links] = useIntegrationLinks(issue.id);
  const [busy, setBusy] = useState('');
  if (!links) return null;
  const record = links.issue.servicenow || null;
  const snow = configured(links, 'servicenow');
  const anyService = anyConfigured(links);
  const resolvedHere = issue.status === 'resolved' || issue.status === 'closed';

  const run = async (what, fn) => {
    setBusy(what);
    try {
      const res = await fn();
      if (res.warnings && res.warnings.length) toast.info(res.message);
      else toast.success(res.message);
    } catch (err) {
      toast.error(err);
    } finally {
      setBusy('');
    }
  };

  return html`<section class="card int-card" aria-labelledby="int-card-h" data-testid="incident-integrations">
    <h2 class="card-title" id="int-card-h">Elsewhere</h2>
    <div class="int-row" data-testid="servicenow-record">
      <span class="int-row-label">ServiceNow</span>
      ${record
        ? html`<span class="int-row-value">
            <${ExternalLink} url=${record.url} testid="servicenow-link" title=${`Open ${record.remote_key} in ServiceNow`}>
              <span class="mono" data-testid="servicenow-number">${record.remote_key}</span>
            <//>
            ${record.state === 'resolved' ? html`<span class="badge int-state on" data-testid="servicenow-resolved">Resolved</span>` : null}
          </span>`
        : html`<span class="subtle">No record yet</span>`}
    </div>
    <div class="int-card-actions">
      ${snow
        ? html`<button class="btn btn-sm" disabled=${Boolean(busy)} data-testid="servicenow-create"
              onClick=${() => run('create', () => integrations.createIncident(issue.id))}
              title=${record ? 'Send the current title, description and severity to the same record' : 'Open this incident in ServiceNow'}>
            ${busy === 'create' ? html`<span class="spinner sm" aria-hidden="true"></span>` : html`<${Icon} name="upload" size=${13} />`}
            ${record ? 'Update in ServiceNow' : 'Open in ServiceNow'}
          </button>
          ${record && resolvedHere && record.state !== 'resolved'
            ? html`<button class="btn btn-sm" disabled=${Boolean(busy)} data-testid="servicenow-resolve"
                  onClick=${() => run('resolve', () => integrations.resolveIncident(issue.id))}>
                ${busy === 'resolve' ? html`<span class="spinner sm" aria-hidden="true"></span>` : html`<${Icon} name="check" size=${13} />`}
                Resolve in ServiceNow
              </button>`
            : null}`
        : record ? null : html`<${SetUpLink} service="servicenow" />`}
      ${anyService
        ? html`<button class="btn btn-sm" data-testid="knowledge-search-open"
              onClick=${() => openKnowledgeSearch(issue)}>
            <${Icon} name="search" size=${13} /> Search team knowledge
          </button>`
        : null}
    </div>
  </section>`;
}

let eventsHooked = false;
function hookIntegrationEvents() {
  if (eventsHooked) return;
  eventsHooked = true;
  on('integration_done', (p) => p && p.message && toast.success(p.message));
  on('integration_error', (p) => p && p.message && toast.error(p.message));
}

/**
 * After a status change: a resolved incident whose ServiceNow record is still open gets
 * that record resolved — at once when the integration says so, else after asking.
 */
export async function afterStatusChange(issue, status) {
  if (status !== 'resolved' && status !== 'closed') return;
  let links;
  try {
    links = await integrations.links(issue.id);
  } catch (_) {
    return;
  }
  const record = links.issue.servicenow;
  const service = links.services.servicenow;
  if (!record || record.state === 'resolved' || !service || !service.configured) return;
  if (service.auto_create_enabled) {
    // TFTSR resolves it on its own (also when the status is changed by a script).
    hookIntegrationEvents();
    toast.info(`Resolving ${record.remote_key} in ServiceNow…`);
    return;
  }
  const ok = await confirmDialog({
    title: `Resolve ${record.remote_key} in ServiceNow too?`,
    message: 'The ServiceNow record gets state Resolved and the resolution notes: the root cause and the action items, with personal data replaced by placeholders.',
    confirmLabel: `Resolve ${record.remote_key}`,
  });
  if (!ok) return;
  try {
    const res = await integrations.resolveIncident(issue.id);
    toast.success(res.message);
  } catch (err) {
    toast.error(err);
  }
}

// Text the user chose to bring into the chat, per incident (read once by the composer).
const chatContext = new Map();

/** Put text into the next chat message of an incident and open the chat. */
export function useInChat(issueId, text) {
  chatContext.set(issueId, text);
  navigate(issueHref(issueId, 'chat'));
}

/** The text waiting for the chat composer of an incident, if any (taken once). */
export function takeChatContext(issueId) {
  const text = chatContext.get(issueId) || '';
  chatContext.delete(issueId);
  return text;
}

const SERVICE_LABEL = { confluence: 'Confluence', servicenow: 'ServiceNow', azuredevops: 'Azure DevOps' };

/** Whether any of the three services is set up (from `useIntegrationLinks`). */
export function anyConfigured(links) {
  return SERVICE_ORDER.some((s) => configured(links, s));
}

/**
 * Search the team's knowledge for an incident. The result the user picks goes to
 * `onUse(text)` (the chat composer), or without it into the incident's chat.
 */
export function openKnowledgeSearch(issue, onUse) {
  return openDialog((close) => html`<${KnowledgeDialog} issue=${issue} onClose=${close} onUse=${onUse} />`);
}

function KnowledgeDialog({ issue, onClose, onUse }) {
  const [query, setQuery] = useState('');
  const [busy, setBusy] = useState(false);
  const [found, setFound] = useState(null);
  const [err, setErr] = useState('');
  const qid = useUid('kq');

  const search = async (e) => {
    if (e) e.preventDefault();
    setBusy(true);
    setErr('');
    try {
      setFound(await integrations.search(issue.id, query.trim()));
    } catch (error) {
      setErr(errorMessage(error));
    } finally {
      setBusy(false);
    }
  };
  useEffect(() => {
    search();
  }, []);

  const contextText = (r) =>
    `Context from ${SERVICE_LABEL[r.service] || r.service} (${r.kind}): ${r.title}\n${r.excerpt || ''}\n${safeUrl(r.url) || ''}`.trim();
  const copy = async (r) => {
    try {
      await navigator.clipboard.writeText(contextText(r));
      toast.success('Copied');
    } catch (_) {
      toast.error('Copying is not available here.');
    }
  };

  return html`<${Modal} title="Search team knowledge" size="lg" onClose=${() => onClose(null)} testid="knowledge-dialog">
    <form class="kn-form" onSubmit=${search}>
      <label class="sr-only" for=${qid}>Search for</label>
      <input id=${qid} class="input" value=${query} maxLength="300" data-autofocus
        placeholder=${`The incident's terms (${issue.title.slice(0, 60)})`} onInput=${(e) => setQuery(e.currentTarget.value)}
        data-testid="knowledge-query" />
      <button type="submit" class="btn btn-primary" disabled=${busy} data-testid="knowledge-search">
        ${busy ? html`<span class="spinner sm" aria-hidden="true"></span>` : html`<${Icon} name="search" size=${14} />`} Search
      </button>
    </form>
    <p class="subtle small">The words are checked for personal data first, and only what remains is sent. Results are shown as
      text; what you bring into the chat passes the PII gate again when it is sent.</p>
    ${err ? html`<p class="form-error" role="alert">${err}</p>` : null}
    ${found
      ? html`<p class="subtle" data-testid="knowledge-summary">
          ${found.query ? html`Searched for <strong>${found.query}</strong>: ` : null}${found.message}
        </p>
        ${found.errors.map(
          (e) => html`<p key=${e.service} class="banner banner-warn small" role="alert" data-testid="knowledge-error" data-service=${e.service}>
            <${Icon} name="alert" size=${14} /><span><strong>${SERVICE_LABEL[e.service]}:</strong> ${e.message}</span>
          </p>`,
        )}
        <ul class="kn-results" data-testid="knowledge-results">
          ${found.results.map(
            (r, i) => html`<li key=${r.service + i} class="kn-result" data-testid="knowledge-result" data-service=${r.service}>
              <div class="kn-title">
                <span class=${'badge kn-kind kn-' + r.service}>${SERVICE_LABEL[r.service]} · ${r.kind}</span>
                <${ExternalLink} url=${r.url} testid="knowledge-result-link">${r.title}<//>
              </div>
              ${r.excerpt ? html`<p class="kn-excerpt">${r.excerpt}</p>` : null}
              <div class="kn-actions">
                <button class="btn btn-sm" data-testid="knowledge-use-in-chat"
                  onClick=${() => {
                    if (onUse) onUse(contextText(r));
                    else useInChat(issue.id, contextText(r));
                    onClose(r);
                  }}><${Icon} name="activity" size=${13} /> Use in chat</button>
                <button class="btn btn-sm btn-ghost" onClick=${() => copy(r)}><${Icon} name="copy" size=${13} /> Copy</button>
              </div>
            </li>`,
          )}
        </ul>`
      : busy
        ? html`<${Spinner} label="Searching…" />`
        : null}
  <//>`;
}

// ---------------------------------------------------------------- action items: Azure DevOps
/** Push the incident's action items to Azure DevOps (or the way to set it up). */
export function PushActionItems({ issue, count }) {
  const [links] = useIntegrationLinks(issue.id);
  const [busy, setBusy] = useState(false);
  if (!links) return null;
  if (!configured(links, 'azuredevops')) return count ? html`<${SetUpLink} service="azuredevops" />` : null;
  const pushed = Object.keys(links.action_items || {}).length;
  const push = async () => {
    setBusy(true);
    try {
      const res = await integrations.pushActionItems(issue.id);
      const extra = [...(res.notes || []), ...(res.failed || []).slice(1).map((f) => f.message)];
      if (res.failed && res.failed.length) toast.error(res.message);
      else toast.success(res.message);
      if (extra.length) toast.info(extra.join(' '));
    } catch (err) {
      toast.error(err);
    } finally {
      setBusy(false);
    }
  };
  return html`<button class="btn btn-sm" disabled=${busy || !count} onClick=${push} data-testid="action-items-push"
      title=${pushed ? `${plural(pushed, 'item')} already in Azure DevOps; changed ones are updated, none duplicated` : 'One work item per action item'}>
    ${busy ? html`<span class="spinner sm" aria-hidden="true"></span>` : html`<${Icon} name="upload" size=${13} />`}
    ${pushed ? 'Update Azure DevOps' : 'Push to Azure DevOps'}
  </button>`;
}

/** The Azure DevOps work item of one action item, as a link. */
export function WorkItemLink({ links, itemId }) {
  const link = links && links.action_items && links.action_items[itemId] ? links.action_items[itemId].azuredevops : null;
  if (!link) return null;
  return html`<${ExternalLink} url=${link.url} testid="action-item-work-item" title=${`Azure DevOps ${link.remote_key || 'work item'} ${link.remote_id}`}>
    <span class="mono">${link.remote_key || 'Item'} ${link.remote_id}</span>
  <//>`;
}
