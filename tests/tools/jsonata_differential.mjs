// Differential test of keiyaku's JSONata evaluation against the reference implementation,
// npm `jsonata` at the version AWS documents for Step Functions (2.0.6).
//
//     node jsonata_differential.mjs JSONATA_MODULE EVAL_BINARY
//
// The cases: the expressions of the Developer Guide's JSONata examples and of the executions
// recorded on AWS (evaluated as Step Functions would: `$states.input` and variables bound),
// and a generated set (a seeded generator, so every run checks the same expressions) over
// paths, predicates, operators and the built-in functions. For each case both sides must
// give the same value (objects with their keys in the same order), both nothing, or both an
// error with the same JSONata code. Step Functions' own functions ($partition, $range,
// $hash, $random, $uuid, $parse) and the clock are left out: the reference has no such
// functions, and the clock differs; their behaviour is tested in shared/states.
// Exits 0 when every case agrees, 1 otherwise.

import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";

const [modulePath, binary] = process.argv.slice(2);
const jsonata = createRequire(import.meta.url)(modulePath);

const order = {
  customer: { name: "山田 花子", address: { city: "Tokyo", zip: "100-0001" } },
  items: [
    { name: "pen", price: 1.5, qty: 10, tags: ["office"] },
    { name: "book", price: 12.5, qty: 2, tags: ["office", "paper"] },
    { name: "desk", price: 120, qty: 1, tags: [] },
  ],
  input_values: [1, 2, 3],
  chunkSize: 2,
  condition: true,
  str_value: "string literal",
  csv: "a,b,,c",
  n: 42,
  s: "12.5",
  flag: false,
  nothing: null,
};

// The Developer Guide's examples and the recorded executions' expressions.
const guide = [
  ["$states.input", order],
  ["$states.input.customer.name", order],
  ["$states.input.items", order],
  ["$sum($states.input.input_values) + $var_constant_1", order, { var_constant_1: 1 }],
  ["$x + $y", {}, { x: 3, y: 4 }],
  ["$x + $y", {}, { x: "3", y: 4 }],
  ["$data.thisFieldDoesNotExist", {}, { data: {} }],
  ["$foo = 1", {}, { foo: 1 }],
  ["$type = 'local'", {}, { type: "local" }],
  ["$foo > 'MyStringABC'", {}, { foo: "NyString" }],
  ["$possiblyNullValue != null and $possiblyNullValue = 42", {}, { possiblyNullValue: 42 }],
  ["$possiblyNullValue != null and $possiblyNullValue = 42", {}, { possiblyNullValue: null }],
  ["$states.input.condition", order],
  ['$states.input.str_value = "string literal"', order],
  ["$number('2')", {}],
  ['$contains("hello$world", /^hello\\$/)', {}],
  ['$contains("hello$world", /^hello\\ /)', {}],
  ["$variable := 1", {}],
  ["$states.input.v * $states.input.i * $rate", { v: 3, i: 2 }, { rate: 0.5 }],
  ["{'k': $missing}", {}],
  ["'string'", {}],
  ["null", {}],
  ["true", {}],
  ["1", {}],
  ["$doesNotExist", {}],
  ["$states.input.enigma.mystery.riddle", { enigma: { mystery: { riddle: "What?" } } }],
];

// A seeded generator (mulberry32), so the generated set is the same on every run.
let seed = 20261204;
function random() {
  seed |= 0;
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (xs) => xs[Math.floor(random() * xs.length)];

const numbers = ["0", "1", "-3", "2.5", "1e3", "$states.input.n", "$count($states.input.items)", "$n"];
const strings = ["'abc'", "'山田'", "\"x,y\"", "$states.input.customer.name", "$states.input.s", "$s", "''"];
const arrays = [
  "$states.input.input_values",
  "$states.input.items.price",
  "$states.input.items.name",
  "[3, 1, 2]",
  "[]",
  "$states.input.items.tags",
  "[1..5]",
  "$list",
];
const objects = ["$states.input.customer", "{'b': 1, 'a': 2}", "$states.input.items[0]", "$obj"];
const generators = [
  () => `${pick(numbers)} ${pick(["+", "-", "*", "/", "%"])} ${pick(numbers)}`,
  () => `${pick(numbers)} ${pick(["=", "!=", "<", "<=", ">", ">="])} ${pick(numbers)}`,
  () => `${pick(strings)} & ${pick(strings)}`,
  () => `${pick(strings)} ${pick(["=", "<", ">"])} ${pick(strings)}`,
  () => `$${pick(["sum", "count", "max", "min", "average"])}(${pick(arrays)})`,
  () => `$${pick(["sort", "reverse", "distinct", "shuffle"].slice(0, 3))}(${pick(arrays)})`,
  () => `$append(${pick(arrays)}, ${pick([...arrays, ...numbers])})`,
  () => `$join(${pick(["$states.input.items.name", "['a','b']", "[]"])}, ${pick(["', '", "''", "'-'"])})`,
  () => `$${pick(["uppercase", "lowercase", "trim", "length", "string"])}(${pick(strings)})`,
  () => `$substring(${pick(strings)}, ${pick(["0", "1", "-2"])}, ${pick(["1", "2", "10"])})`,
  () => `$${pick(["substringBefore", "substringAfter", "contains"])}(${pick(strings)}, ${pick(["','", "'b'", "'田'"])})`,
  () => `$split(${pick(["$states.input.csv", "'a b c'", "''"])}, ${pick(["','", "' '", "''"])})`,
  () => `$pad(${pick(strings)}, ${pick(["5", "-5", "0"])}, ${pick(["'#'", "' '"])})`,
  () => `$replace(${pick(strings)}, ${pick(["'a'", "','", "/[a-z]/"])}, ${pick(["'-'", "''"])})`,
  () => `$${pick(["number", "string", "boolean", "exists", "type", "not"])}(${pick([...numbers, ...strings, ...arrays, "null", "true"])})`,
  () => `$${pick(["round", "floor", "ceil", "abs", "sqrt"])}(${pick(numbers)})`,
  () => `$round(${pick(["2.5", "3.5", "-2.5", "1.005"])}, ${pick(["0", "1", "2"])})`,
  () => `$power(${pick(numbers)}, ${pick(["2", "0.5", "-1"])})`,
  () => `$formatNumber(${pick(["1234.5", "0.25", "-7"])}, ${pick(["'#,##0.00'", "'0.0%'", "'000'"])})`,
  () => `$formatBase(${pick(["255", "10", "0"])}, ${pick(["2", "16", "36"])})`,
  () => `$formatInteger(${pick(["7", "1999", "21"])}, ${pick(["'w'", "'I'", "'0001'"])})`,
  () => `$keys(${pick(objects)})`,
  () => `$lookup(${pick(objects)}, ${pick(["'a'", "'name'", "'city'"])})`,
  () => `$merge([${pick(objects)}, ${pick(objects)}])`,
  () => `$spread(${pick(objects)})`,
  () => `$each(${pick(objects)}, function($v, $k){$k & '=' & $string($v)})`,
  () => `$sift(${pick(objects)}, function($v){$type($v) = 'number'})`,
  () => `$map(${pick(arrays)}, function($v, $i){$i})`,
  () => `$filter(${pick(arrays)}, function($v){$v ${pick([">", "<", "!="])} 2})`,
  () => `$reduce(${pick(arrays)}, function($a, $b){$a ${pick(["+", "&"])} $b})`,
  () => `$zip(${pick(arrays)}, ${pick(arrays)})`,
  () => `$single(${pick(arrays)}, function($v){$v = ${pick(["1", "'pen'", "12.5"])}})`,
  () => `$states.input.items[${pick(["price > 10", "qty = 1", "'office' in tags", "0", "-1", "name = 'none'"])}]${pick(["", ".name", ".price"])}`,
  () => `$states.input.items${pick(["^(price)", "^(>qty)", "{name: price}", ".(price * qty)", "#$i[$i > 0].name"])}`,
  () => `$states.input.${pick(["customer.address.city", "items.tags", "nothing", "flag", "n"])}`,
  () => `${pick(["true", "false", "$states.input.flag", "$states.input.nothing"])} ${pick(["and", "or"])} ${pick(["true", "false", "1", "''"])}`,
  () => `${pick([...numbers, ...strings])} in ${pick(arrays)}`,
  () => `${pick(["$states.input.condition", "$states.input.flag", "$states.input.nothing", "0"])} ? ${pick(strings)} : ${pick(numbers)}`,
  () => `$${pick(["base64encode", "base64decode", "encodeUrlComponent", "encodeUrl"])}(${pick(["'a b'", "'44GC'", "'http://x/y?a=b c'"])})`,
  () => `$match(${pick(strings)}, /${pick(["a", "[0-9]+", "."])}/)`,
  () => `$fromMillis(${pick(["0", "1700000000000", "86400000"])}${pick(["", ", '[Y0001]-[M01]-[D01]'", ", '[H01]:[m01]'"])})`,
  () => `$toMillis(${pick(["'2024-04-01T09:00:00Z'", "'2024-04-01T09:00:00.250+09:00'", "'1970-01-01T00:00:00Z'"])})`,
  () => `{${pick(["'a': 1", "'k': $states.input.n", "'x': $missing, 'y': 2"])}, ${pick(["'b': [1, 2]", "'c': null"])}}`,
  () => `(${pick(["$a := 2", "$a := $states.input.n"])}; $a * ${pick(numbers)})`,
  () => `${pick(arrays)}[${pick(["0", "1", "-1", "[0, 2]"])}]`,
];
const varsFor = () => ({ n: 7, s: "str", list: [5, 3, 9, 1], obj: { z: 1, a: [1, 2], m: { k: "v" } } });

const cases = guide.map(([expr, input, vars]) => ({ expr, input, vars: vars ?? {} }));
for (let i = 0; i < 400; i++) {
  cases.push({ expr: pick(generators)(), input: order, vars: varsFor() });
}

// The reference's outcome for each case.
async function reference(c) {
  try {
    const v = await jsonata(c.expr).evaluate(undefined, { states: { input: c.input }, ...c.vars });
    if (v === undefined) return { undefined: true };
    if (typeof v === "function") return { function: true };
    return { value: JSON.parse(JSON.stringify(v)) };
  } catch (e) {
    return { error: e.code ?? "parse", message: e.message };
  }
}

// Same JSON value, objects with their keys in the same order.
function same(a, b) {
  if (typeof a !== typeof b) return false;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => same(x, b[i]));
  }
  if (a !== null && typeof a === "object") {
    if (b === null || Array.isArray(b)) return false;
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k, i) => k === kb[i] && same(a[k], b[k]));
  }
  return a === b;
}

function agrees(ours, theirs) {
  if (theirs.function) return true;
  if ("value" in theirs) return "value" in ours && same(ours.value, theirs.value);
  if (theirs.undefined) return ours.undefined === true;
  return ours.error === theirs.error;
}

const dir = mkdtempSync(join(tmpdir(), "jsonata-differential-"));
const file = join(dir, "cases.json");
writeFileSync(file, JSON.stringify(cases));
const ours = JSON.parse(execFileSync(binary, [file], { maxBuffer: 64 << 20 }).toString());

let agree = 0;
const differ = [];
for (const [i, c] of cases.entries()) {
  const theirs = await reference(c);
  if (agrees(ours[i], theirs)) {
    agree += 1;
  } else {
    differ.push({ expr: c.expr, reference: theirs, keiyaku: ours[i] });
  }
}
// How the cases ended, so a generator that only makes errors would show.
const kinds = {};
for (const o of ours) {
  const k = "value" in o ? "value" : o.undefined ? "undefined" : "error";
  kinds[k] = (kinds[k] ?? 0) + 1;
}
console.log(`outcomes: ${JSON.stringify(kinds)}`);
for (const d of differ) {
  console.log(`DIFFER ${d.expr}\n    jsonata ${JSON.stringify(d.reference)}\n    keiyaku ${JSON.stringify(d.keiyaku)}`);
}
console.log(`jsonata differential: ${agree} agree, ${differ.length} differ (of ${cases.length})`);
process.exit(differ.length ? 1 : 0);
