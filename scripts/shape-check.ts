/**
 * Checks the shape of the source tree, the limits docs/architecture.md promises:
 * - no source file over MAX_FILE_LINES lines (tests and generated code aside);
 * - no function over MAX_FUNCTION_LINES lines;
 * - no import cycle between the folders of packages/server/src.
 *
 * `node scripts/shape-check.ts` prints every breach and exits 1; `--report` prints the figures and
 * always exits 0 (for comparing a tree before and after a change).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import ts from "typescript";

const MAX_FILE_LINES = 450;
const MAX_FUNCTION_LINES = 80;

const root = path.resolve(import.meta.dirname, "..");
const report = process.argv.includes("--report");
const sources = ["packages", "bench", "scripts"]
  .flatMap((dir) => walk(path.join(root, dir)))
  .filter((file) => file.endsWith(".ts") && !isTestOrGenerated(file));

const longFiles: string[] = [];
const longFunctions: string[] = [];
for (const file of sources) {
  const text = readFileSync(file, "utf8");
  const rel = path.relative(root, file);
  const lines = text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
  if (lines > MAX_FILE_LINES) longFiles.push(`${rel}: ${lines} lines`);
  for (const fn of functionSpans(file, text)) {
    if (fn.lines > MAX_FUNCTION_LINES) longFunctions.push(`${rel}:${fn.line} ${fn.name}: ${fn.lines} lines`);
  }
}
const cycles = folderCycles(path.join(root, "packages/server/src"));

print(`files over ${MAX_FILE_LINES} lines`, longFiles);
print(`functions over ${MAX_FUNCTION_LINES} lines`, longFunctions);
print("import cycles between folders of packages/server/src", cycles);
const breaches = longFiles.length + longFunctions.length + cycles.length;
if (breaches > 0 && !report) process.exit(1);

function print(title: string, rows: string[]): void {
  const log = rows.length > 0 && !report ? console.error : console.log;
  log(`[shape] ${title}: ${rows.length}`);
  for (const row of rows) log(`  ${row}`);
}

function isTestOrGenerated(file: string): boolean {
  const rel = path.relative(root, file);
  return (
    rel.endsWith(".test.ts") ||
    rel.split(path.sep).includes("gen") ||
    rel.includes(`${path.sep}test${path.sep}`)
  );
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    if (name === "node_modules" || name.startsWith(".")) return [];
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? walk(full) : [full];
  });
}

interface FunctionSpan {
  name: string;
  line: number;
  lines: number;
}

/** Every function, method, accessor and arrow with its own line count (nested ones counted apart). */
function functionSpans(file: string, text: string): FunctionSpan[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const spans: FunctionSpan[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && "body" in node && node.body) {
      const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      spans.push({ name: functionName(node), line: start + 1, lines: end - start + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return spans;
}

function functionName(node: ts.Node): string {
  const named = node as { name?: ts.Node };
  if (named.name && ts.isIdentifier(named.name)) return named.name.text;
  if (ts.isConstructorDeclaration(node)) return "constructor";
  const parent = node.parent;
  if (parent && ts.isVariableDeclaration(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  if (parent && ts.isPropertyAssignment(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  return "(anonymous)";
}

/** Folder-level import graph of one source root, and every cycle in it (each reported once). */
function folderCycles(srcRoot: string): string[] {
  const edges = new Map<string, Set<string>>();
  for (const file of walk(srcRoot).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))) {
    const from = topFolder(srcRoot, file);
    const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, false);
    for (const statement of source.statements) {
      const specifier =
        (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) && statement.moduleSpecifier;
      if (!specifier || !ts.isStringLiteral(specifier) || !specifier.text.startsWith(".")) continue;
      const target = path.resolve(path.dirname(file), specifier.text);
      if (!target.startsWith(srcRoot)) continue;
      const to = topFolder(srcRoot, target);
      if (to === from) continue;
      const set = edges.get(from) ?? new Set<string>();
      set.add(`${to}\u0000${path.relative(srcRoot, file)}`);
      edges.set(from, set);
    }
  }
  const targets = (folder: string) =>
    new Set([...(edges.get(folder) ?? [])].map((e) => e.split("\u0000")[0] ?? ""));
  const cycles = new Set<string>();
  for (const start of edges.keys()) {
    const stack: string[][] = [[start]];
    while (stack.length > 0) {
      const trail = stack.pop() ?? [];
      for (const next of targets(trail.at(-1) ?? "")) {
        if (next === start) cycles.add(canonicalCycle(trail));
        else if (!trail.includes(next) && next > start) stack.push([...trail, next]);
      }
    }
  }
  return [...cycles].sort().map((cycle) => `${cycle} (${cycleWitnesses(cycle, edges).join("; ")})`);
}

function topFolder(srcRoot: string, file: string): string {
  const rel = path.relative(srcRoot, file);
  return rel.includes(path.sep) ? (rel.split(path.sep)[0] ?? rel) : ".";
}

/** A cycle written from its smallest folder, so each is reported once. */
function canonicalCycle(trail: string[]): string {
  return [...trail, trail[0]].join(" -> ");
}

/** For each hop of a cycle, one file that makes it. */
function cycleWitnesses(cycle: string, edges: Map<string, Set<string>>): string[] {
  const hops = cycle.split(" -> ");
  return hops.slice(0, -1).map((from, i) => {
    const to = hops[i + 1];
    const edge = [...(edges.get(from) ?? [])].find((e) => e.startsWith(`${to}\u0000`));
    return `${from}->${to} via ${edge?.split("\u0000")[1] ?? "?"}`;
  });
}
