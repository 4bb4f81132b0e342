/**
 * Source of the worker thread that owns the PGlite instance. It is plain CommonJS run with
 * `new Worker(src, { eval: true })`, so it loads PGlite through Node's own loader whatever loaded the
 * main thread (PGlite's loader uses dynamic `import()`, which some module systems, e.g. jest's, refuse).
 * Keeping the WASM engine off the main thread also keeps SQL work from delaying SIP and RTP timers.
 *
 * Protocol (one request at a time per transaction; the main thread serialises):
 *   -> { id, op: 'open', dataDir? }                 <- { id, ok: true }
 *   -> { id, op: 'query', sql, params, txId? }      <- { id, ok: true, result: { rows, rowCount } }
 *   -> { id, op: 'exec', sql, txId? }               <- { id, ok: true }
 *   -> { id, op: 'begin' | 'commit' | 'rollback', txId }
 *   -> { id, op: 'close' }
 *   any failure                                      <- { id, ok: false, error: { message, code, ... } }
 */
export const PGLITE_WORKER_SOURCE = String.raw`
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { PGlite } = require(workerData.pglitePath);

let db;
const txs = new Map();
const ERROR_FIELDS = ['code', 'detail', 'hint', 'position', 'severity', 'constraint', 'table', 'column', 'schema', 'where', 'routine'];

function serializeError(err) {
  const out = { message: err && err.message ? String(err.message) : String(err) };
  if (err && typeof err === 'object') {
    for (const f of ERROR_FIELDS) if (err[f] !== undefined && err[f] !== null) out[f] = String(err[f]);
  }
  return out;
}

function target(txId) {
  if (txId === undefined) return db;
  const entry = txs.get(txId);
  if (!entry) throw new Error('unknown transaction ' + txId);
  return entry.tx;
}

async function handle(msg) {
  switch (msg.op) {
    case 'open':
      db = msg.dataDir === undefined ? new PGlite() : new PGlite(msg.dataDir);
      await db.waitReady;
      return undefined;
    case 'query': {
      const r = await target(msg.txId).query(msg.sql, msg.params);
      const rowCount = r.rowCount !== undefined ? r.rowCount : r.affectedRows !== undefined ? r.affectedRows : r.rows.length;
      return { rows: r.rows, rowCount };
    }
    case 'exec':
      await target(msg.txId).exec(msg.sql);
      return undefined;
    case 'begin': {
      // PGlite's transaction() runs BEGIN, then our callback, then COMMIT (or ROLLBACK if it rejects).
      // The callback parks on a promise that 'commit' / 'rollback' settle.
      const entry = {};
      await new Promise((ready, fail) => {
        entry.done = db.transaction((tx) => new Promise((commit, rollback) => {
          entry.tx = tx;
          entry.commit = commit;
          entry.rollback = rollback;
          ready();
        }));
        entry.done.then(undefined, fail);
      });
      txs.set(msg.txId, entry);
      return undefined;
    }
    case 'commit': {
      const entry = txs.get(msg.txId);
      txs.delete(msg.txId);
      entry.commit();
      await entry.done;
      return undefined;
    }
    case 'rollback': {
      const entry = txs.get(msg.txId);
      txs.delete(msg.txId);
      if (entry) {
        entry.rollback(new Error('rollback'));
        await entry.done.catch(() => undefined);
      }
      return undefined;
    }
    case 'close':
      if (db) await db.close();
      return undefined;
    default:
      throw new Error('unknown op ' + msg.op);
  }
}

parentPort.on('message', (msg) => {
  handle(msg).then(
    (result) => parentPort.postMessage({ id: msg.id, ok: true, result }),
    (err) => parentPort.postMessage({ id: msg.id, ok: false, error: serializeError(err) }),
  );
});
`;
