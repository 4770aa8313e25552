/** A min-heap of gists by due time (then id), with lazy deletion of superseded entries. */

interface Entry {
  readonly id: number;
  readonly due: number;
}

export class DueQueue {
  readonly #heap: Entry[] = [];
  /** The live due time of each queued gist; heap entries that disagree are stale. */
  readonly #live = new Map<number, number>();

  get size(): number {
    return this.#live.size;
  }

  has(id: number): boolean {
    return this.#live.has(id);
  }

  /** Queues a gist, or moves it to a new due time if already queued. */
  push(id: number, due: number): void {
    this.#live.set(id, due);
    this.#heap.push({ id, due });
    this.#up(this.#heap.length - 1);
  }

  /** The earliest live entry, without removing it. */
  peek(): Entry | undefined {
    this.#dropStale();
    return this.#heap[0];
  }

  /** Removes and returns the earliest live entry. */
  pop(): Entry | undefined {
    this.#dropStale();
    const top = this.#removeTop();
    if (top) this.#live.delete(top.id);
    return top;
  }

  delete(id: number): boolean {
    return this.#live.delete(id);
  }

  /** The live ids (for marking a removed subscription's gists). */
  ids(): IterableIterator<number> {
    return this.#live.keys();
  }

  #dropStale(): void {
    while (this.#heap.length > 0) {
      const top = this.#heap[0]!;
      if (this.#live.get(top.id) === top.due) return;
      this.#removeTop();
    }
  }

  #removeTop(): Entry | undefined {
    const heap = this.#heap;
    if (heap.length === 0) return undefined;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      this.#down(0);
    }
    return top;
  }

  #less(a: Entry, b: Entry): boolean {
    return a.due < b.due || (a.due === b.due && a.id < b.id);
  }

  #up(i: number): void {
    const heap = this.#heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(heap[i]!, heap[parent]!)) return;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  #down(i: number): void {
    const heap = this.#heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && this.#less(heap[l]!, heap[m]!)) m = l;
      if (r < heap.length && this.#less(heap[r]!, heap[m]!)) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  }
}
