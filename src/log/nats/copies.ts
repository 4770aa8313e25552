/**
 * Copies of one event. A write is retried with its message id when a try gets no answer (failures.ts),
 * and the stream's duplicate window should answer the retry with the first try's sequence. On
 * nats-server before 2.11 it does not always: a new stream leader may take writes before it has
 * applied the last entries of the old one, so a retry of a write that did land can be stored a second
 * time (nats-io/nats-server#6485, "leader completeness"; measured here on 2.9.10: 1–5 of about 1,650
 * events in 3 of 20 runs of the chaos test, each right after the stream leader was killed).
 *
 * So after a retried write that the server did not answer as a duplicate, amebo reads the stream
 * from the highest sequence this process knew of before the first try (nothing below it can be a
 * copy) up to the retry's own message, keeps the earliest message with the id and deletes the later
 * ones. An event with a deduper needs none of this: its compare-and-swap on its own subject already
 * refuses a second copy (events.ts).
 *
 * Why this finds every copy: a copy that is stored at all is in the new leader's log before the retry
 * (raft appends the new term's entries after everything it has), so it has a lower sequence than the
 * retry's message, and a read that has reached the retry's message has every message before it.
 * Checks that arrive while a read runs share the next one: one read per burst of retries, not one
 * per retry.
 */
import { MSG_ID } from './records.js';
import type { NatsContext } from './connection.js';
import { deleteEvent } from './delete-event.js';
import { openScan } from './scan.js';

interface Check {
  readonly msgID: string;
  /** Sequences at or below this cannot hold a copy. */
  readonly after: number;
  /** The retry's own sequence. */
  readonly seq: number;
  readonly resolve: (seq: number) => void;
}

/** How many times a check is read again when a read ends before it reached the retry's message. */
const ROUNDS = 5;

export class Copies {
  #pending: Check[] = [];
  #running = false;
  /** Retried writes checked for a second copy since start (in `/health`). */
  checked = 0;
  /** Second copies deleted since start (in `/health`). */
  deleted = 0;
  /** Retried writes that could not be checked (the cluster failed meanwhile; in `/health`). */
  unchecked = 0;

  constructor(private readonly ctx: NatsContext) {}

  /**
   * The sequence that holds the message `msgID` once every later copy is deleted: `seq` itself, or
   * an earlier copy's. `after` is the highest sequence known before the first try was sent.
   */
  settle(msgID: string, after: number, seq: number): Promise<number> {
    this.checked++;
    return new Promise((resolve) => {
      this.#pending.push({ msgID, after, seq, resolve });
      if (!this.#running) void this.#run();
    });
  }

  async #run(): Promise<void> {
    this.#running = true;
    try {
      while (this.#pending.length > 0) {
        const batch = this.#pending;
        this.#pending = [];
        await this.#settleBatch(batch);
      }
    } finally {
      this.#running = false;
    }
  }

  async #settleBatch(batch: Check[]): Promise<void> {
    let open = batch;
    for (let round = 0; round < ROUNDS && open.length > 0; round++) {
      try {
        // A read that fell short came from a replica behind the leader: give it a moment (real time).
        if (round > 0) await new Promise((resolve) => setTimeout(resolve, 50 * round));
        open = await this.#read(open);
      } catch {
        // The event is stored: a 503 now would be untrue, and its resend would store a third copy.
        // Answer with the retry's id and leave any copy (counted in `unchecked`).
        break;
      }
    }
    // Not read to the end (ROUNDS reads fell short, or the cluster failed): the retry's own message.
    this.unchecked += open.length;
    for (const c of open) c.resolve(c.seq);
  }

  /** One read for a batch; settles the checks it reached and returns the others. */
  async #read(batch: readonly Check[]): Promise<Check[]> {
    const byId = new Map<string, Check[]>();
    let from = Number.POSITIVE_INFINITY;
    let to = 0;
    for (const c of batch) {
      const list = byId.get(c.msgID);
      if (list) list.push(c);
      else byId.set(c.msgID, [c]);
      from = Math.min(from, c.after + 1);
      to = Math.max(to, c.seq);
    }
    /** Every sequence seen holding each id, in order. */
    const seen = new Map<string, number[]>();
    let reached = 0;
    // Events without a deduper: the only ones a retry can store twice.
    const scan = await openScan(this.ctx, { stream: this.ctx.names.events, filter: this.ctx.names.plainEventSubjects, from });
    try {
      for await (const { msg, seq } of scan.messages) {
        reached = seq;
        const id = msg.headers?.get(MSG_ID);
        if (id && byId.has(id)) {
          const list = seen.get(id);
          if (list) list.push(seq);
          else seen.set(id, [seq]);
        }
        if (seq >= to) break;
      }
    } finally {
      scan.close();
    }
    const open: Check[] = [];
    for (const [id, checks] of byId) {
      for (const c of checks) {
        if (reached < c.seq) {
          open.push(c);
          continue;
        }
        const seqs = (seen.get(id) ?? []).filter((s) => s > c.after && s <= c.seq);
        const keep = seqs[0] ?? c.seq;
        try {
          for (const s of seqs) if (s !== keep) await this.#delete(s);
        } catch {
          // The cluster failed meanwhile: a copy may stay. The earliest is never deleted: answer it.
          this.unchecked++;
        }
        c.resolve(keep);
      }
    }
    return open;
  }

  async #delete(seq: number): Promise<void> {
    // With the records of any attempt made on it meanwhile (it may have been delivered already).
    if (await deleteEvent(this.ctx, seq, 'deleting a second copy of')) this.deleted++;
  }
}
