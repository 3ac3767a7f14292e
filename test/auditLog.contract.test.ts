import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileAuditLog } from '../src/store/auditFile.js';
import { auditLogContract } from './support/auditLogContract.js';

auditLogContract('files', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'psb-audit-contract-'));
  const log = FileAuditLog.in(dir);
  return {
    // The bot is the only writer of its data folder: one log, read and written twice.
    instances: [log, log],
    async tamper(partnerTenantId, seq, edit) {
      const path = log.pathOf(partnerTenantId);
      const lines = (await readFile(path, 'utf8')).split('\n').filter(Boolean);
      const at = lines.findIndex((line) => JSON.parse(line).seq === seq);
      if (edit === 'remove') lines.splice(at, 1);
      else lines[at] = lines[at]!.replace(/"name":"[^"]*"/, '"name":"Someone Else"');
      await writeFile(path, `${lines.join('\n')}\n`);
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
});
