// The incident's Diagnostics tab: run a command yourself (the same classifier and approval
// the assistant's proposals go through), choose the kubeconfig kubectl uses for this
// incident, and read every command that ran — or was refused — with its output.
// Command output is untrusted text: it is rendered only as text.

import { html, useState, useEffect, useCallback } from '../vendor/htm-preact/standalone.module.js';
import { call } from '../lib/commands.js';
import { on } from '../lib/events.js';
import { Icon } from '../lib/icons.js';
import { Modal, openDialog, toast, Spinner, EmptyState, Field, useDebounced } from '../lib/ui.js';
import { formatDateTime, plural } from '../lib/format.js';
import { hookApprovals, usePendingApprovals, ApprovalCard, CodeText } from './approvals.js';
import { formatBytes, formatCount } from './evidence.js';

export const shell = {
  classify: (command) => call('classify_command', { command }),
  run: (issue_id, command) => call('run_shell_command', { issue_id, command }),
  history: (issue_id) => call('list_command_executions', { issue_id }),
  listKubeconfigs: () => call('list_kubeconfigs'),
  incidentKubeconfig: (issue_id) => call('get_incident_kubeconfig', { issue_id }),
  importKubeconfig: (args) => call('import_kubeconfig', args),
  setActiveKubeconfig: (kubeconfig_id, issue_id, context) =>
    call('set_active_kubeconfig', { kubeconfig_id, issue_id, context }),
  detectDefaultKubeconfig: () => call('detect_default_kubeconfig'),
};

const TIER_TEXT = {
  1: 'Read-only — runs at once',
  2: 'Changes state — asks for your approval first',
  3: 'Destructive — TFTSR refuses to run it',
};

function TierBadge({ tier }) {
  return html`<span class=${'tier-badge tier-' + tier} data-testid="tier-badge">Tier ${tier}</span>`;
}

function ImportKubeconfigDialog({ onClose, onImported }) {
  const [name, setName] = useState('');
  const [content, setContent] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  async function pickFile(e) {
    const file = e.target.files && e.target.files[0];
    if (!file) return;
    if (file.size > 1024 * 1024) {
      setError('The file is larger than 1 MB; a kubeconfig is usually a few kilobytes.');
      return;
    }
    setError(null);
    setContent(await file.text());
    if (!name) setName(file.name.slice(0, 100));
  }
  async function submit(e) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const res = await shell.importKubeconfig({ name: name || 'kubeconfig', content });
      onImported(res);
      onClose();
    } catch (err) {
      setError(err.message);
      setBusy(false);
    }
  }
  return html`<${Modal} title="Import a kubeconfig" onClose=${onClose} testid="kubeconfig-dialog"
      footer=${html`<button class="btn" onClick=${onClose}>Cancel</button>
        <button class="btn btn-primary" form="kubeconfig-form" type="submit" disabled=${busy || !content.trim()}
          data-testid="kubeconfig-import-submit">Import</button>`}>
    <form id="kubeconfig-form" onSubmit=${submit}>
      <${Field} label="Name" htmlFor="kc-name">
        <input id="kc-name" class="input" maxlength="100" value=${name} onInput=${(e) => setName(e.target.value)}
          placeholder="prod-eu cluster" data-testid="kubeconfig-name" />
      </${Field}>
      <${Field} label="From a file" htmlFor="kc-file" hint="Or paste it below.">
        <input id="kc-file" class="input" type="file" onChange=${pickFile} data-testid="kubeconfig-file" />
      </${Field}>
      <${Field} label="Kubeconfig (YAML)" htmlFor="kc-content" error=${error}
          hint="Stored encrypted in the database; kubectl gets it through a private temporary file for each run.">
        <textarea id="kc-content" class="input mono" rows="10" value=${content}
          onInput=${(e) => setContent(e.target.value)} data-testid="kubeconfig-content"></textarea>
      </${Field}>
    </form>
  </${Modal}>`;
}

function KubeconfigPicker({ issue }) {
  const [state, setState] = useState(null);
  const [suggest, setSuggest] = useState(null);
  const load = useCallback(() => {
    Promise.all([shell.listKubeconfigs(), shell.incidentKubeconfig(issue.id)])
      .then(([list, mine]) => setState({ ...list, active_for_issue: mine.kubeconfig_id, context_for_issue: mine.context }))
      .catch((err) => setState({ error: err.message, items: [] }));
  }, [issue.id]);
  useEffect(load, [load]);
  useEffect(() => {
    shell.detectDefaultKubeconfig().then(setSuggest).catch(() => setSuggest(null));
  }, []);
  if (!state) return html`<${Spinner} inline label="Loading kubeconfigs…" />`;
  const items = state.items || [];
  // the incident's own choice, else the default every incident uses
  const active = state.active_for_issue || state.active_kubeconfig_id || '';
  const current = items.find((k) => k.id === active);
  const context = current ? (state.active_for_issue && state.context_for_issue) || current.context : null;
  async function choose(id, ctx) {
    try {
      await shell.setActiveKubeconfig(id, issue.id, ctx);
      toast.success(ctx ? `kubectl will use the context ${ctx} for this incident.` : 'kubectl will use this kubeconfig for this incident.');
      load();
    } catch (err) {
      toast.error(err);
    }
  }
  async function importDefault() {
    try {
      await shell.importKubeconfig({ name: 'default (~/.kube/config)', path: suggest.path });
      load();
    } catch (err) {
      toast.error(err);
    }
  }
  return html`<div class="diag-kube" data-testid="kubeconfig-picker">
    <label class="subtle" for="kc-select">kubectl uses</label>
    <select id="kc-select" class="input" value=${active} onChange=${(e) => choose(e.target.value)}
        disabled=${!items.length} data-testid="kubeconfig-select">
      ${items.length ? null : html`<option value="">no kubeconfig imported</option>`}
      ${items.map((k) => html`<option key=${k.id} value=${k.id}>${k.name} — ${k.context}</option>`)}
    </select>
    ${current && current.contexts.length > 1
      ? html`<select class="input" aria-label="Context" value=${context} onChange=${(e) => choose(current.id, e.target.value)}
          data-testid="kubeconfig-context">
          ${current.contexts.map((c) => html`<option key=${c.name} value=${c.name}>${c.name}${c.namespace ? ' (namespace ' + c.namespace + ')' : ''}</option>`)}
        </select>`
      : null}
    <button class="btn btn-sm" data-testid="kubeconfig-import"
      onClick=${() => openDialog((close) => html`<${ImportKubeconfigDialog} onClose=${close} onImported=${load} />`)}>
      <${Icon} name="upload" /> Import…</button>
    ${state.kubectl_missing ? html`<span class="subtle" data-testid="kubectl-missing">${state.kubectl_missing}</span>` : null}
    ${suggest && suggest.exists && !items.length
      ? html`<button class="btn btn-sm btn-ghost" onClick=${importDefault} data-testid="kubeconfig-import-default">
          Use ~/.kube/config</button>`
      : null}
    ${current
      ? html`<p class="subtle diag-kube-facts" data-testid="kubeconfig-facts">
          ${'Contexts: ' + (current.contexts.map((c) => c.name).join(', ') || 'none')}
          ${' · Clusters: ' + (current.clusters.map((c) => `${c.name} (${c.server})`).join(', ') || 'none')}</p>`
      : null}
  </div>`;
}

/** "2 values redacted before the result went to the assistant: Email address, GitHub
 * token." under a command's output (in the chat and in this tab); nothing when none were.
 * The result is the command line and its output, as sent. */
export function OutputRedactedNote({ count, labels, testid }) {
  if (!count) return null;
  const named = (labels || []).length ? ': ' + labels.join(', ') : '';
  return html`<p class="subtle diag-redacted" data-testid=${testid} data-count=${count}
      title="Counted over the command line and its output, as they were sent to the assistant">
    <${Icon} name="shield" size=${12} />
    <span>${plural(count, 'value')} redacted before the result went to the assistant${named}.</span></p>`;
}

/** Size and SHA-256 of exactly the bytes the command wrote (before anything was cut). */
function OutputFacts({ run }) {
  if (run.output_bytes == null) return null;
  return html`<p class="subtle diag-run-facts" data-testid="diag-run-facts">
    <span data-testid="diag-run-size" title=${formatCount(run.output_bytes) + ' bytes'}>Output ${formatBytes(run.output_bytes)}</span>
    <span> · SHA-256 </span><code class="mono" data-testid="diag-run-sha256">${run.output_sha256}</code></p>`;
}

function ExecutionRow({ run }) {
  const output = [run.stdout, run.stderr].filter(Boolean).join('\n');
  const state = run.approval_status === 'denied' ? 'not run' : run.exit_code == null ? '—' : 'exit ' + run.exit_code;
  return html`<li class="diag-run" data-testid="diag-run" data-tier=${run.tier} data-status=${run.approval_status}>
    <details>
      <summary>
        <${TierBadge} tier=${run.tier} />
        <code class="diag-run-command" data-testid="diag-run-command">${run.command}</code>
        <span class=${'diag-run-state ' + (run.approval_status === 'denied' ? 'bad' : run.exit_code === 0 ? 'ok' : 'warn')}>${state}</span>
        <span class="subtle">${run.execution_time_ms != null ? run.execution_time_ms + ' ms · ' : ''}${formatDateTime(run.executed_at)}</span>
      </summary>
      ${run.approval_status === 'denied'
        ? html`<p class="subtle">Refused or denied — nothing ran.</p>`
        : html`<pre class="diag-output" data-testid="diag-run-output">${output || '(no output)'}</pre>`}
      <${OutputFacts} run=${run} />
      <${OutputRedactedNote} count=${run.redactions} labels=${run.redacted_labels} testid="diag-run-redacted" />
    </details>
  </li>`;
}

export function DiagnosticsTab({ issue }) {
  const [command, setCommand] = useState('');
  const [preview, setPreview] = useState(null);
  const [runs, setRuns] = useState(null);
  const [running, setRunning] = useState(0);
  const typed = useDebounced(command, 250);
  const waiting = usePendingApprovals((a) => a.conversation_id === 'panel:' + issue.id);

  const load = useCallback(() => {
    shell.history(issue.id).then((r) => setRuns(r.items)).catch(() => setRuns([]));
  }, [issue.id]);
  useEffect(() => {
    hookApprovals();
    load();
    return on('shell_run_finished', (p) => {
      if (!p || p.issue_id !== issue.id) return;
      if (p.status !== 'refused') setRunning((n) => Math.max(0, n - 1));
      if (p.status === 'refused' || p.status === 'denied' || p.status === 'error') toast.info(p.message);
      load();
    });
  }, [issue.id, load]);
  useEffect(() => {
    if (!typed.trim()) return setPreview(null);
    shell.classify(typed).then(setPreview).catch(() => setPreview(null));
  }, [typed]);

  async function run(e) {
    e.preventDefault();
    if (!command.trim()) return;
    try {
      const res = await shell.run(issue.id, command.trim());
      if (res.status !== 'refused') setRunning((n) => n + 1);
      setCommand('');
    } catch (err) {
      toast.error(err);
    }
  }

  return html`<div class="diag" data-testid="diagnostics">
    <div class="card diag-intro">
      <h3>Run diagnostics</h3>
      <p class="subtle">Commands run on this machine. Read-only commands run at once; commands that change
        state wait for your approval; destructive ones are refused. The assistant's proposals take the same path.</p>
      <${KubeconfigPicker} issue=${issue} />
      <form class="diag-form" onSubmit=${run}>
        <input class="input mono" placeholder="kubectl -n payments get pods" value=${command}
          onInput=${(e) => setCommand(e.target.value)} aria-label="Command" maxlength="4000"
          data-testid="diag-command" />
        <button class="btn btn-primary" type="submit" disabled=${!command.trim()} data-testid="diag-run-button">
          <${Icon} name="play" /> Run</button>
      </form>
      ${preview
        ? html`<p class=${'diag-preview tier-' + preview.tier} data-testid="diag-preview">
            <${TierBadge} tier=${preview.tier} /> ${TIER_TEXT[preview.tier]}. <span class="subtle"><${CodeText} text=${preview.reason} /></span></p>`
        : null}
      ${running ? html`<${Spinner} inline label="Running…" />` : null}
    </div>
    ${waiting.map((a) => html`<${ApprovalCard} key=${a.id} item=${a} />`)}
    <div class="card">
      <h3>History</h3>
      ${runs === null
        ? html`<${Spinner} />`
        : runs.length
        ? html`<ul class="diag-runs" data-testid="diag-runs">${runs.map((r) => html`<${ExecutionRow} key=${r.id} run=${r} />`)}</ul>`
        : html`<${EmptyState} icon="info" title="No commands yet" testid="diag-empty">
            Commands you or the assistant run for this incident appear here with their output.</${EmptyState}>`}
    </div>
  </div>`;
}
