/**
 * restic's own repository id of each repository this agent works on (issue 18 point 3: leases,
 * fleet claims and repository state are keyed by it, so the repository of the global
 * `repository_*` settings, a `repositories` row and a second URL of the same repository are all
 * one). Read once per URL with `restic cat config --no-lock` and kept for the agent's life; calls
 * for one URL at the same time share one restic.
 */
import type { RepositoryConfig } from '../config/device-config.js';
import { catConfig } from '../restic/cat-config.js';
import type { RepositoryConnection } from '../restic/connection.js';
import type { CallOptions } from '../restic/runner.js';

/** Most URLs remembered (a runaway config cannot grow it without bound). */
const MAX_ENTRIES = 1000;

export class RepositoryIds {
  private readonly byUrl = new Map<string, Promise<string>>();

  constructor(private readonly connect: (repo: RepositoryConfig) => RepositoryConnection) {}

  /**
   * restic's id of `repo` (64 hex). Throws AppError INVALID_INPUT (no URL or password) or
   * ResticError (unreachable, wrong password, ...); a failure is not remembered.
   */
  resolve(repo: RepositoryConfig, call: CallOptions = {}): Promise<string> {
    const known = this.byUrl.get(repo.url);
    if (known) return known;
    const p = catConfig(this.connect(repo), call).then((c) => c.id);
    if (this.byUrl.size >= MAX_ENTRIES) this.byUrl.clear();
    this.byUrl.set(repo.url, p);
    p.catch(() => {
      if (this.byUrl.get(repo.url) === p) this.byUrl.delete(repo.url);
    });
    return p;
  }
}
