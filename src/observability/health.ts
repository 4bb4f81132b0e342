import { systemClock, type Clock, type TimerHandle } from '../util';

export type HealthState = 'ok' | 'degraded' | 'down';

export interface HealthCheckResult {
  status: HealthState;
  /** Short human-readable detail ("3/3 trunks up", "connection refused"). */
  detail?: string;
}

export type HealthCheck = () => HealthCheckResult | Promise<HealthCheckResult>;

export interface HealthCheckReport extends HealthCheckResult {
  critical: boolean;
}

export interface HealthReport {
  /** down if a critical check is down; degraded if any other check is not ok; ok otherwise. */
  status: HealthState;
  checks: Record<string, HealthCheckReport>;
}

export interface HealthCheckerOptions {
  /** A check that has not answered after this long counts as down. Default 2000 ms. */
  timeoutMs?: number;
  clock?: Clock;
}

interface Registered {
  check: HealthCheck;
  critical: boolean;
}

/**
 * Named health checks (database, SIP listeners, AI platform, trunks) run together for `/health`.
 * A critical check that fails makes the instance `down` (the load balancer should stop sending to it);
 * a non-critical failure only degrades it.
 */
export class HealthChecker {
  private readonly checks = new Map<string, Registered>();
  private readonly timeoutMs: number;
  private readonly clock: Clock;

  constructor(options: HealthCheckerOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.clock = options.clock ?? systemClock;
  }

  register(name: string, check: HealthCheck, options: { critical?: boolean } = {}): void {
    if (this.checks.has(name)) throw new TypeError(`health check "${name}" is already registered`);
    this.checks.set(name, { check, critical: options.critical ?? true });
  }

  unregister(name: string): boolean {
    return this.checks.delete(name);
  }

  async run(): Promise<HealthReport> {
    const entries = [...this.checks.entries()];
    const results = await Promise.all(entries.map(([, reg]) => this.runOne(reg.check)));
    const checks: Record<string, HealthCheckReport> = {};
    let status: HealthState = 'ok';
    entries.forEach(([name, reg], i) => {
      const res = results[i];
      checks[name] = { ...res, critical: reg.critical };
      if (res.status === 'down' && reg.critical) status = 'down';
      else if (res.status !== 'ok' && status === 'ok') status = 'degraded';
    });
    return { status, checks };
  }

  private runOne(check: HealthCheck): Promise<HealthCheckResult> {
    return new Promise<HealthCheckResult>((resolve) => {
      let settled = false;
      const finish = (res: HealthCheckResult): void => {
        if (settled) return;
        settled = true;
        this.clock.clearTimeout(timer);
        resolve(res);
      };
      // Declared after `finish`, which only runs asynchronously or after this line.
      const timer: TimerHandle = this.clock.setTimeout(() => finish({ status: 'down', detail: `timed out after ${this.timeoutMs} ms` }), this.timeoutMs);
      try {
        Promise.resolve(check()).then(
          (res) => finish(res),
          (err: unknown) => finish({ status: 'down', detail: err instanceof Error ? err.message : String(err) }),
        );
      } catch (err) {
        finish({ status: 'down', detail: err instanceof Error ? err.message : String(err) });
      }
    });
  }
}
