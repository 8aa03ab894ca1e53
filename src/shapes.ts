/**
 * Objects for decoded maps, built the way V8 builds them fastest.
 *
 * A decoded item is an object whose property names come from the data, so setting them one by
 * one (`out[name] = value`) goes through V8's megamorphic keyed store: about 15 ns a property,
 * and the biggest single cost of decoding a page of items. Items of one table mostly share one
 * sequence of attribute names. Once a sequence has been seen a few times, this module compiles
 * a function whose body is an object literal with exactly those names
 * (`return {"pk": v[0], "name": v[1]}`), and builds later objects of that shape with it: one
 * allocation with the properties in place, about 2 ns a property.
 *
 * The result is the same object the stores would build: same names, same values, same
 * enumeration order. Names enter the source only through `JSON.stringify`, so no name can
 * change the code. A shape with a `__proto__` attribute is never compiled (in a literal that
 * name would set the prototype). Where code generation is refused (a Content-Security-Policy
 * without 'unsafe-eval'), every object is built by stores.
 *
 * The cache holds 256 shapes, each slot keyed by a hash of the names and confirmed name by
 * name; a shape is compiled after it has been seen `COMPILE_AFTER` times in a row in its slot.
 */
import type { AttributeValue } from './codec';

type Values = AttributeValue[];
export type Make = (v: Values) => Record<string, AttributeValue>;

interface Shape {
  names: string[];
  seen: number;
  /** The compiled builder; `null` when this shape is built by stores. */
  make: Make | null | undefined;
}

const SLOTS = 256;
const COMPILE_AFTER = 4;
/** Maps with more attributes than this are built by stores. */
const MAX_SHAPE_ATTRIBUTES = 32;

const shapes: (Shape | undefined)[] = new Array(SLOTS).fill(undefined);
let canCompile = true;

/**
 * The compiled builder of the shape `names` (the first `n`; `hash` is over them), or `null` while
 * the shape has not been seen `COMPILE_AFTER` times in a row in its slot, or cannot be compiled.
 * Counts this sighting, and compiles the shape on the one that makes it due.
 */
export function builderOf(names: string[], n: number, hash: number): Make | null {
  if (n > MAX_SHAPE_ATTRIBUTES) return null;
  const slot = (hash >>> 0) & (SLOTS - 1);
  const shape = shapes[slot];
  if (shape === undefined || !sameNames(shape.names, names, n)) {
    shapes[slot] = { names: names.slice(0, n), seen: 1, make: undefined };
    return null;
  }
  if (shape.make === undefined && ++shape.seen >= COMPILE_AFTER) shape.make = compile(shape.names);
  return shape.make ?? null;
}

function sameNames(cached: string[], names: string[], n: number): boolean {
  if (cached.length !== n) return false;
  for (let i = 0; i < n; i++) if (cached[i] !== names[i]) return false;
  return true;
}

/** An object with `names[i]: values[i]` for `i < n`, in that order, set property by property. */
export function byStores(names: string[], values: Values, n: number): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (let i = 0; i < n; i++) {
    const name = names[i] as string;
    if (name === '__proto__') {
      // Assignment would set the prototype: define it, so it stays an attribute.
      Object.defineProperty(out, name, { value: values[i], enumerable: true, writable: true, configurable: true });
    } else {
      out[name] = values[i] as AttributeValue;
    }
  }
  return out;
}

function compile(names: string[]): Make | null {
  if (!canCompile || names.includes('__proto__')) return null;
  const body = `return {${names.map((name, i) => `${JSON.stringify(name)}: v[${i}]`).join(', ')}};`;
  try {
    return new Function('v', body) as Make;
  } catch {
    canCompile = false;
    return null;
  }
}

/** Forgets every shape (tests use it to start from an empty cache). */
export function clearShapes(): void {
  shapes.fill(undefined);
}
