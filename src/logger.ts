import { pino, type Logger } from 'pino';

/** Structured JSON logs on stdout. Nothing logs activity text or card data, where keys travel. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { app: 'partner-setup-bot' } });
}
