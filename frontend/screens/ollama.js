// Settings → Ollama: whether Ollama answers (and where), the models it has installed,
// downloading a model with live progress, deleting one, this machine's hardware and the
// models that fit it.

import { html, useState, useEffect, useCallback } from '../vendor/htm-preact/standalone.module.js';
import { errorMessage } from '../lib/commands.js';
import { on } from '../lib/events.js';
import { Icon } from '../lib/icons.js';
import { confirmDialog, toast, Spinner, useUid } from '../lib/ui.js';
import { relativeTime } from '../lib/format.js';
import { ai, AiIcon, formatBytes } from './chat.js';

const NAME_RE = /^[\w.\-:/]+$/;

export function OllamaPanel() {
  const [url, setUrl] = useState('');
  const [status, setStatus] = useState(null);
  const [models, setModels] = useState(null);
  const [modelsError, setModelsError] = useState(null);
  const [hardware, setHardware] = useState(null);
  const [recs, setRecs] = useState(null);
  const [checking, setChecking] = useState(false);
  const [pullName, setPullName] = useState('');
  const [pull, setPull] = useState(null); // {pull_id, model, status, percent, completed, total, done, error}
  const [deleting, setDeleting] = useState(null);
  const urlId = useUid('ollama-url');
  const pullId = useUid('ollama-pull');

  const base = url.trim() || undefined;

  const refresh = useCallback(async (target) => {
    setChecking(true);
    try {
      const st = await ai.ollamaStatus(target);
      setStatus(st);
      if (!target && st.base_url) setUrl((u) => u || st.base_url);
      if (st.reachable) {
        try {
          setModels((await ai.ollamaModels(st.base_url)).models || []);
          setModelsError(null);
        } catch (err) {
          setModelsError(err);
        }
      } else setModels(null);
      ai.recommendModels(st.base_url).then((r) => {
        setRecs(r.recommendations || []);
        setHardware(r.hardware || null);
      }).catch(() => {});
    } catch (err) {
      setStatus({ reachable: false, base_url: target || '', message: errorMessage(err) });
    } finally {
      setChecking(false);
    }
  }, []);

  useEffect(() => {
    refresh();
    ai.hardware().then(setHardware).catch(() => {});
  }, [refresh]);

  // Download progress for the pull this panel started.
  useEffect(() => on('ollama_pull_progress', (p) => {
    if (!p) return;
    setPull((cur) => {
      if (!cur || cur.pull_id !== p.pull_id) return cur;
      return { ...cur, ...p, percent: p.percent != null ? p.percent : cur.percent };
    });
    if (p.done) {
      if (p.error && p.error.code !== 'ai_cancelled') toast.error(p.error.message);
      else if (!p.error) toast.success(`${p.model} is ready`);
      refresh(base);
    }
  }), [base, refresh]);

  const startPull = async (name) => {
    const model = (name || pullName).trim();
    if (!model) return;
    if (!NAME_RE.test(model)) {
      toast.error('A model name uses letters, digits and . - : / _ only, e.g. llama3.1:8b');
      return;
    }
    try {
      const res = await ai.ollamaPull(model, base);
      setPull({ pull_id: res.pull_id, model, status: 'starting', percent: null, done: false, error: null });
      setPullName('');
    } catch (err) {
      toast.error(err);
    }
  };

  const cancelPull = async () => {
    if (!pull) return;
    try {
      await ai.ollamaCancelPull(pull.pull_id);
    } catch (err) {
      toast.error(err);
    }
  };

  const remove = async (m) => {
    const ok = await confirmDialog({
      title: `Delete ${m.name}?`,
      message: `Ollama removes the model from this machine${m.size_bytes ? `, freeing ${formatBytes(m.size_bytes)}` : ''}. You can download it again later.`,
      confirmLabel: 'Delete model',
      danger: true,
    });
    if (!ok) return;
    setDeleting(m.name);
    try {
      await ai.ollamaDelete(m.name, base);
      toast.success(`${m.name} deleted`);
      await refresh(base);
    } catch (err) {
      toast.error(err);
    } finally {
      setDeleting(null);
    }
  };

  const reachable = status && status.reachable;
  const pulling = pull && !pull.done;

  return html`<section class="card settings-card ai-ollama" aria-labelledby="ollama-h" data-testid="ollama">
    <div class="card-head">
      <h2 class="card-title" id="ollama-h">Ollama (models on this machine)</h2>
    </div>
    <p class="subtle">Ollama runs models locally: nothing leaves the machine. Install it from ollama.com, then manage its models here.</p>

    <form class="ai-ollama-url" onSubmit=${(e) => { e.preventDefault(); refresh(base); }}>
      <label class="field-label" for=${urlId}>Address</label>
      <div class="with-btn">
        <input id=${urlId} class="input mono-input" value=${url} placeholder="http://localhost:11434" spellcheck="false"
          onInput=${(e) => setUrl(e.currentTarget.value)} data-testid="ollama-base-url" />
        <button type="submit" class="btn btn-sm" disabled=${checking} data-testid="ollama-refresh">
          ${checking ? html`<span class="spinner sm" aria-hidden="true"></span>` : html`<${Icon} name="refresh" />`} Check
        </button>
      </div>
    </form>

    ${status
      ? html`<div class=${'ai-ollama-status ' + (reachable ? 'ok' : 'bad')} role="status" data-testid="ollama-status"
            data-reachable=${reachable ? 'true' : 'false'}>
          <span class="ai-status-dot" aria-hidden="true"></span>
          <span>
            ${reachable ? html`<strong>Running</strong>` : html`<strong>Not reachable</strong>`}
            ${' at '}<code class="mono">${status.base_url}</code>
            ${status.version ? html` <span class="subtle">· version ${status.version}</span>` : null}
            ${!reachable && status.message ? html`<span class="block subtle">${status.message}</span>` : null}
          </span>
        </div>`
      : html`<${Spinner} label="Looking for Ollama…" />`}

    ${reachable
      ? html`<div class="ai-ollama-sec">
          <div class="section-title">Installed models</div>
          ${modelsError ? html`<p class="form-error" role="alert">${errorMessage(modelsError)}</p>` : null}
          ${models && models.length === 0 ? html`<p class="subtle" data-testid="ollama-models-empty">No models yet. Download one below.</p>` : null}
          ${models && models.length
            ? html`<table class="table ai-ollama-models" data-testid="ollama-models">
                <thead><tr><th>Model</th><th>Size</th><th>Parameters</th><th>Quantisation</th><th>Updated</th><th><span class="sr-only">Actions</span></th></tr></thead>
                <tbody>
                  ${models.map((m) => html`<tr key=${m.name} data-testid="ollama-model" data-name=${m.name}>
                    <td><code class="mono">${m.name}</code>${m.family ? html` <span class="subtle">${m.family}</span>` : null}</td>
                    <td class="nowrap">${formatBytes(m.size_bytes)}</td>
                    <td>${m.parameter_size || '—'}</td>
                    <td>${m.quantization || '—'}</td>
                    <td class="nowrap subtle">${m.modified_at ? relativeTime(String(m.modified_at).replace('T', ' ').slice(0, 19)) : '—'}</td>
                    <td class="ai-td-actions">
                      <button class="icon-btn danger" aria-label=${'Delete ' + m.name} title="Delete" disabled=${deleting === m.name}
                        onClick=${() => remove(m)} data-testid="ollama-model-delete"><${Icon} name="trash" /></button>
                    </td>
                  </tr>`)}
                </tbody>
              </table>`
            : null}
        </div>

        <form class="ai-ollama-sec ai-ollama-pull" onSubmit=${(e) => { e.preventDefault(); startPull(); }}>
          <label class="section-title" for=${pullId}>Download a model</label>
          <div class="with-btn">
            <input id=${pullId} class="input mono-input" value=${pullName} placeholder="e.g. llama3.1:8b" spellcheck="false" maxLength="200"
              disabled=${pulling} onInput=${(e) => setPullName(e.currentTarget.value)} data-testid="ollama-pull-name" />
            <button type="submit" class="btn btn-sm btn-primary" disabled=${pulling || !pullName.trim()} data-testid="ollama-pull">
              <${Icon} name="download" /> Download
            </button>
          </div>
          ${pull ? html`<${PullProgress} pull=${pull} onCancel=${cancelPull} onClose=${() => setPull(null)} />` : null}
        </form>`
      : null}

    <div class="ai-ollama-sec">
      <div class="section-title">This machine</div>
      ${hardware ? html`<${Hardware} hw=${hardware} />` : html`<${Spinner} label="Reading the hardware…" />`}
    </div>

    ${recs
      ? html`<div class="ai-ollama-sec">
          <div class="section-title">Recommended models</div>
          <ul class="ai-recs" data-testid="ollama-recommendations">
            ${recs.map((r) => html`<li key=${r.name} class=${'ai-rec' + (r.fits ? '' : ' nofit')} data-testid="ollama-recommendation"
                data-name=${r.name} data-fits=${r.fits ? 'true' : 'false'}>
              <div class="ai-rec-main">
                <div class="ai-rec-title"><strong>${r.label}</strong> <code class="mono subtle">${r.name}</code></div>
                <div class="ai-rec-meta subtle">
                  ${r.size_gb} GB · ${r.reason}${r.tools ? ' · tool calling' : ''}
                </div>
              </div>
              <span class=${'badge ai-fit ' + (r.fits ? r.runs_on : 'no')}>${r.fits ? (r.runs_on === 'gpu' ? 'GPU' : 'CPU') : 'Too large'}</span>
              ${r.installed
                ? html`<span class="badge ai-active-badge"><${Icon} name="check" size=${11} /> Installed</span>`
                : html`<button class="btn btn-sm" disabled=${!reachable || pulling || !r.fits} onClick=${() => startPull(r.name)}
                    data-testid="ollama-recommendation-pull" title=${reachable ? '' : 'Start Ollama first'}>Download</button>`}
            </li>`)}
          </ul>
        </div>`
      : null}
  </section>`;
}

function PullProgress({ pull, onCancel, onClose }) {
  const pct = pull.percent != null ? Math.max(0, Math.min(100, pull.percent)) : null;
  const failed = pull.done && pull.error;
  return html`<div class=${'ai-pull' + (failed ? ' bad' : pull.done ? ' ok' : '')} data-testid="ollama-pull-progress"
      data-done=${pull.done ? 'true' : 'false'} data-percent=${pct == null ? '' : pct}>
    <div class="ai-pull-head">
      <code class="mono">${pull.model}</code>
      <span class="subtle ai-pull-status">${failed ? pull.error.message : pull.done ? 'Done' : pull.status || 'Starting…'}</span>
      <span class="spacer"></span>
      ${pct != null && !pull.done ? html`<span class="ai-pull-pct">${pct.toFixed(0)} %</span>` : null}
      ${pull.done
        ? html`<button type="button" class="icon-btn" aria-label="Close" onClick=${onClose}><${Icon} name="x" size=${14} /></button>`
        : html`<button type="button" class="btn btn-sm btn-ghost" onClick=${onCancel} data-testid="ollama-pull-cancel">Cancel</button>`}
    </div>
    <div class="ai-bar" role="progressbar" aria-label=${'Downloading ' + pull.model} aria-valuemin="0" aria-valuemax="100"
      aria-valuenow=${pct == null ? undefined : Math.round(pct)}>
      <span class=${'ai-bar-fill' + (pct == null && !pull.done ? ' indeterminate' : '')} style=${{ width: (pull.done && !failed ? 100 : pct || 0) + '%' }}></span>
    </div>
    ${pull.total ? html`<div class="subtle ai-pull-bytes">${formatBytes(pull.completed || 0)} of ${formatBytes(pull.total)}</div>` : null}
  </div>`;
}

function Hardware({ hw }) {
  const gpus = hw.gpus || [];
  return html`<dl class="kv ai-hw" data-testid="ollama-hardware">
    <dt><${AiIcon} name="box" size=${14} /> Memory</dt>
    <dd data-testid="ollama-hw-ram">${hw.ram_total_gb != null ? `${hw.ram_total_gb} GB` : 'Unknown'}${hw.ram_available_gb != null ? html` <span class="subtle">(${hw.ram_available_gb} GB free)</span>` : null}</dd>
    <dt><${AiIcon} name="cpu" size=${14} /> CPU</dt>
    <dd data-testid="ollama-hw-cpu">${hw.cpu_cores || '?'} cores${hw.cpu_model ? html` <span class="subtle">· ${hw.cpu_model}</span>` : null}</dd>
    <dt><${Icon} name="monitor" size=${14} /> GPU</dt>
    <dd data-testid="ollama-hw-gpu">
      ${gpus.length
        ? gpus.map((g, i) => html`<span key=${i} class="block">${g.name} <span class="subtle">· ${Math.round((g.memory_total_mb || 0) / 1024)} GB</span></span>`)
        : html`<span class="subtle">None detected — models run on the CPU</span>`}
    </dd>
    ${hw.platform ? html`<dt><${Icon} name="info" size=${14} /> System</dt><dd>${hw.platform}</dd>` : null}
  </dl>`;
}
