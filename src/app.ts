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
import { FileAuditLog } from './store/auditFile.js';
import { AuditRecorder } from './store/auditOutbox.js';
import { openFileRepositories } from './store/files/index.js';
import { StoreWriteError } from './store/documentFile.js';
import { serviceUrlMatcher } from './domain/serviceUrl.js';
import { authenticator, dropRestOfBody, MessagesAdapter, readJsonBody } from './http.js';
import { lockDataDir, type InstanceLock } from './store/instanceLock.js';
import { removeLeftoverTemps } from './store/leftoverTemps.js';
import { JsonFileStore } from './store/store.js';

export interface AppOptions {
  config: Config;
  log: Logger;
  now?: () => Date;
  /** Replaces the embedded commerce default (a real backend, or a test double). */
  commerce?: Commerce;
}

export interface App {
  server: restify.Server;
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
/** A reminder's send claimed by an instance that died is taken over after this long. */
const REMINDER_SEND_LEASE_MS = 60_000;
/** Teams' activities are far smaller; a card payload with 25 keys and long fields stays well below. */
const MAX_BODY_BYTES = 256 * 1024;

/** The parts of an incoming activity the adapter relies on before any of the bot's code runs. */
const ActivityShape = z.looseObject({
  type: z.string().min(1).max(100),
  serviceUrl: z.string().max(2000).optional(),
  locale: z.string().max(100).optional(),
});

/** Takes the data folder for this process first: nothing is read or written before that. */
export async function createApp(options: AppOptions): Promise<App> {
  const instance = await lockDataDir(options.config.DATA_DIR);
  if (instance.tookOver) options.log.warn({ previous: { pid: instance.tookOver.pid, host: instance.tookOver.host, since: instance.tookOver.since } }, 'took over the data folder lock of a process that is gone');
  try {
    return await assemble(options, instance);
  } catch (error) {
    await instance.release();
    throw error;
  }
}

async function assemble({ config, log, now = () => new Date(), commerce }: AppOptions, instance: InstanceLock): Promise<App> {
  // Only now, holding the folder: no other bot process can be writing these.
  const leftovers = await removeLeftoverTemps(config.DATA_DIR);
  if (leftovers > 0) log.info({ removed: leftovers }, 'removed temporary files a stopped process left behind');
  const keyHashSecret = await loadKeyHashSecret(config.DATA_DIR, config.KEY_HASH_SECRET);
  const hashKey = createKeyHasher(keyHashSecret);
  const lifecycle = { graceDays: config.GRACE_DAYS, deprovisionDays: config.DEPROVISION_DAYS };
  const store = await JsonFileStore.open(config.DATA_DIR, { residentPartners: config.STORE_RESIDENT_PARTNERS });
  const auditLog = FileAuditLog.in(config.DATA_DIR);
  const recorder = new AuditRecorder(auditLog);
  // The services move onto these one by one (issue 21); they wrap the same store, so both see one state.
  const files = await openFileRepositories(config.DATA_DIR, lifecycle, store, recorder);
  // Every instance and the key CLI must hash keys alike: a different secret is refused here.
  await ensureSameSecret(files.repositories.keyCatalog, keyHashSecret);
  const embeddedCommerce = await EmbeddedCommerce.open(files.repositories, hashKey, now, log, lifecycle, config.OFFER_DAYS);
  const backend: Commerce = commerce ?? embeddedCommerce;
  const audit = new AuditTrail(files.repositories.partners, auditLog, now, config.AUDIT_RETENTION_DAYS, log);
  // Entries a crash kept from the trail are appended before any change, so none is lost or doubled.
  const recovered = await files.recoverAudit();
  if (recovered > 0) log.info({ entries: recovered }, 'audit entries recovered from outboxes');
  const setups = new SetupService(
    files.repositories,
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
    // The files belong to this one process (the data folder lock).
    { soleInstance: true },
  );
  await setups.reconcile();
  const accounts = new AccountService(files.repositories, backend, setups, now, log, audit);
  const partners = new PartnerService(files.repositories, now, audit);

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
  const delegation = new DelegationService(files.repositories, backend, offers, now, config.OFFER_DAYS, log, audit);
  const queue = new DeliveryQueue(files.repositories.outbox, (conversation, activity) => conversations.deliver(conversation, activity), {
    sendsPerSecond: config.REMINDER_SENDS_PER_SECOND,
    maxAttempts: config.REMINDER_MAX_ATTEMPTS,
    retryBaseMs: config.REMINDER_RETRY_BASE_MS,
    leaseMs: REMINDER_SEND_LEASE_MS,
  });
  const reminders = new ReminderService(files.repositories, queue, reminderMessage(conversations, lifecycle), now, lifecycle, log, audit);
  const renewals = new RenewalService(files.repositories, backend, setups, now, lifecycle, log, audit);
  await renewals.resumePending();
  await renewals.resumeApplying();
  const scheduler = new ReminderScheduler(config.REMINDER_CRON, (zones) => reminders.run(zones), log);
  const isNotSaved = (error: unknown) => error instanceof StoreWriteError;
  const bot = new PartnerSetupBot({ setups, accounts, partners, delegation, reminders, renewals, audit, lifecycle, conversations, log, isNotSaved, maxFieldLength: MAX_FIELD_LENGTH });
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
      const answer = await adapter.processAuthenticated(authenticated.result, activity, (context) => bot.run(context));
      res.send(answer?.status ?? 200, answer?.body);
    } catch (error) {
      // A turn's own errors are answered by onTurnError; this is the adapter failing around it.
      log.error({ err: error }, 'activity could not be processed');
      res.send(500, { error: { code: 'InternalError', message: 'the activity could not be processed' } });
    }
  });
  server.get('/healthz', async (_req, res) => {
    // Ready only while the data folder can be written: every turn that saves would fail otherwise.
    const writable = await instance.writable();
    res.send(writable ? 200 : 503, writable ? { status: 'ok' } : { status: 'not ready', reason: 'the data folder cannot be written' });
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
  const maintain = async () => {
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
    await step('reminder schedule', async () => scheduler.sync(await reminders.timeZones()));
    await step('outbox retention', () => reminders.pruneOutbox());
    await step('audit retention', () => audit.prune());
    return released ?? 0;
  };
  const sweep = () => (running ??= maintain().finally(() => (running = undefined)));
  let job: ScheduledTask | undefined;
  let startupRun: Promise<unknown> = Promise.resolve();

  return {
    server,
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
      await files.close();
      await instance.release();
    },
  };
}
