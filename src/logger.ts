import { pino, type DestinationStream, type Logger } from 'pino';

/**
 * Structured JSON logs, on stdout unless told otherwise (the tests write each bot's log to a file).
 * Nothing logs activity text or card data, where keys travel.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = { level, base: { app: 'partner-setup-bot' } };
  return destination ? pino(options, destination) : pino(options);
}
