#!/usr/bin/env node
/* global process, console, setTimeout, URL */
// Load test of GET /status on loopback: N concurrent workers over keep-alive connections, paced
// to a target total rate, for a fixed duration; prints requests/s, error count and latency
// percentiles (ms).
//
//   node bench/api.mjs [URL] [--duration 60] [--rate 500] [--workers 16] [--token T] [--path /status]
//
// URL defaults to http://127.0.0.1:1201. Latencies are kept in a bounded array (at most
// rate * duration samples, capped at 2 million).
import http from 'node:http';
import { performance } from 'node:perf_hooks';

function parseArgs(argv) {
  const opts = { url: 'http://127.0.0.1:1201', duration: 60, rate: 500, workers: 16, token: process.env.RBACKUP2_CLIENT_API_TOKEN ?? '', path: '/status' };
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i];
    const next = () => { i += 1; if (argv[i] === undefined) throw new Error(`${a} needs a value`); return argv[i]; };
    if (a === '--duration') opts.duration = Number(next());
    else if (a === '--rate') opts.rate = Number(next());
    else if (a === '--workers') opts.workers = Number(next());
    else if (a === '--token') opts.token = next();
    else if (a === '--path') opts.path = next();
    else if (a === '--help' || a === '-h') { console.log('usage: node bench/api.mjs [URL] [--duration S] [--rate R] [--workers N] [--token T] [--path P]'); process.exit(0); }
    else if (!a.startsWith('--')) opts.url = a;
    else throw new Error(`unknown option ${a}`);
  }
  for (const k of ['duration', 'rate', 'workers']) if (!(opts[k] > 0)) throw new Error(`--${k} must be a positive number`);
  return opts;
}

function get(agent, target, headers) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = http.request({ agent, host: target.hostname, port: target.port, path: target.pathname + target.search, headers, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ ok: res.statusCode === 200, status: res.statusCode, ms: performance.now() - t0 }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ ok: false, status: 0, ms: performance.now() - t0 }));
    req.end();
  });
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const target = new URL(opts.path, opts.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.workers });
  const headers = opts.token ? { authorization: `Bearer ${opts.token}` } : {};
  const maxSamples = Math.min(2_000_000, Math.ceil(opts.rate * opts.duration * 1.1));
  const latencies = new Float64Array(maxSamples);
  let n = 0; let errors = 0; const statuses = new Map();
  const start = performance.now();
  const end = start + opts.duration * 1000;
  const interval = (1000 * opts.workers) / opts.rate; // each worker's pacing, ms
  console.log(`GET ${target.href} for ${opts.duration} s at ${opts.rate} req/s with ${opts.workers} workers`);
  const worker = async (w) => {
    let due = start + (interval * w) / opts.workers;
    while (due < end) {
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const r = await get(agent, target, headers);
      if (n < maxSamples) latencies[n] = r.ms;
      n += 1;
      if (!r.ok) errors += 1;
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      due += interval;
      if (performance.now() > due + 1000) due = performance.now(); // overloaded: don't burst to catch up
    }
  };
  await Promise.all(Array.from({ length: opts.workers }, (_, w) => worker(w)));
  const seconds = (performance.now() - start) / 1000;
  agent.destroy();
  const sorted = Array.from(latencies.subarray(0, Math.min(n, maxSamples))).sort((a, b) => a - b);
  const result = {
    requests: n, seconds: Number(seconds.toFixed(2)), requestsPerSecond: Number((n / seconds).toFixed(1)), errors,
    statuses: Object.fromEntries(statuses),
    latencyMs: { p50: Number(percentile(sorted, 50).toFixed(2)), p90: Number(percentile(sorted, 90).toFixed(2)), p99: Number(percentile(sorted, 99).toFixed(2)), max: Number((sorted[sorted.length - 1] ?? NaN).toFixed(2)) },
  };
  console.log(`requests/s: ${result.requestsPerSecond}  p99: ${result.latencyMs.p99} ms  errors: ${errors}`);
  console.log(JSON.stringify(result));
  process.exitCode = errors > 0 ? 1 : 0;
}

main().catch((err) => { console.error(`bench/api.mjs: ${err.message}`); process.exit(2); });
