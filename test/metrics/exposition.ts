/**
 * A small parser of the Prometheus text exposition format 0.0.4 for tests: one sample per line
 * `name{label="value",...} value [timestamp]`, label values with `\\`, `\"` and `\n` escapes,
 * `# HELP` / `# TYPE` comments collected per metric family.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  samples: Sample[];
  /** metric family name -> type from `# TYPE`. */
  types: Map<string, string>;
}

/** Parse the whole text; throws on a line it does not understand (so a malformed body fails). */
export function parseExposition(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^#\s+TYPE\s+(\S+)\s+(\S+)$/.exec(line);
      if (m) types.set(m[1]!, m[2]!);
      continue;
    }
    samples.push(parseSampleLine(line));
  }
  return { samples, types };
}

function parseSampleLine(line: string): Sample {
  const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
  if (!nameMatch) throw new Error(`bad sample line: ${line}`);
  const name = nameMatch[0];
  let i = name.length;
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i++;
    while (line[i] !== '}') {
      const lm = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(line.slice(i));
      if (!lm) throw new Error(`bad label at ${i}: ${line}`);
      i += lm[0].length;
      let value = '';
      for (;;) {
        const c = line[i];
        if (c === undefined) throw new Error(`unterminated label value: ${line}`);
        i++;
        if (c === '"') break;
        if (c === '\\') {
          const e = line[i++];
          value += e === 'n' ? '\n' : e;
        } else value += c;
      }
      labels[lm[1]!] = value;
      if (line[i] === ',') i++;
    }
    i++;
  }
  const rest = line.slice(i).trim().split(/\s+/);
  const v = rest[0];
  if (v === undefined || rest.length > 2) throw new Error(`bad value: ${line}`);
  const value = v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : Number(v);
  if (Number.isNaN(value) && v !== 'NaN') throw new Error(`bad value: ${line}`);
  return { name, labels, value };
}

/** Samples of `name` whose labels include all of `labels`. */
export function select(exp: Exposition, name: string, labels: Record<string, string> = {}): Sample[] {
  return exp.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** The value of the single sample of `name` matching `labels`; throws when there are 0 or 2+. */
export function valueOf(exp: Exposition, name: string, labels: Record<string, string> = {}): number {
  const found = select(exp, name, labels);
  if (found.length !== 1) throw new Error(`expected one ${name}${JSON.stringify(labels)}, found ${found.length}`);
  return found[0]!.value;
}
