/**
 * Which repositories have a restic of this agent running right now. Injected (one instance owned
 * by the app), never a module singleton. Lock handling asks it before `restic unlock` (C06).
 */
export class ActiveRepositories {
  private readonly active = new Map<symbol, string>();
  private readonly checks = new Map<string, Promise<unknown>>();

  /**
   * Run `fn` (a stale-lock check and `restic unlock`) while no other check of this agent runs on
   * `repositoryKey` (C31: two jobs of one repository started at once; exactly one removes a
   * stale lock, the other then sees the first one's live lock). Resolves with fn's result.
   */
  async serialize<T>(repositoryKey: string, fn: () => Promise<T>): Promise<T> {
    const before = this.checks.get(repositoryKey) ?? Promise.resolve();
    const mine = before.catch(() => undefined).then(fn);
    const tail = mine.catch(() => undefined);
    this.checks.set(repositoryKey, tail);
    try {
      return await mine;
    } finally {
      if (this.checks.get(repositoryKey) === tail) this.checks.delete(repositoryKey);
    }
  }

  /** Record that a restic of ours runs on `repositoryKey`; returns the token to pass to leave(). */
  enter(repositoryKey: string): symbol {
    const token = Symbol(repositoryKey);
    this.active.set(token, repositoryKey);
    return token;
  }

  /** The restic run identified by `token` ended. */
  leave(token: symbol): void {
    this.active.delete(token);
  }

  /** True when a restic of ours other than `self` runs on `repositoryKey`. */
  othersRunning(repositoryKey: string, self?: symbol): boolean {
    for (const [token, key] of this.active) {
      if (key === repositoryKey && token !== self) return true;
    }
    return false;
  }

  /** How many restic runs of ours are active (all repositories). */
  get size(): number {
    return this.active.size;
  }
}
