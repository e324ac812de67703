// App-wide state: app info, settings, theme and the hash router.

import { useState, useEffect, useMemo } from '../vendor/htm-preact/standalone.module.js';
import { api } from './commands.js';
import { createStore, useStore } from './ui.js';
import { setDateDisplay } from './format.js';

export const appStore = createStore({ info: null, settings: null });

export function useApp() {
  return useStore(appStore);
}

export function domainLabel(info, id) {
  const d = info && info.domains && info.domains.find((x) => x.id === id);
  return d ? d.label : id || '—';
}

// ---------------------------------------------------------------- settings + theme
const media = window.matchMedia ? window.matchMedia('(prefers-color-scheme: dark)') : null;

export function effectiveTheme(pref) {
  if (pref === 'light' || pref === 'dark') return pref;
  return media && media.matches ? 'dark' : 'light';
}

export function applyTheme(pref) {
  const theme = effectiveTheme(pref);
  document.documentElement.dataset.theme = theme;
  document.documentElement.style.colorScheme = theme;
}

if (media && media.addEventListener) {
  media.addEventListener('change', () => {
    const s = appStore.get().settings;
    applyTheme(s ? s.values.theme : 'system');
  });
}

function applyValues(values) {
  applyTheme(values.theme);
  setDateDisplay(values.date_display);
}

export async function loadSettings() {
  const settings = await api.getSettings();
  applyValues(settings.values || {});
  appStore.set((s) => ({ ...s, settings }));
  return settings;
}

export async function saveSetting(key, value) {
  const res = await api.updateSetting(key, value);
  const values = (res && res.values) || { ...appStore.get().settings.values, [key]: value };
  applyValues(values);
  appStore.set((s) => ({ ...s, settings: { ...s.settings, values } }));
  return values;
}

export function settingValue(key, fallback) {
  const s = appStore.get().settings;
  return s && s.values && key in s.values ? s.values[key] : fallback;
}

export async function loadInfo() {
  const info = await api.getAppInfo();
  appStore.set((s) => ({ ...s, info }));
  return info;
}

// ---------------------------------------------------------------- router
export function parseHash(hash = window.location.hash) {
  let h = (hash || '').replace(/^#/, '');
  if (!h.startsWith('/')) h = '/' + h;
  const qi = h.indexOf('?');
  const path = qi >= 0 ? h.slice(0, qi) : h;
  const query = new URLSearchParams(qi >= 0 ? h.slice(qi + 1) : '');
  const parts = path.split('/').filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch (_) {
      return p;
    }
  });
  return { path, parts, query, screen: parts[0] || 'dashboard' };
}

export function useRoute() {
  // Every hashchange gives a new route (navigate() to the current address re-runs a screen).
  const [seen, setSeen] = useState(() => ({ hash: window.location.hash }));
  useEffect(() => {
    const onChange = () => setSeen({ hash: window.location.hash });
    window.addEventListener('hashchange', onChange);
    // Effects run after the first paint: an address that changed before this listener
    // existed (a link opened while the app was starting) is caught up with here.
    if (window.location.hash !== seen.hash) onChange();
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return useMemo(() => parseHash(seen.hash), [seen]);
}

export function navigate(path) {
  const target = path.startsWith('#') ? path : '#' + path;
  if (window.location.hash === target) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else window.location.hash = target;
}

/**
 * Replace the hash without adding a history entry (e.g. filters in the URL). A screen
 * rewrites only its own address: when the address has already moved to another screen
 * (a link followed while the screen's effects were pending), it is left alone, so the
 * move is not undone.
 */
export function replaceHash(path) {
  const target = path.startsWith('#') ? path : '#' + path;
  if (window.location.hash === target) return;
  if (parseHash(target).screen !== parseHash().screen) return;
  const url = window.location.pathname + window.location.search + target;
  window.history.replaceState(window.history.state, '', url);
}

export const issueHref = (id, tab) => '#/issue/' + encodeURIComponent(id) + (tab ? '/' + tab : '');

// ---------------------------------------------------------------- UI signals
/** Cross-component requests (open palette, focus search, show help). */
export const uiStore = createStore({ palette: false, help: false, focusSearch: 0 });
