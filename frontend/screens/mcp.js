// Settings → MCP servers: add, edit, enable/disable and delete the team's MCP servers,
// discover their tools and resources, try a tool, read a resource, and choose which tools
// the assistant may run without asking. Secrets (env values marked secret, headers, tokens)
// are write-only: the backend returns only "set" or their last four characters. Every
// string that comes from a server is rendered as text.

import { html, useState, useEffect, useCallback } from '../vendor/htm-preact/standalone.module.js';
import { errorMessage, mcp } from '../lib/commands.js';
import { confirmDelete } from '../lib/confirm.js';
import { on } from '../lib/events.js';
import { Icon } from '../lib/icons.js';
import { Modal, openDialog, toast, Spinner, Field, Switch, Segmented, useBusy, useUid } from '../lib/ui.js';
import { relativeTime, plural } from '../lib/format.js';

const STATUS = {
  pending: { label: 'Not discovered yet', icon: 'clock' },
  connected: { label: 'Connected', icon: 'check' },
  unreachable: { label: 'Unreachable', icon: 'alert' },
  error: { label: 'Error', icon: 'alert' },
};
const TRANSPORT_LABEL = { stdio: 'Local command (stdio)', http: 'Streamable HTTP', sse: 'HTTP + SSE (legacy)' };

export function McpServersSection() {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState({}); // server id -> action
  const [open, setOpen] = useState({}); // server id -> details shown

  const load = useCallback(() => mcp.list().then((d) => {
    setData(d);
    setError(null);
  }).catch(setError), []);
  useEffect(() => {
    load();
  }, [load]);
  useEffect(() => on('mcp_servers_changed', () => load()), [load]);

  const [, run] = useBusy(); // errors become toasts
  const runFor = (id, action, fn) => {
    setBusy((b) => ({ ...b, [id]: action }));
    return run(fn).finally(() => setBusy((b) => ({ ...b, [id]: null })));
  };

  const discover = async (server) => {
    const res = await runFor(server.id, 'discover', () => mcp.discover(server.id));
    if (!res) return;
    if (res.status === 'connected') {
      toast.success(`${server.name}: ${plural(res.tools.length, 'tool')}, ${plural(res.resources.length, 'resource')}`);
      setOpen((o) => ({ ...o, [server.id]: true }));
    } else {
      toast.error(res.error || `${server.name} is ${res.status}.`);
    }
    load();
  };

  const edit = async (server) => {
    const saved = await openDialog((close) => html`<${ServerDialog} server=${server} onClose=${close} />`);
    if (!saved) return;
    toast.success(server ? 'Server saved' : `${saved.name} added`);
    await load();
    if (saved.enabled) discover(saved);
  };

  const remove = async (server) => {
    const ok = await confirmDelete({
      title: `Delete ${server.name}?`,
      message: 'Its stored secrets, tools and resources are deleted too. The assistant can no longer use it.',
      confirmLabel: 'Delete server',
    });
    if (!ok) return;
    const res = await runFor(server.id, 'delete', () => mcp.remove(server.id));
    if (res) {
      toast.success('Server deleted');
      load();
    }
  };

  const toggle = async (server, enabled) => {
    const res = await runFor(server.id, 'enable', () => mcp.setEnabled(server.id, enabled));
    if (res) {
      toast.success(enabled ? `${server.name} enabled` : `${server.name} disabled: its tools are no longer offered`);
      load();
      if (enabled && server.discovery_status !== 'connected') discover(res);
    }
  };

  return html`<section class="card settings-card mcp-servers" aria-labelledby="mcp-h" data-testid="mcp-servers" id="mcp-servers">
    <div class="card-head">
      <h2 class="card-title" id="mcp-h">MCP servers</h2>
      ${data ? html`<button class="btn btn-sm btn-primary" onClick=${() => edit(null)} data-testid="mcp-server-add"><${Icon} name="plus" /> Add server</button>` : null}
    </div>
    <p class="subtle">Optional. Connect the MCP servers your team runs (metrics, runbooks, tickets) so the assistant can use
      their tools and resources during triage. Every call the assistant proposes waits for your approval unless you allow
      that tool always; arguments sent to an HTTP server pass the PII gate, and every call is in the audit log.</p>
    ${error ? html`<p class="form-error" role="alert">${errorMessage(error)}</p>` : null}
    ${!data && !error ? html`<${Spinner} label="Loading MCP servers…" />` : null}
    ${data && data.items.length === 0
      ? html`<div class="mcp-empty" data-testid="mcp-servers-empty">
          <${Icon} name="layers" />
          <div><strong>No MCP server yet.</strong> Add one started from a command on this machine (for example${' '}
            <code class="mono">npx -y @modelcontextprotocol/server-filesystem</code>) or reached by URL.</div>
        </div>`
      : null}
    ${data && data.items.length
      ? html`<ul class="mcp-list">
          ${data.items.map((s) => html`<${ServerRow} key=${s.id} s=${s} busy=${busy[s.id]} open=${Boolean(open[s.id])}
              onDiscover=${() => discover(s)} onEdit=${() => edit(s)} onDelete=${() => remove(s)}
              onToggle=${(v) => toggle(s, v)} onOpen=${() => setOpen((o) => ({ ...o, [s.id]: !o[s.id] }))} />`)}
        </ul>`
      : null}
  </section>`;
}

function StatusBadge({ s }) {
  const st = STATUS[s.discovery_status] || { label: s.discovery_status, icon: 'info' };
  return html`<span class=${'badge mcp-status ' + s.discovery_status} data-testid="mcp-server-status" data-status=${s.discovery_status}
    title=${s.last_discovered_at ? `Last discovered ${relativeTime(s.last_discovered_at)}` : undefined}>
    <${Icon} name=${st.icon} size=${11} /> ${st.label}</span>`;
}

function pairsText(items) {
  return items.map((e) => (e.secret ? `${e.name}=${e.hint || 'set'} (secret)` : `${e.name}=${e.value}`)).join('  ');
}

function ServerRow({ s, busy, open, onDiscover, onEdit, onDelete, onToggle, onOpen }) {
  const enabledId = useUid('mcp-en');
  return html`<li class=${'mcp-server' + (s.enabled ? '' : ' disabled')} data-testid="mcp-server" data-server-id=${s.id}
      data-status=${s.discovery_status} data-enabled=${s.enabled ? 'true' : 'false'}>
    <div class="mcp-server-main">
      <div class="mcp-server-title">
        <strong data-testid="mcp-server-name">${s.name}</strong>
        <span class="subtle">${TRANSPORT_LABEL[s.transport] || s.transport}</span>
        <${StatusBadge} s=${s} />
        <span class="spacer"></span>
        <label class="subtle small" for=${enabledId}>${s.enabled ? 'Enabled' : 'Disabled'}</label>
        <${Switch} id=${enabledId} checked=${s.enabled} label=${`Enable ${s.name}`} disabled=${Boolean(busy)}
          onChange=${onToggle} testid="mcp-server-enabled" />
      </div>
      <dl class="mcp-kv">
        ${s.transport === 'stdio'
          ? html`<dt>Command</dt><dd><code class="mono" data-testid="mcp-server-command">${[s.command, ...s.args].join(' ')}</code></dd>
              ${s.cwd ? html`<dt>Folder</dt><dd><code class="mono">${s.cwd}</code></dd>` : null}
              ${s.env.length ? html`<dt>Environment</dt><dd><code class="mono" data-testid="mcp-server-env">${pairsText(s.env)}</code></dd>` : null}`
          : html`<dt>URL</dt><dd><code class="mono" data-testid="mcp-server-url">${s.url}</code></dd>
              ${s.headers.length ? html`<dt>Headers</dt><dd><code class="mono">${pairsText(s.headers)}</code></dd>` : null}
              ${s.auth_type !== 'none'
                ? html`<dt>Auth</dt><dd data-testid="mcp-server-auth">${s.auth_type === 'bearer' ? 'Bearer token' : `API key in ${s.auth_header}`}
                    <code class="mono">${s.auth_hint || 'set'}</code></dd>`
                : null}`}
        <dt>Offers</dt><dd data-testid="mcp-server-counts">${plural(s.tool_count, 'tool')}, ${plural(s.resource_count, 'resource')}
          ${s.last_discovered_at ? html`<span class="subtle"> · discovered ${relativeTime(s.last_discovered_at)}</span>` : null}</dd>
      </dl>
      ${s.discovery_error
        ? html`<div class="ai-test-result bad mcp-error" role="status" data-testid="mcp-server-error">
            <${Icon} name="alert" size=${14} /><span>${s.discovery_error}</span></div>`
        : null}
    </div>
    <div class="ai-prov-actions">
      <button class="btn btn-sm" onClick=${onDiscover} disabled=${Boolean(busy) || !s.enabled} data-testid="mcp-server-discover"
        title=${s.enabled ? 'Connect now and list its tools and resources' : 'Enable the server first'}>
        ${busy === 'discover' ? html`<span class="spinner sm" aria-hidden="true"></span>` : html`<${Icon} name="refresh" size=${13} />`} Discover
      </button>
      <button class="btn btn-sm" onClick=${onOpen} aria-expanded=${open ? 'true' : 'false'} data-testid="mcp-server-toggle">
        <${Icon} name=${open ? 'up' : 'down'} size=${13} /> ${open ? 'Hide' : 'Tools and resources'}
      </button>
      <span class="spacer"></span>
      <button class="icon-btn" onClick=${onEdit} aria-label=${'Edit ' + s.name} title="Edit" data-testid="mcp-server-edit"><${Icon} name="edit" /></button>
      <button class="icon-btn danger" onClick=${onDelete} aria-label=${'Delete ' + s.name} title="Delete" disabled=${Boolean(busy)}
        data-testid="mcp-server-delete"><${Icon} name="trash" /></button>
    </div>
    ${open ? html`<${ServerDetail} key=${s.id + (s.last_discovered_at || '')} server=${s} />` : null}
  </li>`;
}

// ---------------------------------------------------------------- tools and resources
function ServerDetail({ server }) {
  const [detail, setDetail] = useState(null);
  const [error, setError] = useState(null);
  const load = useCallback(() => mcp.get(server.id).then(setDetail).catch(setError), [server.id]);
  useEffect(() => {
    load();
  }, [load]);

  const setAlways = async (tool, value) => {
    try {
      await mcp.setAlwaysAllow(server.id, tool.name, value);
      toast.success(value ? `${tool.name} runs without asking` : `${tool.name} asks again before running`);
      load();
    } catch (err) {
      toast.error(err);
    }
  };

  if (error) return html`<p class="form-error" role="alert">${errorMessage(error)}</p>`;
  if (!detail) return html`<${Spinner} label="Loading tools…" />`;
  return html`<div class="mcp-detail" data-testid="mcp-server-detail">
    <h3 class="mcp-sub">Tools</h3>
    ${detail.tools.length === 0
      ? html`<p class="subtle" data-testid="mcp-tools-empty">${server.discovery_status === 'connected' ? 'This server offers no tools.' : 'Discover the server to list its tools.'}</p>`
      : html`<ul class="mcp-tools">
          ${detail.tools.map((t) => html`<${ToolRow} key=${t.name} tool=${t} server=${server} onAlways=${(v) => setAlways(t, v)} />`)}
        </ul>`}
    <h3 class="mcp-sub">Resources</h3>
    ${detail.resources.length === 0
      ? html`<p class="subtle" data-testid="mcp-resources-empty">No resources.</p>`
      : html`<ul class="mcp-resources">
          ${detail.resources.map((r) => html`<li key=${r.uri} class="mcp-resource" data-testid="mcp-resource" data-uri=${r.uri}>
              <div class="mcp-resource-text">
                <strong>${r.name}</strong> <code class="mono subtle">${r.uri}</code>
                ${r.mime_type ? html` <span class="pill">${r.mime_type}</span>` : null}
                ${r.description ? html`<div class="subtle small">${r.description}</div>` : null}
              </div>
              <button class="btn btn-sm" data-testid="mcp-resource-read" disabled=${!server.enabled}
                onClick=${() => openDialog((close) => html`<${ResourceDialog} server=${server} resource=${r} onClose=${close} />`)}>
                <${Icon} name="eye" size=${13} /> Read</button>
            </li>`)}
        </ul>`}
  </div>`;
}

function ToolRow({ tool, server, onAlways }) {
  const id = useUid('mcp-always');
  const props = Object.keys((tool.input_schema && tool.input_schema.properties) || {});
  return html`<li class="mcp-tool" data-testid="mcp-tool" data-tool-name=${tool.name}>
    <div class="mcp-tool-text">
      <code class="mono mcp-tool-name" data-testid="mcp-tool-name">${tool.name}</code>
      ${props.length ? html`<span class="subtle small"> (${props.join(', ')})</span>` : null}
      ${tool.description ? html`<div class="subtle small mcp-tool-desc" data-testid="mcp-tool-description">${tool.description}</div>` : null}
    </div>
    <div class="mcp-tool-actions">
      <label class="small subtle" for=${id}>Always allow</label>
      <${Switch} id=${id} checked=${tool.always_allow} label=${`Let the assistant run ${tool.name} without asking`}
        onChange=${onAlways} testid="mcp-tool-always-allow" />
      <button class="btn btn-sm" data-testid="mcp-tool-try" disabled=${!server.enabled}
        onClick=${() => openDialog((close) => html`<${TryDialog} server=${server} tool=${tool} onClose=${close} />`)}>
        <${Icon} name="play" size=${13} /> Try it</button>
    </div>
  </li>`;
}

/** Example arguments from a JSON schema: required fields with a placeholder value. */
function skeleton(schema, defs, depth = 0) {
  if (!schema || depth > 6) return null;
  if (schema.$ref && defs) {
    const name = String(schema.$ref).split('/').pop();
    return skeleton(defs[name], defs, depth + 1);
  }
  if (schema.default !== undefined) return schema.default;
  if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[0];
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  if (type === 'object' || schema.properties) {
    const out = {};
    const required = new Set(schema.required || []);
    for (const [k, v] of Object.entries(schema.properties || {})) {
      if (required.has(k)) out[k] = skeleton(v, defs, depth + 1);
    }
    return out;
  }
  if (type === 'array') return [];
  if (type === 'integer' || type === 'number') return 0;
  if (type === 'boolean') return false;
  return '';
}

function TryDialog({ server, tool, onClose }) {
  const schema = tool.input_schema || {};
  const [text, setText] = useState(() => JSON.stringify(skeleton(schema, schema.$defs || schema.definitions) || {}, null, 2));
  const [state, setState] = useState({});
  const argsId = useUid('mcp-args');

  const run = async (e) => {
    if (e) e.preventDefault();
    let args;
    try {
      args = text.trim() ? JSON.parse(text) : {};
    } catch (err) {
      setState({ error: `The arguments are not valid JSON: ${err.message}` });
      return;
    }
    if (!args || typeof args !== 'object' || Array.isArray(args)) {
      setState({ error: 'The arguments must be a JSON object, for example {"query": "up"}.' });
      return;
    }
    setState({ busy: true });
    try {
      setState({ result: await mcp.callTool(server.id, tool.name, args) });
    } catch (err) {
      setState({ error: errorMessage(err) });
    }
  };

  const result = state.result;
  return html`<${Modal} title=${`Try ${tool.name}`} size="lg" testid="mcp-try-dialog" onClose=${() => onClose(null)}
    footer=${html`<button class="btn" onClick=${() => onClose(null)}>Close</button>
      <button class="btn btn-primary" onClick=${run} disabled=${state.busy} data-testid="mcp-try-run">
        ${state.busy ? html`<span class="spinner sm" aria-hidden="true"></span>` : html`<${Icon} name="play" />`} Run now
      </button>`}>
    <form class="form mcp-try" onSubmit=${run}>
      ${tool.description ? html`<p class="subtle">${tool.description}</p>` : null}
      <p class="subtle small">Runs on <strong>${server.name}</strong> as soon as you press Run: this click is the approval.
        ${server.transport === 'stdio' ? '' : ' Text in the arguments passes the PII gate before it leaves the machine.'}</p>
      <${Field} label="Arguments (JSON)" htmlFor=${argsId}>
        <textarea id=${argsId} class="input mono-input mcp-args" rows="8" spellcheck="false" value=${text} data-autofocus
          onInput=${(e) => setText(e.currentTarget.value)} data-testid="mcp-try-arguments"></textarea>
      <//>
      <details class="ai-advanced">
        <summary data-testid="mcp-try-schema-toggle">Input schema</summary>
        <pre class="mcp-pre" data-testid="mcp-try-schema">${JSON.stringify(schema, null, 2)}</pre>
      </details>
      ${state.error ? html`<div class="form-error" role="alert" data-testid="mcp-try-error">${state.error}</div>` : null}
      ${result
        ? html`<div class=${'mcp-result' + (result.is_error ? ' bad' : '')} data-testid="mcp-try-result" data-is-error=${result.is_error ? 'true' : 'false'}>
            <div class="mcp-result-head">${result.is_error ? html`<${Icon} name="alert" size=${14} /> The tool reported an error` : html`<${Icon} name="check" size=${14} /> Result`}
              ${result.redactions ? html`<span class="pill">${plural(result.redactions, 'value')} redacted before sending</span>` : null}</div>
            <pre class="mcp-pre" data-testid="mcp-try-output">${result.text || '(empty result)'}</pre>
            ${result.structured_content != null
              ? html`<details><summary>Structured content</summary><pre class="mcp-pre">${JSON.stringify(result.structured_content, null, 2)}</pre></details>`
              : null}
          </div>`
        : null}
      <button type="submit" hidden></button>
    </form>
  <//>`;
}

function ResourceDialog({ server, resource, onClose }) {
  const [state, setState] = useState({ busy: true });
  useEffect(() => {
    mcp.readResource(server.id, resource.uri).then((result) => setState({ result })).catch((err) => setState({ error: errorMessage(err) }));
  }, []);
  const contents = state.result ? state.result.contents : [];
  return html`<${Modal} title=${resource.name} size="lg" testid="mcp-resource-dialog" onClose=${() => onClose(null)}
    footer=${html`<button class="btn" onClick=${() => onClose(null)}>Close</button>`}>
    <p class="subtle small"><code class="mono">${resource.uri}</code> from ${server.name}</p>
    ${state.busy ? html`<${Spinner} label="Reading…" />` : null}
    ${state.error ? html`<div class="form-error" role="alert" data-testid="mcp-resource-error">${state.error}</div>` : null}
    ${contents.map((c, i) => html`<div key=${i} class="mcp-result" data-testid="mcp-resource-content">
        ${c.text != null
          ? html`<pre class="mcp-pre">${c.text}</pre>`
          : html`<p class="subtle">Binary content (${c.mime_type || 'unknown type'}, ${c.size} bytes) is not shown.</p>`}
      </div>`)}
  <//>`;
}

// ---------------------------------------------------------------- add / edit
const SECRET_NAME = /token|secret|passw|pwd|apikey|credential|private|authorization|cookie|session|auth|(^|[_-])key([_-]|$)/i;

function rowsFrom(items) {
  return (items || []).map((e, i) => ({ key: i, name: e.name, value: e.secret ? '' : e.value || '', secret: e.secret,
    stored: e.secret ? e.hint || 'set' : null }));
}

function PairsEditor({ rows, setRows, what, testid }) {
  const update = (i, patch) => setRows((rs) => rs.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  const add = () => setRows((rs) => [...rs, { key: Date.now() + Math.random(), name: '', value: '', secret: false, stored: null }]);
  return html`<div class="mcp-pairs" data-testid=${testid}>
    ${rows.map((r, i) => html`<div class="mcp-pair" key=${r.key} data-testid=${testid + '-row'}>
        <input class="input mono-input" placeholder="NAME" aria-label=${what + ' name'} value=${r.name} spellcheck="false"
          onInput=${(e) => {
            const name = e.currentTarget.value;
            update(i, r.stored || r.touchedSecret ? { name } : { name, secret: SECRET_NAME.test(name) });
          }} data-testid=${testid + '-name'} />
        ${r.stored && !r.value
          ? html`<span class="mcp-stored" data-testid=${testid + '-stored'}>stored <code class="mono">${r.stored}</code>
              <button type="button" class="btn btn-sm btn-ghost" onClick=${() => update(i, { stored: null })}>Replace</button></span>`
          : html`<input class="input mono-input" type=${r.secret ? 'password' : 'text'} autocomplete="off" spellcheck="false"
              placeholder="value" aria-label=${what + ' value'} value=${r.value}
              onInput=${(e) => update(i, { value: e.currentTarget.value })} data-testid=${testid + '-value'} />`}
        <label class="mcp-secret small">
          <input type="checkbox" checked=${r.secret} disabled=${Boolean(r.stored)}
            onChange=${(e) => update(i, { secret: e.currentTarget.checked, touchedSecret: true })} data-testid=${testid + '-secret'} /> Secret
        </label>
        <button type="button" class="icon-btn" aria-label=${'Remove ' + (r.name || what)} onClick=${() => setRows((rs) => rs.filter((_, j) => j !== i))}
          data-testid=${testid + '-remove'}><${Icon} name="x" size=${14} /></button>
      </div>`)}
    <button type="button" class="btn btn-sm btn-ghost" onClick=${add} data-testid=${testid + '-add'}><${Icon} name="plus" size=${13} /> Add ${what.toLowerCase()}</button>
  </div>`;
}

function pairsPayload(rows) {
  const out = [];
  for (const r of rows) {
    const name = r.name.trim();
    if (!name) continue;
    if (r.stored && !r.value) out.push({ name, secret: true });
    else out.push({ name, value: r.value, secret: Boolean(r.secret) });
  }
  return out;
}

function ServerDialog({ server, onClose }) {
  const editing = Boolean(server);
  const [name, setName] = useState(server ? server.name : '');
  const [transport, setTransport] = useState(server ? server.transport : 'stdio');
  const [command, setCommand] = useState(server && server.command ? server.command : '');
  const [args, setArgs] = useState(server ? (server.args || []).join('\n') : '');
  const [cwd, setCwd] = useState(server && server.cwd ? server.cwd : '');
  const [env, setEnv] = useState(() => rowsFrom(server && server.env));
  const [url, setUrl] = useState(server && server.url ? server.url : '');
  const [headers, setHeaders] = useState(() => rowsFrom(server && server.headers));
  const [authType, setAuthType] = useState(server ? server.auth_type : 'none');
  const [authValue, setAuthValue] = useState('');
  const [authHeader, setAuthHeader] = useState(server && server.auth_header ? server.auth_header : 'X-API-Key');
  const [timeout, setTimeoutValue] = useState(String(server ? server.timeout_seconds : 30));
  const [errs, setErrs] = useState({});
  const [busy, setBusy] = useState(false);
  const ids = { name: useUid('mn'), cmd: useUid('mc'), args: useUid('ma'), cwd: useUid('mw'), url: useUid('mu'),
    auth: useUid('mav'), hdr: useUid('mah'), timeout: useUid('mt') };
  const stdio = transport === 'stdio';
  const authStored = editing && server.auth_set && server.auth_type === authType;

  const submit = async (e) => {
    if (e) e.preventDefault();
    const problems = {};
    if (!name.trim()) problems.name = 'Give the server a name.';
    if (stdio && !command.trim()) problems.command = 'Which command starts the server? (for example npx)';
    if (!stdio && !/^https?:\/\/\S+$/i.test(url.trim())) problems.url = 'An http:// or https:// address, for example https://mcp.example.com/mcp.';
    if (!stdio && authType !== 'none' && !authValue && !authStored) problems.auth = 'Enter the token.';
    const t = Number(timeout);
    if (!Number.isInteger(t) || t < 1 || t > 600) problems.timeout = 'Seconds, from 1 to 600.';
    setErrs(problems);
    if (Object.keys(problems).length) return;
    const fields = { name: name.trim(), transport, timeout_seconds: t };
    if (stdio) {
      Object.assign(fields, { command: command.trim(), args: args.split('\n').map((a) => a.trim()).filter(Boolean),
        cwd: cwd.trim() || null, env: pairsPayload(env) });
      if (editing && server.transport !== 'stdio') Object.assign(fields, { url: null, headers: [] });
    } else {
      Object.assign(fields, { url: url.trim(), headers: pairsPayload(headers), auth_type: authType });
      if (authType !== 'none' && authValue) fields.auth_value = authValue;
      if (authType === 'api_key') fields.auth_header = authHeader.trim() || 'X-API-Key';
    }
    setBusy(true);
    try {
      onClose(editing ? await mcp.update(server.id, fields) : await mcp.add(fields));
    } catch (err) {
      setErrs({ form: errorMessage(err) });
      setBusy(false);
    }
  };

  return html`<${Modal} title=${editing ? `Edit ${server.name}` : 'Add an MCP server'} size="lg" testid="mcp-server-dialog"
    onClose=${() => onClose(null)}
    footer=${html`<button class="btn" onClick=${() => onClose(null)}>Cancel</button>
      <button class="btn btn-primary" onClick=${submit} disabled=${busy} data-testid="mcp-server-save">
        ${busy ? html`<span class="spinner sm" aria-hidden="true"></span>` : null} ${editing ? 'Save' : 'Add server'}
      </button>`}>
    <form class="form ai-prov-form mcp-form" onSubmit=${submit}>
      <${Field} label="Name" htmlFor=${ids.name} error=${errs.name} required testid="mcp-server-name-input">
        <input id=${ids.name} class="input" value=${name} maxLength="100" data-autofocus placeholder="Grafana, Runbooks…"
          onInput=${(e) => setName(e.currentTarget.value)} data-testid="mcp-server-name-input" />
      <//>
      <div class="field">
        <span class="field-label">Transport</span>
        <${Segmented} label="Transport" value=${transport} onChange=${setTransport} testid="mcp-server-transport" size="sm"
          options=${[{ value: 'stdio', label: 'Local command' }, { value: 'http', label: 'Streamable HTTP' }, { value: 'sse', label: 'HTTP + SSE (legacy)' }]} />
      </div>
      ${stdio
        ? html`<${Field} label="Command" htmlFor=${ids.cmd} error=${errs.command} required testid="mcp-server-command"
              hint="A program on your PATH (npx, uvx, docker) or its full path. TFTSR looks it up on the PATH your login shell sets.">
              <input id=${ids.cmd} class="input mono-input" value=${command} spellcheck="false" placeholder="npx"
                onInput=${(e) => setCommand(e.currentTarget.value)} data-testid="mcp-server-command" />
            <//>
            <${Field} label="Arguments (one per line)" htmlFor=${ids.args} testid="mcp-server-args">
              <textarea id=${ids.args} class="input mono-input" rows="3" spellcheck="false" value=${args}
                placeholder=${'-y\n@modelcontextprotocol/server-filesystem\n/home/me/runbooks'}
                onInput=${(e) => setArgs(e.currentTarget.value)} data-testid="mcp-server-args"></textarea>
            <//>
            <${Field} label="Working folder" htmlFor=${ids.cwd} testid="mcp-server-cwd" hint="Optional; must exist.">
              <input id=${ids.cwd} class="input mono-input" value=${cwd} spellcheck="false" placeholder="/home/me/runbooks"
                onInput=${(e) => setCwd(e.currentTarget.value)} data-testid="mcp-server-cwd" />
            <//>
            <div class="field">
              <span class="field-label">Environment</span>
              <${PairsEditor} rows=${env} setRows=${setEnv} what="Variable" testid="mcp-env" />
              <div class="field-hint">Secret values are stored encrypted and never shown again. LD_PRELOAD, PYTHONPATH,
                NODE_OPTIONS and similar are refused. The server gets no other TFTSR setting or secret.</div>
            </div>`
        : html`<${Field} label="URL" htmlFor=${ids.url} error=${errs.url} required testid="mcp-server-url"
              hint=${transport === 'sse' ? 'The server\u2019s SSE endpoint, often ending in /sse.' : 'The MCP endpoint, often ending in /mcp.'}>
              <input id=${ids.url} class="input mono-input" value=${url} spellcheck="false" placeholder="https://mcp.example.com/mcp"
                onInput=${(e) => setUrl(e.currentTarget.value)} data-testid="mcp-server-url" />
            <//>
            <div class="field">
              <span class="field-label">Authentication</span>
              <${Segmented} label="Authentication" value=${authType} onChange=${setAuthType} testid="mcp-server-auth" size="sm"
                options=${[{ value: 'none', label: 'None' }, { value: 'bearer', label: 'Bearer token' }, { value: 'api_key', label: 'API key header' }]} />
            </div>
            ${authType !== 'none'
              ? html`<div class="row-2 mcp-auth-row">
                  ${authType === 'api_key'
                    ? html`<${Field} label="Header" htmlFor=${ids.hdr} testid="mcp-server-auth-header">
                        <input id=${ids.hdr} class="input mono-input" value=${authHeader} spellcheck="false"
                          onInput=${(e) => setAuthHeader(e.currentTarget.value)} data-testid="mcp-server-auth-header" />
                      <//>`
                    : null}
                  <${Field} label=${authType === 'bearer' ? 'Token' : 'Key'} htmlFor=${ids.auth} error=${errs.auth} testid="mcp-server-auth-value"
                    hint=${authStored ? `Stored (${server.auth_hint || 'set'}); leave empty to keep it.` : 'Stored encrypted; never shown again.'}>
                    <input id=${ids.auth} class="input mono-input" type="password" autocomplete="off" spellcheck="false" value=${authValue}
                      placeholder=${authStored ? 'Keep the stored one' : 'Paste it here'}
                      onInput=${(e) => setAuthValue(e.currentTarget.value)} data-testid="mcp-server-auth-value" />
                  <//>
                </div>`
              : null}
            <div class="field">
              <span class="field-label">Headers</span>
              <${PairsEditor} rows=${headers} setRows=${setHeaders} what="Header" testid="mcp-header" />
            </div>`}
      <${Field} label="Timeout per call (seconds)" htmlFor=${ids.timeout} error=${errs.timeout} testid="mcp-server-timeout">
        <input id=${ids.timeout} class="input input-num" type="number" min="1" max="600" value=${timeout}
          onInput=${(e) => setTimeoutValue(e.currentTarget.value)} data-testid="mcp-server-timeout" />
      <//>
      ${errs.form ? html`<div class="form-error" role="alert" data-testid="mcp-server-form-error">${errs.form}</div>` : null}
      <button type="submit" hidden></button>
    </form>
  <//>`;
}
