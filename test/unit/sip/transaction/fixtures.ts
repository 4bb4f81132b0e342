import { createRequest, createResponse, generateBranch, generateTag, type SipRequest, type SipResponse } from '../../../../src/sip/message';
import type { LoopAddress, LoopPair } from '../../../helpers/loop-transport';

let callSeq = 0;

export interface RequestInit {
  method: string;
  from: LoopAddress;
  to: LoopAddress;
  /** Top Via branch; `null` leaves the parameter out (RFC 2543 peer). Default: a fresh RFC 3261 branch. */
  branch?: string | null;
  callId?: string;
  cseq?: number;
  fromTag?: string;
  toTag?: string;
  routes?: string[];
  headers?: [string, string][];
}

/** A request as a UA core would build it (RFC 3261 §8.1.1). */
export function makeRequest(init: RequestInit): SipRequest {
  const branch = init.branch === undefined ? generateBranch() : init.branch;
  const via = `SIP/2.0/${init.from.transport} ${init.from.address}:${init.from.port}` + (branch === null ? '' : `;branch=${branch}`);
  const headers: [string, string][] = [
    ['Via', via],
    ['Max-Forwards', '70'],
    ['From', `<sip:alice@${init.from.address}>;tag=${init.fromTag ?? generateTag()}`],
    ['To', `<sip:bob@${init.to.address}>` + (init.toTag === undefined ? '' : `;tag=${init.toTag}`)],
    ['Call-ID', init.callId ?? `call-${++callSeq}@${init.from.address}`],
    ['CSeq', `${init.cseq ?? 1} ${init.method}`],
  ];
  for (const r of init.routes ?? []) headers.push(['Route', r]);
  for (const h of init.headers ?? []) headers.push(h);
  if (init.method === 'INVITE') headers.push(['Contact', `<sip:alice@${init.from.address}:${init.from.port}>`]);
  return createRequest({ method: init.method, uri: `sip:bob@${init.to.address}:${init.to.port}`, headers });
}

/** A UAS response with a To tag (added for anything but 100, RFC 3261 §8.2.6.2). */
export function reply(req: SipRequest, status: number, toTag = 'uas-tag'): SipResponse {
  return createResponse(req, status, undefined, status === 100 ? undefined : { toTag });
}

/**
 * Advance far past every timer (64*T1 and Timer D) and check that nothing is left: no transaction in any map, no
 * active counter, no wheel entry, no pending clock timer.
 */
export function drainAndExpectEmpty(pair: LoopPair, ms = 70_000): void {
  pair.clock.advance(ms);
  for (const layer of [pair.uac, pair.uas]) {
    expect(layer.size).toBe(0);
    expect(layer.wheel.size).toBe(0);
    const s = layer.stats;
    expect([s.inviteClient, s.nonInviteClient, s.inviteServer, s.nonInviteServer]).toEqual([0, 0, 0, 0]);
  }
  expect(pair.clock.pending()).toBe(0);
}

/** Let rejected send promises reach the transactions. */
export async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}
