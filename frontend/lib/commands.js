// The one place that talks to the backend.
//
// Desktop mode (pywebview): window.pywebview.api.call(name, args) resolves to
//   {ok: true, result} | {ok: false, error: {code, message}}.
// Browser mode (tftsr serve): POST /api/<name> with a bearer token; 200 -> result,
//   4xx/5xx -> {error: {code, message}}.
//
// The launch token arrives once in the address (?token= or #token=). It is taken out of the
// address bar at once and kept in sessionStorage, which only this origin (scheme, host and
// port) can read, so a reload keeps working; it travels only in the Authorization header.
// There is no cookie: cookies are not port-scoped, so any other program listening on
// 127.0.0.1 would receive one. Images, which an <img> loads by address, are shown through
// short-lived addresses signed for that one image (signedUrl).
//
// Every failure becomes a CommandError with a short, human `message`.

const TOKEN_KEY = 'tftsr.token';
const BRIDGE_TIMEOUT_MS = 20000;

export class CommandError extends Error {
  constructor(code, message, status = 0) {
    super(message || 'Something went wrong.');
    this.name = 'CommandError';
    this.code = code || 'internal';
    this.status = status;
  }
}

const params = new URLSearchParams(window.location.search);

/** True when running inside the pywebview window. */
export const desktopMode = params.get('mode') === 'desktop' || Boolean(window.pywebview);

let token = null;

// Take the launch token out of the address bar once, keep it for this tab only.
function captureToken() {
  const query = new URLSearchParams(window.location.search);
  const hash = window.location.hash;
  const hashParams = /^#token=/.test(hash) ? new URLSearchParams(hash.slice(1)) : null;
  const fromUrl = query.get('token') || (hashParams && hashParams.get('token'));
  try {
    if (fromUrl) sessionStorage.setItem(TOKEN_KEY, fromUrl);
    token = fromUrl || sessionStorage.getItem(TOKEN_KEY);
  } catch (_) {
    token = fromUrl || token;
  }
  if (fromUrl) {
    query.delete('token');
    const qs = query.toString();
    const clean = window.location.pathname + (qs ? '?' + qs : '') + (hashParams ? '' : hash);
    try {
      window.history.replaceState(window.history.state, '', clean);
    } catch (_) {
      /* non-fatal: the token stays in the address bar */
    }
  }
}
captureToken();
// A #token= link opened in a tab already showing the app changes only the fragment.
window.addEventListener('hashchange', () => {
  if (/^#token=/.test(window.location.hash)) captureToken();
});

/** Whether a launch token is known (browser mode). */
export function hasToken() {
  return Boolean(token);
}

/** Headers that authorise a request to this backend (used by lib/upload.js). */
export function authHeaders() {
  return token ? { Authorization: 'Bearer ' + token } : {};
}

function firstLine(text) {
  const s = String(text == null ? '' : text).trim();
  const line = s.split('\n')[0];
  return line.length > 300 ? line.slice(0, 297) + '…' : line;
}

function toError(raw, status = 0) {
  if (raw && typeof raw === 'object') {
    return new CommandError(String(raw.code || 'internal'), firstLine(raw.message) || 'Unknown error.', status);
  }
  return new CommandError('internal', firstLine(raw) || 'Unknown error.', status);
}

// ---------------------------------------------------------------- desktop
let bridgePromise = null;

function bridgeReady() {
  const api = window.pywebview && window.pywebview.api;
  if (api && typeof api.call === 'function') return Promise.resolve(api);
  if (!bridgePromise) {
    bridgePromise = new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        bridgePromise = null;
        reject(new CommandError('unavailable', 'The desktop bridge did not start. Restart TFTSR.'));
      }, BRIDGE_TIMEOUT_MS);
      window.addEventListener(
        'pywebviewready',
        () => {
          clearTimeout(timer);
          resolve(window.pywebview.api);
        },
        { once: true },
      );
    });
  }
  return bridgePromise;
}

async function callDesktop(name, args) {
  const api = await bridgeReady();
  let reply;
  try {
    // The bridge has one entry point; the command name travels as data.
    reply = await api.call(name, args);
  } catch (err) {
    throw toError({ code: 'internal', message: (err && err.message) || err });
  }
  if (reply && typeof reply === 'object' && 'ok' in reply) {
    if (reply.ok) return reply.result;
    throw toError(reply.error);
  }
  return reply;
}

// ---------------------------------------------------------------- browser
async function callHttp(name, args) {
  const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
  if (token) headers.Authorization = 'Bearer ' + token;
  let resp;
  try {
    resp = await fetch('/api/' + encodeURIComponent(name), {
      method: 'POST',
      headers,
      body: JSON.stringify(args || {}),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch (_) {
    throw new CommandError('unavailable', 'Cannot reach the TFTSR backend. Is it still running?');
  }
  let body = null;
  const text = await resp.text();
  if (text) {
    try {
      body = JSON.parse(text);
    } catch (_) {
      body = null;
    }
  }
  if (resp.ok) return body;
  if (body && body.error) throw toError(body.error, resp.status);
  if (resp.status === 401) {
    throw new CommandError(
      'unauthorized',
      'This page is not authorised. Open the link that "tftsr serve" printed.',
      401,
    );
  }
  throw new CommandError('internal', `The backend answered ${resp.status} ${resp.statusText}.`.trim(), resp.status);
}

/**
 * Call a backend command.
 * @param {string} name  snake_case command name
 * @param {object} args  keyword arguments
 * @returns {Promise<any>} the result; throws CommandError
 */
export function call(name, args = {}) {
  const clean = {};
  for (const [k, v] of Object.entries(args || {})) if (v !== undefined) clean[k] = v;
  return desktopMode ? callDesktop(name, clean) : callHttp(name, clean);
}

// ---------------------------------------------------------------- signed addresses
const SIGN_BATCH = 200;
const SIGN_MARGIN_S = 30; // re-sign this long before an address expires
const signed = new Map(); // image path -> {url, until}
let signQueue = null; // Map(path -> [{resolve, reject}]) waiting for the next batch

function signBatch(queue) {
  const paths = [...queue.keys()];
  for (let i = 0; i < paths.length; i += SIGN_BATCH) {
    const chunk = paths.slice(i, i + SIGN_BATCH);
    call('sign_image_urls', { paths: chunk })
      .then((res) => {
        const until = Date.now() + Math.max(0, (res.expires_in || 0) - SIGN_MARGIN_S) * 1000;
        for (const path of chunk) {
          const url = res.urls && res.urls[path];
          if (url) signed.set(path, { url, until });
          for (const w of queue.get(path)) {
            if (url) w.resolve(url);
            else w.reject(new CommandError('not_found', 'The image address could not be signed.'));
          }
        }
      })
      .catch((err) => chunk.forEach((path) => queue.get(path).forEach((w) => w.reject(err))));
  }
}

/**
 * A short-lived address for an image path the backend listed (thumbnail_url or full_url),
 * signed for that one image; cached until shortly before it expires. Requests made in the
 * same tick are signed together.
 * @param {string} path
 * @returns {Promise<string>}
 */
export function signedUrl(path) {
  const hit = signed.get(path);
  if (hit && hit.until > Date.now()) return Promise.resolve(hit.url);
  return new Promise((resolve, reject) => {
    if (!signQueue) {
      const queue = new Map();
      signQueue = queue;
      setTimeout(() => {
        signQueue = null;
        signBatch(queue);
      }, 0);
    }
    if (!signQueue.has(path)) signQueue.set(path, []);
    signQueue.get(path).push({ resolve, reject });
  });
}

/** Drop a cached signed address (after it failed to load). */
export function forgetSignedUrl(path) {
  signed.delete(path);
}

/** Human message for anything thrown. */
export function errorMessage(err) {
  if (!err) return 'Unknown error.';
  if (err instanceof CommandError) return err.message;
  if (typeof err === 'string') return firstLine(err);
  return firstLine(err.message) || 'Unexpected error.';
}

// ---------------------------------------------------------------- typed helpers
export const api = {
  ping: (echo) => call('ping', { echo }),
  getAppInfo: () => call('get_app_info'),

  createIssue: (args) => call('create_issue', args),
  getIssue: (issue_id) => call('get_issue', { issue_id }),
  listIssues: (args) => call('list_issues', args),
  updateIssue: (issue_id, fields) => call('update_issue', { issue_id, ...fields }),
  setIssueStatus: (issue_id, status, note, moments = {}) =>
    call('set_issue_status', { issue_id, status, note: note || undefined, ...moments }),
  deleteIssue: (issue_id) => call('delete_issue', { issue_id }),
  searchIssues: (args) => call('search_issues', args),

  listFiveWhys: (issue_id) => call('list_five_whys', { issue_id }),
  addFiveWhy: (issue_id, fields) => call('add_five_why', { issue_id, ...fields }),
  updateFiveWhy: (step_id, fields) => call('update_five_why', { step_id, ...fields }),
  reorderFiveWhys: (issue_id, step_ids) => call('reorder_five_whys', { issue_id, step_ids }),
  deleteFiveWhy: (step_id) => call('delete_five_why', { step_id }),
  setRootCause: (step_id, is_root_cause) => call('set_root_cause', { step_id, is_root_cause }),

  getTimelineEvents: (issue_id) => call('get_timeline_events', { issue_id }),
  addTimelineEvent: (args) => call('add_timeline_event', args),
  deleteTimelineEvent: (event_id) => call('delete_timeline_event', { event_id }),

  getAuditLog: (args) => call('get_audit_log', args),
  verifyAudit: () => call('verify_audit'),
  exportAuditLog: (args) => call('export_audit_log', args),

  getSettings: () => call('get_settings'),
  updateSetting: (key, value) => call('update_setting', { key, value }),

  getDashboard: (days) => call('get_dashboard', { days }),
};

// Settings → MCP servers (secrets are write-only: results carry only "set" or "…abcd").
export const mcp = {
  list: () => call('list_mcp_servers'),
  get: (server_id) => call('get_mcp_server', { server_id }),
  add: (fields) => call('add_mcp_server', fields),
  update: (server_id, fields) => call('update_mcp_server', { server_id, ...fields }),
  setEnabled: (server_id, enabled) => call('set_mcp_server_enabled', { server_id, enabled }),
  remove: (server_id) => call('delete_mcp_server', { server_id }),
  discover: (server_id) => call('discover_mcp_server', { server_id }),
  callTool: (server_id, tool_name, args) => call('call_mcp_tool', { server_id, tool_name, arguments: args }),
  readResource: (server_id, uri) => call('read_mcp_resource', { server_id, uri }),
  setAlwaysAllow: (server_id, tool_name, always_allow) =>
    call('set_mcp_tool_always_allow', { server_id, tool_name, always_allow }),
};
