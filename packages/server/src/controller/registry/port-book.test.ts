// Unit tests of PortBook: per-address port use with holder counts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PortBook } from "./port-book.ts";

interface Case {
  name: string;
  run: (book: PortBook) => void;
  /** Expected `inUse` per address after `run`. */
  want: Record<string, number[]>;
}

describe("PortBook", () => {
  const cases: Case[] = [
    {
      name: "reserve books ports on one address only",
      run: (book) => book.reserve("10.0.0.1", [8080, 443]),
      want: { "10.0.0.1": [443, 8080], "10.0.0.2": [] },
    },
    {
      name: "free releases what was reserved",
      run: (book) => {
        book.reserve("10.0.0.1", [8080, 443]);
        book.free("10.0.0.1", [8080]);
      },
      want: { "10.0.0.1": [443] },
    },
    {
      name: "a port with two holders stays held after one frees it",
      run: (book) => {
        book.reserve("10.0.0.1", [8080]);
        book.reserve("10.0.0.1", [8080]);
        book.free("10.0.0.1", [8080]);
      },
      want: { "10.0.0.1": [8080] },
    },
    {
      name: "freeing unknown ports or addresses is harmless",
      run: (book) => {
        book.reserve("10.0.0.1", [8080]);
        book.free("10.0.0.1", [9090]);
        book.free("10.0.0.9", [8080]);
      },
      want: { "10.0.0.1": [8080], "10.0.0.9": [] },
    },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      const book = new PortBook();
      tc.run(book);
      for (const [address, ports] of Object.entries(tc.want))
        assert.deepEqual(book.inUse(address), ports, address);
    });
  }

  it("allFree and taken look at the given address only", () => {
    const book = new PortBook();
    book.reserve("127.0.0.1", [8080]);
    const checks = [
      { name: "held port", address: "127.0.0.1", ports: [8080], free: false, taken: [8080] },
      { name: "one of several held", address: "127.0.0.1", ports: [80, 8080], free: false, taken: [8080] },
      { name: "other port", address: "127.0.0.1", ports: [8081], free: true, taken: [] },
      { name: "other address", address: "10.0.0.1", ports: [8080], free: true, taken: [] },
      { name: "no ports", address: "127.0.0.1", ports: [], free: true, taken: [] },
    ];
    for (const tc of checks) {
      assert.equal(book.allFree(tc.address, tc.ports), tc.free, tc.name);
      assert.deepEqual(book.taken(tc.address, tc.ports), tc.taken, tc.name);
    }
  });

  it("forgets an address once nothing is held on it", () => {
    const book = new PortBook();
    book.reserve("10.0.0.1", [1, 2]);
    book.free("10.0.0.1", [1, 2]);
    assert.equal(book.addresses, 0);
  });

  it("counts booked pairs across addresses, once per port however many hold it", () => {
    const book = new PortBook();
    book.reserve("10.0.0.1", [80, 443]);
    book.reserve("10.0.0.1", [80]);
    book.reserve("10.0.0.2", [80]);
    assert.equal(book.booked, 3);
    book.free("10.0.0.1", [80]);
    assert.equal(book.booked, 3, "port 80 on 10.0.0.1 still has a holder");
    book.free("10.0.0.1", [80, 443]);
    book.free("10.0.0.2", [80]);
    assert.equal(book.booked, 0);
  });
});
