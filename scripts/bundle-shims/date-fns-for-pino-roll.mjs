// What pino-roll (lib/utils.js) takes from date-fns, from date-fns's per-function ES modules:
// pino-roll's `require('date-fns')` would load the whole CommonJS index (some 300 modules, ~100 ms
// of every agent start); bundled through this file, esbuild keeps these five and what they use.
// Used only by scripts/bundle-cli.mjs (an onResolve rule for `date-fns` imported by pino-roll).
export { addDays } from 'date-fns/addDays';
export { addHours } from 'date-fns/addHours';
export { format } from 'date-fns/format';
export { isValid } from 'date-fns/isValid';
export { parse } from 'date-fns/parse';
