// The incident's "AI triage" tab: conversations, the streaming chat, the PII notice for
// what was removed before sending, attached (reviewed) logs, tool calls, and the 5-Whys
// guidance (progress and proposed whys to confirm, edit or dismiss). Also the AI
// commands, icons and safe reply rendering that Settings → AI Providers and the Ollama
// panel share.
//
// Replies from an AI provider are untrusted text. They are rendered only as text nodes:
// fenced ``` blocks become <pre> elements, `inline code` becomes <code>, **bold** becomes
// <strong>; nothing else is interpreted.

import { h, html, useState, useEffect, useLayoutEffect, useRef, useCallback } from '../vendor/htm-preact/standalone.module.js';
import { call, errorMessage } from '../lib/commands.js';
import { on } from '../lib/events.js';
import { Icon } from '../lib/icons.js';
import { createStore, useStore, Modal, openDialog, confirmDialog, toast, Spinner, ErrorState, EmptyState, Field, useUid } from '../lib/ui.js';
import { navigate, issueHref, settingValue } from '../lib/state.js';
import { relativeTime, formatDateTime, plural, humanize } from '../lib/format.js';
import { hookApprovals, usePendingApprovals, ApprovalCard, SessionRules } from './approvals.js';
import { takeChatContext, openKnowledgeSearch, useIntegrationLinks, anyConfigured } from './integrations.js';
import { typeLabel } from './evidence.js';
import { OutputRedactedNote } from './diagnostics.js';

// ---------------------------------------------------------------- commands
export const ai = {
  listProviders: () => call('list_ai_providers'),
  addProvider: (fields) => call('add_ai_provider', fields),
  updateProvider: (provider_id, fields) => call('update_ai_provider', { provider_id, ...fields }),
  deleteProvider: (provider_id) => call('delete_ai_provider', { provider_id }),
  setActive: (provider_id) => call('set_active_ai_provider', { provider_id }),
  testProvider: (provider_id) => call('test_ai_provider', { provider_id }),
  listModels: (provider_id) => call('list_ai_models', { provider_id }),
  detectTools: (provider_id) => call('detect_tool_support', { provider_id }),

  listConversations: (issue_id) => call('list_conversations', { issue_id }),
  createConversation: (issue_id) => call('create_conversation', { issue_id }),
  getConversation: (conversation_id) => call('get_conversation', { conversation_id }),
  renameConversation: (conversation_id, title) => call('rename_conversation', { conversation_id, title }),
  deleteConversation: (conversation_id) => call('delete_conversation', { conversation_id }),
  setConversationProvider: (conversation_id, provider_id) =>
    call('set_conversation_provider', { conversation_id, provider_id }),
  setSystemPrompt: (conversation_id, prompt) => call('set_system_prompt', { conversation_id, prompt }),
  messageRedactions: (message_id) => call('get_message_redactions', { message_id }),
  send: (args) => call('chat_message', args),
  stop: (message_id) => call('stop_generation', { message_id }),

  listProposals: (issue_id) => call('list_why_proposals', { issue_id, status: 'pending' }),
  confirmProposal: (proposal_id, fields) => call('confirm_why_proposal', { proposal_id, ...fields }),
  dismissProposal: (proposal_id) => call('dismiss_why_proposal', { proposal_id }),
  whyProgress: (issue_id) => call('get_why_progress', { issue_id }),
  analyzeLogs: (issue_id, use_ai) => call('analyze_logs', { issue_id, use_ai }),

  ollamaStatus: (base_url) => call('ollama_status', { base_url: base_url || undefined }),
  ollamaModels: (base_url) => call('ollama_list_models', { base_url: base_url || undefined }),
  ollamaPull: (model, base_url) => call('ollama_pull_model', { model, base_url: base_url || undefined }),
  ollamaCancelPull: (pull_id) => call('ollama_cancel_pull', { pull_id }),
  ollamaDelete: (model, base_url) => call('ollama_delete_model', { model, base_url: base_url || undefined }),
  hardware: () => call('detect_hardware'),
  recommendModels: (base_url) => call('recommend_models', { base_url: base_url || undefined }),
};

// ---------------------------------------------------------------- icons
const P = (d) => h('path', { d });
const SHAPES = {
  sparkle: () => [P('M12 3l1.8 5.2L19 10l-5.2 1.8L12 17l-1.8-5.2L5 10l5.2-1.8z'), P('M19 15.5l.7 1.8 1.8.7-1.8.7-.7 1.8-.7-1.8-1.8-.7 1.8-.7z')],
  send: () => [P('M4 12l16-8-6 16-2.5-6.5z'), P('M11.5 13.5L20 4')],
  stop: () => [h('rect', { x: 6.5, y: 6.5, width: 11, height: 11, rx: 2 })],
  clip: () => [P('M20 11.5l-7.8 7.8a5 5 0 0 1-7.1-7.1l8.5-8.5a3.3 3.3 0 0 1 4.7 4.7l-8.5 8.5a1.7 1.7 0 0 1-2.4-2.4l7.8-7.8')],
  chat: () => [P('M4 5.5A1.5 1.5 0 0 1 5.5 4h13A1.5 1.5 0 0 1 20 5.5v9a1.5 1.5 0 0 1-1.5 1.5H10l-4.5 4V16h0A1.5 1.5 0 0 1 4 14.5z')],
  tool: () => [P('M14.5 6.5a4 4 0 0 0 5 5L13 18a2.1 2.1 0 0 1-3-3l6.5-6.5a4 4 0 0 0-2-2z'), P('M10 15L4 21')],
  cpu: () => [h('rect', { x: 6, y: 6, width: 12, height: 12, rx: 1.5 }), h('rect', { x: 9.5, y: 9.5, width: 5, height: 5, rx: 0.5 }), P('M9 3v3M15 3v3M9 18v3M15 18v3M3 9h3M3 15h3M18 9h3M18 15h3')],
  box: () => [P('M12 3l8 4.5v9L12 21l-8-4.5v-9z'), P('M4 7.5l8 4.5 8-4.5M12 12v9')],
  plug: () => [P('M9 3v5M15 3v5M6.5 8h11v3a5.5 5.5 0 0 1-11 0z'), P('M12 16.5V21')],
  summary: () => [P('M5 5h14M5 9.5h14M5 14h9M5 18.5h6')],
};

/** A stroke icon drawn like lib/icons.js, for the AI screens' extra glyphs. */
export function AiIcon({ name, size = 16 }) {
  return h(
    'svg',
    {
      class: 'icon', width: size, height: size, viewBox: '0 0 24 24', fill: 'none', stroke: 'currentColor',
      'stroke-width': 1.8, 'stroke-linecap': 'round', 'stroke-linejoin': 'round', 'aria-hidden': 'true', focusable: 'false',
    },
    (SHAPES[name] || SHAPES.sparkle)(),
  );
}

// ---------------------------------------------------------------- streaming replies
/**
 * Replies being written, by assistant message id: {conversation_id, text, status, error,
 * calls: Map<id, ToolCall>, retry, touched}. Fed by the ai_* events for the whole app, so
 * a reply keeps growing while its conversation is not on screen (the backend stores the
 * text only when the reply ends).
 */
export const liveReplies = new Map();
/** Bumped on every change to liveReplies; subscribe to re-render. */
export const liveStore = createStore(0);

let hooked = false;
const bump = () => liveStore.set((n) => n + 1);

function entry(p) {
  let e = liveReplies.get(p.message_id);
  if (!e) {
    e = { conversation_id: p.conversation_id, text: '', status: 'streaming', error: null, calls: new Map(), retry: null };
    liveReplies.set(p.message_id, e);
  }
  e.touched = Date.now();
  return e;
}

/** Start listening to the reply events (once). */
export function hookLiveReplies() {
  if (hooked) return;
  hooked = true;
  on('ai_token', (p) => {
    if (!p || !p.message_id) return;
    const e = entry(p);
    if (e.status !== 'streaming') return;
    e.text += p.delta || '';
    e.retry = null;
    bump();
  });
  on('ai_tool_call', (p) => {
    if (!p || !p.message_id || !p.tool_call) return;
    entry(p).calls.set(p.tool_call.id, p.tool_call);
    bump();
  });
  on('ai_retry', (p) => {
    if (!p || !p.message_id) return;
    entry(p).retry = { attempt: p.attempt, wait: p.wait_seconds, reason: p.reason };
    bump();
  });
  on('ai_done', (p) => {
    if (!p || !p.message_id) return;
    const e = entry(p);
    e.text = typeof p.content === 'string' ? p.content : e.text;
    e.status = p.status || (p.stopped ? 'stopped' : 'complete');
    e.retry = null;
    e.done = p;
    bump();
  });
  on('ai_error', (p) => {
    if (!p || !p.message_id) return;
    const e = entry(p);
    e.status = 'error';
    e.error = { code: p.code, message: p.message };
    e.retry = null;
    bump();
  });
}

/** Messages as stored, with the live state of replies still being written laid over. */
export function withLiveReplies(messages, conversationId) {
  const out = messages.map((m) => {
    const l = liveReplies.get(m.id);
    if (!l || m.role !== 'assistant' || m.status !== 'streaming') return m;
    const calls = new Map((m.tool_calls || []).map((c) => [c.id, c]));
    for (const [id, c] of l.calls) calls.set(id, c);
    return { ...m, content: l.text || m.content, status: l.status, error: l.error, tool_calls: [...calls.values()], retry: l.retry };
  });
  for (const [id, l] of liveReplies) {
    if (l.conversation_id !== conversationId || out.some((m) => m.id === id)) continue;
    out.push({
      id, conversation_id: conversationId, role: 'assistant', content: l.text, status: l.status, error: l.error,
      tool_calls: [...l.calls.values()], redactions: [], log_file_ids: [], retry: l.retry,
    });
  }
  return out;
}

// ---------------------------------------------------------------- safe text rendering
/** Split a reply into prose and ``` fenced blocks; an unclosed fence runs to the end. */
export function splitFences(text) {
  const parts = String(text || '').split('```');
  const out = [];
  parts.forEach((part, i) => {
    if (i % 2 === 0) {
      if (part) out.push({ kind: 'text', text: part });
      return;
    }
    const nl = part.indexOf('\n');
    const first = nl >= 0 ? part.slice(0, nl).trim() : '';
    const lang = /^[\w+#.-]{1,20}$/.test(first) ? first : '';
    const body = lang || (nl >= 0 && !first) ? part.slice(nl + 1) : part;
    out.push({ kind: 'code', lang, text: body.replace(/\n$/, ''), open: i === parts.length - 1 && parts.length % 2 === 0 });
  });
  return out;
}

/** `code` spans and **bold** inside prose, as elements with text children. */
function inline(text, keyBase) {
  const out = [];
  const re = /`([^`\n]+)`|\*\*([^*\n]+)\*\*/g;
  let last = 0;
  let m;
  let k = 0;
  while ((m = re.exec(text))) {
    if (m.index > last) out.push(text.slice(last, m.index));
    out.push(m[1] != null
      ? html`<code key=${keyBase + '-' + k++} class="ai-code-inline">${m[1]}</code>`
      : html`<strong key=${keyBase + '-' + k++}>${m[2]}</strong>`);
    last = re.lastIndex;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

/** An assistant reply (or any text) with code blocks shown as <pre>. */
export function RichText({ text, testid, caret = false }) {
  const blocks = splitFences(text);
  const mark = html`<span class="ai-caret" aria-hidden="true"></span>`;
  const lastText = caret && blocks.length && blocks[blocks.length - 1].kind === 'text';
  return html`<div class="ai-rich" data-testid=${testid}>
    ${blocks.map((b, i) =>
      b.kind === 'code'
        ? html`<figure key=${i} class=${'ai-codeblock' + (b.lang === 'why' ? ' ai-why-block' : '')}>
            ${b.lang ? html`<figcaption>${b.lang === 'why' ? 'Proposed why' : b.lang}</figcaption>` : null}
            <pre>${b.text}</pre>
          </figure>`
        : html`<p key=${i} class="ai-prose">${inline(b.text.replace(/^\n+|\n+$/g, ''), 'i' + i)}${lastText && i === blocks.length - 1 ? mark : null}</p>`,
    )}
    ${caret && !lastText ? mark : null}
  </div>`;
}

/** "1.2 GB" */
export function formatBytes(n) {
  if (n == null || Number.isNaN(Number(n))) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = Number(n);
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i += 1;
  }
  return `${v >= 10 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

// ---------------------------------------------------------------- the tab
const reviewHref = (issueId, logFileId) =>
  '#/issue/' + encodeURIComponent(issueId) + '/review/' + encodeURIComponent(logFileId);

/** Open Settings and bring the AI Providers section into view. */
export function openAiSettings() {
  navigate('/settings');
  let tries = 0;
  const find = () => {
    const el = document.querySelector('[data-testid="ai-providers"]');
    if (el) el.scrollIntoView({ block: 'start' });
    else if (tries++ < 40) setTimeout(find, 50);
  };
  setTimeout(find, 0);
}

/** The conversation last open per incident, so the tab resumes where the user left. */
const lastConversation = new Map();

const STATUS_TEXT = { stopped: 'Stopped', error: 'Failed', streaming: 'Writing…' };

export function ChatTab({ issue, detail, reload }) {
  const [providers, setProviders] = useState(null);
  const [convs, setConvs] = useState(null);
  const [currentId, setCurrentId] = useState(null);
  const [conv, setConv] = useState(null);
  const [convError, setConvError] = useState(null);
  const [loadError, setLoadError] = useState(null);
  const [proposals, setProposals] = useState([]);
  const [progress, setProgress] = useState(null);
  const [summary, setSummary] = useState(null); // {result, conversation_id}
  const [summarising, setSummarising] = useState(false);
  const [ready, setReady] = useState(false);
  useStore(liveStore);
  const current = useRef(null);
  current.current = currentId;

  const loadProviders = useCallback(() => ai.listProviders().then(setProviders), []);
  const loadConvs = useCallback(() => ai.listConversations(issue.id).then((list) => {
    setConvs(list);
    return list;
  }), [issue.id]);
  const loadProposals = useCallback(() => ai.listProposals(issue.id).then((r) => {
    setProposals(r.items || []);
    setProgress(r.progress || null);
  }).catch(() => {}), [issue.id]);

  const openConversation = useCallback(async (id) => {
    setCurrentId(id);
    current.current = id;
    if (id) lastConversation.set(issue.id, id);
    else lastConversation.delete(issue.id);
    if (!id) {
      setConv(null);
      return null;
    }
    try {
      const d = await ai.getConversation(id);
      for (const m of d.messages || []) if (m.status !== 'streaming') liveReplies.delete(m.id);
      if (current.current !== id) return d;
      setConv(d);
      setConvError(null);
      setProposals((d.why_proposals || []).filter((p) => p.status === 'pending'));
      setProgress(d.why_progress || null);
      return d;
    } catch (err) {
      if (current.current === id) setConvError(err);
      return null;
    }
  }, [issue.id]);

  const start = useCallback(() => {
    setLoadError(null);
    Promise.all([loadProviders(), loadConvs(), loadProposals()])
      .then(([, list]) => {
        if (current.current) return null; // the user already started or picked one
        const remembered = lastConversation.get(issue.id);
        const pick = list.find((c) => c.id === remembered) || list[0];
        return openConversation(pick ? pick.id : null);
      })
      .then(() => setReady(true))
      .catch(setLoadError);
  }, [issue.id]);

  useEffect(() => {
    hookLiveReplies();
    hookApprovals();
    start();
  }, [start]);

  useEffect(() => on('ai_providers_changed', () => loadProviders().catch(() => {})), [loadProviders]);
  useEffect(() => on('issue_changed', (p) => {
    if (!p || p.issue_id === issue.id) loadProposals();
  }), [issue.id, loadProposals]);

  // A reply ended: fetch the stored message (tool calls, token counts) and new proposals.
  useEffect(() => {
    const ended = (p) => {
      if (!p) return;
      if (p.conversation_id === current.current) {
        if (p.why_proposals && p.why_proposals.length) {
          setProposals((cur) => [...cur.filter((x) => !p.why_proposals.some((n) => n.id === x.id)), ...p.why_proposals]);
        }
        if (p.why_progress) setProgress(p.why_progress);
        openConversation(p.conversation_id);
      }
      loadConvs().catch(() => {});
    };
    const offDone = on('ai_done', ended);
    const offError = on('ai_error', ended);
    return () => {
      offDone();
      offError();
    };
  }, [openConversation, loadConvs]);

  const messages = conv ? withLiveReplies(conv.messages || [], conv.conversation.id) : [];
  const streaming = messages.find((m) => m.role === 'assistant' && m.status === 'streaming');

  // If the end of a reply was missed (connection hiccup), ask the backend how it ended.
  useEffect(() => {
    if (!streaming || !conv) return undefined;
    const timer = setInterval(async () => {
      const l = liveReplies.get(streaming.id);
      if (l && Date.now() - l.touched < 6000) return;
      try {
        const d = await ai.getConversation(conv.conversation.id);
        const stored = (d.messages || []).find((m) => m.id === streaming.id);
        if (stored && stored.status !== 'streaming' && current.current === conv.conversation.id) {
          liveReplies.delete(streaming.id);
          setConv(d);
        }
      } catch (_) {
        /* try again on the next tick */
      }
    }, 3000);
    return () => clearInterval(timer);
  }, [streaming && streaming.id, conv && conv.conversation.id]);

  if (loadError) return html`<${ErrorState} error=${loadError} onRetry=${start} />`;
  if (!providers || !convs || !ready) return html`<${Spinner} label="Loading AI triage…" />`;

  const hasProvider = providers.items.length > 0;
  const logs = detail.log_files || [];

  const newConversation = async () => {
    try {
      const c = await ai.createConversation(issue.id);
      setConvs((list) => [c, ...(list || []).filter((x) => x.id !== c.id)]);
      await openConversation(c.id);
      setTimeout(() => focusComposer(), 0);
    } catch (err) {
      toast.error(err);
    }
  };

  const summarise = async () => {
    setSummarising(true);
    try {
      const result = await ai.analyzeLogs(issue.id, hasProvider);
      setSummary({ result, conversation_id: result.conversation_id || null });
      if (result.conversation_id) {
        await loadConvs();
        await openConversation(result.conversation_id);
      }
    } catch (err) {
      toast.error(err);
    } finally {
      setSummarising(false);
    }
  };

  const onProposalDecided = (res) => {
    if (!res) return;
    setProposals((cur) => cur.filter((p) => p.id !== res.proposal.id));
    if (res.progress) setProgress(res.progress);
    reload();
  };

  if (!hasProvider) {
    return html`<div class="ai-chat-empty">
      <${EmptyState} icon="info" title="No AI provider set up" testid="chat-no-provider"
        action=${html`<div class="ai-empty-actions">
          <button class="btn btn-primary" onClick=${openAiSettings} data-testid="chat-open-settings">
            <${AiIcon} name="plug" /> Set up an AI provider
          </button>
          <button class="btn" onClick=${summarise} disabled=${summarising} data-testid="chat-summarise">
            ${summarising ? html`<span class="spinner sm" aria-hidden="true"></span>` : html`<${AiIcon} name="summary" />`} Summarise logs locally
          </button>
        </div>`}>
        The AI assistant is optional. Add a provider (OpenAI, Anthropic, Ollama on this machine …) in
        Settings → AI Providers to chat about this incident. Everything else works without it.
      <//>
      ${summary ? html`<${LogSummary} summary=${summary} onClose=${() => setSummary(null)} />` : null}
    </div>`;
  }

  const currentConv = conv && conv.conversation.id === currentId ? conv : null;
  const inline = new Set(messages.map((m) => m.id));
  const looseProposals = proposals.filter((p) => !inline.has(p.message_id));

  return html`<div class="ai-chat" data-testid="chat">
    <aside class="ai-convs" aria-label="Conversations">
      <div class="ai-convs-head">
        <h3>Conversations</h3>
        <button class="btn btn-sm" onClick=${newConversation} data-testid="chat-new" title="New conversation">
          <${Icon} name="plus" /> New
        </button>
      </div>
      <ul class="ai-conv-list" data-testid="chat-conversations">
        ${convs.length === 0 ? html`<li class="ai-conv-none subtle">No conversations yet.</li>` : null}
        ${convs.map((c) => html`<li key=${c.id}>
          <button class=${'ai-conv' + (c.id === currentId ? ' on' : '')} onClick=${() => c.id !== currentId && openConversation(c.id)}
            aria-current=${c.id === currentId ? 'true' : undefined} data-testid="chat-conversation" data-conversation-id=${c.id}>
            <span class="ai-conv-title">${c.title || 'Untitled'}</span>
            <span class="ai-conv-meta">
              <span class="ai-conv-model">${c.provider_name ? c.provider_name + ' · ' : ''}${c.model}</span>
              <span>${relativeTime(c.updated_at)}</span>
            </span>
          </button>
        </li>`)}
      </ul>
      <div class="ai-convs-foot">
        <button class="btn btn-sm btn-ghost" onClick=${summarise} disabled=${summarising} data-testid="chat-summarise"
          title="A first pass over the reviewed logs: errors, warnings, components, then an AI summary">
          ${summarising ? html`<span class="spinner sm" aria-hidden="true"></span>` : html`<${AiIcon} name="summary" />`} Summarise logs
        </button>
      </div>
    </aside>

    <section class="ai-pane" aria-label="Chat">
      ${currentConv
        ? html`<${ChatHeader} conv=${currentConv} providers=${providers}
            onChanged=${(c) => {
              setConv((d) => (d && d.conversation.id === c.id ? { ...d, conversation: c } : d));
              setConvs((list) => list.map((x) => (x.id === c.id ? c : x)));
            }}
            onPrompt=${(sp) => setConv((d) => (d ? { ...d, system_prompt: sp, conversation: { ...d.conversation, system_prompt_overridden: sp.overridden } } : d))}
            onDeleted=${async () => {
              const list = await loadConvs();
              openConversation(list[0] ? list[0].id : null);
            }} />`
        : html`<header class="ai-pane-head"><h2 class="ai-pane-title">New conversation</h2></header>`}
      <${WhyGuide} progress=${progress} proposals=${proposals} issue=${issue} />
      ${looseProposals.length
        ? html`<div class="ai-loose-proposals">
            ${looseProposals.map((p) => html`<${ProposalCard} key=${p.id} proposal=${p} onDecided=${onProposalDecided} />`)}
          </div>`
        : null}
      ${convError
        ? html`<div class="ai-messages"><${ErrorState} error=${convError} onRetry=${() => openConversation(currentId)} /></div>`
        : html`<${MessageList} key=${currentId || 'none'} issue=${issue} messages=${messages} proposals=${proposals} conversationId=${currentId}
            summary=${summary && summary.conversation_id === currentId ? summary : null}
            onCloseSummary=${() => setSummary(null)}
            onProposalDecided=${onProposalDecided}
            onRetry=${(m) => retryFrom(m)} />`}
      <${Composer} key=${'c-' + (currentId || 'none')} issue=${issue} logs=${logs} streaming=${streaming}
        ensureConversation=${ensureConversation} onSent=${onSent} onPending=${addPending} />
    </section>
  </div>`;

  // -- sending -------------------------------------------------------------------------
  async function ensureConversation() {
    if (current.current) return current.current;
    const c = await ai.createConversation(issue.id);
    setConvs((list) => [c, ...(list || [])]);
    await openConversation(c.id);
    return c.id;
  }

  function addPending(convId, temp) {
    setConv((d) => (d && d.conversation.id === convId ? { ...d, messages: [...d.messages, temp] } : d));
    return () => setConv((d) => (d ? { ...d, messages: d.messages.filter((m) => m.id !== temp.id) } : d));
  }

  function onSent(convId, temp, res) {
    if (!liveReplies.has(res.message_id)) {
      liveReplies.set(res.message_id, {
        conversation_id: res.conversation_id, text: '', status: 'streaming', error: null, calls: new Map(), retry: null, touched: Date.now(),
      });
    }
    setConv((d) => {
      if (!d || d.conversation.id !== res.conversation_id) return d;
      const rest = d.messages.filter((m) => m.id !== temp.id && m.id !== res.message_id && m.id !== res.user_message_id);
      const user = {
        id: res.user_message_id, conversation_id: res.conversation_id, role: 'user', content: res.sent_content,
        status: 'complete', redactions: res.redactions || [], notice: res.notice, log_file_ids: res.log_file_ids || [],
        tool_calls: [], created_at: null,
      };
      const assistant = {
        id: res.message_id, conversation_id: res.conversation_id, role: 'assistant', content: '', status: 'streaming',
        redactions: [], log_file_ids: [], tool_calls: [],
      };
      return { ...d, messages: [...rest, user, assistant] };
    });
    loadConvs().catch(() => {});
  }

  async function retryFrom(failed) {
    const i = messages.findIndex((m) => m.id === failed.id);
    const user = [...messages.slice(0, i)].reverse().find((m) => m.role === 'user');
    if (!user || !currentId) return;
    try {
      const temp = pendingMessage(user.content, user.log_file_ids || []);
      const undo = addPending(currentId, temp);
      try {
        const res = await ai.send({ conversation_id: currentId, content: user.content, log_file_ids: nonEmpty(user.log_file_ids) });
        onSent(currentId, temp, res);
      } catch (err) {
        undo();
        throw err;
      }
    } catch (err) {
      toast.error(err);
    }
  }
}

const nonEmpty = (list) => (list && list.length ? list : undefined);

function pendingMessage(content, logIds) {
  return {
    id: 'pending-' + Date.now(), role: 'user', content, status: 'sending', redactions: [], log_file_ids: logIds, tool_calls: [],
  };
}

function focusComposer() {
  const el = document.querySelector('[data-testid="chat-input"]');
  if (el) el.focus();
}

// ---------------------------------------------------------------- header
function ChatHeader({ conv, providers, onChanged, onPrompt, onDeleted }) {
  const c = conv.conversation;
  const selectId = useUid('prov');

  const rename = async () => {
    const title = await openDialog((close) => html`<${RenameDialog} title=${c.title || ''} onClose=${close} />`);
    if (!title || title === c.title) return;
    try {
      onChanged(await ai.renameConversation(c.id, title));
    } catch (err) {
      toast.error(err);
    }
  };

  const remove = async () => {
    if (settingValue('confirm_delete', true) !== false) {
      const ok = await confirmDialog({
        title: 'Delete this conversation?',
        message: `"${c.title || 'Untitled'}" and its messages are deleted. Confirmed whys stay in the 5 Whys.`,
        confirmLabel: 'Delete conversation',
        danger: true,
      });
      if (!ok) return;
    }
    try {
      await ai.deleteConversation(c.id);
      toast.success('Conversation deleted');
      onDeleted();
    } catch (err) {
      toast.error(err);
    }
  };

  const switchProvider = async (e) => {
    const id = e.currentTarget.value;
    try {
      onChanged(await ai.setConversationProvider(c.id, id));
    } catch (err) {
      toast.error(err);
    }
  };

  const editPrompt = async () => {
    const res = await openDialog((close) => html`<${PromptDialog} conv=${conv} onClose=${close} />`);
    if (res) onPrompt(res);
  };

  const known = providers.items.some((p) => p.id === c.provider_id);
  return html`<header class="ai-pane-head">
    <div class="ai-pane-title-row">
      <h2 class="ai-pane-title" data-testid="chat-title" title=${c.title}>${c.title || 'Untitled'}</h2>
      <button class="icon-btn" onClick=${rename} aria-label="Rename conversation" title="Rename" data-testid="chat-rename"><${Icon} name="edit" /></button>
      <button class="icon-btn danger" onClick=${remove} aria-label="Delete conversation" title="Delete" data-testid="chat-delete"><${Icon} name="trash" /></button>
    </div>
    <div class="ai-pane-tools">
      <label class="sr-only" for=${selectId}>Provider and model</label>
      <select id=${selectId} class="input ai-provider-select" value=${known ? c.provider_id : ''} onChange=${switchProvider} data-testid="chat-provider"
        title="Provider and model for this conversation">
        ${known ? null : html`<option value="" disabled>${c.provider_name || humanize(c.provider || 'provider')} · ${c.model}</option>`}
        ${providers.items.map((p) => html`<option key=${p.id} value=${p.id}>${p.name} · ${p.model}</option>`)}
      </select>
      <button class=${'btn btn-sm' + (c.system_prompt_overridden ? ' ai-custom' : '')} onClick=${editPrompt} data-testid="chat-prompt"
        title="The instructions the assistant gets before your messages">
        <${Icon} name="note" /> System prompt${c.system_prompt_overridden ? html`<span class="pill">custom</span>` : null}
      </button>
    </div>
  </header>`;
}

function RenameDialog({ title, onClose }) {
  const [value, setValue] = useState(title);
  const id = useUid('ren');
  const submit = (e) => {
    e.preventDefault();
    const v = value.trim();
    if (v) onClose(v.slice(0, 200));
  };
  return html`<${Modal} title="Rename conversation" size="sm" testid="chat-rename-dialog" onClose=${() => onClose(null)}
    footer=${html`<button class="btn" onClick=${() => onClose(null)}>Cancel</button>
      <button class="btn btn-primary" onClick=${submit} disabled=${!value.trim()} data-testid="chat-rename-save">Rename</button>`}>
    <form onSubmit=${submit}>
      <${Field} label="Title" htmlFor=${id}>
        <input id=${id} class="input" value=${value} maxLength="200" data-autofocus
          onInput=${(e) => setValue(e.currentTarget.value)} data-testid="chat-rename-input" />
      <//>
    </form>
  <//>`;
}

function PromptDialog({ conv, onClose }) {
  const sp = conv.system_prompt || { prompt: '', default_prompt: '', overridden: false };
  const [text, setText] = useState(sp.prompt || sp.default_prompt || '');
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState('');
  const id = useUid('sp');
  const save = async (prompt) => {
    setBusy(true);
    setErr('');
    try {
      onClose(await ai.setSystemPrompt(conv.conversation.id, prompt));
    } catch (error) {
      setErr(errorMessage(error));
      setBusy(false);
    }
  };
  const same = text.trim() === (sp.default_prompt || '').trim();
  return html`<${Modal} title="System prompt" size="lg" testid="chat-prompt-dialog" onClose=${() => onClose(null)}
    footer=${html`
      <button class="btn" disabled=${busy || !sp.overridden} onClick=${() => save(null)} data-testid="chat-prompt-reset"
        title="Use the default prompt for this incident's domain">Restore default</button>
      <span class="spacer"></span>
      <button class="btn" onClick=${() => onClose(null)}>Cancel</button>
      <button class="btn btn-primary" disabled=${busy || !text.trim()} onClick=${() => save(same ? null : text)} data-testid="chat-prompt-save">Save</button>`}>
    <p class="dialog-text subtle">
      ${sp.overridden ? 'This conversation uses its own prompt. ' : `The default prompt for ${humanize(sp.domain || 'this domain')} incidents. `}
      The incident's details and the 5-Whys instructions are always added after it. Personal data in it is removed before sending.
    </p>
    <${Field} label="Prompt" htmlFor=${id}>
      <textarea id=${id} class="input mono-input ai-prompt-input" rows="14" maxLength="20000" value=${text}
        onInput=${(e) => setText(e.currentTarget.value)} data-testid="chat-prompt-input"></textarea>
    <//>
    ${err ? html`<div class="form-error" role="alert">${err}</div>` : null}
  <//>`;
}

// ---------------------------------------------------------------- 5-Whys guidance
function WhyGuide({ progress, proposals, issue }) {
  const level = progress ? progress.level : 0;
  const max = (progress && progress.max) || 5;
  const pending = proposals.length;
  return html`<div class="ai-why-guide" data-testid="chat-why-progress" data-level=${level} data-pending=${pending}>
    <span class="ai-why-label"><${Icon} name="layers" size=${14} /> 5 Whys</span>
    <div class="ai-why-pips" role="img" aria-label=${`${level} of ${max} whys confirmed`}>
      ${Array.from({ length: max }, (_, i) => {
        const n = i + 1;
        const done = n <= level;
        const root = done && n === level && progress && progress.root_cause_set;
        return html`<span key=${n} class=${'ai-pip' + (done ? ' done' : '') + (root ? ' root' : '')}>${root ? html`<${Icon} name="target" size=${11} />` : n}</span>`;
      })}
    </div>
    <span class="ai-why-text">
      ${level} of ${max} confirmed${progress && progress.root_cause_set ? ' · root cause found' : ''}
      ${pending ? html` · <strong class="ai-why-pending">${plural(pending, 'proposal')} to review</strong>` : ''}
    </span>
    <span class="spacer"></span>
    <a class="btn btn-sm btn-ghost" href=${issueHref(issue.id, 'whys')} data-testid="chat-open-whys">Open 5 Whys <${Icon} name="right" size=${12} /></a>
  </div>`;
}

function ProposalCard({ proposal, onDecided }) {
  const [editing, setEditing] = useState(false);
  const [busy, setBusy] = useState(false);
  const [q, setQ] = useState(proposal.question || '');
  const [a, setA] = useState(proposal.answer || '');
  const [ev, setEv] = useState(proposal.evidence || '');
  const [root, setRoot] = useState(Boolean(proposal.suggested_root_cause));
  const ids = { q: useUid('pq'), a: useUid('pa'), e: useUid('pe'), r: useUid('pr') };

  const act = async (fn, message) => {
    setBusy(true);
    try {
      const res = await fn();
      if (message) toast.success(typeof message === 'function' ? message(res) : message);
      onDecided(res);
    } catch (err) {
      toast.error(err);
      setBusy(false);
    }
  };
  const confirm = () => act(
    () => ai.confirmProposal(proposal.id, editing
      ? { why_question: q.trim(), answer: a, evidence: ev, mark_root_cause: root }
      : { mark_root_cause: Boolean(proposal.suggested_root_cause) }),
    (res) => `Added as why ${res && res.step ? res.step.step_order : ''}`.trim(),
  );
  const dismiss = () => act(() => ai.dismissProposal(proposal.id), 'Proposal dismissed');

  return html`<article class=${'ai-proposal' + (proposal.suggested_root_cause ? ' is-root' : '')} data-testid="why-proposal"
      data-proposal-id=${proposal.id} aria-label="Proposed why">
    <div class="ai-proposal-head">
      <span class="ai-proposal-kicker"><${AiIcon} name="sparkle" size=${13} /> Proposed why</span>
      ${proposal.suggested_root_cause ? html`<span class="root-flag"><${Icon} name="target" size=${12} /> Suggested root cause</span>` : null}
    </div>
    ${editing
      ? html`<div class="ai-proposal-form">
          <${Field} label="Why?" htmlFor=${ids.q}>
            <input id=${ids.q} class="input" value=${q} maxLength="2000" onInput=${(e) => setQ(e.currentTarget.value)} data-testid="why-proposal-edit-question" />
          <//>
          <${Field} label="Answer" htmlFor=${ids.a}>
            <textarea id=${ids.a} class="input" rows="2" value=${a} onInput=${(e) => setA(e.currentTarget.value)} data-testid="why-proposal-edit-answer"></textarea>
          <//>
          <${Field} label="Evidence" htmlFor=${ids.e}>
            <textarea id=${ids.e} class="input mono-input" rows="2" value=${ev} onInput=${(e) => setEv(e.currentTarget.value)} data-testid="why-proposal-edit-evidence"></textarea>
          <//>
          <label class="ai-check" for=${ids.r}>
            <input id=${ids.r} type="checkbox" checked=${root} onChange=${(e) => setRoot(e.currentTarget.checked)} data-testid="why-proposal-root" />
            This is the root cause
          </label>
        </div>`
      : html`<div class="ai-proposal-body">
          <h4 class="ai-proposal-q" data-testid="why-proposal-question">${proposal.question}</h4>
          ${proposal.answer ? html`<p class="pre" data-testid="why-proposal-answer">${proposal.answer}</p>` : null}
          ${proposal.evidence ? html`<div class="why-ev"><span class="why-ev-label">Evidence</span><p class="pre mono-ev" data-testid="why-proposal-evidence">${proposal.evidence}</p></div>` : null}
        </div>`}
    <div class="ai-proposal-actions">
      <button class="btn btn-sm btn-primary" disabled=${busy || (editing && !q.trim())} onClick=${confirm} data-testid="why-proposal-confirm">
        <${Icon} name="check" /> ${editing ? 'Save and confirm' : 'Confirm'}
      </button>
      ${editing
        ? html`<button class="btn btn-sm" disabled=${busy} onClick=${() => setEditing(false)} data-testid="why-proposal-edit-cancel">Cancel</button>`
        : html`<button class="btn btn-sm" disabled=${busy} onClick=${() => setEditing(true)} data-testid="why-proposal-edit"><${Icon} name="edit" /> Edit</button>`}
      <span class="spacer"></span>
      <button class="btn btn-sm btn-ghost" disabled=${busy} onClick=${dismiss} data-testid="why-proposal-dismiss">Dismiss</button>
    </div>
  </article>`;
}

// ---------------------------------------------------------------- messages
function MessageList({ issue, messages, proposals, summary, onCloseSummary, onProposalDecided, onRetry, conversationId }) {
  const ref = useRef(null);
  const waiting = usePendingApprovals((a) => conversationId && a.conversation_id === conversationId);
  const stick = useRef(true);
  const onScroll = () => {
    const el = ref.current;
    if (el) stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 60;
  };
  const last = messages[messages.length - 1];
  useLayoutEffect(() => {
    const el = ref.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [messages.length, last && last.content, last && last.status, proposals.length, waiting.length]);

  return html`<div class="ai-messages" ref=${ref} onScroll=${onScroll} data-testid="chat-messages" aria-live="polite">
    ${summary ? html`<${LogSummary} summary=${summary} onClose=${onCloseSummary} />` : null}
    ${messages.length === 0 && !summary
      ? html`<div class="ai-welcome" data-testid="chat-welcome">
          <div class="empty-icon"><${AiIcon} name="sparkle" size=${26} /></div>
          <h3>Ask about this incident</h3>
          <p>The assistant sees the incident's details and confirmed whys. Attach reviewed logs with the paper clip.
            Personal data in what you type is removed before sending.</p>
        </div>`
      : null}
    ${messages.map((m) => html`<${MessageView} key=${m.id} issue=${issue} message=${m} onRetry=${onRetry}
        proposals=${proposals.filter((p) => p.message_id === m.id)} onProposalDecided=${onProposalDecided} />`)}
    ${waiting.map((a) => html`<${ApprovalCard} key=${a.id} item=${a} />`)}
    <${SessionRules} conversationId=${conversationId} />
  </div>`;
}

function MessageView({ message: m, proposals, onProposalDecided, onRetry }) {
  if (m.role === 'system') return null;
  const mine = m.role === 'user';
  const calls = m.tool_calls || [];
  const visible = m.content;
  return html`<div class=${'ai-msg ' + (mine ? 'ai-msg-user' : 'ai-msg-assistant') + ' st-' + m.status}
      data-testid="chat-message" data-role=${m.role} data-status=${m.status} data-message-id=${m.id}>
    ${mine ? null : html`<div class="ai-avatar" aria-hidden="true"><${AiIcon} name="sparkle" size=${14} /></div>`}
    <div class="ai-msg-col">
      <div class="ai-bubble">
        ${mine
          ? html`<p class="ai-prose pre" data-testid="chat-message-text">${visible}</p>`
          : html`<${RichText} text=${visible} testid="chat-message-text" caret=${m.status === 'streaming' && Boolean(m.content)} />`}
        ${!mine && m.status === 'streaming' && !m.content && !calls.length
          ? html`<span class="ai-typing" aria-label="Writing"><i></i><i></i><i></i></span>`
          : null}
      </div>
      ${calls.length
        ? html`<div class="ai-tools">${calls.map((c) => html`<${ToolCallView} key=${c.id} call=${c} />`)}</div>`
        : null}
      ${mine && (m.log_file_ids || []).length ? html`<${AttachedNote} ids=${m.log_file_ids} />` : null}
      ${mine && (m.redactions || []).length ? html`<${RedactionNotice} message=${m} />` : null}
      ${m.retry ? html`<p class="ai-msg-meta subtle" data-testid="chat-retrying">
          The provider asked us to wait; trying again in ${Math.ceil(m.retry.wait || 0)} s (attempt ${m.retry.attempt}).</p>` : null}
      ${m.status === 'error'
        ? html`<div class="ai-error" role="alert" data-testid="chat-error">
            <${Icon} name="alert" />
            <span>${(m.error && m.error.message) || 'The reply failed.'}</span>
            ${m.error && (m.error.code === 'ai_auth' || m.error.code === 'ai_no_provider')
              ? html`<button class="btn btn-sm" onClick=${openAiSettings}>Open AI settings</button>`
              : null}
            <button class="btn btn-sm" onClick=${() => onRetry(m)} data-testid="chat-retry"><${Icon} name="refresh" /> Retry</button>
          </div>`
        : null}
      ${m.status === 'stopped' ? html`<p class="ai-msg-meta subtle" data-testid="chat-stopped">Stopped — the partial reply is kept.</p>` : null}
      ${!mine && m.status === 'complete' && m.token_count ? html`<p class="ai-msg-meta subtle">${plural(m.token_count, 'token')}${m.created_at ? ' · ' + formatDateTime(m.created_at) : ''}</p>` : null}
      ${m.status === 'sending' ? html`<p class="ai-msg-meta subtle">Sending…</p>` : null}
      ${proposals.map((p) => html`<${ProposalCard} key=${p.id} proposal=${p} onDecided=${onProposalDecided} />`)}
    </div>
  </div>`;
}

function AttachedNote({ ids }) {
  return html`<p class="ai-msg-meta ai-attached-note" data-testid="chat-message-logs">
    <${AiIcon} name="clip" size=${12} /> ${plural(ids.length, 'reviewed log')} attached
  </p>`;
}

function CommandRun({ call: c }) {
  const r = c.result || {};
  const args = c.arguments || {};
  const output = [r.stdout, r.stderr].filter(Boolean).join(r.stdout && r.stderr ? '\n' : '');
  return html`<details class=${'ai-tool ai-command st-' + c.status} data-testid="chat-command-run" data-status=${c.status} open=${c.status !== 'pending'}>
    <summary>
      <${AiIcon} name="tool" size=${13} />
      <code class="ai-code-inline" data-testid="chat-command-text">${args.command || ''}</code>
      <span class=${'ai-tool-status ' + c.status}>${c.status === 'pending' ? 'running or waiting…'
        : c.status === 'ok' ? 'exit ' + r.exit_code + (r.timed_out ? ' (timed out)' : '') : 'not run'}</span>
    </summary>
    <div class="ai-tool-body">
      ${args.reason ? html`<p class="subtle">${args.reason}</p>` : null}
      ${c.error ? html`<p class="ai-command-refused" data-testid="chat-command-refused">${c.error}</p>` : null}
      ${c.status === 'ok' ? html`<pre class="ai-command-output" data-testid="chat-command-output">${output || '(no output)'}</pre>` : null}
      ${r.note ? html`<p class="subtle">${r.note}</p>` : null}
      <${OutputRedactedNote} count=${c.redactions} labels=${c.redacted_labels} testid="chat-command-redacted" />
    </div>
  </details>`;
}

function ToolCallView({ call: c }) {
  if (c.tool_name === 'run_diagnostic_command') return html`<${CommandRun} call=${c} />`;
  // An MCP tool is named as its server offers it ("runbook.lookup on ops-http"), not by
  // the key the model was given (mcp_ops_http_runbook_lookup).
  const by = c.offered_by;
  const label = by ? `${by.tool} on ${by.server}`
    : c.tool_name === 'record_why' ? 'Recorded a why' : humanize(c.tool_name || 'tool');
  return html`<details class=${'ai-tool st-' + c.status} data-testid="chat-tool-call" data-tool=${c.tool_name} data-status=${c.status}>
    <summary title=${by ? `Offered to the assistant as ${c.tool_name}` : undefined}>
      <${AiIcon} name="tool" size=${13} />
      <span class="ai-tool-name" data-testid="chat-tool-name">${label}</span>
      ${by ? html`<span class="pill">MCP</span>` : html`<code class="ai-code-inline">${c.tool_name}</code>`}
      <span class=${'ai-tool-status ' + c.status}>${c.status === 'pending' ? 'running…' : c.status === 'ok' ? 'done' : 'failed'}</span>
    </summary>
    <div class="ai-tool-body">
      <div class="ai-tool-label">Arguments</div>
      <pre>${JSON.stringify(c.arguments || {}, null, 2)}</pre>
      ${c.result != null ? html`<div class="ai-tool-label">Result</div><pre>${JSON.stringify(c.result, null, 2)}</pre>` : null}
      ${c.error ? html`<div class="ai-tool-label">Error</div><pre>${c.error}</pre>` : null}
    </div>
  </details>`;
}

function redactionNotice(m) {
  if (m.notice) return m.notice;
  const items = m.redactions || [];
  const types = [...new Set(items.map((r) => typeLabel(r.pii_type)))].sort();
  return `${items.length} item${items.length === 1 ? ' was' : 's were'} removed before sending: ${types.join(', ')}.`;
}

function RedactionNotice({ message }) {
  const show = () => openDialog((close) => html`<${RedactionsDialog} message=${message} onClose=${close} />`);
  return html`<div class="ai-redacted" data-testid="chat-redaction-notice">
    <${Icon} name="shield" size=${14} />
    <span>${redactionNotice(message)}</span>
    <button class="btn btn-sm btn-ghost" onClick=${show} data-testid="chat-redaction-show">See what was removed</button>
  </div>`;
}

function RedactionsDialog({ message, onClose }) {
  const [originals, setOriginals] = useState(null);
  const reveal = async () => {
    try {
      const res = await ai.messageRedactions(message.id);
      setOriginals(res.items || []);
    } catch (err) {
      toast.error(err);
    }
  };
  const items = originals || message.redactions || [];
  return html`<${Modal} title="Removed before sending" size="md" testid="chat-redactions" onClose=${onClose}
    footer=${html`${originals || String(message.id).startsWith('pending') ? null : html`<button class="btn" onClick=${reveal} data-testid="chat-redactions-reveal"
        title="Shown here only; the originals never leave this machine"><${Icon} name="eye" /> Show originals</button>`}
      <span class="spacer"></span><button class="btn btn-primary" onClick=${onClose} data-autofocus>Done</button>`}>
    <p class="dialog-text subtle">These were replaced in what you typed before it was sent to the AI provider.</p>
    <table class="table ai-redaction-table">
      <thead><tr><th>Type</th><th>${originals ? 'You typed' : 'You typed (masked)'}</th><th>Sent as</th></tr></thead>
      <tbody>
        ${items.map((r, i) => html`<tr key=${i} data-testid="chat-redaction-item">
          <td title=${r.pii_type}>${typeLabel(r.pii_type)}</td>
          <td><code class="mono">${originals ? r.original == null ? r.preview : r.original : r.preview}</code></td>
          <td><code class="mono">${r.replacement}</code></td>
        </tr>`)}
      </tbody>
    </table>
  <//>`;
}

// ---------------------------------------------------------------- log summary
function LogSummary({ summary, onClose }) {
  const { local, skipped = [] } = summary.result;
  const t = (local && local.totals) || { lines: 0, errors: 0, warnings: 0, exceptions: 0 };
  const files = (local && local.files) || [];
  return html`<section class="ai-summary card" data-testid="log-summary" aria-label="Log summary">
    <div class="card-head">
      <h3 class="card-title"><${AiIcon} name="summary" /> First pass over ${plural(files.length, 'reviewed log')}</h3>
      <button class="icon-btn" onClick=${onClose} aria-label="Close summary" data-testid="log-summary-close"><${Icon} name="x" /></button>
    </div>
    ${files.length === 0
      ? html`<p class="subtle">No reviewed logs to summarise yet. Review a log in the Evidence tab first.</p>`
      : html`<div class="ai-summary-stats">
          <div><b>${t.lines.toLocaleString('en-US')}</b><span>lines</span></div>
          <div class="bad"><b>${t.errors.toLocaleString('en-US')}</b><span>errors</span></div>
          <div class="warn"><b>${t.warnings.toLocaleString('en-US')}</b><span>warnings</span></div>
          <div><b>${t.exceptions.toLocaleString('en-US')}</b><span>exceptions</span></div>
        </div>
        ${local.summary_text ? html`<p class="pre ai-summary-text" data-testid="log-summary-text">${local.summary_text}</p>` : null}
        ${(local.key_errors || []).length
          ? html`<div class="ai-summary-sec"><div class="section-title">Key errors</div>
              <ol class="ai-key-errors">
                ${local.key_errors.slice(0, 8).map((k, i) => html`<li key=${i}><span class="ai-count">×${k.count}</span><code>${k.text}</code>
                  <span class="subtle">${k.file_name}:${k.first_line}</span></li>`)}
              </ol></div>`
          : null}
        ${(local.components || []).length
          ? html`<div class="ai-summary-sec"><div class="section-title">Components</div>
              <div class="ai-chips">${local.components.map((c) => html`<span key=${c.name} class="tag">${c.name} · ${c.count}</span>`)}</div></div>`
          : null}`}
    ${skipped.length ? html`<p class="subtle">Skipped: ${skipped.map((s) => `${s.file_name} (${s.reason})`).join(', ')}</p>` : null}
    ${summary.conversation_id
      ? html`<p class="ai-summary-foot subtle">The AI summary is written below. Continue the conversation from it.
          <button class="btn btn-sm" onClick=${() => { onClose(); focusComposer(); }} data-testid="log-summary-continue">Continue in chat</button></p>`
      : null}
  </section>`;
}

// ---------------------------------------------------------------- composer
function Composer({ issue, logs, streaming, ensureConversation, onSent, onPending }) {
  const [text, setText] = useState(() => takeChatContext(issue.id));
  const [attached, setAttached] = useState([]);
  const [picker, setPicker] = useState(false);
  const [resources, setResources] = useState([]); // [{server_id, uri, name}]
  const [resPicker, setResPicker] = useState(false);
  const [busy, setBusy] = useState(false);
  const [stopping, setStopping] = useState(false);
  const [err, setErr] = useState(null);
  const inputId = useUid('msg');
  const ref = useRef(null);
  const [integrationLinks] = useIntegrationLinks(issue.id);

  const searchKnowledge = async () => {
    const picked = await openKnowledgeSearch(issue, (found) =>
      setText((cur) => (cur.trim() ? `${cur.replace(/\s+$/, '')}\n\n${found}` : found)));
    if (picked && ref.current) ref.current.focus();
  };

  useEffect(() => {
    if (!streaming) setStopping(false);
  }, [streaming && streaming.id]);

  const send = async () => {
    const content = text.trim();
    if (!content || busy || streaming) return;
    setBusy(true);
    setErr(null);
    const logIds = attached;
    const refs = resources;
    let undo = null;
    try {
      const convId = await ensureConversation();
      const temp = pendingMessage(content, logIds);
      undo = onPending(convId, temp);
      setText('');
      setAttached([]);
      setResources([]);
      const res = await ai.send({
        conversation_id: convId, content, log_file_ids: nonEmpty(logIds),
        resources: refs.length ? refs.map((r) => ({ server_id: r.server_id, uri: r.uri })) : undefined,
      });
      onSent(convId, temp, res);
    } catch (error) {
      if (undo) undo();
      setText(content);
      setAttached(logIds);
      setResources(refs);
      setErr(error);
    } finally {
      setBusy(false);
      if (ref.current) ref.current.focus();
    }
  };

  const stop = async () => {
    if (!streaming) return;
    setStopping(true);
    try {
      await ai.stop(streaming.id);
    } catch (error) {
      setStopping(false);
      toast.error(error);
    }
  };

  const onKeyDown = (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send();
    } else if (e.key === 'Escape' && streaming) {
      e.preventDefault();
      stop();
    }
  };

  const rows = Math.min(8, Math.max(2, text.split('\n').length));
  const byId = new Map(logs.map((f) => [f.id, f]));
  const notReviewed = err && err.code === 'log_not_reviewed'
    ? logs.find((f) => !f.redacted && String(err.message).includes(f.file_name)) || logs.find((f) => !f.redacted && attached.includes(f.id))
    : null;

  return html`<div class="ai-composer" data-testid="chat-composer">
    ${attached.length
      ? html`<div class="ai-attached">
          ${attached.map((id) => html`<span key=${id} class="chip ai-attached-chip" data-testid="chat-attached-log" data-log-file-id=${id}>
            <${AiIcon} name="clip" size=${12} /><span class="chip-text">${byId.has(id) ? byId.get(id).file_name : id}</span>
            <button type="button" class="chip-x" aria-label="Remove attachment" onClick=${() => setAttached(attached.filter((x) => x !== id))}><${Icon} name="x" size=${11} /></button>
          </span>`)}
        </div>`
      : null}
    ${resources.length
      ? html`<div class="ai-attached">
          ${resources.map((r) => html`<span key=${r.server_id + r.uri} class="chip ai-attached-chip" data-testid="chat-attached-resource">
            <${Icon} name="layers" size=${12} /><span class="chip-text">${r.name || r.uri}</span>
            <button type="button" class="chip-x" aria-label="Remove resource"
              onClick=${() => setResources(resources.filter((x) => x !== r))}><${Icon} name="x" size=${11} /></button>
          </span>`)}
        </div>`
      : null}
    ${err
      ? html`<div class="ai-error" role="alert" data-testid="chat-send-error">
          <${Icon} name="alert" />
          <span>${errorMessage(err)}</span>
          ${notReviewed
            ? html`<button class="btn btn-sm" onClick=${() => navigate(reviewHref(issue.id, notReviewed.id).slice(1))} data-testid="chat-send-error-review">Review first</button>`
            : null}
          ${err.code === 'ai_no_provider' ? html`<button class="btn btn-sm" onClick=${openAiSettings}>Open AI settings</button>` : null}
          <button class="icon-btn" aria-label="Dismiss" onClick=${() => setErr(null)}><${Icon} name="x" size=${14} /></button>
        </div>`
      : null}
    <div class="ai-input-wrap">
      <label class="sr-only" for=${inputId}>Message</label>
      <textarea id=${inputId} ref=${ref} class="ai-input" rows=${rows} value=${text} maxLength="100000"
        placeholder="Ask about this incident…" onInput=${(e) => setText(e.currentTarget.value)} onKeyDown=${onKeyDown}
        data-testid="chat-input"></textarea>
      <div class="ai-composer-bar">
        <div class="ai-attach-wrap">
          <button class=${'btn btn-sm btn-ghost' + (picker ? ' on' : '')} onClick=${() => setPicker(!picker)} aria-expanded=${picker ? 'true' : 'false'}
            data-testid="chat-attach" title="Attach reviewed logs"><${AiIcon} name="clip" /> Attach logs${attached.length ? ` (${attached.length})` : ''}</button>
          ${picker ? html`<${LogPicker} issue=${issue} logs=${logs} attached=${attached} onChange=${setAttached} onClose=${() => setPicker(false)} />` : null}
        </div>
        <div class="ai-attach-wrap">
          <button class=${'btn btn-sm btn-ghost' + (resPicker ? ' on' : '')} onClick=${() => setResPicker(!resPicker)}
            aria-expanded=${resPicker ? 'true' : 'false'} data-testid="chat-attach-resource"
            title="Attach a resource from an MCP server"><${Icon} name="layers" /> Resources${resources.length ? ` (${resources.length})` : ''}</button>
          ${resPicker ? html`<${ResourcePicker} attached=${resources} onChange=${setResources} onClose=${() => setResPicker(false)} />` : null}
        </div>
        ${anyConfigured(integrationLinks)
          ? html`<button class="btn btn-sm btn-ghost" onClick=${searchKnowledge} data-testid="chat-knowledge-search"
              title="Search Confluence, ServiceNow and Azure DevOps and bring a result into this message">
              <${Icon} name="search" /> Knowledge
            </button>`
          : null}
        <span class="ai-hint subtle"><kbd>Enter</kbd> send · <kbd>Shift</kbd>+<kbd>Enter</kbd> new line</span>
        <span class="spacer"></span>
        ${streaming
          ? html`<button class="btn btn-sm ai-stop" onClick=${stop} disabled=${stopping} data-testid="chat-stop">
              <${AiIcon} name="stop" size=${13} /> ${stopping ? 'Stopping…' : 'Stop'}
            </button>`
          : html`<button class="btn btn-sm btn-primary" onClick=${send} disabled=${busy || !text.trim()} data-testid="chat-send">
              ${busy ? html`<span class="spinner sm" aria-hidden="true"></span>` : html`<${AiIcon} name="send" size=${13} />`} Send
            </button>`}
      </div>
    </div>
  </div>`;
}

function ResourcePicker({ attached, onChange, onClose }) {
  const ref = useRef(null);
  const [items, setItems] = useState(null);
  useEffect(() => {
    let live = true;
    (async () => {
      try {
        const servers = (await call('list_mcp_servers')).items.filter((s) => s.enabled && s.resource_count);
        const found = [];
        for (const s of servers) {
          const detail = await call('get_mcp_server', { server_id: s.id });
          for (const r of detail.resources || []) found.push({ server_id: s.id, server: s.name, uri: r.uri, name: r.name || r.uri });
        }
        if (live) setItems(found);
      } catch (error) {
        if (live) setItems({ error });
      }
    })();
    const away = (e) => {
      if (ref.current && !ref.current.contains(e.target) && !e.target.closest('[data-testid="chat-attach-resource"]')) onClose();
    };
    const esc = (e) => e.key === 'Escape' && onClose();
    document.addEventListener('mousedown', away);
    document.addEventListener('keydown', esc);
    return () => {
      live = false;
      document.removeEventListener('mousedown', away);
      document.removeEventListener('keydown', esc);
    };
  }, []);
  const isOn = (r) => attached.some((a) => a.server_id === r.server_id && a.uri === r.uri);
  const toggle = (r) => onChange(isOn(r)
    ? attached.filter((a) => !(a.server_id === r.server_id && a.uri === r.uri))
    : [...attached, r].slice(0, 5));
  return html`<div class="ai-picker" ref=${ref} role="dialog" aria-label="Attach MCP resources" data-testid="chat-resource-list">
    <div class="ai-picker-head">Attach resources <span class="subtle">· read now, redacted before sending</span></div>
    ${items === null
      ? html`<${Spinner} inline label="Loading resources…" />`
      : items.error
      ? html`<p class="ai-picker-empty subtle">${errorMessage(items.error)}</p>`
      : items.length === 0
      ? html`<p class="ai-picker-empty subtle">No MCP server offers resources. Add one in Settings → MCP servers.</p>`
      : html`<ul>${items.map((r) => html`<li key=${r.server_id + r.uri} class="ai-picker-item" data-testid="chat-resource-item">
          <label class="ai-check">
            <input type="checkbox" checked=${isOn(r)} onChange=${() => toggle(r)} data-testid="chat-resource-toggle" />
            <span class="ai-picker-name">${r.name}</span>
            <span class="subtle small">${r.server}</span>
          </label>
        </li>`)}</ul>`}
  </div>`;
}

function LogPicker({ issue, logs, attached, onChange, onClose }) {
  const ref = useRef(null);
  useEffect(() => {
    const away = (e) => {
      if (ref.current && !ref.current.contains(e.target) && !e.target.closest('[data-testid="chat-attach"]')) onClose();
    };
    const esc = (e) => e.key === 'Escape' && onClose();
    document.addEventListener('mousedown', away);
    document.addEventListener('keydown', esc);
    return () => {
      document.removeEventListener('mousedown', away);
      document.removeEventListener('keydown', esc);
    };
  }, []);
  const toggle = (id) => onChange(attached.includes(id) ? attached.filter((x) => x !== id) : [...attached, id].slice(0, 20));
  return html`<div class="ai-picker" ref=${ref} role="dialog" aria-label="Attach logs" data-testid="chat-attach-list">
    <div class="ai-picker-head">Attach logs <span class="subtle">· only reviewed, redacted logs can be sent</span></div>
    ${logs.length === 0
      ? html`<p class="ai-picker-empty subtle">No logs on this incident. Add them in the Evidence tab.</p>`
      : html`<ul>
          ${logs.map((f) => html`<li key=${f.id} class="ai-picker-item" data-testid="chat-attach-log" data-log-file-id=${f.id}
              data-reviewed=${f.redacted ? 'true' : 'false'}>
            ${f.redacted
              ? html`<label class="ai-check">
                  <input type="checkbox" checked=${attached.includes(f.id)} onChange=${() => toggle(f.id)} data-testid="chat-attach-toggle" />
                  <span class="ai-picker-name">${f.file_name}</span>
                  <span class="badge ai-ok-badge"><${Icon} name="check" size=${11} /> Redacted</span>
                </label>`
              : html`<div class="ai-picker-row">
                  <span class="ai-picker-name muted">${f.file_name}</span>
                  <a class="btn btn-sm" href=${reviewHref(issue.id, f.id)} data-testid="chat-attach-review">Review first</a>
                </div>`}
          </li>`)}
        </ul>`}
  </div>`;
}
