/**
 * Coalesces the lookups that the operations of one batched transaction make at the same moment
 * (the unit of work runs them concurrently): they become one `= ANY(…)` query per kind of lookup
 * instead of one statement each. A statement costs far more in protocol handling than one row more
 * in a result, so under load this is most of the cost of an authorization lookup.
 *
 * Lives as long as its transaction and caches nothing: a key asked for after a flush is fetched
 * again, so no operation ever sees a row older than its own query would have returned.
 */
export class Lookups {
  private pending = new Map<string, Group>();
  private scheduled = false;

  /**
   * Resolves with what `fetch` returned for `key`, or undefined when it returned nothing for it.
   * Callers asking under the same `group` must pass the same `fetch` (the first one is used).
   */
  load<T>(group: string, key: string, fetch: (keys: string[]) => Promise<Map<string, T>>): Promise<T | undefined> {
    return new Promise<T | undefined>((resolve, reject) => {
      let g = this.pending.get(group);
      if (!g) this.pending.set(group, (g = { fetch: fetch as Group['fetch'], waiters: new Map() }));
      const waiter = { resolve: resolve as (v: unknown) => void, reject };
      const list = g.waiters.get(key);
      if (list) list.push(waiter);
      else g.waiters.set(key, [waiter]);
      if (!this.scheduled) {
        this.scheduled = true;
        // After the current turn: every operation of the batch has reached its first lookup by then.
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const groups = this.pending;
    this.pending = new Map();
    for (const g of groups.values()) {
      g.fetch([...g.waiters.keys()]).then(
        (found) => {
          for (const [key, list] of g.waiters) for (const w of list) w.resolve(found.get(key));
        },
        (err: unknown) => {
          for (const list of g.waiters.values()) for (const w of list) w.reject(err);
        },
      );
    }
  }
}

interface Group {
  fetch: (keys: string[]) => Promise<Map<string, unknown>>;
  waiters: Map<string, { resolve: (v: unknown) => void; reject: (e: unknown) => void }[]>;
}
