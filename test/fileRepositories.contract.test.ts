import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_LIFECYCLE } from '../src/domain/lifecycle.js';
import { openFileRepositories } from '../src/store/files/index.js';
import { repositoryContract } from './support/repositoryContract.js';

repositoryContract('the file store', { severalInstances: false }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'file-repos-'));
  const files = await openFileRepositories(dir, DEFAULT_LIFECYCLE);
  return {
    // One instance by design: the same store twice.
    instances: [files.repositories, files.repositories],
    close: async () => {
      await files.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
