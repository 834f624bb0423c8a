// Whether the agent answers. Any failed request (network error or 5xx from a proxy) marks it down:
// a banner says since when, every control is disabled (the #controls fieldset), and a probe of
// GET /health every RETRY_MS brings it back by itself. The first good answer clears it.
import { $, formatTime, formatAgo, fill } from './dom.js';

export const RETRY_MS = 3000;

const state = { down: false, since: null, timer: null, onBack: () => {}, onChange: () => {}, lastOk: null };

/** Called whenever the agent goes down or comes back (the app re-renders its pages). */
export function onChange(fn) {
  state.onChange = fn;
}

/** Called when the agent answers again (the app reloads everything). */
export function onReconnect(fn) {
  state.onBack = fn;
}

export function isDown() {
  return state.down;
}

function render() {
  const banner = $('agent-down');
  $('controls').disabled = state.down;
  document.body.dataset.agent = state.down ? 'down' : 'up';
  banner.hidden = !state.down;
  if (!state.down) return;
  const live = $('live');
  live.textContent = 'agent not answering';
  live.classList.remove('on');
  fill(
    banner,
    Object.assign(document.createElement('strong'), { textContent: 'The backup agent is not answering' }),
    document.createTextNode(
      ` since ${formatTime(state.since)} (${formatAgo(state.since)}). What you see below is from ${state.lastOk ? formatTime(state.lastOk) : 'before'} and may be out of date; buttons are off until it answers. Trying again every ${RETRY_MS / 1000} s…`,
    ),
  );
}

async function probe() {
  try {
    const res = await fetch('/health', { cache: 'no-store' });
    if (res.ok) {
      markUp();
      state.onBack();
      return;
    }
  } catch {
    // still down
  }
  render();
  state.timer = setTimeout(probe, RETRY_MS);
}

/** A request failed at the network level: the agent is down (idempotent). */
export function markDown() {
  if (state.down) return;
  state.down = true;
  state.since = new Date().toISOString();
  render();
  state.onChange();
  clearTimeout(state.timer);
  state.timer = setTimeout(probe, RETRY_MS);
}

/** A request succeeded. */
export function markUp() {
  state.lastOk = new Date().toISOString();
  if (!state.down) return;
  state.down = false;
  clearTimeout(state.timer);
  render();
  state.onChange();
}
