/** The dialog a Replaces header names (RFC 3891 §6.1), as the sender of the INVITE sees it. */
export interface ReplacesHeader {
  callId: string;
  toTag: string;
  fromTag: string;
  earlyOnly: boolean;
}

/**
 * Parse the Replaces header of an INVITE (`callid;to-tag=a;from-tag=b[;early-only]`, RFC 3891 §6.1); undefined when
 * it lacks a Call-ID or either tag (the INVITE is then answered 400, §3). Never throws: network input.
 */
export function parseReplacesHeader(value: string | undefined): ReplacesHeader | undefined {
  if (value === undefined || value.length > 1024) return undefined;
  const parts = value.split(';').map((p) => p.trim());
  const callId = parts.shift();
  if (!callId) return undefined;
  let toTag: string | undefined;
  let fromTag: string | undefined;
  let earlyOnly = false;
  for (const p of parts) {
    const eq = p.indexOf('=');
    const name = (eq < 0 ? p : p.slice(0, eq)).trim().toLowerCase();
    const v = eq < 0 ? '' : p.slice(eq + 1).trim();
    if (name === 'to-tag') toTag = v;
    else if (name === 'from-tag') fromTag = v;
    else if (name === 'early-only') earlyOnly = true;
  }
  if (!toTag || !fromTag) return undefined;
  return { callId, toTag, fromTag, earlyOnly };
}
