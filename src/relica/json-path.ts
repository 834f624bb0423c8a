/**
 * JSON paths as the Relica import prints them (`read_only.backups[3].schedule.times_of_day[0]`),
 * and a locator that names where in the document a JSON syntax error happened. JSON.parse alone
 * gives only a character position, and for some errors (`Unexpected token '}'`) not even that.
 */

export type PathSegment = string | number;

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * Dotted path of a value: `a.b[2].c`; keys that are not identifiers (UUID keys) are quoted,
 * `local.last_backups_done["2ac41143-..."]`. The empty path (the document itself) is `$`.
 */
export function formatJsonPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (IDENTIFIER.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out === '' ? '$' : out;
}

/** Where a JSON text stops being valid: path of the value being read, 1-based line and column. */
export interface JsonSyntaxLocation {
  path: string;
  line: number;
  column: number;
  problem: string;
}

class Stop extends Error {
  constructor(
    readonly pos: number,
    readonly problem: string,
  ) {
    super(problem);
  }
}

/**
 * Find the first JSON syntax error in `text` (RFC 8259 grammar) and name the path of the value
 * being read there. Returns null when the text is valid JSON. Pure; O(length); depth-bounded by
 * `maxDepth` (deeper nesting is reported as an error, never a stack overflow).
 */
export function locateJsonSyntaxError(text: string, maxDepth = 200): JsonSyntaxLocation | null {
  const path: PathSegment[] = [];
  let i = 0;
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i++;
  };
  const expect = (ch: string, what: string): void => {
    if (text[i] !== ch)
      throw new Stop(i, i >= text.length ? `file ends where ${what} was expected` : `expected ${what}`);
    i++;
  };
  const str = (): string => {
    const start = i;
    expect('"', 'a string');
    while (i < text.length && text[i] !== '"') {
      const c = text.charCodeAt(i);
      if (c < 0x20) throw new Stop(i, 'control character inside a string');
      if (text[i] === '\\') {
        const e = text[i + 1];
        if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) i += 6;
        else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else throw new Stop(i, 'invalid escape in a string');
      } else i++;
    }
    if (i >= text.length) throw new Stop(start, 'unterminated string');
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (depth: number): void => {
    if (depth > maxDepth) throw new Stop(i, `nesting deeper than ${maxDepth}`);
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        const key = str();
        ws();
        expect(':', "':' after a key");
        path.push(key);
        value(depth + 1);
        path.pop();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        expect('}', "',' or '}' in an object");
        return;
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (let n = 0; ; n++) {
        path.push(n);
        value(depth + 1);
        path.pop();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        expect(']', "',' or ']' in an array");
        return;
      }
    }
    if (c === '"') {
      str();
      return;
    }
    const lit = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i, i + 400));
    if (lit === null || /^[A-Za-z0-9.]/.test(text.slice(i + lit[0].length, i + lit[0].length + 1))) {
      if (i >= text.length) throw new Stop(i, 'file ends where a value was expected');
      throw new Stop(i, c === ']' || c === '}' ? `value expected before '${c}' (a trailing comma?)` : 'invalid value');
    }
    i += lit[0].length;
  };
  try {
    value(0);
    ws();
    if (i < text.length) throw new Stop(i, 'unexpected text after the end of the JSON document');
    return null;
  } catch (err) {
    if (!(err instanceof Stop)) throw err;
    const before = text.slice(0, err.pos);
    const line = before.split('\n').length;
    const column = err.pos - before.lastIndexOf('\n');
    return { path: formatJsonPath(path), line, column, problem: err.problem };
  }
}
