// Approval cards: what the assistant (or a command typed in the Diagnostics tab) asks to
// do — a shell command that changes state, an MCP tool call — waits here for the user's
// answer: Allow once, Allow for this session (the same kind of request in this
// conversation, until TFTSR closes; listed and revocable), or Deny. No answer before the
// countdown ends is a deny. Every string shown comes from the model or a server and is
// rendered as text.

import { html, useState, useEffect } from '../vendor/htm-preact/standalone.module.js';
import { call } from '../lib/commands.js';
import { on } from '../lib/events.js';
import { Icon } from '../lib/icons.js';
import { createStore, useStore, toast } from '../lib/ui.js';

export const approvals = {
  listPending: (conversation_id) => call('list_pending_approvals', { conversation_id }),
  decide: (approval_id, decision) => call('decide_approval', { approval_id, decision }),
  listRules: (conversation_id) => call('list_approval_rules', { conversation_id }),
  revokeRule: (rule_id) => call('revoke_approval_rule', { rule_id }),
};

const pendingStore = createStore(new Map()); // id -> request (+ deadline, ms)
const rulesStore = createStore(0); // bumped when rules change

function withDeadline(item) {
  return { ...item, deadline: Date.now() + (item.seconds_left || 0) * 1000 };
}

let hooked = false;
/** Listen for approval requests for the whole app (once) and load those already waiting. */
export function hookApprovals() {
  if (hooked) return;
  hooked = true;
  on('approval_requested', (p) => {
    if (!p || !p.id) return;
    pendingStore.set((m) => new Map(m).set(p.id, withDeadline(p)));
  });
  on('approval_decided', (p) => {
    if (!p || !p.id) return;
    pendingStore.set((m) => {
      const next = new Map(m);
      next.delete(p.id);
      return next;
    });
    if (p.decision === 'allow_session') rulesStore.set((n) => n + 1);
  });
  on('approval_rules_changed', () => rulesStore.set((n) => n + 1));
  approvals
    .listPending()
    .then((r) => pendingStore.set(new Map(r.items.map((i) => [i.id, withDeadline(i)]))))
    .catch(() => {});
}

/** Requests waiting for an answer that match ``filter``. */
export function usePendingApprovals(filter) {
  const map = useStore(pendingStore);
  return [...map.values()].filter(filter);
}

function useSecondsLeft(deadline) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  return Math.max(0, Math.round((deadline - now) / 1000));
}

/** Text with `code spans` shown as code; everything stays text. */
export function CodeText({ text }) {
  const parts = String(text || '').split('`');
  return html`${parts.map((p, i) => (i % 2 ? html`<code key=${i}>${p}</code>` : p))}`;
}

const TIER_LABEL = { 1: 'Read-only', 2: 'Changes state', 3: 'Destructive' };

function Proposal({ item }) {
  const p = item.proposal || {};
  if (item.kind === 'shell') {
    return html`<div class="approval-proposal">
      <pre class="approval-command" data-testid="approval-command">${p.command}</pre>
      ${p.reason ? html`<p class="approval-why"><strong>Why the assistant wants it:</strong> ${p.reason}</p>` : null}
    </div>`;
  }
  if (!p.tool && !p.tool_name && p.uri) {
    return html`<div class="approval-proposal">
      <p class="approval-target" data-testid="approval-tool">Read <code>${p.uri}</code> from${' '}
        <strong>${p.server_name || p.server || ''}</strong></p>
    </div>`;
  }
  return html`<div class="approval-proposal">
    <p class="approval-target" data-testid="approval-tool">
      <code>${p.tool || p.tool_name || ''}</code> on <strong>${p.server_name || p.server || ''}</strong></p>
    <pre class="approval-command">${JSON.stringify(p.arguments || {}, null, 2)}</pre>
  </div>`;
}

export function ApprovalCard({ item }) {
  const [busy, setBusy] = useState(false);
  const left = useSecondsLeft(item.deadline);
  const c = item.classification || {};
  async function decide(decision) {
    setBusy(true);
    try {
      await approvals.decide(item.id, decision);
    } catch (err) {
      toast.error(err);
      setBusy(false);
    }
  }
  return html`<section class="approval-card" role="alertdialog" aria-labelledby=${'ap-' + item.id}
      data-testid="approval-card" data-kind=${item.kind} data-approval-id=${item.id}>
    <header class="approval-head">
      <${Icon} name="alert" />
      <h4 id=${'ap-' + item.id}>${item.title}</h4>
      ${c.tier ? html`<span class=${'tier-badge tier-' + c.tier} data-testid="approval-tier">Tier ${c.tier} · ${TIER_LABEL[c.tier] || ''}</span>` : null}
      <span class="approval-timer subtle" data-testid="approval-timer" aria-live="off">${left} s left</span>
    </header>
    <${Proposal} item=${item} />
    ${c.reason ? html`<p class="approval-reason" data-testid="approval-reason"><${CodeText} text=${c.reason} /></p>` : null}
    ${(c.risk_factors || []).length
      ? html`<ul class="approval-risks">${c.risk_factors.map((r) => html`<li key=${r}>${r}</li>`)}</ul>`
      : null}
    <div class="approval-actions">
      <button class="btn btn-primary btn-sm" disabled=${busy} onClick=${() => decide('allow_once')}
          data-testid="approval-allow-once">Allow once</button>
      <button class="btn btn-sm" disabled=${busy} onClick=${() => decide('allow_session')}
          data-testid="approval-allow-session" title=${'Also allow ' + (item.session_label || 'this kind of request') + ' in this conversation until TFTSR closes'}>
        Allow for this session</button>
      <button class="btn btn-sm btn-danger" disabled=${busy} onClick=${() => decide('deny')}
          data-testid="approval-deny">Deny</button>
    </div>
  </section>`;
}

/** "Allowed for this session" rules of one conversation, each revocable. */
export function SessionRules({ conversationId }) {
  const bump = useStore(rulesStore);
  const [rules, setRules] = useState([]);
  useEffect(() => {
    if (!conversationId) return;
    approvals.listRules(conversationId).then((r) => setRules(r.items)).catch(() => setRules([]));
  }, [conversationId, bump]);
  if (!rules.length) return null;
  return html`<div class="approval-rules" data-testid="approval-rules">
    <span class="subtle">Allowed in this conversation:</span>
    ${rules.map((r) => html`<span class="chip" key=${r.id} data-testid="approval-rule">
        <code>${r.label}</code>
        <button class="chip-x" aria-label=${'Stop allowing ' + r.label} data-testid="approval-rule-revoke"
          onClick=${() => approvals.revokeRule(r.id).catch((err) => toast.error(err))}>×</button>
      </span>`)}
  </div>`;
}
