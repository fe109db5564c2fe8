import { closeSync, fdatasync, fdatasyncSync, fstatSync, openSync, statSync } from "node:fs";

/**
 * The fsync of a WAL-mode database's `-wal` file, on libuv's thread pool instead of inside COMMIT.
 * With `synchronous = NORMAL` a WAL COMMIT writes its frames to the file (page cache: a killed process
 * loses nothing) but does not fsync them; calling `sync()` after COMMIT returned makes that
 * transaction, and every one committed before it by any connection, durable against a power cut —
 * what `synchronous = FULL` does, without holding the event loop for the disk (src/store/sqlite/
 * group-commit.ts). fdatasync covers the file, not one connection's writes: the pages of another
 * process's commits are flushed too, which is what lets a reader make what it read durable.
 */
export class WalSync {
  readonly #path: string;
  #fd: number | null = null;
  /** The file `#fd` was opened on: its number alone could name another file once closed under us. */
  #identity: { dev: number; ino: number } | null = null;
  #inFlight = 0;
  /** Files replaced while a sync ran on them: closed once none runs. */
  #stale: number[] = [];
  #closed = false;

  constructor(databasePath: string) {
    this.#path = `${databasePath}-wal`;
  }

  /** Resolves once everything written to the WAL before the call is on disk. */
  sync(): Promise<void> {
    return new Promise((resolve, reject) => {
      let fd: number;
      try {
        fd = this.#open();
      } catch (error) {
        reject(error);
        return;
      }
      this.#inFlight++;
      fdatasync(fd, (error) => {
        this.#inFlight--;
        if (this.#inFlight === 0) {
          for (const stale of this.#stale.splice(0)) closeSync(stale);
          if (this.#closed) this.#release();
        }
        if (error) reject(error);
        else resolve();
      });
    });
  }

  /** The same, blocking: for shutdown, where nothing else is left to run. */
  syncNow(): void {
    fdatasyncSync(this.#open());
  }

  /** Closes the file once no sync is running on it (an fd closed under a running fdatasync could be reused). */
  close(): void {
    this.#closed = true;
    if (this.#inFlight === 0) this.#release();
  }

  /**
   * The open `-wal` file; reopened when the file at that path is no longer the one open (SQLite deletes
   * it when the database's last connection closes, and another process may then create a new one).
   * Read-only: fdatasync needs no write access, and this never creates the file.
   */
  #open(): number {
    if (this.#fd !== null) {
      const current = statSync(this.#path);
      const ours = this.#stillOurs(this.#fd);
      if (ours && same(current, this.#identity)) return this.#fd;
      // A number no longer ours (closed under us, maybe reused by another file) is forgotten, never
      // closed: closing it would close someone else's file.
      if (ours && this.#inFlight === 0) closeSync(this.#fd);
      else if (ours) this.#stale.push(this.#fd);
      this.#fd = null;
    }
    const fd = openSync(this.#path, "r");
    const { dev, ino } = fstatSync(fd);
    this.#fd = fd;
    this.#identity = { dev, ino };
    return fd;
  }

  #stillOurs(fd: number): boolean {
    try {
      return same(fstatSync(fd), this.#identity);
    } catch {
      return false;
    }
  }

  #release(): void {
    if (this.#fd === null) return;
    if (this.#stillOurs(this.#fd)) closeSync(this.#fd);
    this.#fd = null;
  }
}

function same(stats: { dev: number; ino: number }, identity: { dev: number; ino: number } | null): boolean {
  return identity !== null && stats.dev === identity.dev && stats.ino === identity.ino;
}
