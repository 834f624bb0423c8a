/**
 * ssh options for sftp repositories (cases C27, C35). restic starts `ssh [-p port] [-l user] host
 * -s sftp` itself (internal/backend/sftp/config.go + sftp.go `buildSSHCommand`, restic 0.14); a
 * server that asks for a password or never answers leaves that ssh waiting forever. Passing our
 * own `-o sftp.command=...` with the same host, user and port plus BatchMode (never prompt),
 * ConnectTimeout and ServerAlive* (a silent server ends the connection) makes ssh fail instead.
 */

export interface SftpTarget {
  user: string | null;
  host: string;
  port: string | null;
}

/**
 * Host, user and port of a restic sftp URL (`sftp:user@host:/path` or
 * `sftp://user@host:port//path`), or null when `url` is not an sftp URL restic would accept.
 */
export function parseSftpUrl(url: string): SftpTarget | null {
  const u = url.trim();
  if (u.startsWith('sftp://')) {
    const rest = u.slice('sftp://'.length);
    const slash = rest.indexOf('/');
    if (slash <= 0) return null;
    let authority = rest.slice(0, slash);
    let user: string | null = null;
    const at = authority.lastIndexOf('@');
    if (at >= 0) {
      user = decodeURIComponent(authority.slice(0, at));
      authority = authority.slice(at + 1);
    }
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(authority);
    if (!m?.[1]) return null;
    return { user: user || null, host: m[1].replace(/^\[|\]$/g, ''), port: m[2] ?? null };
  }
  if (u.startsWith('sftp:')) {
    const rest = u.slice('sftp:'.length);
    const colon = rest.indexOf(':');
    if (colon <= 0) return null;
    const authority = rest.slice(0, colon);
    const at = authority.lastIndexOf('@');
    const host = at >= 0 ? authority.slice(at + 1) : authority;
    if (!host) return null;
    return { user: at > 0 ? authority.slice(0, at) : null, host, port: null };
  }
  return null;
}

/** Characters restic's command-line splitter would treat specially; such a target is left alone. */
const UNSAFE = /[\s"'\\]/;

/**
 * restic global arguments (`-o sftp.command=...`) for `repositoryUrl`, or [] when it is not an
 * sftp URL (or holds characters we will not quote). `connectTimeoutSeconds` bounds the TCP connect
 * and the ssh handshake; ServerAliveInterval 15 x 4 ends a connection silent for about a minute.
 */
export function sftpCommandArgs(repositoryUrl: string, connectTimeoutSeconds = 30): string[] {
  const t = parseSftpUrl(repositoryUrl);
  if (!t || UNSAFE.test(t.host) || (t.user !== null && UNSAFE.test(t.user))) return [];
  const parts = ['ssh'];
  if (t.port) parts.push('-p', t.port);
  if (t.user) parts.push('-l', t.user);
  parts.push(
    '-o',
    'BatchMode=yes',
    '-o',
    `ConnectTimeout=${Math.max(1, Math.round(connectTimeoutSeconds))}`,
    '-o',
    'ServerAliveInterval=15',
    '-o',
    'ServerAliveCountMax=4',
    t.host,
    '-s',
    'sftp',
  );
  return ['-o', `sftp.command=${parts.join(' ')}`];
}
