import { html, useState, useEffect } from '../vendor/htm-preact/standalone.module.js';
import { Icon } from '../lib/icons.js';
import { Segmented, Switch, Spinner, toast, useUid } from '../lib/ui.js';
import { useApp, saveSetting, loadSettings, uiStore } from '../lib/state.js';
import { humanize } from '../lib/format.js';
import { AiProvidersSection } from './ai-providers.js';
import { OllamaPanel } from './ollama.js';
import { McpServersSection } from './mcp.js';
import { IntegrationsSection } from './integrations.js';
import { SecuritySection, AboutSection } from './distribution.js';

const CHOICE_LABELS = {
  theme: { light: 'Light', dark: 'Dark', system: 'System' },
  date_display: { local: 'Local time', utc: 'UTC' },
};

const KEY_SOURCE = {
  env: { label: 'Environment variable', icon: 'key' },
  keyring: { label: 'Operating system keyring', icon: 'shield' },
  file: { label: 'Key file in the data folder', icon: 'file' },
  passphrase: { label: 'Your passphrase', icon: 'key' },
};

function choiceLabel(key, c) {
  const m = CHOICE_LABELS[key];
  return (m && m[c]) || (typeof c === 'string' ? humanize(c.toLowerCase()) : String(c));
}

function groupSchema(schema) {
  const groups = new Map();
  for (const item of schema) {
    const g = item.group || 'General';
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g).push(item);
  }
  return [...groups.entries()];
}

export function Settings() {
  const { settings, info } = useApp();
  const [error, setError] = useState(null);

  useEffect(() => {
    loadSettings().catch(setError);
  }, []);

  const save = async (item, value) => {
    try {
      await saveSetting(item.key, value);
      toast.success(`${item.label || humanize(item.key)} saved`);
      return true;
    } catch (err) {
      toast.error(err);
      return false;
    }
  };

  return html`<div class="page narrow settings" data-testid="settings">
    <div class="page-head">
      <div>
        <h1>Settings</h1>
        <p class="subtle">Changes are saved as you make them.</p>
      </div>
    </div>

    ${!settings
      ? html`<section class="card settings-card">
          ${error ? html`<p class="form-error" role="alert">${error.message}</p>` : html`<${Spinner} label="Loading settings…" />`}
        </section>`
      : groupSchema(settings.schema || []).map(
          ([group, items]) => html`<section class="card settings-card" key=${group} aria-label=${group} data-testid=${'settings-group-' + group.toLowerCase().replace(/[^a-z0-9]+/g, '-')}>
            <h2 class="card-title">${group}</h2>
            <div class="setting-list">
              ${items.map(
                (item) => html`<${SettingRow} key=${item.key} item=${item} value=${settings.values[item.key]} onSave=${save} />`,
              )}
            </div>
          </section>`,
        )}

    <${AiProvidersSection} />
    <${OllamaPanel} />
    <${McpServersSection} />
    <${IntegrationsSection} />

    <section class="card settings-card" aria-labelledby="data-h" data-testid="your-data">
      <h2 class="card-title" id="data-h">Your data</h2>
      <p class="subtle">Everything TFTSR knows lives in one encrypted database on this machine.</p>
      ${!info
        ? html`<${Spinner} />`
        : html`<dl class="kv data-kv">
            <dt><${Icon} name="folder" /> Data folder</dt>
            <dd><${PathValue} value=${info.data_dir} testid="info-data-dir" /></dd>
            <dt><${Icon} name="database" /> Database file</dt>
            <dd><${PathValue} value=${info.db_path} testid="info-db-path" /></dd>
            <dt><${Icon} name="file" /> Log file</dt>
            <dd><${PathValue} value=${info.log_path} testid="info-log-path" /></dd>
            <dt><${Icon} name="key" /> Database key</dt>
            <dd data-testid="info-key-source">
              <strong>${(KEY_SOURCE[info.key_source] || { label: info.key_source }).label}</strong>
              ${info.key_source_detail ? html`<span class="subtle block">${info.key_source_detail}</span>` : null}
            </dd>
            <dt><${Icon} name="info" /> Version</dt>
            <dd data-testid="info-version">TFTSR ${info.version} <span class="subtle">· ${info.mode === 'desktop' ? 'desktop app' : 'browser mode'}</span></dd>
          </dl>`}
      <p class="subtle small" data-testid="audit-key-note">
        <strong>The audit log and this key.</strong> Without the key, no one can change the audit log unnoticed. Whoever holds it can
        rewrite the log so that its chain still checks out; TFTSR still notices an emptied or cut-short log, and any change before
        a head you recorded elsewhere (<a href="#/audit">Audit log</a> → Copy, or any exported document). <a href="#/help/privacy">More</a>
      </p>
    </section>

    <${SecuritySection} />

    <section class="card settings-card">
      <h2 class="card-title">Keyboard</h2>
      <p class="subtle">
        <kbd>Ctrl</kbd> <kbd>K</kbd> opens the command palette. Press <kbd>?</kbd> anywhere for all shortcuts.
      </p>
      <button class="btn btn-sm" onClick=${() => uiStore.set((s) => ({ ...s, help: true }))}>
        <${Icon} name="keyboard" /> Show shortcuts
      </button>
    </section>

    <${AboutSection} />
  </div>`;
}

function PathValue({ value, testid }) {
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      toast.success('Copied');
    } catch (_) {
      toast.error('Copying is not available here.');
    }
  };
  if (!value) return html`<span class="subtle">—</span>`;
  return html`<span class="path">
    <code class="mono" data-testid=${testid}>${value}</code>
    <button class="icon-btn" aria-label="Copy path" title="Copy" onClick=${copy}><${Icon} name="copy" size=${14} /></button>
  </span>`;
}

function SettingRow({ item, value, onSave }) {
  const id = useUid('set');
  const label = item.label || humanize(item.key);
  const current = value === undefined ? item.default : value;
  let control;

  if (item.type === 'bool') {
    control = html`<${Switch} id=${id} checked=${Boolean(current)} label=${label}
      onChange=${(v) => onSave(item, v)} testid=${'setting-' + item.key} />`;
  } else if (item.type === 'enum') {
    const choices = item.choices || [];
    control =
      choices.length <= 4
        ? html`<${Segmented} size="sm" label=${label} value=${current} testid=${'setting-' + item.key}
            options=${choices.map((c) => ({ value: c, label: choiceLabel(item.key, c) }))}
            onChange=${(v) => v !== current && onSave(item, v)} />`
        : html`<select id=${id} class="input" value=${current} data-testid=${'setting-' + item.key}
            onChange=${(e) => onSave(item, e.currentTarget.value)}>
            ${choices.map((c) => html`<option key=${c} value=${c}>${choiceLabel(item.key, c)}</option>`)}
          </select>`;
  } else {
    control = html`<${TextSetting} id=${id} item=${item} value=${current} onSave=${onSave} />`;
  }

  return html`<div class="setting-row" data-setting=${item.key}>
    <div class="setting-text">
      <label class="setting-label" for=${id} id=${id + '-l'}>${label}</label>
      ${item.description ? html`<p class="setting-desc">${item.description}</p>` : null}
    </div>
    <div class="setting-control">${control}</div>
  </div>`;
}

function TextSetting({ id, item, value, onSave }) {
  const [draft, setDraft] = useState(value == null ? '' : String(value));
  const [err, setErr] = useState('');
  useEffect(() => setDraft(value == null ? '' : String(value)), [value]);

  const commit = async () => {
    if (draft === String(value == null ? '' : value)) return;
    let v = draft;
    if (item.type === 'int') {
      if (!/^-?\d+$/.test(draft.trim())) return setErr('Enter a whole number.');
      v = parseInt(draft, 10);
      if (item.min != null && v < item.min) return setErr(`At least ${item.min}.`);
      if (item.max != null && v > item.max) return setErr(`At most ${item.max}.`);
    }
    setErr('');
    const ok = await onSave(item, v);
    if (!ok) setDraft(value == null ? '' : String(value));
    return undefined;
  };

  return html`<div class="text-setting">
    <input id=${id} class=${'input' + (item.type === 'int' ? ' input-num' : '')}
      type=${item.type === 'int' ? 'number' : 'text'} min=${item.min} max=${item.max}
      value=${draft} aria-invalid=${err ? 'true' : 'false'} data-testid=${'setting-' + item.key}
      onInput=${(e) => setDraft(e.currentTarget.value)}
      onChange=${commit}
      onKeyDown=${(e) => e.key === 'Enter' && commit()} />
    ${err ? html`<div class="field-error" role="alert">${err}</div>` : null}
  </div>`;
}
