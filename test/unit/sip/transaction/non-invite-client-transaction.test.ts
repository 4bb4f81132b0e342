import { NonInviteClientTransaction } from '../../../../src/sip/transaction';
import { createLoopPair, RecordingHandlers, type LoopPair } from '../../../helpers/loop-transport';
import { drainAndExpectEmpty, flushMicrotasks, makeRequest, reply } from './fixtures';

describe('NonInviteClientTransaction (RFC 3261 §17.1.2)', () => {
  let pair: LoopPair;
  afterEach(() => pair.close());

  const options = () => makeRequest({ method: 'OPTIONS', from: pair.uacAddr, to: pair.uasAddr });

  it('retransmits with Timer E doubling up to T2 and times out on Timer F after 11 sends', () => {
    pair = createLoopPair();
    pair.loop.discard = (rec) => rec.startLine.startsWith('OPTIONS');
    const h = new RecordingHandlers(pair.clock);
    const tx = pair.uac.sendRequest(options(), pair.uasAddr, h);
    expect(tx).toBeInstanceOf(NonInviteClientTransaction);
    expect(tx.state).toBe('Trying');
    pair.clock.advance(31_999);
    expect(h.types()).toEqual([]);
    pair.clock.advance(1 + pair.uac.wheel.tickMs);
    // 500, 1000, 2000, 4000, then T2 = 4000 each time.
    expect(pair.loop.sendTimes(pair.uacAddr, 'OPTIONS')).toEqual([0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
    expect(h.types()).toEqual(['timeout', 'terminated']);
    expect(pair.uac.stats.timeouts).toBe(1);
    expect(pair.uac.stats.retransmissions).toBe(10);
    drainAndExpectEmpty(pair);
    expect(pair.loop.sent(pair.uacAddr, 'OPTIONS')).toHaveLength(11);
  });

  it('retransmits every T2 in Proceeding and still times out on Timer F', () => {
    pair = createLoopPair();
    pair.uasTu.answer = (tx, req) => tx.respond(reply(req, 100));
    const h = new RecordingHandlers(pair.clock);
    const tx = pair.uac.sendRequest(options(), pair.uasAddr, h);
    pair.clock.advance(0);
    expect(tx.state).toBe('Proceeding');
    pair.clock.advance(32_000 + pair.uac.wheel.tickMs);
    // Timer E armed at T1 in Trying fires at 500; from Proceeding on it is reset to T2 (RFC 3261 §17.1.2.2).
    expect(pair.loop.sendTimes(pair.uacAddr, 'OPTIONS')).toEqual([0, 500, 4500, 8500, 12500, 16500, 20500, 24500, 28500]);
    // The UAS (Proceeding) answers each retransmission with its last provisional.
    expect(pair.loop.sent(pair.uasAddr, 'SIP/2.0 100')).toHaveLength(9);
    expect(h.types().filter((t) => t !== 'provisional')).toEqual(['timeout', 'terminated']);
    expect(h.types().filter((t) => t === 'provisional')).toHaveLength(9);
    // The UAS TU never answered: its NIST stays until the TU does.
    expect(pair.uas.size).toBe(1);
    const nist = pair.uasTu.requests()[0].tx;
    nist.respond(reply(nist.request, 408));
    drainAndExpectEmpty(pair);
  });

  it('passes the final once, absorbs retransmitted finals during Timer K, then terminates', () => {
    pair = createLoopPair();
    pair.uasTu.answer = (tx, req) => tx.respond(reply(req, 200));
    const h = new RecordingHandlers(pair.clock);
    const tx = pair.uac.sendRequest(options(), pair.uasAddr, h);
    pair.clock.advance(0);
    expect(tx.state).toBe('Completed');
    expect(tx.pendingLongTimer).toBe('TIMER_K');
    expect(h.types()).toEqual(['final']);
    // A duplicated final (the network repeated it) is absorbed.
    const final = pair.loop.sent(pair.uasAddr, 'SIP/2.0 200')[0];
    pair.loop.inject(pair.uasAddr, pair.uacAddr, final.bytes);
    pair.clock.advance(0);
    expect(h.types()).toEqual(['final']);
    expect(pair.uac.stats.absorbed).toBe(1);
    pair.clock.advance(4_999);
    expect(tx.state).toBe('Completed');
    pair.clock.advance(1 + pair.uac.wheel.tickMs); // Timer K = T4
    expect(tx.state).toBe('Terminated');
    expect(h.types()).toEqual(['final', 'terminated']);
    // Later copies are strays now.
    pair.loop.inject(pair.uasAddr, pair.uacAddr, final.bytes);
    pair.clock.advance(0);
    expect(pair.uacTu.ofType('stray')).toHaveLength(1);
    drainAndExpectEmpty(pair);
  });

  it('uses no Timer E and a zero Timer K over a reliable transport', () => {
    pair = createLoopPair({ transport: 'TLS' });
    pair.uasTu.answer = (tx, req) => tx.respond(reply(req, 200));
    pair.uasTu.answerDelayMs = 10_000;
    const h = new RecordingHandlers(pair.clock);
    const tx = pair.uac.sendRequest(options(), pair.uasAddr, h);
    expect(tx.pendingShortTimer).toBeUndefined();
    pair.clock.advance(10_000);
    expect(pair.loop.sent(pair.uacAddr, 'OPTIONS')).toHaveLength(1);
    expect(h.types()).toEqual(['final', 'terminated']);
    expect(pair.uac.size).toBe(0);
    expect(pair.uas.size).toBe(0); // Timer J is zero too
    drainAndExpectEmpty(pair);
  });

  it('terminates on a transport error and reports it once', async () => {
    pair = createLoopPair();
    pair.loop.fail = (rec) => rec.startLine.startsWith('OPTIONS') && rec.at >= 500; // the first retransmission fails
    const h = new RecordingHandlers(pair.clock);
    pair.loop.discard = (rec) => rec.startLine.startsWith('OPTIONS');
    pair.uac.sendRequest(options(), pair.uasAddr, h);
    pair.clock.advance(500);
    await flushMicrotasks();
    expect(h.types()).toEqual(['transport-error', 'terminated']);
    expect(pair.uac.stats.transportErrors).toBe(1);
    drainAndExpectEmpty(pair);
    expect(pair.loop.sent(pair.uacAddr, 'OPTIONS')).toHaveLength(2);
  });
});
