import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { TEST_DATABASE_URL } from './db';
import { nextRtpRange } from './ports';

// The real entry point (src/main.ts) as its own process on the real PostgreSQL, for the tests that kill it (SIGKILL:
// no shutdown code runs) and start the same instance again. The process logs in as a role of its own whose
// search_path is a fresh schema of the same name, so it shares nothing with other tests and needs no schema setting.

const ROOT = resolve(__dirname, '../..');

/** One run of src/main.ts; `output()` is everything it logged so far. */
export interface EntryPointProcess {
  readonly proc: ChildProcess;
  /** SIP (UDP) port on 127.0.0.1 of this run. */
  readonly sipPort: number;
  /** HTTP API port on 127.0.0.1 of this run. */
  readonly apiPort: number;
  output(): string;
  /** SIGKILL, resolved once the process has exited. */
  kill(): Promise<void>;
  /** SIGTERM (clean shutdown), resolved with the exit code. */
  stop(): Promise<number | null>;
}

function exited(proc: ChildProcess): Promise<number | null> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(proc.exitCode);
  return new Promise((r) => proc.once('exit', (code) => r(code)));
}

/** The ports of pino's `server started` line ({"sip":{"udp":N,...},"api":N,...}), if logged. */
function startedLine(out: string): { sip: number; api: number } | undefined {
  const line = out.split('\n').find((l) => l.includes('"server started"'));
  if (!line) return undefined;
  try {
    const o = JSON.parse(line) as { sip?: { udp?: unknown }; api?: unknown };
    const sip = Number(o.sip?.udp);
    const api = Number(o.api);
    return sip > 0 && api > 0 ? { sip, api } : undefined;
  } catch {
    return undefined;
  }
}

export class EntryPointHarness {
  private child: EntryPointProcess | undefined;

  private constructor(
    /** Connected as the admin of the test database (reads the schema's tables, drops it at the end). */
    readonly admin: pg.Client,
    /** The role's and the schema's name. */
    readonly schema: string,
    /** INSTANCE_ID of every start: stable across restarts, so a new process knows the old one's state as its own. */
    readonly instanceId: string,
    readonly dataDir: string,
  ) {}

  /** A fresh role and schema named `<name>_<pid>_<random>`, and a DATA_DIR. */
  static async create(name: string): Promise<EntryPointHarness> {
    const schema = `${name}_${process.pid}_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE ROLE ${schema} LOGIN`);
    await admin.query(`CREATE SCHEMA ${schema} AUTHORIZATION ${schema}`);
    await admin.query(`ALTER ROLE ${schema} SET search_path = ${schema}`);
    return new EntryPointHarness(admin, schema, schema.replace(/_/g, '-'), mkdtempSync(join(tmpdir(), `${name.replace(/_/g, '-')}-`)));
  }

  /** DATABASE_URL of the role (trust auth: no password). */
  get databaseUrl(): string {
    const u = new URL(TEST_DATABASE_URL);
    u.username = this.schema;
    u.password = '';
    return u.toString();
  }

  /**
   * Starts src/main.ts with SIP over UDP and the API on 127.0.0.1, an RTP range of this jest worker's band, and
   * LOG_LEVEL=info, plus `env`; resolves once it has logged `server started` (within 60 s), else kills it and fails.
   *
   * SIP and the API bind port 0 and the ports are read from the `server started` line: a port chosen here and handed
   * to the child could be taken by another process before the child binds it (EADDRINUSE). A restart therefore gets
   * new ports; the tests that restart talk to the new process at its new ports, and what must survive is in the
   * database. (Starting again after an EADDRINUSE would not do: the call and SMS recovery run before the API listens,
   * so a second attempt would no longer see what the first one had already recovered.)
   */
  async start(env: Record<string, string> = {}): Promise<EntryPointProcess> {
    const rtp = nextRtpRange(100);
    const child = await this.spawnOnce({ RTP_PORT_MIN: String(rtp.min), RTP_PORT_MAX: String(rtp.max), ...env });
    if (child.sipPort === 0 || child.apiPort === 0) throw new Error(`src/main.ts did not start:\n${child.output().slice(-4000)}`);
    return child;
  }

  /** One spawn; resolves when it has logged `server started`, or has exited, or after 60 s (then killed). */
  private async spawnOnce(env: Record<string, string>): Promise<EntryPointProcess> {
    const proc = spawn(process.execPath, ['--require', join(ROOT, 'bench/register.js'), join(ROOT, 'src/main.ts')], {
      cwd: ROOT,
      env: {
        ...process.env,
        DATABASE_URL: this.databaseUrl,
        DATA_DIR: this.dataDir,
        INSTANCE_ID: this.instanceId,
        SIP_PORT: '0',
        API_PORT: '0',
        SIP_TRANSPORTS: 'udp',
        SIP_BIND_ADDRESS: '127.0.0.1',
        SIP_PUBLIC_ADDRESS: '127.0.0.1',
        API_BIND_ADDRESS: '127.0.0.1',
        LOG_LEVEL: 'info',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let pipesClosed = false;
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    proc.once('close', () => (pipesClosed = true));
    const ports = { sip: 0, api: 0 };
    const child: EntryPointProcess = {
      proc,
      get sipPort() {
        return ports.sip;
      },
      get apiPort() {
        return ports.api;
      },
      output: () => out,
      kill: async () => {
        proc.kill('SIGKILL');
        await exited(proc);
      },
      stop: () => {
        proc.kill('SIGTERM');
        return exited(proc);
      },
    };
    this.child = child;
    for (let i = 0; i < 600 && !startedLine(out) && proc.exitCode === null && proc.signalCode === null; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const started = startedLine(out);
    if (started) {
      ports.sip = started.sip;
      ports.api = started.api;
    } else {
      await child.kill();
      // What the process wrote before it exited may still be in its pipes: read them to the end.
      for (let i = 0; i < 100 && !pipesClosed; i++) await new Promise((r) => setTimeout(r, 50));
    }
    return child;
  }

  /** Kills the process still running, drops the schema and the role, removes DATA_DIR. */
  async close(): Promise<void> {
    await this.child?.kill();
    await this.admin.query(`DROP SCHEMA IF EXISTS ${this.schema} CASCADE`);
    await this.admin.query(`DROP ROLE IF EXISTS ${this.schema}`);
    await this.admin.end();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
