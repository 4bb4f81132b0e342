import type { SipRequest, SipResponse } from '../message';

/** RFC 3261 §12: a dialog is identified by Call-ID, local tag and remote tag. */
export interface DialogId {
  readonly callId: string;
  readonly localTag: string;
  readonly remoteTag: string;
}

/**
 * Map key of a dialog id. Call-IDs and tags are compared byte by byte (RFC 3261 §20.8, §19.3), so the key keeps
 * case. NUL cannot appear in a Call-ID or a tag (both are tokens / words), so it is a safe separator.
 */
export function dialogKey(callId: string, localTag: string, remoteTag: string): string {
  return `${callId}\u0000${localTag}\u0000${remoteTag}`;
}

/** Key of `id` (see dialogKey). */
export function dialogIdKey(id: DialogId): string {
  return dialogKey(id.callId, id.localTag, id.remoteTag);
}

/**
 * RFC 3261 §12.2.2: for a request received inside a dialog, the local tag is the To tag and the remote tag the
 * From tag (a From without tag is the RFC 2543 null tag, ''). Undefined when the request has no To tag (not
 * in a dialog) or its headers cannot be read.
 */
export function uasDialogIdOf(req: SipRequest): DialogId | undefined {
  try {
    const localTag = req.toTag;
    if (localTag === undefined) return undefined;
    return { callId: req.callId, localTag, remoteTag: req.fromTag ?? '' };
  } catch {
    return undefined;
  }
}

/**
 * RFC 3261 §12.1.2: for a response received by the UAC, the local tag is the From tag and the remote tag the To
 * tag ('' when a 2xx arrives without one, RFC 3261 §12.1.2 backward compatibility). Undefined when unreadable.
 */
export function uacDialogIdOf(res: SipResponse): DialogId | undefined {
  try {
    const localTag = res.fromTag;
    if (localTag === undefined) return undefined;
    return { callId: res.callId, localTag, remoteTag: res.toTag ?? '' };
  } catch {
    return undefined;
  }
}
