// Settings → AI Providers: add, edit and delete providers, choose the active one, test
// the connection, pick a model from the provider's list and find out whether the model
// can call tools. API keys are write-only: the backend returns only a masked hint.

import { html, useState, useEffect, useCallback } from '../vendor/htm-preact/standalone.module.js';
import { errorMessage } from '../lib/commands.js';
import { on } from '../lib/events.js';
import { Icon } from '../lib/icons.js';
import { Modal, openDialog, confirmDialog, toast, Spinner, Field, Switch, useUid } from '../lib/ui.js';
import { settingValue } from '../lib/state.js';
import { ai, AiIcon } from './chat.js';

export function AiProvidersSection() {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [tests, setTests] = useState({}); // provider id -> {busy, result}
  const [busy, setBusy] = useState({}); // provider id -> action name

  const load = useCallback(() => ai.listProviders().then((d) => {
    setData(d);
    setError(null);
  }).catch(setError), []);
  useEffect(() => {
    load();
  }, [load]);
  useEffect(() => on('ai_providers_changed', () => load()), [load]);

  const kinds = data ? data.kinds : [];
  const kindOf = (k) => kinds.find((x) => x.kind === k) || { kind: k, label: k, settings: [] };

  const runFor = async (id, action, fn) => {
    setBusy((b) => ({ ...b, [id]: action }));
    try {
      return await fn();
    } catch (err) {
      toast.error(err);
      return undefined;
    } finally {
      setBusy((b) => ({ ...b, [id]: null }));
    }
  };

  const edit = async (provider) => {
    const saved = await openDialog((close) => html`<${ProviderDialog} kinds=${kinds} provider=${provider}
      first=${!data.items.length} onClose=${close} />`);
    if (saved) {
      toast.success(provider ? 'Provider saved' : `${saved.name} added`);
      load();
    }
  };

  const remove = async (p) => {
    if (settingValue('confirm_delete', true) !== false) {
      const ok = await confirmDialog({
        title: `Delete ${p.name}?`,
        message: 'Its stored API key is deleted too. Conversations that used it keep their messages.',
        confirmLabel: 'Delete provider',
        danger: true,
      });
      if (!ok) return;
    }
    const res = await runFor(p.id, 'delete', () => ai.deleteProvider(p.id));
    if (res) {
      toast.success('Provider deleted');
      load();
    }
  };

  const makeActive = async (p) => {
    const res = await runFor(p.id, 'active', () => ai.setActive(p.id));
    if (res) {
      toast.success(`${p.name} is now used for new chats`);
      load();
    }
  };

  const test = async (p) => {
    setTests((t) => ({ ...t, [p.id]: { busy: true, result: null } }));
    try {
      const result = await ai.testProvider(p.id);
      setTests((t) => ({ ...t, [p.id]: { busy: false, result } }));
    } catch (err) {
      setTests((t) => ({ ...t, [p.id]: { busy: false, result: { ok: false, message: errorMessage(err) } } }));
    }
  };

  const detect = async (p) => {
    const res = await runFor(p.id, 'tools', () => ai.detectTools(p.id));
    if (res) {
      toast.info(res.message);
      load();
    }
  };

  const pickModel = async (p) => {
    const model = await openDialog((close) => html`<${ModelsDialog} provider=${p} onClose=${close} />`);
    if (!model || model === p.model) return;
    const res = await runFor(p.id, 'model', () => ai.updateProvider(p.id, { model }));
    if (res) {
      toast.success(`${p.name} now uses ${model}`);
      load();
    }
  };

  return html`<section class="card settings-card ai-providers" aria-labelledby="ai-prov-h" data-testid="ai-providers">
    <div class="card-head">
      <h2 class="card-title" id="ai-prov-h">AI providers</h2>
      ${data ? html`<button class="btn btn-sm btn-primary" onClick=${() => edit(null)} data-testid="ai-provider-add"><${Icon} name="plus" /> Add provider</button>` : null}
    </div>
    <p class="subtle">Optional. A provider powers the AI triage chat of each incident. Only text you send and logs you have
      reviewed and redacted ever leave this machine; every request is recorded in the audit log.</p>
    ${error ? html`<p class="form-error" role="alert">${errorMessage(error)}</p>` : null}
    ${!data && !error ? html`<${Spinner} label="Loading providers…" />` : null}
    ${data && data.items.length === 0
      ? html`<div class="ai-prov-empty" data-testid="ai-providers-empty">
          <${AiIcon} name="plug" size=${20} />
          <div><strong>No provider yet.</strong> Add OpenAI, Azure OpenAI, Anthropic, Gemini, Mistral, a custom gateway,
            or Ollama running on this machine (no key needed).</div>
        </div>`
      : null}
    ${data && data.items.length
      ? html`<ul class="ai-prov-list">
          ${data.items.map((p) => html`<${ProviderRow} key=${p.id} p=${p} kind=${kindOf(p.kind)} busy=${busy[p.id]} test=${tests[p.id]}
              onEdit=${() => edit(p)} onDelete=${() => remove(p)} onActive=${() => makeActive(p)} onTest=${() => test(p)}
              onDetect=${() => detect(p)} onModels=${() => pickModel(p)} />`)}
        </ul>`
      : null}
  </section>`;
}

function ToolsBadge({ value }) {
  const state = value == null ? 'unknown' : value ? 'yes' : 'no';
  const text = { unknown: 'Tools not tested', yes: 'Tool calling', no: 'No tool calling' }[state];
  return html`<span class=${'badge ai-tools-badge ' + state} data-testid="ai-provider-tools" data-supports=${state}
    title=${state === 'no' ? 'Proposed whys come from markers in the replies' : undefined}>${text}</span>`;
}

function ProviderRow({ p, kind, busy, test, onEdit, onDelete, onActive, onTest, onDetect, onModels }) {
  const result = test && test.result;
  return html`<li class=${'ai-prov' + (p.is_active ? ' active' : '')} data-testid="ai-provider" data-provider-id=${p.id}
      data-active=${p.is_active ? 'true' : 'false'}>
    <div class="ai-prov-main">
      <div class="ai-prov-title">
        <span class=${'ai-kind-dot k-' + p.kind} aria-hidden="true"></span>
        <strong data-testid="ai-provider-name">${p.name}</strong>
        <span class="subtle">${kind.label}</span>
        ${p.is_active ? html`<span class="badge ai-active-badge" data-testid="ai-provider-active-badge"><${Icon} name="check" size=${11} /> Active</span>` : null}
        <${ToolsBadge} value=${p.supports_tools} />
      </div>
      <dl class="ai-prov-kv">
        <dt>Model</dt><dd><code class="mono" data-testid="ai-provider-model">${p.model}</code></dd>
        <dt>Address</dt><dd><code class="mono">${p.base_url}</code></dd>
        ${kind.needs_api_key || p.api_key_set
          ? html`<dt>API key</dt><dd data-testid="ai-provider-key">${p.api_key_set ? html`<code class="mono">${p.api_key_masked}</code>` : html`<span class="ai-warn-text">Not set</span>`}</dd>`
          : null}
      </dl>
      ${result
        ? html`<div class=${'ai-test-result ' + (result.ok ? 'ok' : 'bad')} role="status" data-testid="ai-provider-test-result" data-ok=${result.ok ? 'true' : 'false'}>
            <${Icon} name=${result.ok ? 'check' : 'alert'} size=${14} />
            <span>${result.message}${result.ok && result.reply_preview ? html` <span class="subtle">Reply: “${result.reply_preview}”</span>` : null}</span>
          </div>`
        : null}
    </div>
    <div class="ai-prov-actions">
      <button class="btn btn-sm" onClick=${onTest} disabled=${test && test.busy} data-testid="ai-provider-test">
        ${test && test.busy ? html`<span class="spinner sm" aria-hidden="true"></span>` : html`<${AiIcon} name="plug" size=${13} />`} Test connection
      </button>
      ${kind.supports_list_models !== false
        ? html`<button class="btn btn-sm" onClick=${onModels} disabled=${Boolean(busy)} data-testid="ai-provider-models">
            <${AiIcon} name="box" size=${13} /> Models
          </button>`
        : null}
      <button class="btn btn-sm" onClick=${onDetect} disabled=${Boolean(busy)} data-testid="ai-provider-detect-tools"
        title="Send one small request with a test tool and remember whether the model used it">
        ${busy === 'tools' ? html`<span class="spinner sm" aria-hidden="true"></span>` : html`<${AiIcon} name="tool" size=${13} />`} Detect tools
      </button>
      ${p.is_active ? null : html`<button class="btn btn-sm" onClick=${onActive} disabled=${Boolean(busy)} data-testid="ai-provider-make-active">Make active</button>`}
      <span class="spacer"></span>
      <button class="icon-btn" onClick=${onEdit} aria-label=${'Edit ' + p.name} title="Edit" data-testid="ai-provider-edit"><${Icon} name="edit" /></button>
      <button class="icon-btn danger" onClick=${onDelete} aria-label=${'Delete ' + p.name} title="Delete" disabled=${Boolean(busy)}
        data-testid="ai-provider-delete"><${Icon} name="trash" /></button>
    </div>
  </li>`;
}

// ---------------------------------------------------------------- add / edit
function initialSettings(kind, provider) {
  const out = {};
  for (const s of (kind && kind.settings) || []) {
    const v = provider && provider.settings ? provider.settings[s.key] : undefined;
    out[s.key] = v != null ? String(v) : provider ? '' : s.default != null ? String(s.default) : '';
  }
  return out;
}

function ProviderDialog({ kinds, provider, first, onClose }) {
  const editing = Boolean(provider);
  const [kind, setKind] = useState(provider ? provider.kind : (kinds[0] && kinds[0].kind) || 'openai');
  const k = kinds.find((x) => x.kind === kind) || { settings: [] };
  const [name, setName] = useState(provider ? provider.name : k.label || '');
  const [nameTouched, setNameTouched] = useState(editing);
  const [baseUrl, setBaseUrl] = useState(provider ? provider.base_url : '');
  const [model, setModel] = useState(provider ? provider.model : '');
  const [key, setKey] = useState('');
  const [keyMode, setKeyMode] = useState(provider && provider.api_key_set ? 'keep' : 'new'); // keep | new | remove
  const [settings, setSettings] = useState(() => initialSettings(k, provider));
  const [active, setActive] = useState(first || (provider ? provider.is_active : false));
  const [errs, setErrs] = useState({});
  const [busy, setBusy] = useState(false);
  const ids = { kind: useUid('pk'), name: useUid('pn'), url: useUid('pu'), model: useUid('pm'), key: useUid('pkey'), act: useUid('pa') };

  const changeKind = (next) => {
    setKind(next);
    const nk = kinds.find((x) => x.kind === next);
    setSettings(initialSettings(nk, null));
    if (!nameTouched && nk) setName(nk.label);
  };

  const submit = async (e) => {
    if (e) e.preventDefault();
    const problems = {};
    if (!name.trim()) problems.name = 'Give the provider a name.';
    if (!model.trim()) problems.model = 'Which model should it use?';
    if (baseUrl.trim() && !/^https?:\/\/[^\s/]+/i.test(baseUrl.trim())) problems.url = 'An http:// or https:// address.';
    if (!editing && k.needs_api_key && !key) problems.key = 'This provider needs an API key.';
    const cleanSettings = {};
    for (const s of k.settings || []) {
      const raw = (settings[s.key] || '').trim();
      if (s.type === 'bool') {
        if (raw) cleanSettings[s.key] = raw === 'true';
        continue;
      }
      if (!raw) {
        if (s.required) problems['s-' + s.key] = `${s.label} is required.`;
        continue;
      }
      if (s.type === 'int') {
        if (!/^-?\d+$/.test(raw)) problems['s-' + s.key] = 'A whole number.';
        else cleanSettings[s.key] = parseInt(raw, 10);
      } else if (s.type === 'float') {
        const v = Number(raw);
        if (Number.isNaN(v)) problems['s-' + s.key] = 'A number.';
        else cleanSettings[s.key] = v;
      } else cleanSettings[s.key] = raw;
    }
    setErrs(problems);
    if (Object.keys(problems).length) return;
    setBusy(true);
    try {
      let saved;
      if (editing) {
        const fields = { name: name.trim(), model: model.trim(), settings: cleanSettings };
        if (baseUrl.trim() && baseUrl.trim() !== provider.base_url) fields.base_url = baseUrl.trim();
        if (keyMode === 'new' && key) fields.api_key = key;
        if (keyMode === 'remove') fields.api_key = '';
        saved = await ai.updateProvider(provider.id, fields);
        if (active && !provider.is_active) saved = await ai.setActive(provider.id);
      } else {
        saved = await ai.addProvider({
          name: name.trim(), kind, model: model.trim(), base_url: baseUrl.trim() || undefined,
          api_key: key || undefined, settings: cleanSettings, make_active: active,
        });
      }
      onClose(saved);
    } catch (err) {
      setErrs({ form: errorMessage(err) });
      setBusy(false);
    }
  };

  return html`<${Modal} title=${editing ? `Edit ${provider.name}` : 'Add an AI provider'} size="md" testid="ai-provider-dialog"
    onClose=${() => onClose(null)}
    footer=${html`<button class="btn" onClick=${() => onClose(null)}>Cancel</button>
      <button class="btn btn-primary" onClick=${submit} disabled=${busy} data-testid="ai-provider-save">
        ${busy ? html`<span class="spinner sm" aria-hidden="true"></span>` : null} ${editing ? 'Save' : 'Add provider'}
      </button>`}>
    <form class="form ai-prov-form" onSubmit=${submit}>
      <div class="row-2">
        <${Field} label="Kind" htmlFor=${ids.kind}>
          <select id=${ids.kind} class="input" value=${kind} disabled=${editing} onChange=${(e) => changeKind(e.currentTarget.value)}
            data-testid="ai-provider-kind" data-autofocus=${editing ? undefined : true}>
            ${kinds.map((x) => html`<option key=${x.kind} value=${x.kind}>${x.label}</option>`)}
          </select>
        <//>
        <${Field} label="Name" htmlFor=${ids.name} error=${errs.name} required testid="ai-provider-name">
          <input id=${ids.name} class="input" value=${name} maxLength="100" data-autofocus=${editing ? true : undefined}
            onInput=${(e) => { setName(e.currentTarget.value); setNameTouched(true); }} data-testid="ai-provider-name" />
        <//>
      </div>
      <${Field} label="Address" htmlFor=${ids.url} error=${errs.url} testid="ai-provider-base-url"
        hint=${k.default_base_url ? `Leave empty for ${k.default_base_url}` : 'The base URL of the API.'}>
        <input id=${ids.url} class="input mono-input" value=${baseUrl} placeholder=${k.default_base_url || 'https://…'} spellcheck="false"
          onInput=${(e) => setBaseUrl(e.currentTarget.value)} data-testid="ai-provider-base-url" />
      <//>
      <${Field} label=${kind === 'azure_openai' ? 'Model (shown in chats)' : 'Model'} htmlFor=${ids.model} error=${errs.model} required testid="ai-provider-model"
        hint=${editing && k.supports_list_models ? 'Or choose from the provider\'s list with "Models" after saving.' : k.supports_list_models ? 'After adding, "Models" lists what the provider offers.' : ''}>
        <input id=${ids.model} class="input mono-input" value=${model} maxLength="200" spellcheck="false"
          placeholder=${MODEL_HINT[kind] || ''} onInput=${(e) => setModel(e.currentTarget.value)} data-testid="ai-provider-model" />
      <//>
      <${Field} label="API key" htmlFor=${ids.key} error=${errs.key} required=${k.needs_api_key && !editing} testid="ai-provider-api-key"
        hint=${keyMode === 'keep' ? 'Stored encrypted; it is never shown again.' : k.needs_api_key ? 'Stored encrypted in the database; never shown again.' : 'Optional for this kind.'}>
        ${keyMode === 'keep'
          ? html`<div class="ai-key-row">
              <code class="mono ai-key-masked" data-testid="ai-provider-key-masked">${provider.api_key_masked}</code>
              <button type="button" class="btn btn-sm" onClick=${() => setKeyMode('new')} data-testid="ai-provider-key-replace">Replace key</button>
              <button type="button" class="btn btn-sm btn-ghost btn-danger-text" onClick=${() => setKeyMode('remove')} data-testid="ai-provider-key-remove">Remove</button>
            </div>`
          : keyMode === 'remove'
            ? html`<div class="ai-key-row"><span class="ai-warn-text">The key will be removed when you save.</span>
                <button type="button" class="btn btn-sm" onClick=${() => setKeyMode('keep')}>Undo</button></div>`
            : html`<div class="ai-key-row">
                <input id=${ids.key} class="input mono-input" type="password" autocomplete="off" spellcheck="false" value=${key}
                  maxLength="4096" placeholder=${editing && provider.api_key_set ? 'New key' : 'Paste the key'}
                  onInput=${(e) => setKey(e.currentTarget.value)} data-testid="ai-provider-api-key" />
                ${editing && provider.api_key_set ? html`<button type="button" class="btn btn-sm" onClick=${() => { setKey(''); setKeyMode('keep'); }}>Keep current</button>` : null}
              </div>`}
      <//>
      ${(k.settings || []).length
        ? html`<details class="ai-advanced" open=${(k.settings || []).some((s) => s.required)}>
            <summary data-testid="ai-provider-advanced">Advanced settings</summary>
            <div class="ai-settings-grid">
              ${k.settings.map((s) => html`<${SettingField} key=${kind + s.key} s=${s} value=${settings[s.key] || ''} error=${errs['s-' + s.key]}
                  onChange=${(v) => setSettings((cur) => ({ ...cur, [s.key]: v }))} />`)}
            </div>
          </details>`
        : null}
      <div class="setting-row ai-active-row">
        <div class="setting-text">
          <label class="setting-label" for=${ids.act}>Use for new chats</label>
          <p class="setting-desc">${first ? 'The first provider you add is used automatically.' : 'Makes this the active provider.'}</p>
        </div>
        <div class="setting-control">
          <${Switch} id=${ids.act} checked=${active} disabled=${first || (editing && provider.is_active)} label="Use for new chats"
            onChange=${setActive} testid="ai-provider-active" />
        </div>
      </div>
      ${errs.form ? html`<div class="form-error" role="alert" data-testid="ai-provider-error">${errs.form}</div>` : null}
      <button type="submit" hidden></button>
    </form>
  <//>`;
}

const MODEL_HINT = {
  openai: 'gpt-4o-mini', azure_openai: 'gpt-4o', anthropic: 'claude-3-5-sonnet-latest', gemini: 'gemini-1.5-flash',
  mistral: 'mistral-small-latest', ollama: 'llama3.1:8b', custom_rest: 'gateway-model',
};

function SettingField({ s, value, error, onChange }) {
  const id = useUid('ps');
  if (s.type === 'bool') {
    return html`<div class="ai-setting-switch">
      <label class="field-label" for=${id}>${s.label}</label>
      <${Switch} id=${id} checked=${value === 'true'} label=${s.label} onChange=${(v) => onChange(v ? 'true' : 'false')}
        testid=${'ai-provider-setting-' + s.key} />
    </div>`;
  }
  const num = s.type === 'int' || s.type === 'float';
  return html`<${Field} label=${s.label} htmlFor=${id} error=${error} required=${s.required} testid=${'ai-provider-setting-' + s.key}
      hint=${s.default != null && !s.required ? `Default: ${s.default}` : ''}>
    <input id=${id} class=${'input' + (num ? ' input-num' : '')} type=${num ? 'number' : 'text'} step=${s.type === 'float' ? 'any' : '1'}
      value=${value} onInput=${(e) => onChange(e.currentTarget.value)} data-testid=${'ai-provider-setting-' + s.key} />
  <//>`;
}

// ---------------------------------------------------------------- models
function ModelsDialog({ provider, onClose }) {
  const [state, setState] = useState({ loading: true });
  const [filter, setFilter] = useState('');
  const [choice, setChoice] = useState(provider.model);
  const load = () => {
    setState({ loading: true });
    ai.listModels(provider.id).then((r) => setState({ loading: false, result: r })).catch((error) => setState({ loading: false, error }));
  };
  useEffect(load, []);
  const models = state.result ? state.result.models : [];
  const q = filter.trim().toLowerCase();
  const shown = q ? models.filter((m) => (m.id + ' ' + (m.label || '')).toLowerCase().includes(q)) : models;
  return html`<${Modal} title=${`Models of ${provider.name}`} size="md" testid="ai-models-dialog" onClose=${() => onClose(null)}
    footer=${html`<button class="btn" onClick=${() => onClose(null)}>Cancel</button>
      <button class="btn btn-primary" disabled=${!choice} onClick=${() => onClose(choice)} data-testid="ai-models-use">Use this model</button>`}>
    ${state.loading ? html`<${Spinner} label="Asking the provider…" />` : null}
    ${state.error
      ? html`<div class="ai-error" role="alert" data-testid="ai-models-error"><${Icon} name="alert" /><span>${errorMessage(state.error)}</span>
          <button class="btn btn-sm" onClick=${load}>Try again</button></div>`
      : null}
    ${state.result && !state.result.supported ? html`<p class="subtle">This provider does not list its models. Type the model name in Edit.</p>` : null}
    ${state.result && state.result.supported
      ? html`<input class="input ai-models-filter" placeholder=${`Filter ${models.length} models…`} value=${filter} data-autofocus
            onInput=${(e) => setFilter(e.currentTarget.value)} aria-label="Filter models" data-testid="ai-models-filter" />
          <ul class="ai-model-list" role="listbox" aria-label="Models">
            ${shown.map((m) => html`<li key=${m.id} role="option" aria-selected=${m.id === choice ? 'true' : 'false'}
                class=${'ai-model' + (m.id === choice ? ' on' : '')} onClick=${() => setChoice(m.id)} onDblClick=${() => onClose(m.id)}
                data-testid="ai-model-option" data-model-id=${m.id}>
              <span class="ai-radio" aria-hidden="true"></span>
              <code class="mono">${m.id}</code>
              ${m.label && m.label !== m.id ? html`<span class="subtle">${m.label}</span>` : null}
              ${m.id === provider.model ? html`<span class="pill">current</span>` : null}
            </li>`)}
            ${shown.length === 0 ? html`<li class="subtle ai-model-none">No model matches.</li>` : null}
          </ul>`
      : null}
  <//>`;
}
