/**
 * Structured logging with pino. Secrets never reach a log line: fields that can carry them are
 * redacted by path, and request bodies and tokens are never logged by the server's own code.
 */
import pino, { type Logger } from 'pino';

export type { Logger };

/** Paths pino replaces with "[redacted]" wherever they appear in a logged object. */
const REDACT = [
  'password',
  'token',
  'authorization',
  '*.password',
  '*.token',
  '*.authorization',
  'req.headers.authorization',
  'handshake.auth',
  'auth.token',
];

/** Creates the server's logger. `LOG_LEVEL` sets the level (default `info`; `silent` in tests). */
export function createLogger(options: { level?: string; destination?: pino.DestinationStream } = {}): Logger {
  const level = options.level ?? process.env['LOG_LEVEL'] ?? 'info';
  return pino({ level, redact: { paths: REDACT, censor: '[redacted]' }, base: { service: 'collab-backend' } }, options.destination);
}
