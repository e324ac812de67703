// The single place in the UI that turns an HTML string into DOM nodes.
//
// Everything else renders text. The Markdown preview is the exception: the backend's
// render_markdown command renders Markdown in Python and sanitises the result (an allow-list
// of formatting tags; no scripts, styles, images, iframes, event handlers or javascript:
// links). Only that command's `html` result may be passed here — never user text, log text,
// AI replies or any other string.

// The sanitiser keeps one inline style: table-cell alignment, written exactly as
// <th style="text-align:right">. The page's CSP forbids inline styles (even while parsing), so
// that attribute becomes a class before the fragment is parsed. Text cannot contain "<td",
// because the sanitiser escapes "<" in text.
const CELL_ALIGN = /<(t[hd])\s+style="text-align:\s*(left|right|center);?"/g;

/**
 * Replace `el`'s children with the backend-sanitised HTML fragment `html`.
 *
 * The fragment is parsed inside an inert <template> (nothing in it runs or loads) and then
 * moved into `el`.
 * @param {Element} el
 * @param {string} html  the `html` field of a render_markdown result
 */
export function setSanitisedHtml(el, html) {
  const fragment = String(html == null ? '' : html).replace(CELL_ALIGN, '<$1 class="align-$2"');
  const tpl = document.createElement('template');
  tpl.innerHTML = fragment; // backend-sanitised HTML only (see the note at the top)
  for (const node of tpl.content.querySelectorAll('[style]')) node.removeAttribute('style');
  el.replaceChildren(tpl.content);
}
