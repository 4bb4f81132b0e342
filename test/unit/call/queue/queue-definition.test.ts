import { queueDefinitionSchema, queueFromRecord, queueToRecord, resolvePriority } from '../../../../src/call/queue';
import type { QueueRecord } from '../../../../src/store';

describe('queue definitions', () => {
  const def = queueDefinitionSchema.parse({
    name: 'support',
    strategy: 'Round-Robin',
    capacity: 20,
    targets: [{ kind: 'sip', id: 'desk1', uri: 'sip:desk1@pbx.example' }],
    priorityRules: [
      { match: 'caller', values: ['+15550001', '+15550002'], priority: 50 },
      { match: 'did', values: ['+18005550100'], priority: 20 },
      { match: 'trunk', values: ['carrier-b'], priority: 10 },
      { match: 'caller', values: ['+15550003'], priority: 99 },
    ],
    defaultPriority: 1,
  });

  it('applies defaults and normalises strategy spellings', () => {
    expect(def).toMatchObject({ strategy: 'round_robin', maxWaitS: null, mohFile: null, announcePosition: false, announceIntervalS: 60, onTimeout: { type: 'hangup' }, onFull: { type: 'hangup' } });
    expect(queueDefinitionSchema.parse({ name: 'q', strategy: 'least_recent' }).strategy).toBe('longest_idle');
    expect(queueDefinitionSchema.parse({ name: 'q' }).strategy).toBe('ring_all');
  });

  it.each([
    ['unknown strategy', { name: 'q', strategy: 'fewest_calls' }],
    ['bad SIP target', { name: 'q', targets: [{ kind: 'sip', id: 'x', uri: 'tel:+1555' }] }],
    ['duplicate target', { name: 'q', targets: [{ kind: 'ai', id: 'x' }, { kind: 'ai', id: 'x' }] }],
    ['bad forward number', { name: 'q', onFull: { type: 'forward', number: 'front desk' } }],
    ['unknown field', { name: 'q', maxWait: 5 }],
    ['zero capacity', { name: 'q', capacity: 0 }],
  ])('rejects %s', (_n, input) => {
    expect(queueDefinitionSchema.safeParse(input).success).toBe(false);
  });

  it('resolves priority: explicit, then the first matching rule, then the default', () => {
    expect(resolvePriority(def, { callId: 'c', from: '+15550001', priority: -5 })).toEqual({ priority: -5, source: 'explicit' });
    expect(resolvePriority(def, { callId: 'c', from: '+15550002', to: '+18005550100' })).toEqual({ priority: 50, source: 'rule:0' });
    expect(resolvePriority(def, { callId: 'c', from: '+1999', to: '+18005550100', trunkId: 'carrier-b' })).toEqual({ priority: 20, source: 'rule:1' });
    expect(resolvePriority(def, { callId: 'c', trunkId: 'carrier-b' })).toEqual({ priority: 10, source: 'rule:2' });
    expect(resolvePriority(def, { callId: 'c', from: '+15550003' })).toEqual({ priority: 99, source: 'rule:3' });
    expect(resolvePriority(def, { callId: 'c', from: null })).toEqual({ priority: 1, source: 'default' });
  });

  it('round-trips through the stored row', () => {
    const row: QueueRecord = { ...queueToRecord(def), id: '00000000-0000-4000-8000-000000000001', createdAt: new Date(0), updatedAt: new Date(0) };
    expect(row.maxSize).toBe(20);
    expect(queueFromRecord(row)).toEqual({ ok: true, queue: { ...def, id: row.id } });
    const broken = queueFromRecord({ ...row, agents: [{ kind: 'fax' }] });
    expect(broken.ok).toBe(false);
    if (!broken.ok) expect(broken.issues[0].path).toBe('targets.0.kind');
  });
});
