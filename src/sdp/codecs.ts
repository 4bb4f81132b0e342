import { SdpMedia, SdpRtpmap } from './sdp-types';

/** Audio codecs this server transcodes (G.711, RFC 3551 §4.5.14). */
export type AudioCodecName = 'PCMU' | 'PCMA';

export const DEFAULT_CODECS: readonly AudioCodecName[] = ['PCMU', 'PCMA'];

/** Static payload types of RFC 3551 Table 4 that matter here. */
export const STATIC_PAYLOAD_TYPES: Readonly<Record<AudioCodecName, number>> = { PCMU: 0, PCMA: 8 };

/** Dynamic payload type used in our offers for telephone-event (the customary 101). */
export const DEFAULT_TELEPHONE_EVENT_PT = 101;

/** DTMF events we handle: 0-15 (RFC 4733 §3.2), plus 16 (flash) accepted in the fmtp we answer with. */
export const TELEPHONE_EVENT_FMTP = '0-16';

/** Static assignments used when a payload type has no a=rtpmap (RFC 3551 Table 4). */
const STATIC_MAP: ReadonlyMap<number, { encoding: string; clockRate: number }> = new Map([
  [0, { encoding: 'PCMU', clockRate: 8000 }],
  [3, { encoding: 'GSM', clockRate: 8000 }],
  [4, { encoding: 'G723', clockRate: 8000 }],
  [8, { encoding: 'PCMA', clockRate: 8000 }],
  [9, { encoding: 'G722', clockRate: 8000 }],
  [13, { encoding: 'CN', clockRate: 8000 }],
  [18, { encoding: 'G729', clockRate: 8000 }],
]);

/** The rtpmap of `pt` in `m`, or the static assignment when there is none. */
export function resolveRtpmap(m: SdpMedia, pt: number): { encoding: string; clockRate: number; channels?: number } | undefined {
  const map = m.rtpmaps.find((r) => r.payloadType === pt);
  if (map) return map;
  return pt < 96 ? STATIC_MAP.get(pt) : undefined;
}

/** The codec a format of `m` carries, if it is one we support (by rtpmap name, so dynamic PTs work too). */
export function audioCodecOf(m: SdpMedia, format: string): AudioCodecName | undefined {
  const pt = Number(format);
  if (!/^[0-9]{1,3}$/.test(format) || pt > 127) return undefined;
  const map = resolveRtpmap(m, pt);
  if (!map || map.clockRate !== 8000 || (map.channels !== undefined && map.channels !== 1)) return undefined;
  const name = map.encoding.toUpperCase();
  return name === 'PCMU' || name === 'PCMA' ? name : undefined;
}

/** The telephone-event payload type at 8000 Hz offered in `m` (RFC 4733 §7.1.1), if any. */
export function telephoneEventPt(m: SdpMedia): number | undefined {
  for (const f of m.formats) {
    const pt = Number(f);
    if (!/^[0-9]{1,3}$/.test(f)) continue;
    const map = m.rtpmaps.find((r) => r.payloadType === pt);
    if (map && map.encoding.toLowerCase() === 'telephone-event' && map.clockRate === 8000) return pt;
  }
  return undefined;
}

/** Codec rtpmap line for a payload type. */
export function codecRtpmap(pt: number, codec: AudioCodecName): SdpRtpmap {
  return { payloadType: pt, encoding: codec, clockRate: 8000 };
}

/**
 * Intersect an offered telephone-event fmtp event list (e.g. "0-15,66,70") with the events we accept
 * (0-16) and format the result as ranges. RFC 4733 §2.4.1: no fmtp means 0-15.
 */
export function intersectEvents(offered: string | undefined): string {
  const accepted = new Set<number>();
  const list = offered === undefined || offered.trim() === '' ? '0-15' : offered;
  for (const part of list.split(',')) {
    const m = /^\s*([0-9]{1,3})(?:\s*-\s*([0-9]{1,3}))?\s*$/.exec(part);
    if (!m) continue;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    for (let e = lo; e <= Math.min(hi, 16); e++) accepted.add(e);
  }
  if (accepted.size === 0) return '0-15';
  const sorted = [...accepted].sort((a, b) => a - b);
  const ranges: string[] = [];
  let start = sorted[0];
  let prev = start;
  for (let i = 1; i <= sorted.length; i++) {
    const e = sorted[i];
    if (e === prev + 1) {
      prev = e;
      continue;
    }
    ranges.push(start === prev ? `${start}` : `${start}-${prev}`);
    start = e;
    prev = e;
  }
  return ranges.join(',');
}
