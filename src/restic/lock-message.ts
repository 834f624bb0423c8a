/**
 * restic's "already locked" text (internal/restic/lock.go: alreadyLockedError + Lock.String), the
 * same in 0.14..0.18:
 *   unable to create lock in backend: repository is already locked [exclusively ]by PID 14211
 *   on vm by root (UID 0, GID 0)
 *   lock was created at 2026-11-29 14:47:29 (2.463665123s ago)
 *   storage ID e8b1f42a
 */
export interface LockHolder {
  pid: number;
  hostname: string;
  username: string | null;
  exclusive: boolean;
  /** `2026-11-29 14:47:29` as restic printed it (the lock creator's local time), or null. */
  createdAt: string | null;
  /** Go duration text such as `2.46s ago`, or null. */
  age: string | null;
  storageId: string | null;
}

const HOLDER_RE = /already locked (exclusively )?by PID (\d+) on (\S+)(?: by ([^\n(]+?))?(?: \(UID|\s*$)/m;
const CREATED_RE = /lock was created at ([0-9-]+ [0-9:]+) \(([^)]*?) ago\)/;
const STORAGE_RE = /storage ID ([0-9a-f]+)/;

/** Parse who holds the lock from restic's stderr text; null when the text has no lock message. */
export function parseLockMessage(text: string): LockHolder | null {
  const m = HOLDER_RE.exec(text);
  if (!m) return null;
  const created = CREATED_RE.exec(text);
  return {
    pid: Number(m[2]),
    hostname: m[3] ?? '',
    username: m[4]?.trim() || null,
    exclusive: Boolean(m[1]),
    createdAt: created?.[1] ?? null,
    age: created?.[2] ? shortDuration(created[2]) : null,
    storageId: STORAGE_RE.exec(text)?.[1] ?? null,
  };
}

/** `2.463665123s` -> `2.5s`, `42.7s` -> `43s`; hours/minutes kept as restic printed them. */
function shortDuration(go: string): string {
  return go.replace(/(\d+)\.(\d+)s$/, (_, a: string, b: string) => {
    const n = Number(`${a}.${b}`);
    return `${n < 10 ? n.toFixed(1) : Math.round(n)}s`;
  });
}

/** `restic PID 14211 on host "vm" (user root), since 2026-11-29 14:47:29 (2.5s ago)` */
export function describeLockHolder(l: LockHolder): string {
  const who = `restic PID ${l.pid} on host "${l.hostname}"${l.username ? ` (user ${l.username})` : ''}${l.exclusive ? ' (exclusive lock)' : ''}`;
  const since = l.createdAt ? `, since ${l.createdAt}${l.age ? ` (${l.age} ago)` : ''}` : '';
  return `${who}${since}`;
}
