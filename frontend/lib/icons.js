// Small stroke icon set and the TFTSR logo, drawn as inline SVG elements.

import { h } from '../vendor/htm-preact/standalone.module.js';

const P = (d) => h('path', { d });
const C = (cx, cy, r) => h('circle', { cx, cy, r });
const R = (x, y, w, hh, rx = 1.5) => h('rect', { x, y, width: w, height: hh, rx });

const SHAPES = {
  dashboard: () => [R(3, 3, 7.5, 7.5), R(13.5, 3, 7.5, 7.5), R(3, 13.5, 7.5, 7.5), R(13.5, 13.5, 7.5, 7.5)],
  plus: () => [P('M12 5v14M5 12h14')],
  history: () => [P('M3.5 12a8.5 8.5 0 1 0 2.5-6'), P('M3 4v4h4'), P('M12 7.5V12l3 2')],
  shield: () => [P('M12 3l7.5 3v5.5c0 4.6-3.1 8.3-7.5 9.5-4.4-1.2-7.5-4.9-7.5-9.5V6z'), P('M8.8 12l2.2 2.2 4.3-4.4')],
  settings: () => [
    P('M4 6h9M17 6h3M4 12h3M11 12h9M4 18h11M19 18h1'),
    C(15, 6, 2), C(9, 12, 2), C(17, 18, 2),
  ],
  search: () => [C(11, 11, 6.5), P('M16 16l4.5 4.5')],
  sun: () => [C(12, 12, 4), P('M12 2.5v2M12 19.5v2M4.6 4.6l1.4 1.4M18 18l1.4 1.4M2.5 12h2M19.5 12h2M4.6 19.4L6 18M18 6l1.4-1.4')],
  moon: () => [P('M20 14.5A8.5 8.5 0 1 1 9.5 4a6.8 6.8 0 0 0 10.5 10.5z')],
  command: () => [P('M9 6a3 3 0 1 0-3 3h12a3 3 0 1 0-3-3v12a3 3 0 1 0 3-3H6a3 3 0 1 0 3 3z')],
  trash: () => [P('M4 7h16M10 11v6M14 11v6M6 7l1 13h10l1-13M9 7V4h6v3')],
  edit: () => [P('M4 20h4L19.5 8.5a2.1 2.1 0 0 0-3-3L5 17z'), P('M14.5 7.5l3 3')],
  up: () => [P('M6 15l6-6 6 6')],
  down: () => [P('M6 9l6 6 6-6')],
  right: () => [P('M9 6l6 6-6 6')],
  left: () => [P('M15 6l-6 6 6 6')],
  check: () => [P('M5 12.5l4.5 4.5L19 7.5')],
  x: () => [P('M6 6l12 12M18 6L6 18')],
  target: () => [C(12, 12, 8.5), C(12, 12, 5), C(12, 12, 1.5)],
  alert: () => [P('M12 3.5l9.5 16.5h-19z'), P('M12 10v4.5M12 17.3v.2')],
  info: () => [C(12, 12, 9), P('M12 11v5.5M12 7.6v.2')],
  activity: () => [P('M3 12h4l3-8 4 16 3-8h4')],
  note: () => [P('M5 4h14v11l-5 5H5z'), P('M14 20v-5h5M8.5 9h7M8.5 12.5h4')],
  wrench: () => [P('M14.5 6.5a4 4 0 0 0 5 5L13 18a2.1 2.1 0 0 1-3-3l6.5-6.5a4 4 0 0 0-2-2z'), P('M10 15L4 21')],
  bell: () => [P('M6 16V11a6 6 0 0 1 12 0v5l1.5 2h-15z'), P('M10 20.5a2 2 0 0 0 4 0')],
  users: () => [C(9, 8.5, 3.5), P('M2.5 20a6.5 6.5 0 0 1 13 0'), P('M15.5 5.2a3.5 3.5 0 0 1 0 6.6M18 14.5a6.5 6.5 0 0 1 3.5 5.5')],
  heart: () => [C(12, 12, 9), P('M8 12.5l2.8 2.8L16.5 9.5')],
  eye: () => [P('M2 12s3.6-7 10-7 10 7 10 7-3.6 7-10 7S2 12 2 12z'), C(12, 12, 3)],
  dots: () => [C(5.5, 12, 1.2), C(12, 12, 1.2), C(18.5, 12, 1.2)],
  play: () => [P('M7 4.5v15l12-7.5z')],
  refresh: () => [P('M20 11a8 8 0 0 0-14.6-4.5L3.5 9'), P('M3.5 4v5h5'), P('M4 13a8 8 0 0 0 14.6 4.5l1.9-2.5'), P('M20.5 20v-5h-5')],
  layers: () => [P('M12 3l9 5-9 5-9-5z'), P('M3 12.5l9 5 9-5'), P('M3 17l9 5 9-5')],
  upload: () => [P('M12 15V4M7.5 8.5L12 4l4.5 4.5'), P('M4 15v4h16v-4')],
  download: () => [P('M12 4v11M7.5 10.5L12 15l4.5-4.5'), P('M4 15v4h16v-4')],
  file: () => [P('M6 3h8l4 4v14H6z'), P('M14 3v4h4M9 12h6M9 16h6')],
  copy: () => [R(8, 8, 12, 12, 2), P('M16 8V5a1 1 0 0 0-1-1H5a1 1 0 0 0-1 1v10a1 1 0 0 0 1 1h3')],
  keyboard: () => [R(2.5, 6, 19, 12, 2), P('M6 10h.5M9.5 10h.5M13 10h.5M16.5 10h1M6 13.8h.5M16.5 13.8h1M9.5 13.8h5')],
  database: () => [h('ellipse', { cx: 12, cy: 5.5, rx: 7.5, ry: 2.8 }), P('M4.5 5.5v13c0 1.5 3.4 2.8 7.5 2.8s7.5-1.3 7.5-2.8v-13'), P('M4.5 12c0 1.5 3.4 2.8 7.5 2.8s7.5-1.3 7.5-2.8')],
  folder: () => [P('M3 6.5A1.5 1.5 0 0 1 4.5 5H9l2 2.5h8.5A1.5 1.5 0 0 1 21 9v9.5a1.5 1.5 0 0 1-1.5 1.5h-15A1.5 1.5 0 0 1 3 18.5z')],
  key: () => [C(8, 15, 4), P('M11 12l8.5-8.5M16 7l2.5 2.5M14 9l2 2')],
  flag: () => [P('M5 21V4M5 4h11l-2 4 2 4H5')],
  clock: () => [C(12, 12, 9), P('M12 7v5l3.5 2')],
  monitor: () => [R(3, 4, 18, 12, 2), P('M8 20h8M12 16v4')],
  link: () => [P('M10 14a4 4 0 0 0 5.7 0l3-3a4 4 0 0 0-5.7-5.7L11.5 6.8'), P('M14 10a4 4 0 0 0-5.7 0l-3 3a4 4 0 0 0 5.7 5.7l1.5-1.5')],
};

/** An icon as a Preact element. */
export function Icon({ name, size = 16, label, class: cls = '' }) {
  const shape = SHAPES[name] || SHAPES.dots;
  return h(
    'svg',
    {
      class: 'icon ' + cls,
      width: size,
      height: size,
      viewBox: '0 0 24 24',
      fill: 'none',
      stroke: 'currentColor',
      'stroke-width': 1.8,
      'stroke-linecap': 'round',
      'stroke-linejoin': 'round',
      'aria-hidden': label ? undefined : 'true',
      role: label ? 'img' : undefined,
      'aria-label': label || undefined,
      focusable: 'false',
    },
    shape(),
  );
}

/** The TFTSR mark: a lens over a pulse trace on a rounded tile. */
export function Logo({ size = 28 }) {
  return h(
    'svg',
    {
      class: 'logo',
      width: size,
      height: size,
      viewBox: '0 0 32 32',
      role: 'img',
      'aria-label': 'TFTSR',
      focusable: 'false',
    },
    [
      h('rect', { class: 'logo-tile', x: 1, y: 1, width: 30, height: 30, rx: 8 }),
      h('circle', { class: 'logo-lens', cx: 14, cy: 14, r: 7.5 }),
      h('path', { class: 'logo-pulse', d: 'M8.2 14.5h2.6l1.6-3.6 2.6 6.6 1.6-3h2.2' }),
      h('path', { class: 'logo-handle', d: 'M19.6 19.6l5.2 5.2' }),
    ],
  );
}

/** Icon per timeline event type. */
export const EVENT_ICON = {
  note: 'note',
  mitigation_applied: 'wrench',
  escalated: 'bell',
  customer_notified: 'users',
  service_restored: 'heart',
  monitoring: 'eye',
  other: 'dots',
  triage_started: 'play',
  status_changed: 'refresh',
  why_level_advanced: 'layers',
  root_cause_identified: 'target',
  issue_updated: 'edit',
  log_uploaded: 'upload',
  rca_generated: 'file',
  postmortem_generated: 'file',
  document_exported: 'download',
  created: 'flag',
};
