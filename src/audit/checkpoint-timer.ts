import type { Db } from '../store/db.ts';
import type { CheckpointExporter } from './export.ts';
import { checkpointHead, type AppendOptions } from './append.ts';

interface Log {
  error(obj: object, msg: string): void;
}

/**
 * Signs a checkpoint at the head every `seconds` while events arrive (and exports it): checkpoints by
 * count alone leave a quiet platform's recent events unsigned for a long time, and an unsigned tail
 * can be cut undetected by whoever owns the database. A head already signed costs one small query.
 */
export function startCheckpointTimer(app: { db: Db; signing: Pick<AppendOptions, 'keys' | 'anchor' | 'onRefused'>; checkpoints: CheckpointExporter | null }, seconds: number, log: Log): { stop(): Promise<void> } {
  let running: Promise<unknown> = Promise.resolve();
  const tick = () => {
    running = app.db.transaction((tx) => checkpointHead(tx, { ...app.signing, now: new Date() }))
      .then((signed) => (signed ? app.checkpoints?.write([signed]) : undefined))
      .catch((err: unknown) => log.error({ type: (err as Error).name }, 'timed audit checkpoint failed; retried next tick'));
  };
  const timer = setInterval(tick, seconds * 1000);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
