import { lookup as dnsLookup, type LookupOneOptions } from 'node:dns';
import { isIP } from 'node:net';

/** The `lookup` contract of `dgram.createSocket`: Node calls it as lookup(address, 4 | 6, callback). */
export type DgramLookup = (
  hostname: string,
  options: number | LookupOneOptions,
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
) => void;

/**
 * A `lookup` for `dgram.createSocket` that answers IP literals at once. An unconnected UDP socket resolves the
 * destination of every `send()` through its lookup; the default, `dns.lookup`, validates its arguments, tests the
 * address with `isIP` and answers a literal on the next tick (a queued callback and a deferred send per datagram).
 * Destinations of SIP responses and of most requests are literals (the Via's received/rport address, RFC 3581 §4),
 * and so are media destinations (the latched source, or the SDP connection address), so this answers them
 * synchronously and the datagram leaves inside `send()`. The last literal is remembered, so a socket sending to one
 * peer tests its address once: one instance per socket. Host names (e.g. in an SDP c= line, RFC 8866 §5.7) go to
 * `dns.lookup` as before. The answer for a
 * literal is what `dns.lookup` gives: the address itself and the family of the literal, whatever family was asked
 * for (the socket then rejects a mismatch, as it would).
 */
export function createLiteralLookup(): DgramLookup {
  let lastAddress = '';
  let lastFamily = 0;
  return (hostname, options, callback) => {
    if (hostname === lastAddress) {
      callback(null, hostname, lastFamily);
      return;
    }
    const family = typeof hostname === 'string' ? isIP(hostname) : 0;
    if (family !== 0) {
      lastAddress = hostname;
      lastFamily = family;
      callback(null, hostname, family);
      return;
    }
    if (typeof options === 'number') dnsLookup(hostname, options, callback);
    else dnsLookup(hostname, options, callback);
  };
}
