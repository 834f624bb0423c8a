/**
 * A bounded rate per key (issue 19 point 2: "a bounded rate per channel"): at most `limit` takes
 * per sliding `windowMs`. Keeps at most `limit` timestamps per key.
 */
export class RateLimiter {
  private readonly taken = new Map<number | string, number[]>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number,
  ) {}

  /** 0 when allowed now (and counted); else the ms until a slot frees (nothing counted). */
  take(key: number | string): number {
    const t = this.now();
    const list = (this.taken.get(key) ?? []).filter((x) => t - x < this.windowMs);
    if (list.length >= this.limit) {
      this.taken.set(key, list);
      return Math.max(1, this.windowMs - (t - list[0]!));
    }
    list.push(t);
    this.taken.set(key, list);
    return 0;
  }
}
