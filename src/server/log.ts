// The node's log: JSON lines on stderr through pino (`time`, `level`, `msg` and fields), or,
// for a terminal, one readable line each (`time LEVEL msg key=value …`). stdout is not the
// log's: it carries only the one {"event":"listening",…} line that tools read.

import { pino, type DestinationStream, type Logger } from 'pino';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Structured fields of one log line. */
export type LogFields = Record<string, unknown>;

/**
 * What the node logs through. Callable as the old `log(line)` (an info line), with a method
 * per level; `runNode` also takes a plain `(line) => void` (see `toNodeLog`).
 */
export interface NodeLog {
  (msg: string): void;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

/** `pretty` when stderr is a terminal, else `json`. */
export function defaultLogFormat(): LogFormat {
  return process.stderr.isTTY ? 'pretty' : 'json';
}

/** A pino logger writing to stderr (synchronously: nothing is lost on process.exit). */
export function createLogger(
  o: { level?: LogLevel; format?: LogFormat; dest?: DestinationStream } = {},
): Logger {
  const format = o.format ?? defaultLogFormat();
  const stderr = o.dest ?? pino.destination({ dest: 2, sync: true });
  const dest = format === 'pretty' ? prettyStream(stderr) : stderr;
  return pino({
    level: o.level ?? 'info',
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  }, dest);
}

/** A NodeLog over a pino logger. */
export function pinoNodeLog(logger: Logger): NodeLog {
  const at = (level: 'debug' | 'info' | 'warn' | 'error') => (msg: string, fields?: LogFields) => {
    if (fields === undefined) logger[level](msg);
    else logger[level](fields, msg);
  };
  return Object.assign((msg: string) => logger.info(msg), {
    debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'),
  });
}

/**
 * A NodeLog from what `runNode` was given: a NodeLog as it is; a plain `(line) => void`
 * (tests, embedders) gets one text line per call, its fields appended as JSON.
 */
export function toNodeLog(log: ((line: string) => void) | NodeLog): NodeLog {
  if ('warn' in log) return log;
  const at = (msg: string, fields?: LogFields) => log(fields === undefined ? msg : `${msg} ${JSON.stringify(fields)}`);
  return Object.assign((msg: string) => log(msg), { debug: at, info: at, warn: at, error: at });
}

/** Turns pino's JSON lines into `time LEVEL msg key=value …` before writing them to `out`. */
function prettyStream(out: DestinationStream): DestinationStream {
  return { write: (chunk: string) => out.write(prettyLine(chunk)) };
}

/** One JSON log line as `HH:MM:SS.mmm LEVEL msg key=value …\n` (a line that is not JSON: as it is). */
export function prettyLine(json: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const { time, level, msg, ...fields } = rec;
  const t = typeof time === 'string' ? time.slice(11, 23) : String(time ?? '');
  const kv = Object.entries(fields).map(([k, v]) => `${k}=${prettyValue(v)}`);
  return [t, String(level ?? '').toUpperCase().padEnd(5), String(msg ?? ''), ...kv].join(' ').trimEnd() + '\n';
}

function prettyValue(v: unknown): string {
  if (typeof v === 'string' && /^[^\s"=]+$/.test(v)) return v;
  return JSON.stringify(v);
}
