/**
 * The database a CLI (`npm run tokens`, `npm run tenant-config`) works on, and the addresses
 * it prints: DATABASE_URL when set; else the embedded server that `npm start` runs on DATA_DIR
 * (found through its data directory; the stack keeps running); else, when nothing runs there,
 * the embedded server started for this one command and stopped after it.
 */
import type { Config } from '../common/config';
import { openDatabase, type Db } from '../common/db';
import { embeddedLayout, runningEmbeddedUrl, startEmbeddedPostgres } from '../dev/embedded-postgres';
import { acquireStackLock, DataDirBusyError, readStackState } from '../dev/stack-lock';

export interface CliDatabase {
  db: Db;
  /** PUBLIC_URL of the running `npm start` on DATA_DIR (its real port), else this environment's. */
  publicUrl: string;
  /** Temporal frontend of the running `npm start` on DATA_DIR, if any. */
  temporalAddress?: string;
  close(): Promise<void>;
}

/** How long a CLI waits for an `npm start` that is still starting to bring its database up. */
const WAIT_FOR_START_MS = 60_000;

export async function openCliDatabase(config: Config, command: string, say: (msg: string) => void): Promise<CliDatabase> {
  if (config.databaseUrl) {
    const db = await openDatabase({ databaseUrl: config.databaseUrl, poolSize: 2 });
    const stack = readStackState(config.dataDir);
    return { db, publicUrl: stack?.publicUrl ?? config.publicUrl, temporalAddress: stack?.temporalAddress, close: () => db.close() };
  }
  const deadline = Date.now() + WAIT_FOR_START_MS;
  for (;;) {
    const url = runningEmbeddedUrl(config.dataDir);
    if (url) {
      const db = await openDatabase({ databaseUrl: url, poolSize: 2 });
      const stack = readStackState(config.dataDir);
      return { db, publicUrl: stack?.publicUrl ?? config.publicUrl, temporalAddress: stack?.temporalAddress, close: () => db.close() };
    }
    const owner = readStackState(config.dataDir);
    if (!owner) break;
    if (owner.scimBaseUrl) {
      // Ready, yet no embedded server: that `npm start` runs on a DATABASE_URL of its own.
      throw new Error(
        `${owner.command} (pid ${owner.pid}) on DATA_DIR=${config.dataDir} uses a PostgreSQL server of its own: set the same DATABASE_URL for this command.`,
      );
    }
    if (Date.now() > deadline) throw new DataDirBusyError(config.dataDir, owner);
    await new Promise((r) => setTimeout(r, 250));
  }
  // Nothing runs on DATA_DIR: this command owns it until it ends.
  const lock = await acquireStackLock(config.dataDir, command);
  try {
    say(`npm start is not running on ${config.dataDir}: starting its embedded PostgreSQL for this command`);
    const server = await startEmbeddedPostgres({ ...embeddedLayout(config.dataDir), port: config.embeddedPostgresPort, log: say });
    const db = await openDatabase({ databaseUrl: server.url, poolSize: 2 });
    return {
      db,
      publicUrl: config.publicUrl,
      async close() {
        await db.close();
        await server.stop();
        lock.release();
      },
    };
  } catch (err) {
    lock.release();
    throw err;
  }
}
