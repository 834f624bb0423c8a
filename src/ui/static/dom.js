// DOM and formatting helpers. Everything is built with createElement/textContent (never innerHTML
// with data), so names and paths from the config cannot inject markup.

/** el('div', {class: 'x', dataset: {testid: 'y'}}, child, 'text') */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k === 'onclick') node.addEventListener('click', v);
    else if (k === 'class') node.className = v;
    else if (k in node && typeof v !== 'string') node[k] = v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat())
    if (c !== null && c !== undefined && c !== false) node.append(c instanceof window.Node ? c : String(c));
  return node;
}

export const $ = (id) => document.getElementById(id);

/** 1536 -> "1.5 KiB" (binary units, as restic prints). */
export function formatBytes(n) {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${v >= 10 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

/** 3725 -> "1 h 2 min"; rounds first, so 899.6 s is "15 min 0 s", never "14 min 60 s". */
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '–';
  const s = Math.round(Math.abs(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  return `${Math.floor(h / 24)} days`;
}

/** A value for display: '–' for null, undefined, NaN and '' (the UI never shows "null"). */
export function show(v) {
  if (v === null || v === undefined || v === '' || (typeof v === 'number' && !Number.isFinite(v))) return '–';
  return String(v);
}

/** "Tue 22:00" for a time within a week, else the date. */
export function formatShort(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '–';
  const week = 6 * 24 * 3600 * 1000;
  return Math.abs(Date.now() - d.getTime()) < week
    ? d.toLocaleString(undefined, { weekday: 'short', hour: '2-digit', minute: '2-digit' })
    : d.toLocaleString(undefined, { dateStyle: 'medium' });
}

/** An ISO time as local date and time; '–' for null. */
export function formatTime(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '–';
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** "in 3 h" / "5 min ago" next to an absolute time. */
export function formatRelative(iso, now = Date.now()) {
  if (!iso) return '';
  const diff = (new Date(iso).getTime() - now) / 1000;
  const text = formatDuration(Math.abs(diff));
  return diff >= 0 ? `in ${text}` : `${text} ago`;
}

/** "5 s ago" for a moment known to be past (never "in 0 s" when it is this very moment). */
export function formatAgo(iso, now = Date.now()) {
  if (!iso) return '';
  return `${formatDuration(Math.max(0, (now - new Date(iso).getTime()) / 1000))} ago`;
}

/** The CSS status class of a run status (never run = 'never'). */
export function statusClass(status) {
  return `st-${status ?? 'never'}`;
}

/** "Failed" / "Never run"; with a symbol so colour is never the only signal. */
export function statusLabel(status) {
  return status ? status.charAt(0).toUpperCase() + status.slice(1) : 'Never run';
}

const SYMBOLS = { success: '✓', partial: '!', failed: '✗', interrupted: '✗', cancelled: '–', running: '↻' };
/** The status symbol shown before its label (aria-hidden: the label says it). */
export function statusSymbol(status) {
  return SYMBOLS[status] ?? '○';
}

/** Opens a <dialog> modally (inert background, Escape closes) and returns focus afterwards. */
export function openDialog(dialog) {
  const back = document.activeElement;
  dialog.addEventListener(
    'close',
    () => {
      // A refresh may have replaced the opener (the job cards are re-rendered): focus its successor.
      const to =
        back instanceof HTMLElement && !back.isConnected && back.dataset.testid
          ? document.querySelector(`[data-testid="${back.dataset.testid}"]`)
          : back;
      if (to instanceof HTMLElement) to.focus();
    },
    { once: true },
  );
  for (const b of dialog.querySelectorAll('[data-close]')) b.onclick = () => dialog.close();
  dialog.showModal();
  const first = dialog.querySelector('input, select, textarea, button');
  if (first) first.focus();
}

/**
 * Replaces the children of `node`, skipping null, undefined and false (an optional part left out),
 * so no "null" text node is ever made: DOM's own replaceChildren(null) inserts the text "null".
 */
export function fill(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}
