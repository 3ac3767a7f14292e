import { spawn } from 'node:child_process';
import { expect } from 'chai';

/** Runs one PostgreSQL suite in a mocha process of its own, with no server to be had. */
function runWithoutServer(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['node_modules/mocha/bin/mocha.js', '--no-config', '--node-option', 'import=tsx', '--require', 'test/support/postgres.hooks.ts', '--timeout', '60000', 'test/postgres/connection.test.ts'],
      { env: { PATH: process.env.PATH ?? '', PG_BIN: '/nonexistent/postgresql/bin', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('the PostgreSQL test server', function () {
  this.timeout(120_000);

  it('skips the PostgreSQL suites with a one-line reason where no server can start', async () => {
    const run = await runWithoutServer({});
    expect(run.code, run.output).to.equal(0);
    expect(run.output).to.match(/\(PostgreSQL suites skipped: PostgreSQL unavailable: no PostgreSQL binaries in \/nonexistent\/postgresql\/bin .*\)\n/);
    expect(run.output).to.match(/0 passing[\s\S]*[1-9]\d* pending/).and.not.contain('failing');
  });

  it('fails them instead under CI', async () => {
    const run = await runWithoutServer({ CI: 'true' });
    expect(run.code).to.not.equal(0);
    expect(run.output).to.contain('CI must run the PostgreSQL suites');
  });
});
