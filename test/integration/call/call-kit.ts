import { mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Database } from '../../../src/store';
import { runSipp, scenarioPath, type SippOptions, type SippResult } from '../../helpers/sipp';
import { until } from '../../helpers/wait';

export { until };

// Shared bits of the call-control integration tests: scenario files with absolute pcap paths, SIPp injection files
// (the caller number, the target port), CDR reads, and waiting on conditions (never on elapsed time).

const ROOT = resolve(__dirname, '../../..');
const scratch: string[] = [];

export function scratchDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'call-test-'));
  scratch.push(d);
  return d;
}

export function removeScratch(): void {
  for (const d of scratch.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** A copy of sipp/<name>.xml whose play_pcap_audio paths are absolute (SIPp runs in a temporary directory). */
export function scenario(name: string): string {
  const text = readFileSync(scenarioPath(name), 'utf8').replace(/play_pcap_audio="([^"]+)"/g, (_m, p: string) => `play_pcap_audio="${join(ROOT, p)}"`);
  const file = join(scratchDir(), `${name}.xml`);
  writeFileSync(file, text);
  return file;
}

/** SIPp -inf file: one line of fields per call (field0, field1...). */
export function injection(rows: string[][]): string[] {
  const file = join(scratchDir(), 'fields.csv');
  writeFileSync(file, `SEQUENTIAL\n${rows.map((r) => `${r.join(';')};`).join('\n')}\n`);
  return ['-inf', file];
}

/** A MOH_DIR holding one WAV (the speech fixture). */
export function mohDir(): string {
  const d = join(scratchDir(), 'moh');
  mkdirSync(d);
  copyFileSync(join(ROOT, 'test/fixtures/audio/speech-8k-mono.wav'), join(d, 'default.wav'));
  return d;
}

export type CdrRow = Record<string, unknown>;

export async function cdr(db: Database, where: string, params: unknown[] = []): Promise<CdrRow | undefined> {
  const res = await db.query(`SELECT * FROM calls WHERE ${where} ORDER BY started_at DESC LIMIT 1`, params as never[]);
  return res.rows[0];
}

export async function events(db: Database, callId: string): Promise<string[]> {
  const res = await db.query<{ type: string }>('SELECT type FROM call_events WHERE call_id = $1 ORDER BY id', [callId]);
  return res.rows.map((r) => r.type);
}

/** The closed CDR of the latest call matching `where`. */
export function endedCdr(db: Database, where: string, params: unknown[] = []): Promise<CdrRow> {
  return until(async () => {
    const row = await cdr(db, where, params);
    return row && row['ended_at'] !== null ? row : undefined;
  }, `an ended CDR where ${where}`);
}

/** Runs SIPp to completion and expects a clean run: no unexpected message, exit code 0, every call successful. */
export async function runSippCleanly(opts: SippOptions): Promise<SippResult> {
  const r = await runSipp(opts);
  expect(r.errors).toBe('');
  expect(r.exitCode).toBe(0);
  expect(r.successful).toBe(opts.calls);
  return r;
}
