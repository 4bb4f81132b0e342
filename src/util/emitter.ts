import { EventEmitter } from 'node:events';

/** Map of event name -> listener argument tuple. */
export type EventMap = { [event: string]: unknown[] };

/**
 * A typed EventEmitter. `safeEmit` never lets a listener's exception escape into the emitter
 * (a faulty subscriber must not break a protocol state machine); errors go to the `onListenerError` hook.
 */
export class TypedEmitter<E extends EventMap> {
  private readonly ee = new EventEmitter();
  static onListenerError: (event: string, err: unknown) => void = (event, err) => {
    process.emitWarning(`listener for "${event}" threw: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  };

  constructor() {
    this.ee.setMaxListeners(0);
  }

  on<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.ee.on(event, listener as (...args: unknown[]) => void);
    return this;
  }
  once<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.ee.once(event, listener as (...args: unknown[]) => void);
    return this;
  }
  off<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.ee.off(event, listener as (...args: unknown[]) => void);
    return this;
  }
  removeAllListeners<K extends keyof E & string>(event?: K): this {
    if (event === undefined) this.ee.removeAllListeners();
    else this.ee.removeAllListeners(event);
    return this;
  }
  listenerCount<K extends keyof E & string>(event: K): number {
    return this.ee.listenerCount(event);
  }
  /** Emit, catching listener errors. Returns true if there were listeners. */
  safeEmit<K extends keyof E & string>(event: K, ...args: E[K]): boolean {
    try {
      return this.ee.emit(event, ...args);
    } catch (err) {
      TypedEmitter.onListenerError(event, err);
      return true;
    }
  }
}
