// Backend -> UI events.
//
// Desktop: the window dispatches `tftsr:event` CustomEvents with detail {name, payload}.
// Browser: Server-Sent Events from /api/events, one named event per backend event name,
// JSON data. They are read with fetch() rather than EventSource, because EventSource cannot
// send the Authorization header (and there is no cookie); the stream reconnects by itself.

import { desktopMode, authHeaders } from './commands.js';

/** Known event names (every event reaches '*' subscribers). */
export const EVENT_NAMES = ['issue_changed', 'settings_changed'];

const RECONNECT_MS = [1000, 2000, 5000, 10000];
const handlers = new Map(); // name -> Set<fn>
let streaming = false;
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

/** Hand each complete event in `text` to its handlers; return what is left over. */
function deliver(text) {
  let rest = text.replace(/\r\n?/g, '\n');
  let end;
  while ((end = rest.indexOf('\n\n')) >= 0) {
    const block = rest.slice(0, end);
    rest = rest.slice(end + 2);
    let name = 'message';
    const data = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) name = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (!data.length) continue; // a comment (keep-alive)
    const body = parse(data.join('\n'));
    if (name !== 'message') dispatch(name, body);
    else if (body && typeof body.name === 'string') dispatch(body.name, body.payload ?? null);
  }
  return rest;
}

async function readStream() {
  const resp = await fetch('/api/events', {
    headers: { Accept: 'text/event-stream', ...authHeaders() },
    cache: 'no-store',
    credentials: 'omit',
  });
  if (!resp.ok || !resp.body) return false;
  const reader = resp.body.getReader();
  const decoder = new TextDecoder();
  let pending = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return true;
    pending = deliver(pending + decoder.decode(value, { stream: true }));
  }
}

function startStream() {
  if (streaming || typeof fetch === 'undefined') return;
  streaming = true;
  (async () => {
    let failures = 0;
    for (;;) {
      let opened = false;
      try {
        opened = await readStream();
      } catch (_) {
        opened = false;
      }
      failures = opened ? 0 : failures + 1;
      const wait = RECONNECT_MS[Math.min(failures, RECONNECT_MS.length - 1)];
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  })();
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
  else startStream();
  return () => {
    const set = handlers.get(name);
    if (set) set.delete(fn);
  };
}

