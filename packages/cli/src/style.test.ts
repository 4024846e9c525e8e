// Colour only on a terminal, never for -o json, never with NO_COLOR.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { colourPhase, createStyle } from "./style.ts";

describe("createStyle", () => {
  const cases: Array<[string, { isTTY?: boolean }, Record<string, string>, string | undefined, boolean]> = [
    ["a terminal", { isTTY: true }, {}, undefined, true],
    ["a terminal with -o yaml", { isTTY: true }, {}, "yaml", true],
    ["a pipe", {}, {}, undefined, false],
    ["a terminal with -o json", { isTTY: true }, {}, "json", false],
    ["a terminal with NO_COLOR=1", { isTTY: true }, { NO_COLOR: "1" }, undefined, false],
    ["a terminal with an empty NO_COLOR", { isTTY: true }, { NO_COLOR: "" }, undefined, true],
  ];
  for (const [what, stream, env, format, coloured] of cases) {
    it(`${coloured ? "colours" : "does not colour"} ${what}`, () => {
      const style = createStyle(stream, env, format);
      assert.equal(style.enabled, coloured);
      assert.equal(style.red("x") === "x", !coloured);
    });
  }
});

describe("colourPhase", () => {
  const style = createStyle({ isTTY: true }, {});
  const cases: Array<[string, "green" | "red" | "yellow" | "plain"]> = [
    ["Running", "green"],
    ["Succeeded", "green"],
    ["Failed", "red"],
    ["Lost", "red"],
    ["Pending", "yellow"],
    ["Bound", "yellow"],
    ["Terminating", "yellow"],
    ["Expired", "plain"],
  ];
  for (const [phase, colour] of cases) {
    it(`shows ${phase} ${colour}`, () => {
      assert.equal(colourPhase(style, phase), colour === "plain" ? phase : style[colour](phase));
    });
  }
});
