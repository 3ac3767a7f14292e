/** All configuration, read once from the environment and validated; nothing else reads process.env. */
import cron from 'node-cron';
import { z } from 'zod';
import { parseServiceUrlPattern, TEAMS_SERVICE_URLS } from './domain/serviceUrl.js';

const optionalText = z.preprocess((value) => (value === '' ? undefined : value), z.string().trim().min(1).optional());
const count = (fallback: number, min = 1, max = 100_000) => z.coerce.number().int().min(min).max(max).default(fallback);
const cronRule = (expression: string | undefined) => expression === undefined || cron.validate(expression);
const CRON_MESSAGE = { message: 'is not a valid cron expression (five fields, e.g. "*/15 * * * *")' };
const cronExpression = (fallback: string) => z.string().trim().default(fallback).refine(cronRule, CRON_MESSAGE);
/** The sweep's default: on a shared database every minute, so an instance takes a dead one's scheduled work over within a minute. */
const SWEEP_CRON = { files: '*/15 * * * *', database: '* * * * *' };

const EnvSchema = z
  .object({
    PORT: count(3978, 0, 65_535),
    HOST: optionalText,
    DATA_DIR: z.string().trim().min(1).default('./data'),
    /** The PostgreSQL database, shared by every instance; never shown in messages, it may hold a password. */
    DATABASE_URL: optionalText.refine((url) => url === undefined || /^postgres(ql)?:\/\/[^/?#\s]/.test(url), { message: 'must be a postgres:// or postgresql:// URL naming a host' }),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    MicrosoftAppId: optionalText,
    MicrosoftAppPassword: optionalText,
    MicrosoftAppType: z.enum(['SingleTenant', 'MultiTenant', 'UserAssignedMSI']).default('SingleTenant'),
    MicrosoftAppTenantId: optionalText,
    KEY_HASH_SECRET: z.preprocess((value) => (value === '' ? undefined : value), z.string().min(32, 'must have at least 32 characters').optional()),
    RESERVATION_DAYS: count(14, 1, 365),
    SETUP_RETENTION_DAYS: count(30, 1, 3650),
    GUESS_LIMIT: count(10, 1, 1000),
    GUESS_WINDOW_MINUTES: count(60, 1, 10_080),
    GUESS_LOCK_MINUTES: count(60, 1, 10_080),
    RELEASE_CRON: optionalText.refine(cronRule, CRON_MESSAGE),
    OFFER_DAYS: count(90, 1, 730),
    REMINDER_CRON: cronExpression('0 9 * * *'),
    REMINDER_SENDS_PER_SECOND: z.coerce.number().positive().max(50).default(4),
    REMINDER_MAX_ATTEMPTS: count(5, 1, 20),
    REMINDER_RETRY_BASE_MS: count(1000, 1, 600_000),
    /** How long an instance holds a claimed proactive message; another takes it over after that if the first died. */
    REMINDER_SEND_LEASE_SECONDS: count(60, 1, 3600),
    GRACE_DAYS: count(30, 1, 365),
    DEPROVISION_DAYS: count(120, 2, 730),
    DEMO_KEY_COUNT: count(3, 0, 20),
    STORE_RESIDENT_PARTNERS: count(256, 1, 100_000),
    AUDIT_RETENTION_DAYS: count(730, 1, 36_500),
    SERVICE_URL_ALLOW: z.preprocess((value) => (typeof value === 'string' && value.trim() !== '' ? value.split(/[\s,]+/).filter(Boolean) : undefined), z.array(z.string()).optional()),
  })
  .superRefine((env, ctx) => {
    for (const pattern of env.SERVICE_URL_ALLOW ?? []) {
      const parsed = parseServiceUrlPattern(pattern);
      if (typeof parsed === 'string' && parsed !== '*') ctx.addIssue({ code: 'custom', path: ['SERVICE_URL_ALLOW'], message: parsed });
    }
    if (env.DEPROVISION_DAYS <= env.GRACE_DAYS) ctx.addIssue({ code: 'custom', path: ['DEPROVISION_DAYS'], message: 'must be greater than GRACE_DAYS' });
    if (!env.MicrosoftAppId) return;
    if (env.MicrosoftAppType !== 'UserAssignedMSI' && !env.MicrosoftAppPassword) ctx.addIssue({ code: 'custom', path: ['MicrosoftAppPassword'], message: 'is required when MicrosoftAppId is set' });
    if (env.MicrosoftAppType !== 'MultiTenant' && !env.MicrosoftAppTenantId) ctx.addIssue({ code: 'custom', path: ['MicrosoftAppTenantId'], message: `is required when MicrosoftAppType is ${env.MicrosoftAppType}` });
  });

export type Config = Omit<z.infer<typeof EnvSchema>, 'RELEASE_CRON'> & {
  /** When the sweep runs (released reservations, interrupted work, queued reminders): RELEASE_CRON, or SWEEP_CRON's default for the store. */
  RELEASE_CRON: string;
  /** No bot credentials: anonymous requests, loopback only. */
  localMode: boolean;
  host: string;
  /** Origins replies and proactive messages may go to (SERVICE_URL_ALLOW, or its default). */
  serviceUrlAllow: string[];
};

export class ConfigError extends Error {}

export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.') || '(environment)'}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}\nSee .env.example for every variable.`);
  }
  const localMode = !parsed.data.MicrosoftAppId;
  // Anonymous requests are only acceptable from this machine.
  const host = localMode ? '127.0.0.1' : (parsed.data.HOST ?? '0.0.0.0');
  // With credentials, only Teams' own hosts unless told otherwise; a local bot talks to any test connector.
  const serviceUrlAllow = parsed.data.SERVICE_URL_ALLOW ?? (localMode ? ['*'] : TEAMS_SERVICE_URLS);
  const RELEASE_CRON = parsed.data.RELEASE_CRON ?? (parsed.data.DATABASE_URL ? SWEEP_CRON.database : SWEEP_CRON.files);
  return { ...parsed.data, RELEASE_CRON, localMode, host, serviceUrlAllow };
}
