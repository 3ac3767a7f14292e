/**
 * The baseline: a bare botbuilder echo bot (restify 11, CloudAdapter, anonymous) in a child process,
 * measured exactly like the real bot. A message is echoed to the connector; an Action.Execute invoke
 * is answered with a one-line card in the invoke response.
 */
import { send, serve } from './childMetrics.js';
import { profileStart } from './profiler.js';

async function main(): Promise<void> {
  await profileStart();
  const [{ ActivityHandler, CloudAdapter, ConfigurationBotFrameworkAuthentication, MessageFactory }, { default: restify }] = await Promise.all([import('botbuilder'), import('restify')]);
  const importsDone = performance.now();

  class EchoBot extends ActivityHandler {
    constructor() {
      super();
      this.onMessage(async (context, next) => {
        await context.sendActivity(MessageFactory.text(`You said: ${context.activity.text ?? ''}`));
        await next();
      });
    }

    protected override async onInvokeActivity(): Promise<{ status: number; body: unknown }> {
      return { status: 200, body: { statusCode: 200, type: 'application/vnd.microsoft.card.adaptive', value: { type: 'AdaptiveCard', version: '1.4', body: [{ type: 'TextBlock', text: 'echo' }] } } };
    }
  }

  const adapter = new CloudAdapter(new ConfigurationBotFrameworkAuthentication({}));
  const bot = new EchoBot();
  const server = restify.createServer({ name: 'echo-bot', handleUncaughtExceptions: false });
  server.use(restify.plugins.bodyParser({ maxBodySize: 256 * 1024, mapParams: false }));
  server.post('/api/messages', async (req, res) => {
    await adapter.process(req, res, (context) => bot.run(context));
  });
  const created = performance.now();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const listening = performance.now();
  serve({ stop: () => new Promise<void>((resolve) => server.close(() => resolve())) });
  send({
    type: 'listening',
    port: (server.address() as { port: number }).port,
    reminders: 'none',
    boot: { importsMs: importsDone, createMs: created - importsDone, listenMs: listening - created, sinceProcessStartMs: listening },
  });
}

main().catch((error: unknown) => {
  send({ type: 'failed', error: String((error as Error)?.stack ?? error) });
  setTimeout(() => process.exit(1), 50);
});
