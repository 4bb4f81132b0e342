import type { QueueStrategyName } from '../../store';
import type { QueueTarget } from './queue-definition';

/** Whom to ring for one caller: everyone at once (ring_all) or one after the other, in this order. */
export interface RingPlan {
  readonly strategy: QueueStrategyName;
  readonly parallel: boolean;
  readonly targets: readonly QueueTarget[];
}

interface TargetState {
  target: QueueTarget;
  busy: boolean;
  /** Clock ms of the last release (end of a call or of ringing); -Infinity: never used. */
  releasedAt: number;
}

/**
 * The targets of one queue and whether each is free, with the ring-strategy choice (Asterisk app_queue
 * vocabulary): `ring_all` rings every free target, `round_robin` starts after the target offered last,
 * `longest_idle` (least recent) starts with the target free the longest, `random` shuffles. Per instance:
 * each instance holds the media of its own calls, so it tracks its own targets.
 */
export class QueueTargetPool {
  private states: TargetState[] = [];
  /** Index (in `states`) of the target round_robin offered last. */
  private cursor = -1;

  constructor(targets: readonly QueueTarget[] = [], private readonly random: () => number = Math.random) {
    this.sync(targets);
  }

  /** Adopt a new target list (definition changed), keeping the state of targets that stay. */
  sync(targets: readonly QueueTarget[]): void {
    const old = new Map(this.states.map((s) => [s.target.id, s]));
    const lastId = this.cursor >= 0 ? this.states[this.cursor]?.target.id : undefined;
    this.states = targets.map((t) => {
      const prev = old.get(t.id);
      return prev ? { ...prev, target: t } : { target: t, busy: false, releasedAt: -Infinity };
    });
    this.cursor = lastId === undefined ? -1 : this.states.findIndex((s) => s.target.id === lastId);
  }

  get size(): number {
    return this.states.length;
  }

  /** Targets free now, in definition order. */
  free(): QueueTarget[] {
    return this.states.filter((s) => !s.busy).map((s) => s.target);
  }

  isFree(id: string): boolean {
    const s = this.state(id);
    return s !== undefined && !s.busy;
  }

  has(id: string): boolean {
    return this.state(id) !== undefined;
  }

  /** The target is ringing or talking. False when unknown or already busy. */
  markBusy(id: string): boolean {
    const s = this.state(id);
    if (!s || s.busy) return false;
    s.busy = true;
    return true;
  }

  /** The target is free again (call ended, or it did not answer); `now` feeds longest_idle. */
  release(id: string, now: number): boolean {
    const s = this.state(id);
    if (!s) return false;
    s.busy = false;
    s.releasedAt = now;
    return true;
  }

  /** Whom to ring under `strategy`, or undefined when no target is free. Does not mark anything busy. */
  plan(strategy: QueueStrategyName): RingPlan | undefined {
    const free: number[] = [];
    for (let i = 0; i < this.states.length; i++) if (!this.states[i].busy) free.push(i);
    if (free.length === 0) return undefined;
    let order: number[];
    switch (strategy) {
      case 'ring_all':
        return { strategy, parallel: true, targets: free.map((i) => this.states[i].target) };
      case 'round_robin': {
        // Rotate: the first free target after the one offered last, wrapping around.
        const start = free.findIndex((i) => i > this.cursor);
        order = start <= 0 ? free : [...free.slice(start), ...free.slice(0, start)];
        this.cursor = order[0];
        break;
      }
      case 'longest_idle':
        // Stable sort: never-used targets (-Infinity) first, in definition order.
        order = [...free].sort((a, b) => this.states[a].releasedAt - this.states[b].releasedAt || a - b);
        break;
      case 'random':
        order = [...free];
        for (let i = order.length - 1; i > 0; i--) {
          const j = Math.floor(this.random() * (i + 1));
          [order[i], order[j]] = [order[j], order[i]];
        }
        break;
    }
    return { strategy, parallel: false, targets: order.map((i) => this.states[i].target) };
  }

  private state(id: string): TargetState | undefined {
    return this.states.find((s) => s.target.id === id);
  }
}
