/**
 * A process that rewrites one document as fast as it can, for a test to kill at a random moment:
 * `node --import tsx test/support/counterWriter.ts <file>`. Each write counts `n` up and carries
 * enough padding that the kill often lands inside a write.
 */
import { DocumentFile } from '../../src/store/documentFile.js';
import { CounterSchema, emptyCounter } from './counter.js';

const path = process.argv[2];
if (!path) throw new Error('usage: counterWriter.ts <file>');
const doc = await DocumentFile.open(path, CounterSchema, emptyCounter);
const padding = 'x'.repeat(256 * 1024);
process.stdout.write('writing\n');
for (;;) await doc.update((draft) => void ((draft.n += 1), (draft.padding = padding)));
