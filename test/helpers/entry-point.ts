import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { TEST_DATABASE_URL } from './db';

// The real entry point (src/main.ts) as its own process on the real PostgreSQL, for the tests that kill it (SIGKILL:
// no shutdown code runs) and start the same instance again. The process logs in as a role of its own whose
// search_path is a fresh schema of the same name, so it shares nothing with other tests and needs no schema setting.

const ROOT = resolve(__dirname, '../..');

/** One run of src/main.ts; `output()` is everything it logged so far. */
export interface EntryPointProcess {
  readonly proc: ChildProcess;
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
   * Starts src/main.ts with SIP over UDP and the API on 127.0.0.1 and LOG_LEVEL=info, plus `env`; resolves once it has
   * logged `server started` (within 60 s), else kills it and fails.
   */
  async start(sipPort: number, apiPort: number, env: Record<string, string> = {}): Promise<EntryPointProcess> {
    const proc = spawn(process.execPath, ['--require', join(ROOT, 'bench/register.js'), join(ROOT, 'src/main.ts')], {
      cwd: ROOT,
      env: {
        ...process.env,
        DATABASE_URL: this.databaseUrl,
        DATA_DIR: this.dataDir,
        INSTANCE_ID: this.instanceId,
        SIP_PORT: String(sipPort),
        API_PORT: String(apiPort),
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
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const child: EntryPointProcess = {
      proc,
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
    for (let i = 0; i < 600 && !out.includes('server started') && proc.exitCode === null; i++) await new Promise((r) => setTimeout(r, 100));
    if (!out.includes('server started')) await child.kill();
    expect(out).toContain('server started');
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
