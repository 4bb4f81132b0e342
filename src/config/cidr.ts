import { BlockList, isIP } from 'node:net';

/** An address block of an allow-list: `10.0.0.0/8`, `2001:db8::/32`; a bare address is a /32 or /128. */
export interface CidrBlock {
  readonly address: string;
  readonly prefix: number;
  readonly family: 4 | 6;
}

/** Parse `addr[/prefix]`; undefined when malformed. */
export function parseCidr(text: string): CidrBlock | undefined {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const ipVersion = isIP(address);
  if (ipVersion !== 4 && ipVersion !== 6) return undefined;
  const family: 4 | 6 = ipVersion;
  const maxPrefix = family === 4 ? 32 : 128;
  if (slash < 0) return { address, prefix: maxPrefix, family };
  const prefixText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > maxPrefix) return undefined;
  return { address, prefix, family };
}

/** `addr/prefix` text of a block. */
export function formatCidr(block: CidrBlock): string {
  return `${block.address}/${block.prefix}`;
}

/**
 * A `net.BlockList` holding the blocks, for fast `check(ip)` in allow-list middleware and the SIP
 * ingress filter. IPv4-mapped IPv6 sources (`::ffff:10.0.0.1` on dual-stack sockets) match IPv4 rules.
 */
export function cidrBlockList(blocks: readonly CidrBlock[]): BlockList {
  const list = new BlockList();
  for (const b of blocks) list.addSubnet(b.address, b.prefix, b.family === 4 ? 'ipv4' : 'ipv6');
  return list;
}

/** True when `ip` is inside one of the blocks of `list` (checks the IPv4 form of IPv4-mapped addresses too). */
export function blockListHas(list: BlockList, ip: string): boolean {
  if (ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4) return list.check(ip.slice(7), 'ipv4');
  const family = isIP(ip);
  if (family === 0) return false;
  return list.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}
