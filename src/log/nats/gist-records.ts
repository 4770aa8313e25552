/**
 * The gists stream: one subject per gist, one record per attempt or replay (records.ts). The last
 * record is the gist's state; the subject's history is its attempts. Every append names the sequence
 * of the record it follows (0: the first), so of two instances that both think they hold a gist, only
 * one can record its attempt.
 */
import type { Gist } from '../contract.js';
import { getMessage, uniqueId, write, type NatsContext } from './connection.js';
import { isWrongLastSequence } from './failures.js';
import { MSG_ID, gistOf, parseRecord, recordOf, type AttemptRow, type EventRecord, type GistRecord } from './records.js';

export interface CurrentRecord {
  readonly record: GistRecord;
  readonly gist: Gist;
  readonly seq: number;
  /** The message id it was written with. */
  readonly msgId: string | undefined;
}

export type AppendResult = { readonly ok: true; readonly seq: number } | { readonly ok: false; readonly current: CurrentRecord | null };

export class GistRecords {
  constructor(private readonly ctx: NatsContext) {}

  /** The gist's last record, or null when it has none yet. */
  async read(event: number, subscription: string): Promise<CurrentRecord | null> {
    const m = await getMessage(this.ctx, this.ctx.names.gists, { last_by_subj: this.ctx.names.gistSubject(event, subscription) });
    if (!m) return null;
    const record = parseRecord(m.data);
    return { record, gist: gistOf(event, subscription, record), seq: m.seq, msgId: m.header?.get(MSG_ID) };
  }

  /** Every record of a gist, oldest first. */
  async history(event: number, subscription: string): Promise<CurrentRecord[]> {
    const subject = this.ctx.names.gistSubject(event, subscription);
    const out: CurrentRecord[] = [];
    for (let seq = 1; ; ) {
      const m = await getMessage(this.ctx, this.ctx.names.gists, { seq, next_by_subj: subject });
      if (!m) return out;
      const record = parseRecord(m.data);
      out.push({ record, gist: gistOf(event, subscription, record), seq: m.seq, msgId: m.header?.get(MSG_ID) });
      seq = m.seq + 1;
    }
  }

  /**
   * Appends the record stating `gist` if the subject's last record is still `expected`; otherwise
   * answers with what is there now.
   */
  async append(event: EventRecord, gist: Gist, expected: number, attempt?: AttemptRow): Promise<AppendResult> {
    const subject = this.ctx.names.gistSubject(event.event.id, gist.subscription);
    // One id per write, kept by its retries, so any other write after the same predecessor (another
    // process's, or a replay in this one) is never taken for this one.
    const msgID = `${subject}#${expected}#${uniqueId(this.ctx)}`;
    try {
      const ack = await write(this.ctx, subject, JSON.stringify(recordOf(gist, event.ts, attempt)), { msgID, expectLastSubjectSeq: expected });
      return { ok: true, seq: ack.seq };
    } catch (err) {
      if (!isWrongLastSequence(err)) throw err;
      const current = await this.read(event.event.id, gist.subscription);
      // A retry of a write that landed while the cluster changed leaders is refused as a stale
      // compare-and-swap (the new leader does not know its message id): it is ours all the same.
      if (current?.msgId === msgID) return { ok: true, seq: current.seq };
      return { ok: false, current };
    }
  }
}
