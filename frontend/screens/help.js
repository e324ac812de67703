// Help (#/help, #/help/<section>): how to work an incident, set up an AI provider, what
// stays private, where this installation keeps its data and how to back it up or move it,
// the keyboard shortcuts and the command line.
//
// Facts about this installation come from the running app, never from constants here:
// get_app_info (version, mode, paths, how the database key is held) and
// list_ai_providers (what is configured, and the provider kinds with what each needs).
// The keyboard shortcut list lives here and is shared with the "?" dialog in app.js.

import { h, html, useState, useEffect, useRef } from '../vendor/htm-preact/standalone.module.js';
import { errorMessage } from '../lib/commands.js';
import { on } from '../lib/events.js';
import { Icon } from '../lib/icons.js';
import { Spinner, toast } from '../lib/ui.js';
import { useApp, loadInfo, replaceHash } from '../lib/state.js';
import { ai, AiIcon, openAiSettings } from './chat.js';
import { PII_TYPES, TYPE_REPLACEMENT, typeLabel, typeClass } from './evidence.js';

// ---------------------------------------------------------------- keyboard
const isMac = /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent || '');
/** The modifier key as this platform writes it. */
export const MOD = isMac ? '⌘' : 'Ctrl';

/** Every keyboard shortcut: [keys, what it does]. Shown by the "?" dialog and on Help. */
export const SHORTCUTS = [
  [['F1'], 'Open Help'],
  [[MOD, 'K'], 'Open the command palette'],
  [[MOD, 'F'], 'Search incidents (History)'],
  [['/'], 'Focus the search box in the top bar'],
  [['N'], 'New incident'],
  [['?'], 'Show the keyboard shortcuts'],
  [['Esc'], 'Close a dialog or the palette'],
  [[MOD, 'Enter'], 'Submit the form you are typing in (5 Whys, timeline, status note)'],
  [['←', '→'], 'Switch tabs and segmented choices'],
  [['J', 'K'], 'PII review: next / previous finding'],
  [['A', 'R'], 'PII review: redact / keep the current finding'],
];

export function ShortcutTable({ testid }) {
  return html`<table class="shortcuts" data-testid=${testid}>
    <tbody>
      ${SHORTCUTS.map(
        ([keys, what]) => html`<tr key=${what}>
          <td class="nowrap">${keys.map((k, i) => [i ? ' ' : null, html`<kbd key=${k}>${k}</kbd>`])}</td>
          <td>${what}</td>
        </tr>`,
      )}
    </tbody>
  </table>`;
}

// ---------------------------------------------------------------- helpers
const SECTIONS = [
  { id: 'start', label: 'Getting started' },
  { id: 'ai', label: 'AI provider' },
  { id: 'mcp', label: 'MCP servers' },
  { id: 'integrations', label: 'Integrations' },
  { id: 'diagnostics', label: 'Diagnostics' },
  { id: 'privacy', label: 'Privacy and security' },
  { id: 'data', label: 'Your data' },
  { id: 'portable', label: 'Portable use and launchers' },
  { id: 'keys', label: 'Keyboard shortcuts' },
  { id: 'cli', label: 'Command line' },
];

const KEY_SOURCE_LABEL = {
  env: 'The TFTSR_DB_KEY environment variable',
  keyring: 'Your operating system keyring',
  file: 'The key file db.key in the data folder',
  passphrase: 'Your passphrase (the key is derived from it and never stored)',
};
const KEY_SOURCE_SHORT = {
  env: 'TFTSR_DB_KEY variable', keyring: 'OS keyring', file: 'db.key in the data folder', passphrase: 'your passphrase',
};

/** Extra glyphs drawn like lib/icons.js. */
const GLYPHS = {
  terminal: () => [h('rect', { x: 3, y: 4.5, width: 18, height: 15, rx: 2 }), h('path', { d: 'M7 9.5l3 2.5-3 2.5M12.5 15H17' })],
  lifebuoy: () => [h('circle', { cx: 12, cy: 12, r: 8.5 }), h('circle', { cx: 12, cy: 12, r: 3.5 }),
    h('path', { d: 'M6 6l3.5 3.5M14.5 14.5L18 18M18 6l-3.5 3.5M9.5 14.5L6 18' })],
};

function Glyph({ name, size = 16 }) {
  return h('svg', {
    class: 'icon', width: size, height: size, viewBox: '0 0 24 24', fill: 'none', stroke: 'currentColor',
    'stroke-width': 1.8, 'stroke-linecap': 'round', 'stroke-linejoin': 'round', 'aria-hidden': 'true', focusable: 'false',
  }, GLYPHS[name]());
}

/** A path as one shell argument: bare when safe, else quoted for the platform it is from. */
export function shellArg(path) {
  if (/^[\w@%+=:,./\\-]+$/.test(path)) return path;
  if (/^[A-Za-z]:\\/.test(path)) return `"${path}"`;
  return `'${path.replace(/'/g, `'\\''`)}'`;
}

/**
 * The OS keyring entry (user name, under the service "TFTSR") that holds this data
 * folder's key: "db-key-" + the first 16 hex digits of SHA-256(data folder path), as
 * tftsr.config names it. Null where the page cannot hash (no WebCrypto).
 */
export async function keyringEntryName(dataDir) {
  if (!(window.crypto && window.crypto.subtle)) return null;
  const digest = await window.crypto.subtle.digest('SHA-256', new TextEncoder().encode(dataDir));
  const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
  return 'db-key-' + hex.slice(0, 16);
}

/** Copy to the clipboard and say so (the Audit log's head uses it too). */
export async function copyText(value, done = 'Copied') {
  try {
    await navigator.clipboard.writeText(value);
    toast.success(done);
  } catch (_) {
    toast.error('Copying is not available here.');
  }
}

function CopyButton({ value, label = 'Copy' }) {
  return html`<button class="icon-btn help-copy" aria-label=${label} title="Copy" onClick=${() => copyText(value)}>
    <${Icon} name="copy" size=${14} />
  </button>`;
}

/** A command or path to type, with a copy button. */
function Cmd({ children, testid }) {
  return html`<span class="help-cmd">
    <code class="mono" data-testid=${testid}>${children}</code><${CopyButton} value=${children} />
  </span>`;
}

function Section({ id, icon, title, lead, children, actions }) {
  return html`<section class="card help-section" id=${'help-' + id} aria-labelledby=${'help-h-' + id}
      data-section=${id} data-testid=${'help-section-' + id}>
    <header class="help-section-head">
      <span class="help-section-icon" aria-hidden="true">${icon}</span>
      <div class="help-section-title">
        <h2 id=${'help-h-' + id}>${title}</h2>
        ${lead ? html`<p class="subtle">${lead}</p>` : null}
      </div>
      ${actions ? html`<div class="help-section-actions">${actions}</div>` : null}
    </header>
    ${children}
  </section>`;
}

/** Configured AI providers and the kinds that can be added, kept current. */
function useProviders() {
  const [state, setState] = useState({ data: null, error: null });
  useEffect(() => {
    let live = true;
    const load = () => ai.listProviders()
      .then((data) => live && setState({ data, error: null }))
      .catch((error) => live && setState({ data: null, error }));
    load();
    const off = on('ai_providers_changed', load);
    return () => {
      live = false;
      if (typeof off === 'function') off();
    };
  }, []);
  return state;
}

function useKeyringEntry(info) {
  const [entry, setEntry] = useState(null);
  useEffect(() => {
    if (!info || info.key_source !== 'keyring') return;
    keyringEntryName(info.data_dir).then(setEntry).catch(() => setEntry(null));
  }, [info && info.data_dir, info && info.key_source]);
  return entry;
}

/**
 * The section being read, for the table of contents: the last one whose top has passed
 * the top of the scroller, or the last one once the scroller is at its end. After a click
 * in the contents the chosen section stays selected until that scroll has settled.
 */
function useVisibleSection() {
  const [visible, setVisible] = useState(SECTIONS[0].id);
  const pinned = useRef({ id: null, timer: 0 });
  useEffect(() => {
    const scroller = document.getElementById('main');
    if (!scroller) return undefined;
    const update = () => {
      const pin = pinned.current;
      if (pin.id) {
        clearTimeout(pin.timer);
        pin.timer = setTimeout(() => (pin.id = null), 200);
        return;
      }
      const top = scroller.getBoundingClientRect().top + 96;
      const atEnd = scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - 4;
      let current = SECTIONS[0].id;
      for (const s of SECTIONS) {
        const el = document.getElementById('help-' + s.id);
        if (el && (atEnd || el.getBoundingClientRect().top <= top)) current = s.id;
      }
      setVisible(current);
    };
    scroller.addEventListener('scroll', update, { passive: true });
    return () => {
      scroller.removeEventListener('scroll', update);
      clearTimeout(pinned.current.timer);
    };
  }, []);
  const choose = (id) => {
    const pin = pinned.current;
    pin.id = id;
    clearTimeout(pin.timer);
    pin.timer = setTimeout(() => (pin.id = null), 800);
    setVisible(id);
  };
  return [visible, choose];
}

function scrollToSection(id, smooth) {
  const el = document.getElementById('help-' + id);
  if (el) el.scrollIntoView({ block: 'start', behavior: smooth ? 'smooth' : 'auto' });
}

// ---------------------------------------------------------------- screen
export function Help({ section }) {
  const { info } = useApp();
  const providers = useProviders();
  const keyEntry = useKeyringEntry(info);
  const [visible, choose] = useVisibleSection();

  useEffect(() => {
    if (!info) loadInfo().catch(() => {});
  }, []);
  useEffect(() => {
    if (!section || !SECTIONS.some((s) => s.id === section)) return;
    choose(section);
    scrollToSection(section, false);
  }, [section]);

  const go = (id) => {
    choose(id);
    replaceHash('/help/' + id);
    scrollToSection(id, true);
  };

  return html`<div class="page help" data-testid="help">
    <div class="page-head">
      <div>
        <h1>Help</h1>
        <p class="subtle">How to work an incident in TFTSR, and the facts about this installation.</p>
      </div>
      <div class="page-actions">
        <a class="btn btn-primary" href="#/new" data-testid="help-new-incident"><${Icon} name="plus" /> New incident</a>
      </div>
    </div>

    <${Facts} info=${info} providers=${providers} />

    <div class="help-layout">
      <nav class="help-toc" aria-label="Help sections" data-testid="help-toc">
        <ul>
          ${SECTIONS.map((s) => html`<li key=${s.id}>
            <button class=${'help-toc-item' + (visible === s.id ? ' on' : '')} aria-current=${visible === s.id ? 'true' : undefined}
              onClick=${() => go(s.id)} data-testid=${'help-toc-' + s.id}>${s.label}</button>
          </li>`)}
        </ul>
      </nav>
      <div class="help-body">
        <${GettingStarted} />
        <${AiHelp} providers=${providers} />
        <${McpHelp} />
        <${IntegrationsHelp} />
        <${DiagnosticsHelp} />
        <${PrivacyHelp} />
        <${DataHelp} info=${info} keyEntry=${keyEntry} />
        <${PortableHelp} />
        <${Section} id="keys" icon=${html`<${Icon} name="keyboard" size=${18} />`} title="Keyboard shortcuts"
          lead=${`Single keys work whenever you are not typing in a field; ${MOD} combinations and F1 work everywhere.`}>
          <${ShortcutTable} testid="help-shortcuts" />
        <//>
        <${CliHelp} info=${info} />
      </div>
    </div>
  </div>`;
}

// ---------------------------------------------------------------- at a glance
function Facts({ info, providers }) {
  const items = providers.data ? providers.data.items || [] : [];
  const active = items.find((p) => p.is_active);
  const kinds = providers.data ? providers.data.kinds || [] : [];
  const kindLabel = (k) => ((kinds.find((x) => x.kind === k) || {}).label || k);
  let aiState = 'loading';
  if (providers.error) aiState = 'error';
  else if (providers.data) aiState = active ? 'active' : items.length ? 'inactive' : 'none';

  return html`<div class="help-facts">
    <div class="help-fact" data-testid="help-version">
      <span class="help-fact-icon"><${Icon} name="info" /></span>
      <div>
        <div class="help-fact-label">This installation</div>
        <div class="help-fact-value">${info ? `TFTSR ${info.version}` : '…'}</div>
        <div class="subtle small">${info ? (info.mode === 'desktop' ? 'Desktop app' : 'Browser mode (tftsr serve)') : ''}</div>
      </div>
    </div>
    <div class=${'help-fact help-fact-ai is-' + aiState} data-testid="help-ai-status" data-state=${aiState}>
      <span class="help-fact-icon"><${AiIcon} name="sparkle" /></span>
      <div>
        <div class="help-fact-label">AI provider</div>
        ${aiState === 'loading' ? html`<div class="help-fact-value">…</div>` : null}
        ${aiState === 'error' ? html`<div class="help-fact-value">Unknown</div><div class="subtle small">${errorMessage(providers.error)}</div>` : null}
        ${aiState === 'none' ? html`<div class="help-fact-value">Not set up</div><div class="subtle small">Optional — everything else works without it.</div>` : null}
        ${aiState === 'inactive' ? html`<div class="help-fact-value">None active</div><div class="subtle small">${items.length} configured; make one active in Settings.</div>` : null}
        ${aiState === 'active'
          ? html`<div class="help-fact-value" data-testid="help-ai-active">${active.name}</div>
              <div class="subtle small">${kindLabel(active.kind)} · <span class="mono">${active.model}</span></div>`
          : null}
      </div>
    </div>
    <div class="help-fact" data-testid="help-key-fact">
      <span class="help-fact-icon"><${Icon} name="key" /></span>
      <div>
        <div class="help-fact-label">Database key held in</div>
        <div class="help-fact-value">${info ? KEY_SOURCE_SHORT[info.key_source] || info.key_source : '…'}</div>
        <div class="subtle small">Encrypted with SQLCipher (AES-256)</div>
      </div>
    </div>
  </div>`;
}

// ---------------------------------------------------------------- getting started
const STEPS = [
  { icon: 'plus', title: 'Open an incident', where: 'New incident · N',
    text: 'Pick the domain, give it a title and a severity, and describe what you see. It starts as Open.' },
  { icon: 'upload', title: 'Add evidence', where: 'Evidence tab',
    text: 'Drop log files, add or paste screenshots. Logs are scanned for PII on this machine; review each finding and finalise before a log can go anywhere.' },
  { icon: 'target', title: 'Work the 5 Whys', where: '5 Whys tab · AI triage tab',
    text: 'Ask why, answer with evidence, up to five steps, and mark the root cause. Or let the AI propose whys — nothing is added until you confirm it.' },
  { icon: 'clock', title: 'Keep the timeline', where: 'Timeline tab',
    text: 'Status changes, each why and the root cause are recorded for you. Add mitigations, escalations and notifications with the time they happened.' },
  { icon: 'check', title: 'Resolve', where: 'Incident header',
    text: 'Open → Investigating → Resolved → Closed, with an optional note. Resolving or closing asks when it happened: now, or earlier in your time zone. Move it back to Investigating if it returns.' },
  { icon: 'file', title: 'Write it up', where: 'Documents tab',
    text: 'Generate the RCA and the post-mortem from the incident’s own data (no AI needed), fill in the marked sections, track action items, export Markdown, HTML or PDF.' },
];

function GettingStarted() {
  return html`<${Section} id="start" icon=${html`<${Glyph} name="lifebuoy" size=${18} />`} title="Getting started"
    lead="From the first alert to the write-up. Every change is saved as you go and written to the audit log.">
    <ol class="help-steps">
      ${STEPS.map((s, i) => html`<li class="help-step" key=${s.title}>
        <span class="help-step-num" aria-hidden="true">${i + 1}</span>
        <div>
          <h3><${Icon} name=${s.icon} size=${15} /> ${s.title}</h3>
          <p>${s.text}</p>
          <span class="help-where">${s.where}</span>
        </div>
      </li>`)}
    </ol>
  <//>`;
}

// ---------------------------------------------------------------- AI
function AiHelp({ providers }) {
  const kinds = providers.data ? providers.data.kinds || [] : [];
  const open = html`<button class="btn" onClick=${openAiSettings} data-testid="help-open-ai-settings">
    <${Icon} name="settings" /> Open Settings → AI providers
  </button>`;
  return html`<${Section} id="ai" icon=${html`<${AiIcon} name="sparkle" size=${18} />`} title="Configure an AI provider"
    lead="Optional. Without one, everything except the AI triage chat and AI summaries works the same." actions=${open}>
    <ol class="help-list">
      <li>Open <strong>Settings → AI providers</strong> and choose <strong>Add provider</strong>.</li>
      <li>Pick the kind, then fill in the <strong>base URL</strong> (left empty, the kind’s default below), the <strong>model</strong>${' '}
        (once it is added, <strong>Models</strong> lists what the provider offers) and, where needed, the <strong>API key</strong>. The key is stored encrypted in the
        database and never shown again — only a masked hint.</li>
      <li>Press <strong>Test connection</strong>: it sends one tiny test prompt and says whether the provider answered, and how fast.</li>
      <li>The <strong>active</strong> provider — the first one you add, or the one you <strong>Make active</strong> — is the one the
        incident’s <strong>AI triage</strong> tab uses to chat about the incident and propose whys.</li>
    </ol>

    <h3 class="help-sub">Supported kinds</h3>
    ${providers.error
      ? html`<p class="form-error" role="alert">${errorMessage(providers.error)}</p>`
      : !providers.data
        ? html`<${Spinner} label="Loading provider kinds…" />`
        : html`<div class="help-table-wrap"><table class="help-table" data-testid="help-provider-kinds">
            <thead><tr><th>Kind</th><th>Default base URL</th><th>API key</th><th>Also needs</th></tr></thead>
            <tbody>
              ${kinds.map((k) => {
                const extra = (k.settings || []).filter((s) => s.required).map((s) => s.label);
                return html`<tr key=${k.kind} data-testid=${'help-kind-' + k.kind}>
                  <td><strong>${k.label}</strong></td>
                  <td><code class="mono">${k.default_base_url}</code></td>
                  <td>${k.needs_api_key ? html`<span class="help-need">Required</span>` : html`<span class="subtle">Optional</span>`}</td>
                  <td>${extra.length ? extra.join(', ') : html`<span class="subtle">—</span>`}</td>
                </tr>`;
              })}
            </tbody>
          </table></div>
          <p class="subtle small help-note">
            OpenAI itself needs a key; LM Studio, vLLM and LiteLLM usually do not — point the base URL at their OpenAI-compatible
            address. For models on this machine, <strong>Settings → Ollama</strong> checks the server, recommends models for
            your hardware and downloads them.
          </p>`}

    <div class="help-callout" data-testid="help-ai-sent">
      <h3><${Icon} name="shield" size=${15} /> What leaves this machine</h3>
      <ul>
        <li>Only redacted text. Your messages, the incident details and any custom system prompt are scanned here first and every
          finding is replaced by a placeholder such as <code>[Email]</code>; the chat shows what was removed.</li>
        <li>Log files only once their PII review is finalised, and only the redacted text. Screenshots are never sent.</li>
        <li>Before every request an <code>ai_send</code> entry is written to the audit log with the SHA-256 and size of the exact
          bytes sent, the provider, the model and the host.</li>
      </ul>
    </div>
  <//>`;
}

// ---------------------------------------------------------------- MCP servers
function McpHelp() {
  const open = html`<a class="btn" href="#/settings" data-testid="help-open-mcp-settings">
    <${Icon} name="settings" /> Open Settings</a>`;
  return html`<${Section} id="mcp" icon=${html`<${Icon} name="layers" size=${18} />`} title="MCP servers"
    lead="Optional. Lend the assistant the tools and resources of the MCP servers your team already runs." actions=${open}>
    <ol class="help-list">
      <li>In <strong>Settings → MCP servers</strong> choose <strong>Add server</strong>. A <strong>local command</strong> server
        needs its command (<code>npx</code>, <code>uvx</code>, <code>docker</code> or a full path) and arguments, one per line; an${' '}
        <strong>HTTP</strong> server needs its URL (often ending in <code>/mcp</code>) and, if it asks for one, a bearer token or an
        API key header.</li>
      <li>Saving <strong>discovers</strong> the server: its status turns <strong>Connected</strong> and its tools and resources
        are listed. <strong>Unreachable</strong> or <strong>Error</strong> comes with the server’s own message. Enabled servers
        are discovered again whenever TFTSR starts.</li>
      <li><strong>Try it</strong> runs a tool with the JSON arguments you write; <strong>Read</strong> shows a resource.</li>
      <li>In an incident’s <strong>AI triage</strong> chat the assistant can propose calls to these tools. Each one waits for
        your answer — allow once, allow that tool for the conversation, or deny — unless you set the tool to${' '}
        <strong>Always allow</strong>.</li>
    </ol>
    <div class="help-callout" data-testid="help-mcp-safety">
      <h3><${Icon} name="shield" size=${15} /> Safety</h3>
      <ul>
        <li>Tokens, keys and environment values marked secret are encrypted and shown only as their last four characters.</li>
        <li>A local server gets a minimal environment plus its own variables — never TFTSR’s database key. Variables that
          change which code a program loads (<code>LD_PRELOAD</code>, <code>PYTHONPATH</code>, <code>NODE_OPTIONS</code>, …) are refused.</li>
        <li>A bare command is looked up on the PATH your login shell sets, so a launcher-started TFTSR finds the same${' '}
          <code>npx</code> as your terminal.</li>
        <li>Arguments sent to an HTTP server, and everything a tool returns to the assistant, pass the PII gate. Every
          discovery and call is in the audit log with the SHA-256 of its arguments and result.</li>
      </ul>
    </div>
  <//>`;
}

// ---------------------------------------------------------------- integrations
function IntegrationsHelp() {
  const open = html`<a class="btn" href="#/settings" data-testid="help-open-integrations-settings">
    <${Icon} name="settings" /> Open Settings</a>`;
  return html`<${Section} id="integrations" icon=${html`<${Icon} name="link" size=${18} />`} title="Integrations"
    lead="Optional. Publish the RCA to Confluence, open and resolve the incident in ServiceNow, push action items to Azure DevOps, and search what your team already knows." actions=${open}>
    <ol class="help-list" data-testid="help-integrations">
      <li>In <strong>Settings → Integrations</strong> give each service its address and token. <strong>Confluence
        Cloud</strong>: <code>https://SITE.atlassian.net/wiki</code>, your email and an API token; <strong>Data Center</strong>:
        its address and a personal access token (email empty); and the space key to publish to. <strong>ServiceNow</strong>:
        the instance address and a user name and password, or an OAuth token with the user name empty. <strong>Azure
        DevOps</strong>: <code>https://dev.azure.com/ORGANISATION</code>, the project and a personal access token. <strong>Test
        connection</strong> says what worked, or what the service answered.</li>
      <li><strong>Documents → Publish to Confluence</strong> makes the RCA or post-mortem a page (tables, code blocks and
        links kept, the timeline chart attached). Publishing again updates the same page; a page edited in Confluence since
        is not overwritten unless you say so. The page link stays on the document.</li>
      <li><strong>Overview → Open in ServiceNow</strong> creates the incident there and keeps its INC number and link. When
        you resolve the incident, TFTSR offers to resolve the ServiceNow record with the resolution notes — or does it at
        once if you switched that on.</li>
      <li><strong>Action items → Push to Azure DevOps</strong> creates one work item per action item (a Bug for immediate
        ones). Pushing again updates what changed and never duplicates; each item shows its work item’s link.</li>
      <li><strong>Overview → Search team knowledge</strong> (or <strong>Knowledge</strong> beside the chat’s message box)
        searches Confluence, ServiceNow knowledge articles and past incidents, and Azure DevOps work items;${' '}
        <strong>Use in chat</strong> brings a result into the triage chat’s next message.</li>
    </ol>
    <div class="help-callout" data-testid="help-integrations-safety">
      <h3><${Icon} name="shield" size=${15} /> Safety</h3>
      <ul>
        <li>Everything sent — page bodies, descriptions, notes, search words — passes the same PII gate as the AI: values
          become the incident’s placeholders (<code>[Email-1]</code>) before a request is built and are checked again as it leaves.</li>
        <li>Tokens are encrypted, shown only as their last four characters, and only ever sent to the address they were
          entered for.</li>
        <li>Every request is in the audit log (service, host, path, SHA-256 of the bytes) before it is sent; a token never is.</li>
      </ul>
    </div>
  <//>`;
}

// ---------------------------------------------------------------- diagnostics
function DiagnosticsHelp() {
  return html`<${Section} id="diagnostics" icon=${html`<${Glyph} name="terminal" size=${18} />`} title="Diagnostics and approvals"
    lead="The assistant can run commands to gather evidence — under a three-tier safety check and your approval.">
    <ul class="help-list" data-testid="help-diagnostics-tiers">
      <li><strong>Tier 1 — read-only</strong> (<code>kubectl get/describe/logs</code>, <code>journalctl</code>,${' '}
        <code>systemctl status</code>, <code>df</code>, <code>ps</code>, a GET with <code>curl</code>): runs at once.</li>
      <li><strong>Tier 2 — changes state</strong> (apply, delete, restart, scale, writes to files, unknown programs, anything
        run with <code>sudo</code>): a card in the chat shows the exact command, why it was classified so and what it risks.${' '}
        <strong>Allow once</strong>, <strong>Allow for this session</strong> (in this conversation, until TFTSR closes: the same
        program and verb, such as <code>kubectl scale</code> or <code>systemctl restart</code>, with any arguments — but only this
        exact command when it is a chain, a pipe, a redirection, run through a wrapper such as <code>sudo</code>, or inline code;
        listed under the chat and revocable), or <strong>Deny</strong>. No answer in 60 seconds is a deny.</li>
      <li><strong>Tier 3 — destructive</strong> (<code>rm -rf</code>, <code>dd</code>, <code>mkfs</code>, shutdown, deleting all
        pods, anything fed from the network into a shell): refused, whatever is clicked; the assistant is told why.</li>
    </ul>
    <p>Commands run with a time limit (Settings → Diagnostics, 30 s by default), in their own process group, with a clean
      environment that carries none of TFTSR’s keys. Their output is shown to you as it is and reaches the assistant only
      after the PII gate. <code>kubectl</code> uses the kubeconfig you choose in the incident’s <strong>Diagnostics</strong>${' '}
      tab; it is stored encrypted and handed over through a private temporary file removed after each run.</p>
    <p>The Diagnostics tab also lets you type a command yourself — it takes the same path — and lists every command run or
      refused for the incident, with its output. Settings → Diagnostics can switch the assistant’s tool off.</p>
  <//>`;
}

// ---------------------------------------------------------------- privacy
function PrivacyHelp() {
  const types = PII_TYPES.filter((t) => t in TYPE_REPLACEMENT && t !== 'Manual');
  return html`<${Section} id="privacy" icon=${html`<${Icon} name="shield" size=${18} />`} title="Privacy and security"
    lead="Detection, redaction and storage all happen on this machine.">
    <div class="help-grid">
      <div class="help-panel">
        <h3>PII detection</h3>
        <p>Logs are scanned locally for ${types.length} kinds of personal data and secrets. In the review you redact (<kbd>A</kbd>)
          or keep (<kbd>R</kbd>) each finding, add your own by selecting text, then <strong>Finalise redaction</strong>.</p>
        <div class="pii-chips help-pii" data-testid="help-pii-types">
          ${types.map((t) => html`<span key=${t} class=${'pii-chip ' + typeClass(t)} data-pii-type=${t}>
            <span class="pii-swatch" aria-hidden="true"></span>${typeLabel(t)} <span class="help-repl">${TYPE_REPLACEMENT[t]}</span>
          </span>`)}
        </div>
      </div>
      <div class="help-panel">
        <h3>Encrypted database</h3>
        <p>One SQLCipher 4 file: AES-256, key stretched with PBKDF2-HMAC-SHA512 (256,000 iterations), pages checked with HMAC-SHA512.
          Logs and screenshots live inside it. AI API keys are encrypted again (AES-256-GCM) inside the database.</p>
        <p class="subtle small">A wrong key or a damaged file stops TFTSR with a clear message; nothing is changed.</p>
      </div>
      <div class="help-panel">
        <h3>Tamper-evident audit log</h3>
        <p>Every change is an entry whose hash covers the entry before it, so an altered, inserted or deleted entry breaks the chain.
          The <a href="#/audit">Audit log</a> checks the chain when it opens; from a terminal:</p>
        <${Cmd} testid="help-verify-cmd">tftsr db verify-audit<//>
        <p class="subtle small">Exit code 0: intact. 3: broken, incomplete or not matching a recorded head — it says which entry or record.</p>
        <div data-testid="help-audit-proves">
          <p><strong>What it proves, against whom.</strong> Against anyone without the database key, any change to the log is detected.
            The hashes use no secret, so someone who holds the key (it sits beside the database) can rewrite entries and recompute the
            whole chain, which then checks out on its own. Against them, TFTSR detects:</p>
          <ul>
            <li>an emptied or cut-short log: every incident, log file, image, document, AI provider, conversation, action item,
              5-Whys step, timeline event, MCP server, approval decision, command run, kubeconfig and integration setting must still
              have the entry recorded when it was created;</li>
            <li>any change up to a head you recorded elsewhere. The <a href="#/audit">Audit log</a> shows the head (<code>SEQ:HASH</code>)
              with a Copy button, <code>tftsr db audit-head</code> prints it, and every exported document carries it. Keep it where the key
              does not reach (a ticket, an email), and later:</li>
          </ul>
          <${Cmd} testid="help-expect-head-cmd">tftsr db verify-audit --expect-head SEQ:HASH<//>
          <p class="subtle small">Changes made after the newest head you recorded cannot be proven by the log alone: record a head whenever it matters.</p>
        </div>
      </div>
      <div class="help-panel" data-testid="help-egress">
        <h3>What leaves this machine</h3>
        <p>The window talks to a server on 127.0.0.1 that needs a per-launch token on every request. Everything else TFTSR
          sends — to AI providers, Ollama, MCP servers over HTTP and the integrations you set up — passes one gate: text is
          redacted before a request is built, every field is checked again as it leaves (model names and file names too),
          and the audit log records where it went and the SHA-256 of the exact bytes before it is sent.</p>
        <p>Redacted values get numbered placeholders per incident (<code>[IPv4-1]</code>, <code>[IPv4-2]</code>), the same in
          logs, chats and documents, so the story stays readable. Settings → Privacy turns numbering off or keeps private
          network addresses. An API key is only ever sent to the address it was entered for.</p>
      </div>
    </div>
  <//>`;
}

// ---------------------------------------------------------------- your data
function PathRow({ icon, label, value, testid }) {
  return html`<dt><${Icon} name=${icon} /> ${label}</dt>
    <dd>${value
      ? html`<span class="path"><code class="mono" data-testid=${testid}>${value}</code><${CopyButton} value=${value} label=${'Copy ' + label.toLowerCase()} /></span>`
      : html`<span class="subtle">—</span>`}</dd>`;
}

function KeyAdvice({ info, keyEntry }) {
  const src = info.key_source;
  const entry = keyEntry || 'db-key-…';
  if (src === 'file') {
    return html`<span data-testid="help-key-advice" data-source="file">
      It is <code>db.key</code> inside the data folder, so the copy carries its own key and anyone with the copy can read it.
      Keep backups somewhere as safe as this machine.</span>`;
  }
  if (src === 'keyring') {
    return html`<div class="help-key-advice" data-testid="help-key-advice" data-source="keyring">
      <p>It is <strong>not</strong> in the folder but in the OS keyring (service <code>TFTSR</code>, entry${' '}
        <code data-testid="help-keyring-entry">${entry}</code>). Without it a backup cannot be opened. Save it once in your
        password manager; it is printed by:</p>
      <${Cmd}>${`keyring get TFTSR ${entry}`}<//>
      <p class="subtle small"><code>keyring</code> is the command of Python’s keyring package, which TFTSR uses; your system’s
        keyring tool shows the same entry. The entry belongs to this folder’s path.</p>
    </div>`;
  }
  if (src === 'passphrase') {
    return html`<span data-testid="help-key-advice" data-source="passphrase">
      It is derived from your passphrase and the salt file <code>tftsr.db.salt</code>, which is in the folder: the copy needs
      both, and the passphrase is stored nowhere. If it is forgotten, nobody can open the copy.</span>`;
  }
  return html`<span data-testid="help-key-advice" data-source=${src}>
    It is the value of <code>TFTSR_DB_KEY</code>, which TFTSR does not store. Keep that value with the backup.</span>`;
}

function DataHelp({ info, keyEntry }) {
  return html`<${Section} id="data" icon=${html`<${Icon} name="database" size=${18} />`} title="Your data"
    lead="Everything TFTSR knows is in one encrypted database in this folder.">
    ${!info
      ? html`<${Spinner} />`
      : html`<dl class="kv data-kv help-kv">
          <${PathRow} icon="folder" label="Data folder" value=${info.data_dir} testid="help-data-dir" />
          <${PathRow} icon="database" label="Database file" value=${info.db_path} testid="help-db-path" />
          <${PathRow} icon="file" label="Log file" value=${info.log_path} testid="help-log-path" />
          <dt><${Icon} name="key" /> Database key</dt>
          <dd data-testid="help-key-source" data-source=${info.key_source}>
            <strong>${KEY_SOURCE_LABEL[info.key_source] || info.key_source}</strong>
            ${info.key_source_detail && info.key_source !== 'env' ? html`<span class="subtle block">${info.key_source_detail}</span>` : null}
          </dd>
        </dl>
        <p class="subtle small help-note">The log file records what the app did and why it failed; it never holds keys, tokens or incident
          content — safe to attach to a bug report.</p>

        <div class="help-grid">
          <div class="help-panel">
            <h3>Back up</h3>
            <ol class="help-list">
              <li>Quit TFTSR, so the database is complete on disk.</li>
              <li>Copy the whole data folder.</li>
              <li><strong>Keep the key.</strong> <${KeyAdvice} info=${info} keyEntry=${keyEntry} /></li>
            </ol>
          </div>
          <div class="help-panel">
            <h3>Move to another folder or machine</h3>
            <ol class="help-list">
              <li>Quit TFTSR and copy the data folder to its new place.</li>
              <li>Bring the key. ${info.key_source === 'file'
                ? html`<code>db.key</code> travels with the folder.`
                : info.key_source === 'passphrase'
                  ? html`<code>tftsr.db.salt</code> travels with the folder; TFTSR asks for the passphrase.`
                  : html`Put it in <code>db.key</code> (one line) in the new folder, or set <code>TFTSR_DB_KEY</code>.`}</li>
              <li>Start TFTSR on it: <${Cmd}>tftsr --data-dir NEW_FOLDER<//> or set <code>TFTSR_DATA_DIR</code>.</li>
              <li>Check it opens and its audit chain is intact: <${Cmd}>tftsr db verify-audit --data-dir NEW_FOLDER<//></li>
            </ol>
          </div>
        </div>`}
  <//>`;
}

// ---------------------------------------------------------------- portable use and launchers
function PortableHelp() {
  return html`<${Section} id="portable" icon=${html`<${Icon} name="monitor" size=${18} />`} title="Portable use and launchers"
    lead="TFTSR as one file, as a folder on a USB stick, and in your app menu.">
    <div class="help-grid">
      <div class="help-panel" data-testid="help-portable">
        <h3>A folder on a USB stick</h3>
        <ul class="help-list">
          <li>Copy the <code>tftsr-portable</code> folder (from <code>build/build_exe.sh</code>) onto the stick and start its${' '}
            <code>tftsr</code>. Its <code>tftsr-portable.marker</code> file keeps everything in its <code>data/</code> folder:
            the database, logs, caches and temporary files.</li>
          <li>Nothing is written to the computer it is plugged into — not to your home folder, the OS keyring or the registry.
            (A decrypted kubeconfig lives in the computer's temporary folder only while one kubectl command runs.)</li>
          <li>The database key comes from a passphrase you type at every start, never from a file on the stick. A wrong
            passphrase changes nothing. <code>TFTSR_PASSPHRASE</code> supplies it for scripts.</li>
        </ul>
      </div>
      <div class="help-panel" data-testid="help-passphrase">
        <h3>Passphrase mode</h3>
        <ul class="help-list">
          <li>Any installation can use it: Settings → Security → <em>Ask for a passphrase at start</em>. The key is derived
            with scrypt from the passphrase and the salt in <code>tftsr.db.salt</code> beside the database.</li>
          <li>Switching it on or off and changing the passphrase re-key the database through a checked copy that replaces it
            in one step: if anything fails, the database is as it was.</li>
          <li>There is no way back in without the passphrase. Write it down somewhere safe.</li>
        </ul>
      </div>
      <div class="help-panel" data-testid="help-launcher">
        <h3>The single file and the app menu</h3>
        <ul class="help-list">
          <li>The single file <code>tftsr</code> unpacks itself once per version into <code>~/.cache/tftsr/</code> and starts
            from there afterwards.</li>
          <li>Settings → About → <em>Install launcher</em> (or <code>tftsr install-launcher</code>) adds TFTSR to the app menu,
            starting the copy you are running; <em>Remove launcher</em> (<code>--uninstall</code>) takes it out again.
            Linux launchers are tested; the Windows Start-menu shortcut and the macOS app in <code>~/Applications</code> are
            best effort.</li>
        </ul>
      </div>
    </div>
  <//>`;
}

// ---------------------------------------------------------------- command line
const COMMANDS = [
  ['tftsr', 'Open the desktop window (without a display: serve the app and print its link)'],
  ['tftsr serve [--port N] [--no-browser]', 'Serve the app on 127.0.0.1 and print its link with the access token'],
  ['tftsr db migrate', 'Create or upgrade the database'],
  ['tftsr db verify-audit [--expect-head SEQ:HASH]', 'Check the audit log’s hash chain, that no audited record lost its entry and, with a head recorded earlier, that the log up to it is unchanged'],
  ['tftsr db audit-head', 'Print the audit log’s head (SEQ:HASH) to record outside TFTSR'],
  ['tftsr install-launcher [--uninstall]', 'Add TFTSR to this computer’s app menu, starting this copy (or remove it)'],
  ['tftsr --version', 'Print the version'],
];
const OPTIONS = [
  ['--data-dir DIR', 'Use this data folder (every subcommand accepts it)'],
  ['--debug', 'Write debug detail to the log file'],
  ['TFTSR_DATA_DIR', 'Environment variable: the data folder when --data-dir is not given'],
  ['TFTSR_DB_KEY', 'Environment variable: the database key; when set, the keyring and db.key are not used'],
  ['TFTSR_PASSPHRASE', 'Environment variable: the passphrase in passphrase mode, where nobody can type it'],
];
const EXIT_CODES = [
  ['0', 'Success'],
  ['2', 'The database could not be opened (wrong key or passphrase, damaged file, read-only or full disk); nothing was changed'],
  ['3', 'The audit log is broken, incomplete, or does not match the recorded head'],
  ['4', 'TFTSR is already open for that data folder'],
];

function CommandTable({ rows, testid }) {
  return html`<table class="help-table help-cli" data-testid=${testid}>
    <tbody>
      ${rows.map(([cmd, what]) => html`<tr key=${cmd}><td class="nowrap"><code class="mono">${cmd}</code></td><td>${what}</td></tr>`)}
    </tbody>
  </table>`;
}

function CliHelp({ info }) {
  return html`<${Section} id="cli" icon=${html`<${Glyph} name="terminal" size=${18} />`} title="Command line"
    lead="The same program, from a terminal. python -m tftsr works too.">
    <${CommandTable} rows=${COMMANDS} testid="help-cli" />
    <h3 class="help-sub">Options and environment</h3>
    <${CommandTable} rows=${OPTIONS} testid="help-cli-options" />
    ${info
      ? html`<p class="help-example">For this data folder:
          <${Cmd} testid="help-cli-example">${`tftsr db verify-audit --data-dir ${shellArg(info.data_dir)}`}<//></p>`
      : null}
    <h3 class="help-sub">Exit codes</h3>
    <${CommandTable} rows=${EXIT_CODES} testid="help-exit-codes" />
  <//>`;
}
