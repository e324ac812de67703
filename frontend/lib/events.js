// Backend -> UI events.
//
// Desktop: the window dispatches `tftsr:event` CustomEvents with detail {name, payload}.
// Browser: Server-Sent Events from /api/events (same origin, cookie auth), one named
// event per backend event name, JSON data.

import { desktopMode } from './commands.js';

/** Known event names, so '*' subscribers in browser mode still hear them. */
export const EVENT_NAMES = ['issue_changed', 'settings_changed'];

const handlers = new Map(); // name -> Set<fn>
const sseNames = new Set();
let source = null;
let desktopHooked = false;

function dispatch(name, payload) {
  for (const key of [name, '*']) {
    const set = handlers.get(key);
    if (!set) continue;
    for (const fn of [...set]) {
      try {
        fn(payload, name);
      } catch (err) {
        console.error('event handler failed', name, err);
      }
    }
  }
}

function hookDesktop() {
  if (desktopHooked) return;
  desktopHooked = true;
  window.addEventListener('tftsr:event', (e) => {
    const d = e && e.detail;
    if (d && typeof d.name === 'string') dispatch(d.name, d.payload ?? null);
  });
}

function parse(data) {
  if (!data) return null;
  try {
    return JSON.parse(data);
  } catch (_) {
    return null;
  }
}

function ensureSource() {
  if (source || typeof EventSource === 'undefined') return source;
  try {
    source = new EventSource('/api/events');
  } catch (_) {
    source = null;
    return null;
  }
  source.onmessage = (e) => {
    // Unnamed events may carry {name, payload}.
    const body = parse(e.data);
    if (body && typeof body.name === 'string') dispatch(body.name, body.payload ?? null);
  };
  return source;
}

function listenSse(name) {
  if (name === '*' || sseNames.has(name)) return;
  const es = ensureSource();
  if (!es) return;
  sseNames.add(name);
  es.addEventListener(name, (e) => dispatch(name, parse(e.data)));
}

/**
 * Subscribe to a backend event ('*' for all). Returns an unsubscribe function.
 * @param {string} name
 * @param {(payload: any, name: string) => void} fn
 */
export function on(name, fn) {
  if (!handlers.has(name)) handlers.set(name, new Set());
  handlers.get(name).add(fn);
  if (desktopMode) hookDesktop();
  else if (name === '*') EVENT_NAMES.forEach(listenSse);
  else listenSse(name);
  return () => {
    const set = handlers.get(name);
    if (set) set.delete(fn);
  };
}

