import { chmod, mkdir, open, readdir, readFile, stat, unlink } from 'node:fs/promises';
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

/**
 * Holds the embedded store for this process. PGlite is one process's database: a second process
 * opening the same directory (an operator command while the server runs) works on its own copy in
 * memory, and what it writes is lost or, worse, reported done while the server goes on without it
 * (a revoked key still answering). A lock file with the holder's pid refuses the second opener with
 * a message; a lock left by a process that died (kill -9) is taken over.
 * @returns a function that releases the lock
 */
export async function lockDataDir(dir: string): Promise<() => Promise<void>> {
  const file = `${dir}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(file, 'wx', 0o600);
      await fh.writeFile(String(process.pid));
      await fh.close();
      return () => unlink(file).catch(() => undefined);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new Error(`the embedded store ${dir} is in use by another process (pid ${pid}): stop it first (PGlite serves one process at a time; use PostgreSQL to run commands beside a live server)`);
      }
      await unlink(file).catch(() => undefined);
    }
  }
  throw new Error(`could not lock the embedded store ${dir}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
