/**
 * Makes the file system fail at one file or folder the way a full disk or a read-only mount does.
 * The real functions are wrapped, in both forms (`fs.promises` and fs's callback form, which the
 * store's writes use), and the bot's ESM imports of them are re-bound (`syncBuiltinESMExports`), so
 * the production write path and its error handling run unchanged: the error comes from exactly
 * where the operating system would report it.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { sep } from 'node:path';

export type FaultCode = 'ENOSPC' | 'EACCES' | 'EPERM';
export type FaultyOperation = 'writeFile' | 'rename' | 'link' | 'copyFile';

const DESCRIPTIONS: Record<FaultCode, [errno: number, text: string]> = {
  ENOSPC: [-28, 'no space left on device'],
  EACCES: [-13, 'permission denied'],
  EPERM: [-1, 'operation not permitted'],
};

export interface DiskFault {
  /** How many calls failed so far. */
  readonly hits: number;
  /** Puts the real function back. */
  clear(): void;
}

function errorFor(code: FaultCode, operation: FaultyOperation, path: string): NodeJS.ErrnoException {
  const [errno, text] = DESCRIPTIONS[code];
  return Object.assign(new Error(`${code}: ${text}, ${operation} '${path}'`), { errno, code, syscall: operation, path });
}

/**
 * Every call of `operation` that names `target` (or a path under it) fails with `code`. A write
 * that runs out of space has written part of its data first, as a real one does.
 */
export function injectDiskFault(target: string, operation: FaultyOperation, code: FaultCode): DiskFault {
  const promises = fs.promises as unknown as Record<FaultyOperation, (...args: unknown[]) => Promise<unknown>>;
  const callbacks = fs as unknown as Record<FaultyOperation, (...args: unknown[]) => void>;
  const real = promises[operation];
  const realCallback = callbacks[operation];
  const hit = (arg: unknown) => typeof arg === 'string' && (arg === target || arg.startsWith(target + sep));
  const faultyPath = (args: unknown[]) => args.slice(0, operation === 'writeFile' ? 1 : 2).find(hit) as string | undefined;
  let hits = 0;
  /** The part written before the disk filled up, as a real write leaves it. */
  const partOf = (args: unknown[]) => String(args[1]).slice(0, Math.floor(String(args[1]).length / 2));
  promises[operation] = async (...args: unknown[]) => {
    const path = faultyPath(args);
    if (path === undefined) return real(...args);
    hits++;
    if (operation === 'writeFile' && code === 'ENOSPC') await real(path, partOf(args));
    throw errorFor(code, operation, path);
  };
  callbacks[operation] = (...args: unknown[]) => {
    const path = faultyPath(args);
    if (path === undefined) return realCallback(...args);
    hits++;
    const done = args.at(-1) as (error: Error) => void;
    const fail = () => done(errorFor(code, operation, path));
    if (operation === 'writeFile' && code === 'ENOSPC') realCallback(path, partOf(args), fail);
    else process.nextTick(fail);
  };
  syncBuiltinESMExports();
  return {
    get hits() {
      return hits;
    },
    clear() {
      promises[operation] = real;
      callbacks[operation] = realCallback;
      syncBuiltinESMExports();
    },
  };
}
