import pino from 'pino';

export type LogLevelName = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

/** One log method: a message, or structured fields followed by an optional message. */
export interface LogFn {
  (msg: string): void;
  (fields: object, msg?: string): void;
}

/** Fields bound to a child logger. `callId` (SIP Call-ID) and `reqId` (HTTP request) are the correlation ids. */
export interface LogBindings {
  callId?: string;
  reqId?: string;
  component?: string;
  [field: string]: unknown;
}

/**
 * The logging surface every layer depends on. Core layers take a `Logger` at construction and never
 * import pino, so they can be tested with `nullLogger` or a capturing logger.
 */
export interface Logger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
  child(bindings: LogBindings): Logger;
  /** Guard for log lines that are expensive to build (e.g. a whole SIP message at debug). */
  isLevelEnabled(level: LogLevelName): boolean;
}

/** The process logger; `flush` drains buffered output before exit. */
export interface RootLogger extends Logger {
  flush(): void;
}

/** Anything with a `write(line)`: stdout by default, a capture buffer in tests. */
export interface LogDestination {
  write(line: string): void;
}

export interface LoggerOptions {
  level: LogLevelName;
  /** Added to every line so logs of several instances can be told apart. */
  instanceId?: string;
  /** Defaults to stdout (JSON lines, one per record). */
  destination?: LogDestination;
}

/** Field paths whose values never reach the log: credentials travel in SIP and HTTP headers. */
const REDACT_PATHS = [
  'password',
  '*.password',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'proxyAuthorization',
  '*.proxyAuthorization',
];

/** A pino JSON logger: ISO timestamps, textual level, redacted secrets. */
export function createLogger(options: LoggerOptions): RootLogger {
  const base: Record<string, unknown> = { pid: process.pid };
  if (options.instanceId !== undefined) base['instanceId'] = options.instanceId;
  const pinoOptions: pino.LoggerOptions = {
    level: options.level,
    base,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  const dest = options.destination ?? pino.destination({ dest: 1, sync: false });
  return pino(pinoOptions, dest);
}

/** Child logger for everything about one call; every line carries the SIP Call-ID. */
export function callLogger(logger: Logger, callId: string, bindings: Omit<LogBindings, 'callId'> = {}): Logger {
  return logger.child({ ...bindings, callId });
}

/** Child logger for one HTTP request; every line carries the request id. */
export function requestLogger(logger: Logger, reqId: string, bindings: Omit<LogBindings, 'reqId'> = {}): Logger {
  return logger.child({ ...bindings, reqId });
}

const noop = (): void => {};

/** A logger that discards everything (tests, optional dependencies). */
export const nullLogger: Logger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  fatal: noop,
  child: () => nullLogger,
  isLevelEnabled: () => false,
};
