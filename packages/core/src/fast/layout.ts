import type { ReadonlyData } from '../dtype.js';
import { copyF32, ensureBytes, f32, memory } from './wasm.js';

/*
 * How the fast kernels lay out the shared WebAssembly memory: from byte 64 (after a null guard) areas kept across
 * calls, then a workspace that every call lays out anew (its offsets are valid until the next call).
 *
 * Kept areas hold what later calls can read in place instead of copying in again: the packed B of the last `gemm`,
 * and results (Adam's new p, m, v; a fused layer's pooled output and argmax). A result written
 * into a slot is recorded as resident: `residentAt(buffer)` gives where the very values of that JavaScript buffer
 * already are, as long as its slot has not been claimed again. Tensors are never written after creation, so the same
 * buffer means the same values (the same assumption the packed B relies on). The registry holds no buffer alive.
 *
 * While a scope is open (scope.ts, `resultScope`), results go to the scope's area instead, one after the other, and their
 * tensors are views of it: nothing is copied out, and the next kernel reads them where they are. The area is reused
 * when the scope closes, after what the scope returns has been copied out.
 */

const areas = new Map<string, { readonly offset: number; readonly bytes: number }>();
let keptEnd = 64;

/**
 * The byte offset of an area of at least `bytes` kept across calls under `name`: never part of a workspace, so what
 * a kernel leaves there stays until it writes there again. `moved` is true when the area is new or had to move to
 * grow (then it holds nothing yet). An area that grows takes new space at the end; the old space is not reused, which
 * costs at most what the areas' final sizes add up to, as sizes only grow to the largest seen.
 *
 * @example
 * const { offset, moved } = keptArea('packedB', K * padN(N) * 4); if (moved) pack into it
 */
export const keptArea = (name: string, bytes: number): { readonly offset: number; readonly moved: boolean } => {
  const have = areas.get(name);
  if (have !== undefined && have.bytes >= bytes) return { offset: have.offset, moved: false };
  const area = { offset: keptEnd, bytes: Math.ceil(bytes / 64) * 64 };
  areas.set(name, area);
  keptEnd += area.bytes;
  ensureBytes(keptEnd);
  return { offset: area.offset, moved: true };
};

/**
 * Lays out regions of the given float counts after the kept areas (64-byte aligned, 64 bytes apart) and returns their
 * byte offsets. Every call reuses the same space: offsets are valid until the next call.
 *
 * @example
 * const [pa, pb] = workspace([M * K, K * N]); f32().set(a, pa / 4);
 */
export const workspace = (floats: readonly number[]): number[] => {
  const offsets: number[] = [];
  let at = keptEnd;
  // indexed, not for-of: every kernel call lays out its workspace, and until a caller is optimised an array iterator
  // allocates a result object per region
  for (let i = 0; i < floats.length; i++) {
    offsets.push(at);
    at += bytesOf(floats[i]) + 64;
  }
  ensureBytes(at);
  return offsets;
};

/** 4*n bytes rounded up to a multiple of 64: how far apart a slot places its buffers. @example bytesOf(10) // 64 */
export const bytesOf = (floats: number): number => Math.ceil((floats * 4) / 64) * 64;

// Resident buffers: where each one's values sit, in which slot and in which of its fillings. A WeakMap, so that the
// registry keeps no buffer alive (holding them made the garbage collector run later and the resident set grow by ~60 MB
// in a training run); a slot claimed again bumps its filling, which invalidates what it held without listing it.
const residents = new WeakMap<ReadonlyData | Int32Array, { readonly slot: string; readonly offset: number; readonly filling: number }>();
const fillings = new Map<string, number>();

const live = (data: ReadonlyData | Int32Array): { readonly slot: string; readonly offset: number } | undefined => {
  const r = residents.get(data);
  return r !== undefined && fillings.get(r.slot) === r.filling ? r : undefined;
};

/** Where the values of this very buffer already are in the shared memory, if a kept slot holds them. */
export const residentAt = (data: ReadonlyData | Int32Array): number | undefined =>
  isMemoryView(data) && inScope(data.byteOffset, data.byteLength) ? data.byteOffset : live(data)?.offset;

/** The slot holding this buffer, if any. @example residentSlot(m.data) === residentSlot(p.data) */
export const residentSlot = (data: ReadonlyData | Int32Array): string | undefined => live(data)?.slot;

/** Forgets what a slot holds (before it is written again). */
const release = (slot: string): void => {
  fillings.set(slot, (fillings.get(slot) ?? 0) + 1);
};

/** Records that `data`'s values are at `offset`, in `slot` (an area a `slots` pool gave out). */
export const recordResident = (slot: string, data: ReadonlyData | Int32Array, offset: number): void => {
  residents.set(data, { slot, offset, filling: fillings.get(slot) ?? 0 });
};

// Values derived from a buffer (Winograd's transformed filters of a weights buffer), kept in a slot: the same validity as
// a resident's (the slot's filling), under a tag that says what was derived, never mistaken for the buffer's own values.
const derived = new WeakMap<ReadonlyData, { readonly tag: string; readonly slot: string; readonly offset: number; readonly filling: number }>();

/** Records that values derived from `from` (what `tag` names) are at `offset`, in `slot` (an area a `slots` pool gave out). */
export const recordDerived = (slot: string, from: ReadonlyData, tag: string, offset: number): void => {
  derived.set(from, { tag, slot, offset, filling: fillings.get(slot) ?? 0 });
};

/** Where the values `tag` names derived from this very buffer are, if their slot still holds them. */
export const derivedAt = (from: ReadonlyData, tag: string): number | undefined => {
  const d = derived.get(from);
  return d !== undefined && d.tag === tag && fillings.get(d.slot) === d.filling ? d.offset : undefined;
};

/** A slot claimed for writing: its byte offset; nothing is resident in it until recorded again. */
export interface Slot {
  readonly name: string;
  readonly offset: number;
  /** The area is new or moved to grow: it holds none of what the slot held. */
  readonly moved: boolean;
}

/**
 * A pool of `count` kept slots named `prefix0`, `prefix1`, ...: `claim(bytes)` empties the least recently claimed one
 * (or a given one, still holding the operands a kernel updates in place) and makes it at least `bytes` long.
 *
 * @example
 * const pools = slots('pool', 4); const s = pools.claim(bytesOf(n)); ... recordResident(s.name, out.data, s.offset);
 */
export const slots = (prefix: string, count: number): { claim(bytes: number, name?: string, avoid?: readonly (string | undefined)[]): Slot } => {
  const used = new Map<string, number>();
  let clock = 0;
  return {
    claim: (bytes, name, avoid = []) => {
      let pick = name;
      if (pick === undefined) {
        if (used.size < count) pick = `${prefix}${used.size}`;
        else for (const [n, t] of used) if (!avoid.includes(n) && (pick === undefined || t < (used.get(pick) ?? 0))) pick = n;
      }
      const slot = pick ?? `${prefix}0`;
      used.set(slot, ++clock);
      release(slot);
      const { offset, moved } = keptArea(slot, bytes);
      return { name: slot, offset, moved };
    },
  };
};

/**
 * Kept slots for kernels' results, so that the next kernel reads its input where the last one wrote it instead of
 * copying it in again (a layer's output is the next layer's input, a convolution's dx the batch norm's dy): the
 * result is still copied out to its tensor, and recorded as resident in its slot until the slot is claimed again.
 * Six: a residual block's input is read again by its merge five kernels later.
 */
const results = slots('result', 6);
/**
 * Results larger than this share one slot of their own: the six slots stay small, so reading in place costs at most
 * ~6 x 16 MiB of the shared memory (2 GiB at most) plus one large result, whatever the images' size (a 64-channel
 * 64x64 activation of 100 images is 105 MB; six of them would be a third of the memory).
 */
const LARGE_RESULT_BYTES = 16 << 20;
const largeResults = slots('result-large', 1);

/**
 * A kept slot for a result of `floats` floats that later kernels may read in place (none of the slots holding the
 * kernel's `inputs`, so that they stay there to be read). Claim it before laying out the workspace (a slot that grows
 * moves it) and before looking the inputs up (inputAt): a claim forgets what the slot held, so an input can never be
 * read from the slot the result is being written to.
 *
 * @example const out = resultSlot(n, [x.data]); const [px] = workspace([n]); ... return resultOut(out, n);
 */
export const resultSlot = (floats: number, inputs: readonly ReadonlyData[]): Slot => {
  const bytes = bytesOf(floats);
  return scopeSlot(bytes) ?? (bytes > LARGE_RESULT_BYTES ? largeResults : results).claim(bytes, undefined, inputs.map(residentSlot));
};

/**
 * `bytes` of the open scope's area for results, or undefined (no scope open, or it is past SCOPE_MAX_BYTES). Claim it
 * before laying out the workspace, as resultSlot. For results that are not one float array (a pool's output and its
 * argmax), read back by scopeFloats and scopeInts.
 */
export const scopeSlot = (bytes: number): Slot | undefined => {
  const offset = open === undefined ? undefined : scopeBytes(open, bytes);
  return offset === undefined ? undefined : { name: SCOPE_AREA, offset, moved: false };
};

/**
 * The `floats` floats of a result slot: in a scope's area, a view of them (the tensor lives there until the scope
 * closes); in a kept slot, a copy, recorded as resident there.
 */
export const resultOut = (slot: Slot, floats: number): Float32Array => {
  if (slot.name === SCOPE_AREA) return scopeFloats(slot.offset, floats);
  const out = copyF32(slot.offset, floats);
  recordResident(slot.name, out, slot.offset);
  return out;
};

/**
 * Where a kernel reads `data` from: where its values already are (a result slot, residentAt), else a copy written to
 * `p` (a workspace region of data.length floats). Only for inputs the kernel does not write over.
 *
 * @example const pxAt = inputAt(x.data, px);
 */
export const inputAt = (data: ReadonlyData, p: number): number => {
  const at = residentAt(data);
  if (at !== undefined) return at;
  f32().set(data, p / 4);
  return p;
};

// ---------------------------------------------------------------------------------------------
// The scope's area: where results go while a scope is open (scope.ts)

const SCOPE_AREA = 'scope';
/** A scope's results never take more than this: past it they are copied out, as outside a scope. */
const SCOPE_MAX_BYTES = 1 << 30;
/** The least a scope's area grows by when it runs out of room. */
const SCOPE_GROWTH_BYTES = 32 << 20;

/**
 * The open scope: the kept areas its results are in (`parts`, each [base, top) used of [base, end); the last one is
 * filled), and how many bytes its results took in all.
 */
interface OpenScope {
  readonly parts: { readonly base: number; readonly end: number; top: number }[];
  taken: number;
}
let open: OpenScope | undefined;
/** The size of the area a scope starts with, and the most any scope took (what the next area is sized to). */
let capacity = 0;
let mostTaken = 0;
/** The SharedArrayBuffers the memory has given out views of (a new one each time it grows). */
const viewedBuffers = new WeakSet<object>();

/**
 * Where the next `bytes` of the open scope's results go: at the top of its last part, else in a new part (a kept area
 * at the end of the others: allowed, as results are claimed before the workspace is laid out); undefined past
 * SCOPE_MAX_BYTES.
 */
const scopeBytes = (scope: OpenScope, bytes: number): number | undefined => {
  if (scope.taken + bytes > SCOPE_MAX_BYTES) return undefined;
  let part = scope.parts[scope.parts.length - 1];
  if (part === undefined || part.top + bytes > part.end) {
    const size = Math.min(SCOPE_MAX_BYTES - scope.taken, Math.max(bytes, SCOPE_GROWTH_BYTES));
    const base = keptArea(`${SCOPE_AREA}${scope.parts.length}`, size).offset;
    part = { base, end: base + size, top: base };
    scope.parts.push(part);
  }
  const offset = part.top;
  part.top += bytes;
  scope.taken += bytes;
  return offset;
};

/** Whether `bytes` bytes at `offset` hold results of the open scope. */
const inScope = (offset: number, bytes: number): boolean =>
  open !== undefined && open.parts.some((p) => offset >= p.base && offset + bytes <= p.top);

/** The `floats` floats at `offset` of a scope's area, as a view that lives until the scope closes (see resultOut). */
export const scopeFloats = (offset: number, floats: number): Float32Array => {
  viewedBuffers.add(memory.buffer);
  return new Float32Array(memory.buffer, offset, floats);
};

/**
 * A result a kernel wrote at `p` that no later kernel reads in place outside a scope (a filter's gradient, batch norm's
 * dgamma): a view when `scoped` is the open scope's slot at p (scopeSlot, claimed before the workspace), so that the next
 * kernel (Adam) reads it there and nothing is copied out; else a fresh copy of the workspace region at p.
 *
 * @example const scoped = scopeSlot(bytesOf(n)); const [pwork] = workspace([n]); ... scopedOut(scoped, scoped?.offset ?? pwork, n)
 */
export const scopedOut = (scoped: Slot | undefined, p: number, floats: number): Float32Array =>
  scoped !== undefined ? scopeFloats(p, floats) : copyF32(p, floats);

/** The `ints` int32s at `offset` of a scope's area, as a view (an argmax: see scopeFloats). */
export const scopeInts = (offset: number, ints: number): Int32Array => {
  viewedBuffers.add(memory.buffer);
  return new Int32Array(memory.buffer, offset, ints);
};

/** Whether `data` is a view of the kernels' memory (a result made in a scope), wherever it points. */
export const isMemoryView = (data: ReadonlyData | Int32Array): boolean => viewedBuffers.has(data.buffer);

/**
 * Opens a scope: results go to its area from now on, which starts as large as the most any scope took so far and
 * grows by parts when it runs out. When a scope took more than the area, the next one lays every kept area out anew
 * from the start of the memory, its area first, in one piece: nothing is left behind, and what the kept areas held is
 * forgotten (they report `moved`, residents are released), to be copied in again.
 */
export const openScope = (): void => {
  if (mostTaken > capacity) {
    capacity = Math.ceil(mostTaken / (1 << 20)) * (1 << 20);
    areas.clear();
    keptEnd = 64;
    for (const slot of [...fillings.keys()]) release(slot);
  }
  const base = capacity > 0 ? keptArea(`${SCOPE_AREA}0`, capacity).offset : 0;
  open = { parts: capacity > 0 ? [{ base, end: base + capacity, top: base }] : [], taken: 0 };
};

/** Closes the scope: its area is free again (with `poison`, filled with NaN, so that a view kept past it shows). */
export const closeScope = (poison: boolean): void => {
  if (open === undefined) return;
  if (poison) for (const p of open.parts) f32().fill(Number.NaN, p.base / 4, p.top / 4);
  mostTaken = Math.max(mostTaken, open.taken);
  open = undefined;
};

/** Whether a scope is open. */
export const scopeOpen = (): boolean => open !== undefined;
