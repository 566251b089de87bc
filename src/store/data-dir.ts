import { chmod, mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The data directory (embedded store, demo keys, demo mails) is its owner's alone: created 0700, and
 * put back to 0700 at every start. PGlite creates its files world-readable and world-writable (0666,
 * whatever the umask): they are tightened to 0600, directories to 0700, at every start, and the
 * directory's own 0700 keeps other users out of what it creates meanwhile.
 */
export async function secureDataDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}

/** Tightens everything under `dir`: directories 0700, files 0600 (iterative; symlinks are left alone). */
export async function tightenTree(dir: string): Promise<void> {
  const stack = [dir];
  while (stack.length > 0) {
    const d = stack.pop()!;
    await chmod(d, 0o700);
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) stack.push(path);
      else if (entry.isFile() && ((await stat(path)).mode & 0o077) !== 0) await chmod(path, 0o600);
    }
  }
}
