import pino, { type Logger } from 'pino';

/** JSON logs to stderr; level from BARISTA_LOG_LEVEL (default `info`). Tokens are redacted wherever they appear. */
export function createLogger(name: string, level = process.env.BARISTA_LOG_LEVEL ?? 'info'): Logger {
  return pino(
    {
      name,
      level,
      redact: { paths: ['token', '*.token', 'authorization', '*.authorization', 'headers.authorization'], censor: '[redacted]' },
    },
    pino.destination(2),
  );
}
