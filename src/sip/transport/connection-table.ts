import type { StreamConnection } from './stream-connection';
import type { StreamProtocol } from './types';

/**
 * Open TCP/TLS connections, by id and by reuse key (transport, address, port). A connection opened by a
 * peer is indexed under the peer's source address:port so requests to that address reuse it (RFC 5923 §5 in
 * spirit; with an explicit `alias` Via parameter the layer above can add the advertised sent-by too).
 * When several connections share a key the newest wins.
 */
export class ConnectionTable {
  private readonly byId = new Map<number, StreamConnection>();
  private readonly byKey = new Map<string, StreamConnection>();

  get size(): number {
    return this.byId.size;
  }

  add(conn: StreamConnection): void {
    this.byId.set(conn.connectionId, conn);
    this.index(conn, conn.address, conn.port);
  }

  /** Also reach `conn` through (its transport, address, port). */
  index(conn: StreamConnection, address: string, port: number): void {
    const key = reuseKey(conn.transport, address, port);
    if (!conn.keys.includes(key)) conn.keys.push(key);
    this.byKey.set(key, conn);
  }

  get(connectionId: number): StreamConnection | undefined {
    return this.byId.get(connectionId);
  }

  /** A connection usable for new sends to the target (connecting or open, not draining). */
  find(transport: StreamProtocol, address: string, port: number): StreamConnection | undefined {
    const conn = this.byKey.get(reuseKey(transport, address, port));
    return conn !== undefined && (conn.state === 'open' || conn.state === 'connecting') ? conn : undefined;
  }

  /** Stop offering `conn` for reuse (it is closing) while keeping it reachable by id. */
  unindex(conn: StreamConnection): void {
    for (const key of conn.keys) if (this.byKey.get(key) === conn) this.byKey.delete(key);
    conn.keys.length = 0;
  }

  remove(conn: StreamConnection): void {
    this.unindex(conn);
    if (this.byId.get(conn.connectionId) === conn) this.byId.delete(conn.connectionId);
  }

  values(): IterableIterator<StreamConnection> {
    return this.byId.values();
  }
}

function reuseKey(transport: StreamProtocol, address: string, port: number): string {
  return `${transport}|${address}|${port}`;
}
