/** A small pretty printer for pino's JSON lines (`log.format: pretty`), without extra dependencies. */
import { writeSync } from 'node:fs';
import type { pino } from 'pino';

const COLORS: Record<string, string> = {
  trace: '90',
  debug: '36',
  info: '32',
  warn: '33',
  error: '31',
  fatal: '35',
};

/** Format one pino JSON line as `HH:MM:SS.mmm LEVEL name: msg key=value ...`. */
export function prettyLine(line: string, color = false): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const { time, level, name, msg, pid: _pid, hostname: _h, ...rest } = o;
  const t = typeof time === 'string' ? time.slice(11, 23) : '';
  const lv = String(level ?? '')
    .toUpperCase()
    .padEnd(5);
  const lvc = color ? `\x1b[${COLORS[String(level)] ?? '0'}m${lv}\x1b[0m` : lv;
  const fields = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${t} ${lvc} ${name === undefined ? '' : `${String(name)}: `}${String(msg ?? '')}${fields === '' ? '' : ` ${fields}`}\n`;
}

/** A pino destination that pretty-prints to a file descriptor (2 = stderr). */
export function prettyDestination(fd: number): pino.DestinationStream {
  const color = fd === 2 ? process.stderr.isTTY === true : false;
  return {
    write(chunk: string) {
      for (const line of chunk.split('\n')) if (line !== '') writeSync(fd, prettyLine(line, color));
    },
  };
}
