import { readFileSync, writeFileSync } from 'node:fs';
/** Median of a non-empty list (the mean of the two middle values for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The nearest-rank percentile `p` (0–1) of a list; 0 for an empty one. */
export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(s.length * p) - 1)] ?? 0;
}

/**
 * Puts a benchmark's section into docs/benchmarks.md: replaces the one between its
 * `<!-- name:start -->` and `<!-- name:end -->` markers (which `section` carries), or appends it.
 */
export function writeBenchmarkSection(name: string, section: string): void {
  const path = new URL('../docs/benchmarks.md', import.meta.url).pathname;
  const marked = new RegExp(`<!-- ${name}:start -->[\\s\\S]*<!-- ${name}:end -->`);
  const doc = readFileSync(path, 'utf8');
  writeFileSync(path, marked.test(doc) ? doc.replace(marked, () => section) : `${doc.trimEnd()}\n\n${section}\n`);
}
