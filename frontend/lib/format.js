// Formatting helpers: backend times are UTC "YYYY-MM-DD HH:MM:SS".

let dateDisplay = 'local';

/** 'local' | 'utc' — follows the `date_display` setting. */
export function setDateDisplay(mode) {
  dateDisplay = mode === 'utc' ? 'utc' : 'local';
}
export function getDateDisplay() {
  return dateDisplay;
}

const pad = (n) => String(n).padStart(2, '0');

/** Parse a backend UTC timestamp into a Date (or null). */
export function parseUtc(s) {
  if (!s || typeof s !== 'string') return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?/.exec(s.trim());
  if (!m) return null;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +(m[4] || 0), +(m[5] || 0), +(m[6] || 0)));
  return Number.isNaN(d.getTime()) ? null : d;
}

function parts(d) {
  if (dateDisplay === 'utc') {
    return {
      y: d.getUTCFullYear(), mo: d.getUTCMonth(), d: d.getUTCDate(),
      h: d.getUTCHours(), mi: d.getUTCMinutes(), s: d.getUTCSeconds(),
    };
  }
  return {
    y: d.getFullYear(), mo: d.getMonth(), d: d.getDate(),
    h: d.getHours(), mi: d.getMinutes(), s: d.getSeconds(),
  };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "2025-03-04 14:05" in the user's zone (or "… UTC"). */
export function formatDateTime(s, { seconds = false } = {}) {
  const d = s instanceof Date ? s : parseUtc(s);
  if (!d) return '—';
  const p = parts(d);
  const base = `${p.y}-${pad(p.mo + 1)}-${pad(p.d)} ${pad(p.h)}:${pad(p.mi)}${seconds ? ':' + pad(p.s) : ''}`;
  return dateDisplay === 'utc' ? base + ' UTC' : base;
}

/** "Mar 4, 2025" */
export function formatDate(s) {
  const d = s instanceof Date ? s : parseUtc(s);
  if (!d) return '—';
  const p = parts(d);
  return `${MONTHS[p.mo]} ${p.d}, ${p.y}`;
}

/** Calendar day label for "YYYY-MM-DD" strings (no zone shift). */
export function formatDay(day, { withYear = false } = {}) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day || '');
  if (!m) return day || '';
  const label = `${MONTHS[+m[2] - 1]} ${+m[3]}`;
  return withYear ? `${label}, ${m[1]}` : label;
}

/** "just now", "5 min ago", "3 h ago", "yesterday", "12 d ago", or a date. */
export function relativeTime(s, now = Date.now()) {
  const d = s instanceof Date ? s : parseUtc(s);
  if (!d) return '';
  const diff = Math.round((now - d.getTime()) / 1000);
  const future = diff < 0;
  const a = Math.abs(diff);
  let txt;
  if (a < 45) return future ? 'in a moment' : 'just now';
  if (a < 3600) txt = `${Math.round(a / 60)} min`;
  else if (a < 86400) txt = `${Math.round(a / 3600)} h`;
  else if (a < 86400 * 2 && !future) return 'yesterday';
  else if (a < 86400 * 45) txt = `${Math.round(a / 86400)} d`;
  else return formatDate(d);
  return future ? `in ${txt}` : `${txt} ago`;
}

/** A <input type=datetime-local> value -> backend UTC string, per date_display. */
export function inputToUtc(value) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(value || '');
  if (!m) return null;
  const args = [+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0)];
  const d = dateDisplay === 'utc' ? new Date(Date.UTC(...args)) : new Date(...args);
  if (Number.isNaN(d.getTime())) return null;
  return (
    `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
  );
}

/** Current time as a datetime-local input value, per date_display. */
export function nowForInput() {
  const p = parts(new Date());
  return `${p.y}-${pad(p.mo + 1)}-${pad(p.d)}T${pad(p.h)}:${pad(p.mi)}`;
}

/** Hours -> "45 min", "3.2 h", "2 d 4 h". */
export function formatDuration(hours) {
  if (hours == null || !Number.isFinite(hours)) return '—';
  if (hours * 60 < 1) return '< 1 min';
  if (hours < 1) return `${Math.round(hours * 60)} min`;
  if (hours < 48) return `${hours < 10 ? hours.toFixed(1).replace(/\.0$/, '') : Math.round(hours)} h`;
  const d = Math.floor(hours / 24);
  const h = Math.round(hours - d * 24);
  return h ? `${d} d ${h} h` : `${d} d`;
}

export function shortId(id) {
  if (!id) return '';
  const s = String(id);
  return s.length > 8 ? s.slice(-8) : s;
}

export function plural(n, one, many = one + 's') {
  return `${n} ${n === 1 ? one : many}`;
}

export function capitalize(s) {
  s = String(s || '');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export function humanize(s) {
  return capitalize(String(s || '').replace(/_/g, ' '));
}

export const SEVERITIES = ['critical', 'high', 'medium', 'low'];
export const STATUSES = ['open', 'investigating', 'resolved', 'closed'];

export const SEVERITY_LABEL = { critical: 'Critical', high: 'High', medium: 'Medium', low: 'Low' };
export const STATUS_LABEL = {
  open: 'Open',
  investigating: 'Investigating',
  resolved: 'Resolved',
  closed: 'Closed',
};

/** Split a snippet marked with U+E000/U+E001 into [{text, hit}] segments. */
export function splitMarks(text) {
  const out = [];
  let buf = '';
  let hit = false;
  for (const ch of String(text || '')) {
    if (ch === '\uE000' || ch === '\uE001') {
      if (buf) out.push({ text: buf, hit });
      buf = '';
      hit = ch === '\uE000';
    } else {
      buf += ch;
    }
  }
  if (buf) out.push({ text: buf, hit });
  return out;
}

/** Simple fuzzy match: all query chars in order. Returns a score or -1. */
export function fuzzyScore(query, text) {
  const q = query.toLowerCase().trim();
  const t = text.toLowerCase();
  if (!q) return 0;
  const idx = t.indexOf(q);
  if (idx >= 0) return 1000 - idx * 2 - (t.length - q.length) * 0.1;
  let ti = 0;
  let score = 0;
  let streak = 0;
  for (const ch of q) {
    if (ch === ' ') continue;
    const found = t.indexOf(ch, ti);
    if (found < 0) return -1;
    streak = found === ti ? streak + 1 : 0;
    score += 10 + streak * 5 - Math.min(found - ti, 10);
    if (found === 0 || t[found - 1] === ' ') score += 8;
    ti = found + 1;
  }
  return score;
}

/** Object -> short "k: v, k: v" summary. */
export function summarizeDetails(details, max = 110) {
  if (details == null) return '';
  if (typeof details !== 'object') return String(details).slice(0, max);
  const bits = [];
  if (typeof details.description === 'string' && details.description) bits.push(details.description);
  const add = (k, v) => {
    if (v == null || v === '' || k === 'description') return;
    let val;
    if (typeof v === 'object') val = Array.isArray(v) ? `[${v.map(String).join(', ')}]` : '{…}';
    else val = String(v);
    if (val.length > 40) val = val.slice(0, 39) + '…';
    bits.push(`${k}: ${val}`);
  };
  for (const [k, v] of Object.entries(details)) {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k2, v2] of Object.entries(v)) add(k2, v2);
    } else {
      add(k, v);
    }
  }
  const s = bits.join(', ');
  return s.length > max ? s.slice(0, max - 1) + '…' : s;
}
