/** Every write keeps the version it replaces as `<file>.bak`; no failure or crash loses the file or half-writes it. */
import { spawn } from 'node:child_process';
import { copyFile, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { DocumentFile, StoreWriteError } from '../src/store/documentFile.js';
import { StoreFileError } from '../src/store/jsonFile.js';
import { CounterSchema, emptyCounter } from './support/counter.js';
import { changedFiles, snapshotFiles } from './support/dataFiles.js';
import { injectDiskFault, type FaultCode, type FaultyOperation } from './support/diskFaults.js';
import { mulberry32 } from './support/random.js';

describe('backups of the database files', () => {
  let dir: string;
  let path: string;
  const open = () => DocumentFile.open(path, CounterSchema, emptyCounter);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'psb-backup-'));
    path = join(dir, 'counter.json');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('keeps exactly the previous version as <file>.bak, as a link rather than a copy', async () => {
    const doc = await open();
    await doc.update((d) => void (d.n = 1));
    expect(await readdir(dir), 'nothing to keep before the first write').to.deep.equal(['counter.json']);
    for (const n of [2, 3]) {
      const previous = await readFile(path);
      const previousInode = (await stat(path)).ino;
      await doc.update((d) => void (d.n = n));
      expect(await readFile(`${path}.bak`)).to.deep.equal(previous);
      expect((await stat(`${path}.bak`)).ino, 'the replaced file itself, not a copy').to.equal(previousInode);
      expect(JSON.parse(await readFile(path, 'utf8')).n).to.equal(n);
    }
    expect(await readdir(dir), 'no temporary files left').to.deep.equal(['counter.json', 'counter.json.bak']);
  });

  it('copies the previous version where the file system has no hard links', async () => {
    const doc = await open();
    await doc.update((d) => void (d.n = 1));
    const previous = await readFile(path);
    const fault = injectDiskFault(dir, 'link', 'EPERM');
    try {
      await doc.update((d) => void (d.n = 2));
    } finally {
      fault.clear();
    }
    expect(fault.hits).to.equal(1);
    expect(await readFile(`${path}.bak`)).to.deep.equal(previous);
    expect(JSON.parse(await readFile(path, 'utf8')).n).to.equal(2);
  });

  it('writes past temporary files a crash left, without using them', async () => {
    const doc = await open();
    await doc.update((d) => void (d.n = 1));
    const previous = await readFile(path);
    // The names earlier versions used for every write; each write now has names of its own.
    await writeFile(join(dir, '.counter.json.bak.tmp'), 'left by a crash');
    await writeFile(join(dir, '.counter.json.tmp'), 'left by a crash');
    await doc.update((d) => void (d.n = 2));
    expect(await readFile(`${path}.bak`)).to.deep.equal(previous);
    expect(JSON.parse(await readFile(path, 'utf8')).n).to.equal(2);
    expect(await readdir(dir)).to.deep.equal(['.counter.json.bak.tmp', '.counter.json.tmp', 'counter.json', 'counter.json.bak']);
  });

  const failures: Array<[string, FaultyOperation, FaultCode]> = [
    ['the disk is full while the new version is written', 'writeFile', 'ENOSPC'],
    ['the folder is read-only', 'writeFile', 'EACCES'],
    ['the backup can be neither linked nor copied', 'copyFile', 'ENOSPC'],
    ['the backup cannot be renamed into place', 'rename', 'EPERM'],
  ];
  for (const [when, operation, code] of failures) {
    it(`fails the change as a whole and changes no file when ${when} (${operation} ${code})`, async () => {
      const doc = await open();
      await doc.update((d) => void (d.n = 1));
      await doc.update((d) => void (d.n = 2));
      const before = await snapshotFiles(dir);
      const faults = [injectDiskFault(dir, operation, code)];
      if (operation === 'copyFile') faults.push(injectDiskFault(dir, 'link', 'EPERM'));
      const error = await doc.update((d) => void (d.n = 3)).catch((e: unknown) => e).finally(() => faults.forEach((f) => f.clear()));
      expect(faults[0]!.hits, 'the fault was met').to.be.above(0);
      expect(error).to.be.instanceOf(StoreWriteError);
      expect((error as StoreWriteError).message).to.include(code);
      expect(changedFiles(before, await snapshotFiles(dir)), 'files changed').to.deep.equal([]);
      expect(doc.data.n).to.equal(2);
      expect(await doc.update((d) => (d.n = 3)), 'the same change once the fault is gone').to.equal(3);
    });
  }

  it('keeps the document whole when the rename over it fails; the backup then equals it', async () => {
    const doc = await open();
    await doc.update((d) => void (d.n = 1));
    const written = await readFile(path);
    const fault = injectDiskFault(path, 'rename', 'EACCES');
    const error = await doc.update((d) => void (d.n = 2)).catch((e: unknown) => e).finally(() => fault.clear());
    expect(error).to.be.instanceOf(StoreWriteError);
    expect(await readFile(path)).to.deep.equal(written);
    expect(await readFile(`${path}.bak`)).to.deep.equal(written);
    expect(await readdir(dir)).to.deep.equal(['counter.json', 'counter.json.bak']);
  });

  it('leaves a whole document and a whole backup however a crash interrupts the writes', async function () {
    this.timeout(60_000);
    const random = mulberry32(Number(process.env.BACKUP_CRASH_SEED ?? 7));
    const doc = await open();
    await doc.update((d) => void (d.n = 1));
    await doc.update((d) => void (d.n = 2));
    let last = 2;
    for (let round = 0; round < 4; round++) {
      const writer = spawn(process.execPath, ['--import', 'tsx', 'test/support/counterWriter.ts', path], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve) => writer.stdout.once('data', () => resolve()));
      await new Promise((resolve) => setTimeout(resolve, 20 + random() * 200));
      const exited = new Promise((resolve) => writer.once('exit', resolve));
      writer.kill('SIGKILL');
      await exited;

      const main = JSON.parse(await readFile(path, 'utf8'));
      const backup = JSON.parse(await readFile(`${path}.bak`, 'utf8'));
      expect(CounterSchema.safeParse(main).success && CounterSchema.safeParse(backup).success).to.equal(true);
      expect(main.n, 'never older than before the kill').to.be.at.least(last);
      // Killed between keeping the backup and the final rename, the backup equals the document.
      expect([main.n - 1, main.n]).to.include(backup.n);
      last = main.n;
      expect((await open()).data.n, 'the next start reads it').to.equal(main.n);
    }
    expect(last, 'the writers got to write').to.be.above(6);
  });

  it('names the backup when the document is damaged, and the README steps restore it', async () => {
    await writeFile(path, '{"schemaVersion":1,"n":');
    const withoutBackup = await open().catch((e: unknown) => e);
    expect(withoutBackup).to.be.instanceOf(StoreFileError);
    expect((withoutBackup as Error).message).to.include('restore it from a backup').and.not.include('.bak');

    await rm(path);
    const doc = await open();
    await doc.update((d) => void (d.n = 1));
    await doc.update((d) => void (d.n = 2));
    await writeFile(path, 'garbage');
    const message = ((await open().catch((e: unknown) => e)) as Error).message;
    expect(message).to.include(`${path}.bak holds its previous version`);
    expect(message).to.include('copy counter.json.bak over counter.json');
    expect(await readFile(path, 'utf8'), 'the damaged file is left as it was').to.equal('garbage');

    await copyFile(`${path}.bak`, path);
    expect((await open()).data.n).to.equal(1);
  });
});
