/**
 * The composition root: builds every part from the configuration, a clock and a logger, so tests
 * can build the whole bot on a temporary folder and a fake clock.
 */
import type { AddressInfo } from 'node:net';
import type { Activity, TurnContext } from 'botbuilder';
// The adapter's own request handling fixes the activity's dates this way; requests are read here instead.
import { validateAndFixActivity } from 'botbuilder/lib/activityValidator.js';
import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import restify from 'restify';
import { z } from 'zod';
import { Conversations } from './bot/conversations.js';
import { ReusedConnectorsAuthentication } from './bot/reusedConnectors.js';
import { TeamsOfferChannel } from './bot/offerChannel.js';
import { PartnerSetupBot } from './bot/partnerSetupBot.js';
import { ChatMessenger } from './bot/messenger.js';
import { reminderMessage } from './bot/reminderMessages.js';
import type { Commerce } from './commerce/commerce.js';
import { EmbeddedCommerce } from './commerce/embeddedCommerce.js';
import { createKeyHasher, ensureSameSecret, loadKeyHashSecret } from './commerce/keyHasher.js';
import type { Config } from './config.js';
import { DelegationService } from './delegation/delegationService.js';
import { messagesFor } from './i18n/index.js';
import { PartnerService } from './partners/partnerService.js';
import { DeliveryQueue } from './reminders/deliveryQueue.js';
import { ReminderService } from './reminders/reminderService.js';
import { ReminderScheduler } from './reminders/scheduler.js';
import { RenewalService } from './renewals/renewalService.js';
import { AccountService } from './setups/accountService.js';
import { runReleaseSweep } from './setups/releaseJob.js';
import { notifyResumedCreations } from './setups/resumeNotices.js';
import { SetupService } from './setups/setupService.js';
import { AuditTrail } from './partners/auditTrail.js';
import { serviceUrlMatcher } from './domain/serviceUrl.js';
import { authenticator, dropRestOfBody, MessagesAdapter, readJsonBody } from './http.js';
import { openStore, type OpenedStore } from './store/open.js';
import type { LifecycleDays } from './domain/lifecycle.js';
import type { Repositories } from './store/repositories.js';

export interface AppOptions {
  config: Config;
  log: Logger;
  now?: () => Date;
  /** Replaces the embedded commerce default (a real backend, or a test double). */
  commerce?: Commerce;
}

export interface App {
  server: restify.Server;
  /** What the bot keeps, behind the repositories (for tools and tests that look at it). */
  repositories: Repositories;
  store: OpenedStore['kind'];
  embeddedCommerce: EmbeddedCommerce;
  setups: SetupService;
  delegation: DelegationService;
  reminders: ReminderService;
  renewals: RenewalService;
  scheduler: ReminderScheduler;
  /** Releases ran-out reservations, expires offers and sends pending notices now; the schedule calls the same. */
  sweep(): Promise<number>;
  start(): Promise<{ url: string }>;
  stop(): Promise<void>;
}

const MAX_FIELD_LENGTH = 2000;
/** Teams' activities are far smaller; a card payload with 25 keys and long fields stays well below. */
const MAX_BODY_BYTES = 256 * 1024;

/** The parts of an incoming activity the adapter relies on before any of the bot's code runs. */
const ActivityShape = z.looseObject({
  type: z.string().min(1).max(100),
  serviceUrl: z.string().max(2000).optional(),
  locale: z.string().max(100).optional(),
});

/** Opens the store first (on the files: takes the data folder's lock before anything else). */
export async function createApp(options: AppOptions): Promise<App> {
  const lifecycle = { graceDays: options.config.GRACE_DAYS, deprovisionDays: options.config.DEPROVISION_DAYS };
  const store = await openStore(options.config, lifecycle, options.log);
  try {
    return await assemble(options, store, lifecycle);
  } catch (error) {
    await store.close();
    throw error;
  }
}

async function assemble({ config, log, now = () => new Date(), commerce }: AppOptions, store: OpenedStore, lifecycle: LifecycleDays): Promise<App> {
  const { repositories } = store;
  // On PostgreSQL the secret comes from KEY_HASH_SECRET (openStore insists): nothing is written to DATA_DIR.
  const keyHashSecret = await loadKeyHashSecret(config.DATA_DIR, config.KEY_HASH_SECRET);
  const hashKey = createKeyHasher(keyHashSecret);
  // Every instance and the key CLI must hash keys alike: a different secret is refused here.
  await ensureSameSecret(repositories.keyCatalog, keyHashSecret);
  const embeddedCommerce = await EmbeddedCommerce.open(repositories, hashKey, now, log, lifecycle, config.OFFER_DAYS);
  const backend: Commerce = commerce ?? embeddedCommerce;
  const audit = new AuditTrail(repositories.partners, store.auditLog, now, config.AUDIT_RETENTION_DAYS, log);
  const setups = new SetupService(
    repositories,
    backend,
    hashKey,
    now,
    {
      reservationDays: config.RESERVATION_DAYS,
      retentionDays: config.SETUP_RETENTION_DAYS,
      maxKeysPerSetup: 25,
      maxFieldLength: MAX_FIELD_LENGTH,
      guessLimit: config.GUESS_LIMIT,
      guessWindowMinutes: config.GUESS_WINDOW_MINUTES,
      guessLockMinutes: config.GUESS_LOCK_MINUTES,
    },
    log,
    audit,
    // The files belong to this one process (the data folder lock); a database may be shared.
    { soleInstance: !store.shared },
  );
  await setups.reconcile();
  const accounts = new AccountService(repositories, backend, setups, now, log, audit);
  const partners = new PartnerService(repositories, now, audit);

  const auth = new ReusedConnectorsAuthentication(
    config.localMode
      ? {}
      : {
          MicrosoftAppId: config.MicrosoftAppId,
          MicrosoftAppPassword: config.MicrosoftAppPassword,
          MicrosoftAppType: config.MicrosoftAppType,
          MicrosoftAppTenantId: config.MicrosoftAppTenantId,
        },
  );
  const adapter = new MessagesAdapter(auth);
  adapter.onTurnError = async (context: TurnContext, error: unknown) => {
    log.error({ err: error, type: context.activity.type }, 'unhandled turn error');
    await context.sendActivity(messagesFor(context.activity.locale).t.notice.failed).catch(() => undefined);
  };
  const serviceUrlAllowed = serviceUrlMatcher(config.serviceUrlAllow);
  const conversations = new Conversations(partners, adapter, config.MicrosoftAppId ?? '', log, serviceUrlAllowed);
  const messenger = new ChatMessenger(conversations);
  const offers = new TeamsOfferChannel(partners, conversations, lifecycle);
  const delegation = new DelegationService(repositories, backend, offers, now, config.OFFER_DAYS, log, audit);
  const queue = new DeliveryQueue(repositories.outbox, (conversation, activity) => conversations.deliver(conversation, activity), {
    sendsPerSecond: config.REMINDER_SENDS_PER_SECOND,
    maxAttempts: config.REMINDER_MAX_ATTEMPTS,
    retryBaseMs: config.REMINDER_RETRY_BASE_MS,
    leaseMs: config.REMINDER_SEND_LEASE_SECONDS * 1000,
  });
  const reminders = new ReminderService(repositories, queue, reminderMessage(conversations, lifecycle), now, lifecycle, log, audit);
  const renewals = new RenewalService(repositories, backend, setups, now, lifecycle, log, audit);
  await renewals.resumePending();
  await renewals.resumeApplying();
  const scheduler = new ReminderScheduler(config.REMINDER_CRON, (zones) => reminders.run(zones), log);
  const bot = new PartnerSetupBot({ setups, accounts, partners, delegation, reminders, renewals, audit, lifecycle, conversations, log, isNotSaved: store.notSaved, maxFieldLength: MAX_FIELD_LENGTH });
  // Creations a crash interrupted are finished before the first turn, and their owners told.
  await notifyResumedCreations(await accounts.resumeInterrupted(), messenger, log);

  const server = restify.createServer({ name: 'partner-setup-bot', handleUncaughtExceptions: false });
  // No body parser: restify's would also take multipart uploads (to the temp folder, past any limit), before the token is checked.
  const authenticate = authenticator(auth, log);
  server.post('/api/messages', async (req, res) => {
    const body = await readJsonBody(req, MAX_BODY_BYTES);
    if (!body.ok) {
      res.send(body.status, { error: { code: body.code, message: body.message } });
      dropRestOfBody(req);
      return;
    }
    req.body = body.value;
    const shape = ActivityShape.safeParse(body.value);
    if (!shape.success) {
      res.send(400, { error: { code: 'BadArgument', message: `not an activity: ${shape.error.issues[0]?.path.join('.') || 'body'} ${shape.error.issues[0]?.message}` } });
      return;
    }
    const activity = validateAndFixActivity(body.value as Activity);
    const authenticated = await authenticate(activity, req.header('authorization') ?? '');
    if (!authenticated.ok) {
      res.send(authenticated.status, { error: { code: authenticated.code, message: authenticated.message } });
      return;
    }
    // Replies go to the activity's serviceUrl: only to the hosts the configuration allows.
    if (activity.serviceUrl !== undefined && !serviceUrlAllowed(activity.serviceUrl)) {
      log.warn({ serviceUrlLength: activity.serviceUrl.length }, 'activity from a serviceUrl outside SERVICE_URL_ALLOW refused');
      res.send(403, { error: { code: 'Forbidden', message: 'serviceUrl is not allowed (SERVICE_URL_ALLOW)' } });
      return;
    }
    try {
      const answer = await adapter.processAuthenticated(authenticated.result, activity, (context) => store.withinTurn(() => bot.run(context)));
      res.send(answer?.status ?? 200, answer?.body);
    } catch (error) {
      // A turn's own errors are answered by onTurnError; this is the adapter failing around it.
      log.error({ err: error }, 'activity could not be processed');
      res.send(500, { error: { code: 'InternalError', message: 'the activity could not be processed' } });
    }
  });
  server.get('/healthz', async (_req, res) => {
    // Ready only while a change can be saved: every turn that saves would fail otherwise.
    const reason = await store.notReady();
    res.send(reason ? 503 : 200, reason ? { status: 'not ready', reason } : { status: 'ok' });
  });

  // One sweep at a time: a scheduled one that meets a running one joins it instead of sending twice.
  let running: Promise<number> | undefined;
  // Each step on its own: one that fails (a backend that is down, a file that cannot be written)
  // is logged and tried again at the next sweep, and does not hold up the others, the reminders above all.
  const step = async <T>(name: string, run: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await run();
    } catch (error) {
      log.error({ err: error, step: name }, 'sweep step failed');
      return undefined;
    }
  };
  // The sweep's work runs on one instance at a time (the runner lock: on PostgreSQL another instance
  // takes over when its holder dies); every instance keeps its own reminder schedule in step.
  const maintain = async () => {
    const exclusive = await repositories.runnerLock.runExclusive('sweep', async () => {
      const released = await step('release reservations', () => runReleaseSweep(setups, messenger, log));
      // Work a failed write left half done in a turn is finished here, not only at the next start.
      await step('finish account creations', async () => notifyResumedCreations(await accounts.resumeInterrupted(), messenger, log));
      await step('finish renewals and keys for existing customers', async () => (await renewals.resumePending()) + (await renewals.resumeApplying()));
      await step('expire offers, take back rights of unsaved acceptances', () => delegation.sweep());
      await step('scheduled switches', async () => {
        for (const { tenantId, byId, customer, subscription } of await renewals.runScheduled()) await messenger.tell(tenantId, byId, { kind: 'switchRan', customer, subscription });
      });
      // Reminders a failed send left queued go out now; new ones wait for their zone's schedule.
      await step('queued reminders', () => reminders.deliverQueued());
      await step('outbox retention', () => reminders.pruneOutbox());
      await step('audit retention', () => audit.prune());
      return released ?? 0;
    });
    await step('reminder schedule', async () => scheduler.sync(await reminders.timeZones()));
    return exclusive.ran ? exclusive.result : 0;
  };
  const sweep = () => (running ??= maintain().finally(() => (running = undefined)));
  let job: ScheduledTask | undefined;
  let startupRun: Promise<unknown> = Promise.resolve();

  return {
    server,
    repositories,
    store: store.kind,
    embeddedCommerce,
    setups,
    delegation,
    reminders,
    renewals,
    scheduler,
    sweep,
    async start() {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.PORT, config.host, () => resolve());
      });
      const { port } = server.address() as AddressInfo;
      job = cron.schedule(config.RELEASE_CRON, () => void sweep().catch((error) => log.error({ err: error }, 'release sweep failed')));
      // A run at start-up catches up on what was due while the bot was down.
      startupRun = sweep()
        .then(() => reminders.run())
        .catch((error) => log.error({ err: error }, 'start-up run failed'));
      return { url: `http://${config.host}:${port}` };
    },
    async stop() {
      await job?.stop();
      await scheduler.stop();
      await startupRun;
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await store.close();
    },
  };
}
