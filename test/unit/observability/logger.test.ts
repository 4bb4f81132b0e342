import { callLogger, createLogger, nullLogger, requestLogger, type LogDestination } from '../../../src/observability';

/** A destination that keeps every JSON line. */
function capture(): LogDestination & { records(): Record<string, unknown>[] } {
  const lines: string[] = [];
  return {
    write: (line: string) => {
      lines.push(line);
    },
    records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('logger', () => {
  it('writes JSON lines with level label, time and instance id', () => {
    const out = capture();
    const log = createLogger({ level: 'info', instanceId: 'node-1', destination: out });
    log.info({ port: 5060 }, 'listening');
    const [rec] = out.records();
    expect(rec).toMatchObject({ level: 'info', msg: 'listening', port: 5060, instanceId: 'node-1' });
    expect(typeof rec['time']).toBe('string');
    expect(Number.isNaN(Date.parse(String(rec['time'])))).toBe(false);
  });

  it('honours the level', () => {
    const out = capture();
    const log = createLogger({ level: 'warn', destination: out });
    log.info('hidden');
    log.debug('hidden');
    log.warn('shown');
    expect(out.records().map((r) => r['msg'])).toEqual(['shown']);
    expect(log.isLevelEnabled('debug')).toBe(false);
    expect(log.isLevelEnabled('error')).toBe(true);
  });

  it('call child loggers carry callId on every line, request loggers carry reqId', () => {
    const out = capture();
    const log = createLogger({ level: 'debug', destination: out });
    const call = callLogger(log, 'a84b4c76e66710@pc33.example.com', { component: 'call' });
    call.info('ringing');
    call.child({ leg: 'b' }).debug({ code: 200 }, 'answered');
    requestLogger(log, 'req-17').info('GET /health');
    const recs = out.records();
    expect(recs[0]).toMatchObject({ callId: 'a84b4c76e66710@pc33.example.com', component: 'call', msg: 'ringing' });
    expect(recs[1]).toMatchObject({ callId: 'a84b4c76e66710@pc33.example.com', leg: 'b', code: 200 });
    expect(recs[2]).toMatchObject({ reqId: 'req-17' });
    expect(recs[2]['callId']).toBeUndefined();
  });

  it('redacts credentials', () => {
    const out = capture();
    const log = createLogger({ level: 'info', destination: out });
    log.info({ password: 'hunter2', trunk: { password: 'p2', name: 't1' }, headers: { authorization: 'Bearer abc' } }, 'trunk added');
    const text = JSON.stringify(out.records()[0]);
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('p2');
    expect(text).not.toContain('Bearer abc');
    expect(text).toContain('t1');
  });

  it('nullLogger accepts everything and stays silent', () => {
    expect(() => {
      nullLogger.error({ err: new Error('x') }, 'ignored');
      nullLogger.child({ callId: 'c' }).info('ignored');
    }).not.toThrow();
    expect(nullLogger.isLevelEnabled('fatal')).toBe(false);
  });
});
