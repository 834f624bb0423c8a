// An inline SVG chart for one job: bars = data added per run (left scale, bytes), line = duration
// (right scale, seconds). Built with DOM calls, so it passes the CSP (no inline script or style).
import { formatBytes, formatDuration } from './dom.js';

const NS = 'http://www.w3.org/2000/svg';

function svg(tag, attrs, text) {
  const n = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
  if (text !== undefined) n.textContent = text;
  return n;
}

/** runs: oldest first, each {durationSeconds, dataAddedBytes, startTime, status}. */
export function drawChart(runs) {
  const W = 600; const H = 160; const L = 56; const R = 56; const T = 10; const B = 20;
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'Duration and data added per run', 'data-testid': 'chart-svg' });
  if (runs.length === 0) return root;
  const maxBytes = Math.max(1, ...runs.map((r) => r.dataAddedBytes ?? 0));
  const maxDur = Math.max(1, ...runs.map((r) => r.durationSeconds ?? 0));
  const slot = Math.min(40, (W - L - R) / runs.length);
  const y = (v, max) => T + (H - T - B) * (1 - v / max);
  root.append(svg('line', { class: 'axis', x1: L, y1: H - B, x2: W - R, y2: H - B }));
  root.append(svg('text', { x: 2, y: T + 8 }, formatBytes(maxBytes)));
  root.append(svg('text', { x: W - R + 4, y: T + 8 }, formatDuration(maxDur)));
  root.append(svg('text', { x: 2, y: H - B }, '0'));
  const points = [];
  runs.forEach((r, i) => {
    const x = L + i * slot;
    const bytes = r.dataAddedBytes ?? 0;
    const rect = svg('rect', { class: 'bar-rect', x: x + slot * 0.15, y: y(bytes, maxBytes), width: Math.max(1, slot * 0.7), height: H - B - y(bytes, maxBytes) });
    rect.append(svg('title', {}, `${new Date(r.startTime).toLocaleString()}: ${formatBytes(bytes)} added, ${formatDuration(r.durationSeconds)}`));
    root.append(rect);
    if (r.durationSeconds !== null && r.durationSeconds !== undefined) points.push(`${x + slot / 2},${y(r.durationSeconds, maxDur)}`);
  });
  if (points.length > 0) root.append(svg('polyline', { class: 'line', points: points.join(' ') }));
  for (const p of points) {
    const [cx, cy] = p.split(',');
    root.append(svg('circle', { cx, cy, r: 2.5, fill: '#c2410c' }));
  }
  return root;
}
