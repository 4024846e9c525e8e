// Unit tests of IndexedHeap: order under insert/update/remove, and find within and beyond its budget.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { IndexedHeap } from "./indexed-heap.ts";

interface Item {
  id: number;
  key: number;
}

const byKeyThenId = (a: Item, b: Item) => a.key - b.key || a.id - b.id;

/** Pops everything through peek/remove, so the result is the heap's order. */
function drain(heap: IndexedHeap<Item>): number[] {
  const out: number[] = [];
  for (let top = heap.peek(); top !== undefined; top = heap.peek()) {
    out.push(top.id);
    heap.remove(top);
  }
  return out;
}

function sortedIds(items: Item[]): number[] {
  return [...items].sort(byKeyThenId).map((item) => item.id);
}

// A deterministic LCG, so a failure reproduces.
function lcg(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe("IndexedHeap", () => {
  it("keeps order through random inserts, key changes and removals", () => {
    const random = lcg(7);
    const heap = new IndexedHeap(byKeyThenId);
    const members: Item[] = [];
    for (let step = 0; step < 5000; step++) {
      const roll = random();
      if (roll < 0.4 || members.length === 0) {
        const item = { id: step, key: Math.floor(random() * 50) };
        members.push(item);
        heap.insert(item);
      } else if (roll < 0.8) {
        const item = members[Math.floor(random() * members.length)] as Item;
        item.key = Math.floor(random() * 50);
        heap.update(item);
      } else {
        const [item] = members.splice(Math.floor(random() * members.length), 1);
        assert.equal(heap.remove(item as Item), true);
      }
      assert.equal(heap.size, members.length);
    }
    assert.deepEqual(drain(heap), sortedIds(members));
  });

  const basics = [
    {
      name: "insert of a member only re-sifts it",
      run: (heap: IndexedHeap<Item>, items: Item[]) => {
        (items[2] as Item).key = -1;
        heap.insert(items[2] as Item);
      },
      want: [2, 0, 1, 3],
    },
    {
      name: "remove of a non-member is false and harmless",
      run: (heap: IndexedHeap<Item>) => assert.equal(heap.remove({ id: 9, key: 0 }), false),
      want: [0, 1, 2, 3],
    },
    {
      name: "update of a non-member is ignored",
      run: (heap: IndexedHeap<Item>) => heap.update({ id: 9, key: 0 }),
      want: [0, 1, 2, 3],
    },
    {
      name: "equal keys fall back to the tie-break",
      run: (heap: IndexedHeap<Item>, items: Item[]) => {
        for (const item of items) item.key = 5;
        for (const item of items) heap.update(item);
      },
      want: [0, 1, 2, 3],
    },
  ];
  for (const tc of basics) {
    it(tc.name, () => {
      const items = [0, 1, 2, 3].map((id) => ({ id, key: id * 10 }));
      const heap = new IndexedHeap(byKeyThenId);
      for (const item of [...items].reverse()) heap.insert(item);
      tc.run(heap, items);
      assert.deepEqual(drain(heap), tc.want);
    });
  }

  const finds = [
    { name: "root accepted", accept: (_: Item) => true, budget: 64 },
    { name: "nothing accepted", accept: (_: Item) => false, budget: 64 },
    {
      name: "every third, within budget",
      accept: (item: Item) => item.id % 3 === 0 && item.key > 40,
      budget: 64,
    },
    {
      name: "sparse hit past the budget (linear fallback)",
      accept: (item: Item) => item.id === 777,
      budget: 4,
    },
    { name: "upper half only, budget 1", accept: (item: Item) => item.key >= 50, budget: 1 },
  ];
  for (const tc of finds) {
    it(`find: ${tc.name} gives the least accepted member`, () => {
      const random = lcg(11);
      const items = Array.from({ length: 1000 }, (_, id) => ({ id, key: Math.floor(random() * 100) }));
      const heap = new IndexedHeap(byKeyThenId);
      for (const item of items) heap.insert(item);
      const want = [...items].sort(byKeyThenId).find(tc.accept);
      assert.equal(heap.find(tc.accept, tc.budget), want);
    });
  }

  it("find on an empty heap is undefined", () => {
    assert.equal(
      new IndexedHeap(byKeyThenId).find(() => true),
      undefined,
    );
  });
});
