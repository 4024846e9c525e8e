/** A binary min-heap that tracks each member's position, so a member whose key changed is re-sifted or removed in O(log n). */

/**
 * How many members `find` visits in order before it falls back to one linear pass: best-first
 * traversal costs O(k log k), so past this budget a plain O(n) scan is cheaper and bounds the worst case.
 */
const DEFAULT_FIND_BUDGET = 64;

/**
 * A min-heap over distinct members ordered by `compare`, which must be a total order (never 0
 * for two different members) and may read mutable state of the members: whoever mutates a
 * member's key must call {@link IndexedHeap.update} before the next operation on the heap.
 */
export class IndexedHeap<T> {
  readonly #items: T[] = [];
  readonly #positions = new Map<T, number>();
  readonly #compare: (a: T, b: T) => number;

  constructor(compare: (a: T, b: T) => number) {
    this.#compare = compare;
  }

  get size(): number {
    return this.#items.length;
  }

  has(item: T): boolean {
    return this.#positions.has(item);
  }

  /** The least member, or undefined when empty. */
  peek(): T | undefined {
    return this.#items[0];
  }

  /** Adds `item`; if it is already a member, only re-sifts it. */
  insert(item: T): void {
    if (this.#positions.has(item)) {
      this.update(item);
      return;
    }
    this.#items.push(item);
    this.#positions.set(item, this.#items.length - 1);
    this.#siftUp(this.#items.length - 1);
  }

  /** Removes `item`; returns whether it was a member. */
  remove(item: T): boolean {
    const at = this.#positions.get(item);
    if (at === undefined) return false;
    this.#positions.delete(item);
    const last = this.#items.pop() as T;
    if (at < this.#items.length) {
      this.#items[at] = last;
      this.#positions.set(last, at);
      this.#resift(at);
    }
    return true;
  }

  /** Restores the heap order after `item`'s key changed; a non-member is ignored. */
  update(item: T): void {
    const at = this.#positions.get(item);
    if (at !== undefined) this.#resift(at);
  }

  /**
   * The least member that `accept` takes, or undefined. Visits members in order (so a hit near
   * the top costs O(log n) at most), and after `budget` rejections finishes with one linear pass.
   * `accept` must not mutate the heap.
   */
  find(accept: (item: T) => boolean, budget = DEFAULT_FIND_BUDGET): T | undefined {
    const items = this.#items;
    const n = items.length;
    if (n === 0) return undefined;
    const root = items[0] as T;
    if (accept(root)) return root;
    // The frontier is itself a min-heap of positions: popping it yields the members in order.
    const frontier: number[] = [];
    const push = (i: number) => {
      if (i >= n) return;
      frontier.push(i);
      let c = frontier.length - 1;
      while (c > 0) {
        const p = (c - 1) >> 1;
        if (this.#compare(items[frontier[c] as number] as T, items[frontier[p] as number] as T) >= 0) break;
        [frontier[c], frontier[p]] = [frontier[p] as number, frontier[c] as number];
        c = p;
      }
    };
    const pop = (): number => {
      const top = frontier[0] as number;
      const last = frontier.pop() as number;
      if (frontier.length > 0) {
        frontier[0] = last;
        let p = 0;
        for (;;) {
          const l = 2 * p + 1;
          if (l >= frontier.length) break;
          const r = l + 1;
          const c =
            r < frontier.length &&
            this.#compare(items[frontier[r] as number] as T, items[frontier[l] as number] as T) < 0
              ? r
              : l;
          if (this.#compare(items[frontier[c] as number] as T, items[frontier[p] as number] as T) >= 0) break;
          [frontier[c], frontier[p]] = [frontier[p] as number, frontier[c] as number];
          p = c;
        }
      }
      return top;
    };
    push(1);
    push(2);
    for (let visited = 1; frontier.length > 0; visited++) {
      if (visited >= budget) return this.#scan(accept);
      const i = pop();
      const item = items[i] as T;
      if (accept(item)) return item;
      push(2 * i + 1);
      push(2 * i + 2);
    }
    return undefined;
  }

  // The least accepted member by one pass over all of them.
  #scan(accept: (item: T) => boolean): T | undefined {
    let best: T | undefined;
    for (const item of this.#items) {
      if ((best === undefined || this.#compare(item, best) < 0) && accept(item)) best = item;
    }
    return best;
  }

  #resift(at: number): void {
    if (at > 0 && this.#compare(this.#items[at] as T, this.#items[(at - 1) >> 1] as T) < 0) this.#siftUp(at);
    else this.#siftDown(at);
  }

  #siftUp(at: number): void {
    const items = this.#items;
    const item = items[at] as T;
    while (at > 0) {
      const parentAt = (at - 1) >> 1;
      const parent = items[parentAt] as T;
      if (this.#compare(item, parent) >= 0) break;
      items[at] = parent;
      this.#positions.set(parent, at);
      at = parentAt;
    }
    items[at] = item;
    this.#positions.set(item, at);
  }

  #siftDown(at: number): void {
    const items = this.#items;
    const n = items.length;
    const item = items[at] as T;
    for (;;) {
      const left = 2 * at + 1;
      if (left >= n) break;
      const right = left + 1;
      const childAt = right < n && this.#compare(items[right] as T, items[left] as T) < 0 ? right : left;
      const child = items[childAt] as T;
      if (this.#compare(child, item) >= 0) break;
      items[at] = child;
      this.#positions.set(child, at);
      at = childAt;
    }
    items[at] = item;
    this.#positions.set(item, at);
  }
}
