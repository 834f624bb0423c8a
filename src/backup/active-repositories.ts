/**
 * Which repositories have a restic of this agent running right now. Injected (one instance owned
 * by the app), never a module singleton. Lock handling asks it before `restic unlock` (C06).
 */
export class ActiveRepositories {
  private readonly active = new Map<symbol, string>();

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
