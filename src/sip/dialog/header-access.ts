import { cloneUri, type NameAddr, type SipMessage, type SipUri } from '../message';

/**
 * Typed header getters of the message layer throw on a malformed header; the dialog layer reads network input
 * and must never let that escape (house rule: network input never throws out of a layer). These helpers turn
 * a malformed header into `undefined`.
 */

/** First Contact of `msg`, or undefined when absent, '*', or malformed. */
export function firstContact(msg: SipMessage): NameAddr | undefined {
  try {
    const contacts = msg.contacts;
    return contacts.length > 0 ? contacts[0] : undefined;
  } catch {
    return undefined;
  }
}

/** Record-Route entries in message order; undefined when one of them is malformed. */
export function recordRoutesOf(msg: SipMessage): NameAddr[] | undefined {
  try {
    return msg.recordRoutes;
  } catch {
    return undefined;
  }
}

/** True when any value of header `name` (a comma list of option tags, e.g. Require, Supported) equals `tag`. */
export function hasOptionTag(msg: SipMessage, name: string, tag: string): boolean {
  const values = msg.getHeaders(name);
  for (const raw of values) {
    // getHeaders splits on top-level commas; split again in case a layer kept a whole line.
    for (const part of raw.split(',')) if (part.trim().toLowerCase() === tag) return true;
  }
  return false;
}

/** A copy of a name-addr keeping the display name and URI; header params are copied unless `dropParams`. */
export function cloneNameAddr(na: NameAddr, dropParams = false): NameAddr {
  const copy: NameAddr = { uri: cloneUri(na.uri), params: dropParams ? new Map() : new Map(na.params) };
  if (na.displayName !== undefined) copy.displayName = na.displayName;
  return copy;
}

/** Via transport (upper case) for a URI: transport param, else TLS for sips, else UDP (RFC 3263 §4.1 defaults). */
export function transportOfUri(uri: SipUri): string {
  const t = uri.params.get('transport');
  if (t) return t.toUpperCase();
  return uri.scheme === 'sips' ? 'TLS' : 'UDP';
}
