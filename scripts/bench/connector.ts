/**
 * The Bot Framework connector at the activities' serviceUrl, reduced to what a benchmark needs:
 * POST /v3/conversations/:id/activities[/:id] answers 200 {id}. It counts what it receives and
 * keeps a sample of the bodies so that the replies can be checked.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export class BenchConnector {
  received = 0;
  /** Every `sampleEvery`-th body, newest last, at most `sampleLimit` of them. */
  samples: string[] = [];
  sampleEvery = 50;
  private readonly sampleLimit = 20;
  private server?: Server;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const sample = ++this.received % this.sampleEvery === 1;
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => sample && chunks.push(chunk));
      req.on('end', () => {
        if (sample) {
          this.samples.push(Buffer.concat(chunks).toString('utf8'));
          if (this.samples.length > this.sampleLimit) this.samples.shift();
        }
        if (!/^\/v3\/conversations\/[^/]+\/activities/.test(req.url ?? '')) {
          res.writeHead(404);
          res.end();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: randomUUID() }));
      });
    });
    this.server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
    return this;
  }

  /** Forgets the samples and the count, before a phase whose replies are checked. */
  clear(): void {
    this.received = 0;
    this.samples = [];
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
