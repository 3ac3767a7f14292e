/**
 * Makes the file system fail at one file or folder the way a full disk or a read-only mount does.
 * The real `fs.promises` functions are wrapped and the bot's ESM imports of them are re-bound
 * (`syncBuiltinESMExports`), so the production write path and its error handling run unchanged:
 * the error comes from exactly where the operating system would report it.
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
  const real = promises[operation];
  const hit = (arg: unknown) => typeof arg === 'string' && (arg === target || arg.startsWith(target + sep));
  let hits = 0;
  promises[operation] = async (...args: unknown[]) => {
    const path = args.slice(0, operation === 'writeFile' ? 1 : 2).find(hit) as string | undefined;
    if (path === undefined) return real(...args);
    hits++;
    if (operation === 'writeFile' && code === 'ENOSPC') {
      const data = String(args[1]);
      await real(path, data.slice(0, Math.floor(data.length / 2)));
    }
    throw errorFor(code, operation, path);
  };
  syncBuiltinESMExports();
  return {
    get hits() {
      return hits;
    },
    clear() {
      promises[operation] = real;
      syncBuiltinESMExports();
    },
  };
}
