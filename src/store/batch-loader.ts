/**
 * Collects the keys asked for during one turn of the event loop and fetches them with one call
 * (the DataLoader pattern): under load, concurrent requests share one database round trip for
 * their authentication instead of paying one each. Nothing is cached across turns.
 */
export class BatchLoader<K, V> {
  private pending: { key: K; resolve: (v: V | undefined) => void; reject: (e: unknown) => void }[] = [];

  constructor(private readonly fetch: (keys: K[]) => Promise<Map<K, V>>, private readonly maxBatch = 256) {}

  load(key: K): Promise<V | undefined> {
    return new Promise((resolve, reject) => {
      this.pending.push({ key, resolve, reject });
      if (this.pending.length === 1) setImmediate(() => this.flush());
      else if (this.pending.length >= this.maxBatch) this.flush();
    });
  }

  private flush(): void {
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    this.fetch([...new Set(batch.map((b) => b.key))]).then(
      (found) => batch.forEach((b) => b.resolve(found.get(b.key))),
      (err) => batch.forEach((b) => b.reject(err)),
    );
  }
}
