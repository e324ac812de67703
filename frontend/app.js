// TFTSR frontend entry point: layout, router, command palette and shortcuts.
// Test ids are listed in TESTIDS.md beside this file.

import { html, render, useState, useEffect, useLayoutEffect, useRef, useMemo } from './vendor/htm-preact/standalone.module.js';
import { api, desktopMode, errorMessage } from './lib/commands.js';
import { on } from './lib/events.js';
import { Icon, Logo } from './lib/icons.js';
import { Toaster, DialogHost, Modal, Spinner, useStore, SeverityBadge, StatusBadge, toast } from './lib/ui.js';
import {
  useApp, useRoute, navigate, loadInfo, loadSettings, saveSetting, applyTheme, effectiveTheme,
  uiStore, issueHref, appStore,
} from './lib/state.js';
import { fuzzyScore, relativeTime } from './lib/format.js';
import { Dashboard } from './screens/dashboard.js';
import { NewIssue } from './screens/new-issue.js';
import { IssueScreen } from './screens/issue.js';
import { History } from './screens/history.js';
import { Audit } from './screens/audit.js';
import { Settings } from './screens/settings.js';
import { PiiReview } from './screens/pii-review.js';
import { Attachments } from './screens/attachments.js';
import { openAiSettings } from './screens/chat.js';
import { documentPaletteActions } from './screens/documents.js';
import { Help, MOD, ShortcutTable } from './screens/help.js';

const NAV = [
  { id: 'dashboard', label: 'Dashboard', icon: 'dashboard', href: '#/dashboard' },
  { id: 'history', label: 'History', icon: 'history', href: '#/history' },
  { id: 'attachments', label: 'Attachments', icon: 'file', href: '#/attachments' },
  { id: 'audit', label: 'Audit log', icon: 'shield', href: '#/audit' },
  { id: 'settings', label: 'Settings', icon: 'settings', href: '#/settings' },
];

const SCREEN_TITLE = {
  dashboard: 'Dashboard',
  new: 'New incident',
  issue: 'Incident',
  history: 'History',
  attachments: 'Attachments',
  audit: 'Audit log',
  settings: 'Settings',
  help: 'Help',
};

const openPalette = () => uiStore.set((s) => ({ ...s, palette: true }));
const closePalette = () => uiStore.set((s) => ({ ...s, palette: false }));
const openHelp = () => uiStore.set((s) => ({ ...s, help: true, palette: false }));
const closeHelp = () => uiStore.set((s) => ({ ...s, help: false }));
const focusHistorySearch = () => {
  if (!window.location.hash.startsWith('#/history')) navigate('/history');
  uiStore.set((s) => ({ ...s, focusSearch: Date.now() }));
};

async function toggleTheme() {
  const { settings } = appStore.get();
  const pref = settings ? settings.values.theme : 'system';
  const next = effectiveTheme(pref) === 'dark' ? 'light' : 'dark';
  applyTheme(next);
  try {
    await saveSetting('theme', next);
  } catch (err) {
    applyTheme(pref);
    toast.error(err);
  }
}

function isTyping(el) {
  if (!el) return false;
  const tag = el.tagName;
  return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || el.isContentEditable;
}

// ---------------------------------------------------------------- app
function App() {
  const [boot, setBoot] = useState({ state: 'loading', error: null });
  const { info, settings } = useApp();
  const route = useRoute();
  const ui = useStore(uiStore);
  const mainRef = useRef(null);

  const start = () => {
    setBoot({ state: 'loading', error: null });
    Promise.all([loadInfo(), loadSettings()])
      .then(() => setBoot({ state: 'ready', error: null }))
      .catch((error) => setBoot({ state: 'error', error }));
  };

  useEffect(start, []);
  useEffect(() => on('settings_changed', () => loadSettings().catch(() => {})), []);

  useEffect(() => {
    const onKey = (e) => {
      const mod = e.ctrlKey || e.metaKey;
      const k = e.key.toLowerCase();
      if (e.key === 'F1' && !mod && !e.altKey) {
        const ui = uiStore.get();
        if (document.querySelector('.modal-backdrop') && !ui.palette && !ui.help) return;
        e.preventDefault();
        uiStore.set((s) => ({ ...s, palette: false, help: false }));
        navigate('/help');
        return;
      }
      if (mod && !e.altKey && k === 'k') {
        e.preventDefault();
        if (uiStore.get().palette) closePalette();
        else openPalette();
        return;
      }
      if (mod && !e.altKey && !e.shiftKey && k === 'f') {
        if (document.querySelector('.modal-backdrop')) return;
        e.preventDefault();
        focusHistorySearch();
        return;
      }
      if (mod || e.altKey || isTyping(e.target) || document.querySelector('.modal-backdrop')) return;
      if (e.key === '?') {
        e.preventDefault();
        openHelp();
      } else if (e.key === '/') {
        e.preventDefault();
        const el = document.querySelector('[data-testid="topbar-search"]');
        if (el) el.focus();
      } else if (k === 'n' && !e.shiftKey) {
        e.preventDefault();
        navigate('/new');
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  useLayoutEffect(() => {
    document.title = `${SCREEN_TITLE[route.screen] || 'Not found'} — TFTSR`;
    const main = mainRef.current;
    const active = document.activeElement;
    if (main && (!active || active === document.body || !main.contains(active))) {
      if (!document.querySelector('.modal-backdrop')) main.focus({ preventScroll: true });
    }
    if (main) main.scrollTop = 0;
  }, [route.parts.slice(0, 2).join('/')]);

  if (boot.state !== 'ready') {
    return html`<div class="boot" data-testid="boot">
      <${Logo} size=${48} />
      ${boot.state === 'loading'
        ? html`<${Spinner} label="Opening TFTSR…" />`
        : html`<div class="boot-error" role="alert" data-testid="boot-error">
            <h1>TFTSR could not start</h1>
            <p>${errorMessage(boot.error)}</p>
            <button class="btn btn-primary" onClick=${start}>Try again</button>
          </div>`}
      <${Toaster} />
    </div>`;
  }

  return html`<div class="shell">
    <a class="skip-link" href="#main">Skip to content</a>
    <${Sidebar} route=${route} info=${info} />
    <div class="main-col">
      <${TopBar} route=${route} settings=${settings} />
      <main id="main" class="main" tabIndex="-1" ref=${mainRef}>
        <${Screen} route=${route} />
      </main>
    </div>
    ${ui.palette ? html`<${Palette} />` : null}
    ${ui.help ? html`<${HelpDialog} />` : null}
    <${DialogHost} />
    <${Toaster} />
  </div>`;
}

function Screen({ route }) {
  const [a, b, c] = route.parts;
  switch (a || 'dashboard') {
    case 'dashboard':
      return html`<${Dashboard} />`;
    case 'new':
      return html`<${NewIssue} />`;
    case 'issue':
      if (b && c === 'review' && route.parts[3]) {
        return html`<${PiiReview} key=${route.parts[3]} issueId=${b} logFileId=${route.parts[3]} />`;
      }
      return b ? html`<${IssueScreen} key=${b} id=${b} tab=${c} />` : html`<${NotFound} />`;
    case 'history':
      return html`<${History} route=${route} />`;
    case 'attachments':
      return html`<${Attachments} route=${route} />`;
    case 'audit':
      return html`<${Audit} />`;
    case 'settings':
      return html`<${Settings} />`;
    case 'help':
      return html`<${Help} section=${b} />`;
    default:
      return html`<${NotFound} />`;
  }
}

function NotFound() {
  return html`<div class="page"><div class="empty">
    <div class="empty-icon"><${Icon} name="search" size=${28} /></div>
    <h3>Nothing here</h3>
    <p>This page does not exist.</p>
    <a class="btn" href="#/dashboard">Go to the dashboard</a>
  </div></div>`;
}

// ---------------------------------------------------------------- chrome
function Sidebar({ route, info }) {
  const current = route.screen === 'issue' ? 'history' : route.screen;
  return html`<nav class="sidebar" aria-label="Main">
    <a class="brand" href="#/dashboard" aria-label="TFTSR dashboard">
      <${Logo} size=${28} />
      <span class="brand-text">
        <span class="brand-name">TFTSR</span>
        <span class="brand-sub">Incident triage & RCA</span>
      </span>
    </a>
    <a class=${'btn btn-primary nav-new' + (route.screen === 'new' ? ' on' : '')} href="#/new" data-testid="nav-new"
      aria-current=${route.screen === 'new' ? 'page' : undefined}>
      <${Icon} name="plus" /> New incident
    </a>
    <ul class="nav">
      ${NAV.map(
        (n) => html`<li key=${n.id}>
          <a href=${n.href} class=${'nav-item' + (current === n.id ? ' on' : '')}
            aria-current=${current === n.id ? 'page' : undefined} data-testid=${'nav-' + n.id}>
            <${Icon} name=${n.icon} /><span>${n.label}</span>
          </a>
        </li>`,
      )}
    </ul>
    <div class="sidebar-foot">
      <a class=${'nav-item small' + (current === 'help' ? ' on' : '')} href="#/help" data-testid="nav-help"
        aria-current=${current === 'help' ? 'page' : undefined}>
        <${Icon} name="info" /><span>Help</span><kbd>F1</kbd>
      </a>
      <button class="nav-item small" onClick=${openHelp} data-testid="nav-shortcuts">
        <${Icon} name="keyboard" /><span>Shortcuts</span><kbd>?</kbd>
      </button>
      <div class="sidebar-meta">
        <span class=${'mode-dot' + (desktopMode ? ' desktop' : '')} aria-hidden="true"></span>
        ${info ? `v${info.version} · ${info.mode === 'desktop' ? 'Desktop' : 'Browser'}` : ''}
      </div>
    </div>
  </nav>`;
}

function TopBar({ route, settings }) {
  const [q, setQ] = useState('');
  const pref = settings ? settings.values.theme : 'system';
  const dark = effectiveTheme(pref) === 'dark';
  const submit = (e) => {
    e.preventDefault();
    const v = q.trim();
    navigate('/history' + (v ? '?q=' + encodeURIComponent(v) : ''));
    setQ('');
    e.currentTarget.querySelector('input').blur();
  };
  return html`<header class="topbar">
    <div class="topbar-title">${SCREEN_TITLE[route.screen] || ''}</div>
    <form class="topbar-search" role="search" onSubmit=${submit}>
      <${Icon} name="search" />
      <input type="search" placeholder="Search incidents…" aria-label="Search incidents" value=${q}
        onInput=${(e) => setQ(e.currentTarget.value)}
        onKeyDown=${(e) => e.key === 'Escape' && e.currentTarget.blur()}
        data-testid="topbar-search" />
      <kbd class="hint">/</kbd>
    </form>
    <div class="topbar-actions">
      <button class="btn btn-ghost palette-btn" onClick=${openPalette} data-testid="palette-open" title="Command palette">
        <span>Commands</span><span class="kbd-combo"><kbd>${MOD}</kbd><kbd>K</kbd></span>
      </button>
      <button class="icon-btn" onClick=${toggleTheme} data-testid="theme-toggle"
        aria-label=${dark ? 'Switch to light theme' : 'Switch to dark theme'} title=${dark ? 'Light theme' : 'Dark theme'}>
        <${Icon} name=${dark ? 'sun' : 'moon'} />
      </button>
    </div>
  </header>`;
}

// ---------------------------------------------------------------- palette
function staticActions() {
  return [
    { id: 'go-dashboard', label: 'Go to Dashboard', icon: 'dashboard', group: 'Navigate', run: () => navigate('/dashboard') },
    { id: 'new', label: 'New incident', icon: 'plus', group: 'Actions', hint: 'N', run: () => navigate('/new') },
    { id: 'go-history', label: 'Go to History', icon: 'history', group: 'Navigate', run: () => navigate('/history') },
    { id: 'go-attachments', label: 'Go to Attachments (logs and images)', icon: 'file', group: 'Navigate', run: () => navigate('/attachments') },
    { id: 'search', label: 'Search incidents', icon: 'search', group: 'Actions', hint: `${MOD} F`, run: focusHistorySearch },
    { id: 'go-audit', label: 'Go to Audit log', icon: 'shield', group: 'Navigate', run: () => navigate('/audit') },
    { id: 'go-settings', label: 'Go to Settings', icon: 'settings', group: 'Navigate', run: () => navigate('/settings') },
    { id: 'ai-settings', label: 'AI providers and Ollama (Settings)', icon: 'settings', group: 'Navigate', run: openAiSettings },
    { id: 'go-help', label: 'Help', icon: 'info', group: 'Navigate', hint: 'F1', run: () => navigate('/help') },
    ...currentIssueActions(),
    { id: 'theme', label: 'Toggle theme (light / dark)', icon: 'moon', group: 'Actions', run: toggleTheme },
    { id: 'help', label: 'Keyboard shortcuts', icon: 'keyboard', group: 'Actions', hint: '?', run: openHelp },
  ];
}

/** Actions for the incident on screen, if any. */
function currentIssueActions() {
  const m = /^#\/issue\/([^/?]+)/.exec(window.location.hash);
  if (!m) return [];
  const id = decodeURIComponent(m[1]);
  return [
    { id: 'ai-chat', label: 'AI triage chat for this incident', icon: 'activity', group: 'Actions', run: () => navigate(issueHref(id, 'chat')) },
    ...documentPaletteActions(id),
  ];
}

/** The items with each group together (groups in the order they first appear), so a
 *  group's header is listed once. */
function groupTogether(list) {
  const groups = new Map();
  for (const it of list) {
    if (!groups.has(it.group)) groups.set(it.group, []);
    groups.get(it.group).push(it);
  }
  return [...groups.values()].flat();
}

function Palette() {
  const [query, setQuery] = useState('');
  const [active, setActive] = useState(0);
  const [recent, setRecent] = useState(null);
  const listRef = useRef(null);

  useEffect(() => {
    let live = true;
    api
      .listIssues({ limit: 30, sort: 'updated_desc' })
      .then((r) => live && setRecent(r.items || []))
      .catch(() => live && setRecent([]));
    return () => {
      live = false;
    };
  }, []);

  const items = useMemo(() => {
    const acts = staticActions();
    const issues = (recent || []).map((i) => ({
      id: 'issue-' + i.id,
      label: i.title,
      icon: 'flag',
      group: 'Recent incidents',
      issue: i,
      run: () => navigate(issueHref(i.id)),
    }));
    const q = query.trim();
    if (!q) return groupTogether([...acts, ...issues.slice(0, 8)]);
    const scored = [...acts, ...issues]
      .map((it) => ({ it, s: fuzzyScore(q, it.label + (it.issue ? ' ' + (it.issue.tags || []).join(' ') : '')) }))
      .filter((x) => x.s >= 0)
      .sort((a, b) => b.s - a.s)
      .map((x) => x.it);
    scored.push({
      id: 'search-q',
      label: `Search all incidents for “${q}”`,
      icon: 'search',
      group: 'Search',
      run: () => navigate('/history?q=' + encodeURIComponent(q)),
    });
    return groupTogether(scored);
  }, [query, recent]);

  useEffect(() => setActive(0), [query]);
  useEffect(() => {
    const el = listRef.current && listRef.current.querySelector('[aria-selected="true"]');
    if (el) el.scrollIntoView({ block: 'nearest' });
  }, [active]);

  const runItem = (it) => {
    closePalette();
    setTimeout(() => it.run(), 0);
  };

  const onKeyDown = (e) => {
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      setActive((a) => Math.min(items.length - 1, a + 1));
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      setActive((a) => Math.max(0, a - 1));
    } else if (e.key === 'Enter') {
      e.preventDefault();
      if (items[active]) runItem(items[active]);
    }
  };

  let lastGroup = null;
  return html`<${Modal} title="Command palette" hideHeader size="palette" className="palette" onClose=${closePalette} testid="palette">
    <div class="palette-input">
      <${Icon} name="search" />
      <input data-autofocus role="combobox" aria-expanded="true" aria-controls="palette-list" aria-autocomplete="list"
        aria-activedescendant=${items[active] ? 'pal-' + items[active].id : undefined}
        placeholder="Type a command or an incident title…" value=${query}
        onInput=${(e) => setQuery(e.currentTarget.value)} onKeyDown=${onKeyDown} data-testid="palette-input" />
      <kbd>Esc</kbd>
    </div>
    <ul id="palette-list" class="palette-list" role="listbox" aria-label="Commands" ref=${listRef} data-testid="palette-list">
      ${items.map((it, i) => {
        const header = it.group !== lastGroup ? it.group : null;
        lastGroup = it.group;
        return [
          header ? html`<li key=${'g-' + header} class="palette-group" role="presentation">${header}</li>` : null,
          html`<li key=${it.id} id=${'pal-' + it.id} role="option" aria-selected=${i === active ? 'true' : 'false'}
              class=${'palette-item' + (i === active ? ' on' : '')} data-testid="palette-item"
              onMouseMove=${() => i !== active && setActive(i)} onClick=${() => runItem(it)}>
            <${Icon} name=${it.icon} />
            <span class="palette-label">${it.label}</span>
            ${it.issue
              ? html`<span class="palette-extra">
                  <${SeverityBadge} value=${it.issue.severity} />
                  <${StatusBadge} value=${it.issue.status} />
                  <span class="subtle">${relativeTime(it.issue.updated_at || it.issue.created_at)}</span>
                </span>`
              : it.hint
                ? html`<kbd>${it.hint}</kbd>`
                : null}
          </li>`,
        ];
      })}
      ${recent === null ? html`<li class="palette-group" role="presentation">Loading incidents…</li>` : null}
    </ul>
  <//>`;
}

// ---------------------------------------------------------------- help
function HelpDialog() {
  return html`<${Modal} title="Keyboard shortcuts" size="sm" onClose=${closeHelp} testid="shortcut-help">
    <${ShortcutTable} />
    <p class="subtle small shortcut-more"><a href="#/help" onClick=${closeHelp}>All help</a> · <kbd>F1</kbd></p>
  <//>`;
}

// ---------------------------------------------------------------- start
applyTheme('system');
render(html`<${App} />`, document.getElementById('app'));
// The same start screen, drawn by index.html before the scripts had loaded.
document.getElementById('boot-splash')?.remove();
