import { SdpBandwidth, SdpConnection, SdpMedia, SessionDescription } from './sdp-types';

const CRLF = '\r\n';

/** c= value (RFC 8866 §5.7). */
export function formatConnection(c: SdpConnection): string {
  let addr = c.address;
  if (c.ttl !== undefined) addr += `/${c.ttl}`;
  if (c.count !== undefined) addr += `/${c.count}`;
  return `${c.netType} ${c.addrType} ${addr}`;
}

function bandwidths(out: string[], list: readonly SdpBandwidth[]): void {
  for (const b of list) out.push(`b=${b.type}:${b.value}`);
}

function formatMedia(out: string[], m: SdpMedia): void {
  const port = m.portCount !== undefined ? `${m.port}/${m.portCount}` : `${m.port}`;
  out.push(`m=${m.media} ${port} ${m.proto} ${m.formats.join(' ')}`);
  if (m.title !== undefined) out.push(`i=${m.title}`);
  if (m.connection) out.push(`c=${formatConnection(m.connection)}`);
  bandwidths(out, m.bandwidths);
  if (m.key !== undefined) out.push(`k=${m.key}`);
  // rtpmap/fmtp grouped per format, in format-list order (the customary layout), then any strays.
  const doneMaps = new Set<number>();
  const doneFmtps = new Set<number>();
  for (const f of m.formats) {
    m.rtpmaps.forEach((r, i) => {
      if (String(r.payloadType) !== f || doneMaps.has(i)) return;
      doneMaps.add(i);
      out.push(`a=rtpmap:${r.payloadType} ${r.encoding}/${r.clockRate}${r.channels !== undefined ? `/${r.channels}` : ''}`);
    });
    m.fmtps.forEach((p, i) => {
      if (String(p.payloadType) !== f || doneFmtps.has(i)) return;
      doneFmtps.add(i);
      out.push(p.params === '' ? `a=fmtp:${p.payloadType}` : `a=fmtp:${p.payloadType} ${p.params}`);
    });
  }
  m.rtpmaps.forEach((r, i) => {
    if (!doneMaps.has(i)) out.push(`a=rtpmap:${r.payloadType} ${r.encoding}/${r.clockRate}${r.channels !== undefined ? `/${r.channels}` : ''}`);
  });
  m.fmtps.forEach((p, i) => {
    if (!doneFmtps.has(i)) out.push(p.params === '' ? `a=fmtp:${p.payloadType}` : `a=fmtp:${p.payloadType} ${p.params}`);
  });
  if (m.ptime !== undefined) out.push(`a=ptime:${m.ptime}`);
  if (m.maxptime !== undefined) out.push(`a=maxptime:${m.maxptime}`);
  if (m.rtcp) out.push(m.rtcp.connection ? `a=rtcp:${m.rtcp.port} ${formatConnection(m.rtcp.connection)}` : `a=rtcp:${m.rtcp.port}`);
  if (m.rtcpMux) out.push('a=rtcp-mux');
  for (const x of m.extra) out.push(`${x.type}=${x.value}`);
  if (m.direction) out.push(`a=${m.direction}`);
}

/** Serialize to SDP text with CRLF line ends (RFC 8866 §5), fields in the order the grammar requires. */
export function serializeSdp(sdp: SessionDescription): string {
  const out: string[] = [];
  const o = sdp.origin;
  out.push(`v=${sdp.version}`);
  out.push(`o=${o.username} ${o.sessionId} ${o.sessionVersion} ${o.netType} ${o.addrType} ${o.address}`);
  out.push(`s=${sdp.sessionName === '' ? '-' : sdp.sessionName}`);
  if (sdp.info !== undefined) out.push(`i=${sdp.info}`);
  if (sdp.uri !== undefined) out.push(`u=${sdp.uri}`);
  for (const e of sdp.emails) out.push(`e=${e}`);
  for (const p of sdp.phones) out.push(`p=${p}`);
  if (sdp.connection) out.push(`c=${formatConnection(sdp.connection)}`);
  bandwidths(out, sdp.bandwidths);
  const timings = sdp.timings.length > 0 ? sdp.timings : [{ start: '0', stop: '0', repeats: [] }];
  for (const t of timings) {
    out.push(`t=${t.start} ${t.stop}`);
    for (const r of t.repeats) out.push(`r=${r}`);
  }
  if (sdp.zone !== undefined) out.push(`z=${sdp.zone}`);
  if (sdp.key !== undefined) out.push(`k=${sdp.key}`);
  for (const x of sdp.extra) out.push(`${x.type}=${x.value}`);
  if (sdp.direction) out.push(`a=${sdp.direction}`);
  for (const m of sdp.media) formatMedia(out, m);
  return out.join(CRLF) + CRLF;
}
