/**
 * What a Relica import cannot carry over into rbackup2, said in words the user can act on.
 * Pure; never prints a secret (credential values other than the whitelisted plain settings).
 */
import type { RelicaBackup, RelicaDestination, RelicaState } from './state-schema.js';

/** Credential keys whose values are plain connection settings, safe to show. Others are secrets. */
const PLAIN_CREDENTIAL_KEYS: ReadonlySet<string> = new Set([
  'HOST',
  'PORT',
  'USER',
  'KEY_FILE',
  'REGION',
  'ENDPOINT',
  'BUCKET',
  'ACCOUNT',
  'PATH',
]);

/**
 * One line describing a Relica destination for a human: type, provider, plain connection settings,
 * base path, and the names (never values) of its secret credentials.
 * Example: `"Cloud" (cloud, SFTP: HOST=backup.example.com, PORT=29, USER=backup_user,
 * base path /data/backups/; secret PASS not shown)`.
 */
export function describeDestination(dest: RelicaDestination): string {
  const acct = dest.cloud_account ?? undefined;
  const plain: string[] = [];
  const secret: string[] = [];
  for (const c of acct?.credentials ?? []) {
    if (PLAIN_CREDENTIAL_KEYS.has(c.key.toUpperCase())) {
      if (typeof c.value === 'string' && c.value !== '') plain.push(`${c.key}=${c.value}`);
    } else secret.push(c.key);
  }
  const parts = [...plain];
  if (acct?.remote_base_path) parts.push(`base path ${acct.remote_base_path}`);
  const kind = [dest.type, acct?.provider_name].filter((x) => x !== undefined && x !== '').join(', ');
  const secrets = secret.length > 0 ? `; secret ${secret.join(', ')} not shown` : '';
  return `"${dest.name}" (${kind || 'unknown type'}${parts.length > 0 ? `: ${parts.join(', ')}` : ''}${secrets})`;
}

/**
 * The list of things the import leaves behind for the chosen origin's `backups`, using
 * `destinations` (the Relica destinations those backups write to, in first-use order).
 */
export function notCarriedOver(
  state: RelicaState,
  backups: readonly RelicaBackup[],
  destinations: readonly RelicaDestination[],
): string[] {
  const out: string[] = [];
  for (const d of destinations) {
    out.push(
      `cloud credentials of Relica destination ${describeDestination(d)}: rbackup2 does not use them; ` +
        'make the restic repository reachable for restic yourself (e.g. an SSH key for sftp) and give its URL and password',
    );
  }
  const peers = state.read_only.peers ?? [];
  if (peers.length > 0) {
    out.push(
      `${peers.length} Relica peer(s) (backups to other computers running Relica): not imported; set up a restic repository for each and add jobs for it`,
    );
  }
  const ids = new Set(backups.map((b) => b.id));
  const described = backups
    .flatMap((b) => b.hooks ?? [])
    .filter((h) => h.description !== undefined && h.description !== '');
  if (described.length > 0) {
    out.push(
      `descriptions of ${described.length} hook(s) (e.g. "${described[0]?.description}"): backup_hooks has no description column`,
    );
  }
  const tasks = (state.local?.recent_tasks ?? []).filter(
    (t) => typeof t.backup_id === 'string' && ids.has(t.backup_id),
  );
  if (tasks.length > 0) {
    out.push(
      `${tasks.length} entries of Relica's recent task history: not imported as runs (the snapshots themselves stay in the repository)`,
    );
  }
  return out;
}
