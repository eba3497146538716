import { left, right, type Either } from 'fp-ts/lib/Either.js';

/*
 * One rule for every JSON text foldnet reads (a --config file, a model spec file, a checkpoint's
 * header and its JSON metadata entries):
 *
 *  - the bytes must be UTF-8 (a bad sequence is an error, not a silent U+FFFD);
 *  - one leading byte order mark (U+FEFF) is ignored, as RFC 8259 section 8.1 allows parsers to
 *    do: editors on Windows write one, and a file must not be refused for what no one can see;
 *  - a key repeated in one object is an error naming it: JSON.parse keeps the last one silently,
 *    so `{"lr": 0.1, ..., "lr": 10}` would train at 10 with no word said.
 *
 * Text inputs are also bounded: a config, a spec and one checkpoint metadata entry hold at most
 * MAX_TEXT_BYTES, checked before they are read or parsed.
 */

/** 4 MiB: the most a config file, a model spec file or a checkpoint's model or config entry may hold (SimpleConvNet's spec is 300 bytes). @example readRegularFile(p, MAX_TEXT_BYTES) */
export const MAX_TEXT_BYTES = 4 << 20;

const BOM = 0xfeff;

/**
 * Decodes UTF-8 bytes, keeping a byte order mark in the text (parseJson drops one; a decoder that
 * dropped it too would let a second one through). Left: the bytes are not UTF-8.
 *
 * @example decodeUtf8(new Uint8Array([0x7b, 0x7d])) // right('{}'); decodeUtf8(new Uint8Array([0xff])) // left('not valid UTF-8')
 */
export const decodeUtf8 = (bytes: Uint8Array): Either<string, string> => {
  try {
    return right(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes));
  } catch {
    return left('not valid UTF-8');
  }
};

/** An open object or array while the text is scanned for repeated keys. */
type Frame =
  | { readonly kind: 'object'; readonly keys: Set<string>; key: string | undefined; expectKey: boolean }
  | { readonly kind: 'array'; index: number };

// The path of the value being read, for messages: `optimizer.lr`, `layers[2].type`.
const pathOf = (stack: readonly Frame[]): string =>
  stack
    .map((f, i) => {
      if (f.kind === 'array') return `[${f.index}]`;
      const key = f.key ?? '';
      return i === 0 ? key : `.${key}`;
    })
    .join('');

// A string token starts at `at` (a quote): the index just past its closing quote. The text is
// valid JSON already, so every string is closed.
const STRING = /"(?:[^"\\]|\\.)*"/y;
const stringEnd = (text: string, at: number): number => {
  STRING.lastIndex = at;
  return STRING.test(text) ? STRING.lastIndex : text.length;
};

/**
 * The first key repeated within one object of `text` (valid JSON), with the path of its object,
 * or undefined. Iterative, with an explicit stack: 10,000-deep nesting costs no call stack.
 */
const firstRepeatedKey = (text: string): { readonly key: string; readonly where: string } | undefined => {
  const stack: Frame[] = [];
  for (let i = 0; i < text.length; ) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      const end = stringEnd(text, i);
      const top = stack[stack.length - 1];
      if (top !== undefined && top.kind === 'object' && top.expectKey) {
        const token = text.slice(i, end);
        // Escapes decoded: "a" and "\u0061" are the same key.
        const key = token.includes('\\') ? String(JSON.parse(token)) : token.slice(1, -1);
        // The frames below the top say where its object sits: their current key or index.
        if (top.keys.has(key)) return { key, where: pathOf(stack.slice(0, -1)) };
        top.keys.add(key);
        top.key = key;
        top.expectKey = false;
      }
      i = end;
      continue;
    }
    if (c === 0x7b) stack.push({ kind: 'object', keys: new Set(), key: undefined, expectKey: true });
    else if (c === 0x5b) stack.push({ kind: 'array', index: 0 });
    else if (c === 0x7d || c === 0x5d) stack.pop();
    else if (c === 0x2c) {
      const top = stack[stack.length - 1];
      if (top?.kind === 'object') top.expectKey = true;
      else if (top?.kind === 'array') top.index++;
    }
    i++;
  }
  return undefined;
};

/**
 * Parses a JSON text by foldnet's rule (see above): one leading BOM ignored, repeated keys
 * refused. Left is what to put after the input's name and a colon: `not valid JSON (Unexpected
 * token ...)` or `the key "lr" appears twice in optimizer (each key may appear once in an object)`.
 *
 * @example
 * parseJson('\ufeff{"a": 1}');       // right({ a: 1 })
 * parseJson('{"a": 1, "a": 2}');     // left('the key "a" appears twice (each key may appear once in an object)')
 */
export const parseJson = (text: string): Either<string, unknown> => {
  const body = text.charCodeAt(0) === BOM ? text.slice(1) : text;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (e) {
    return left(`not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  const repeated = firstRepeatedKey(body);
  if (repeated !== undefined) {
    const where = repeated.where === '' ? '' : ` in ${repeated.where}`;
    return left(`the key ${JSON.stringify(repeated.key)} appears twice${where} (each key may appear once in an object)`);
  }
  return right(value);
};

/**
 * UTF-8 bytes to a JSON value by the same rule (decodeUtf8, then parseJson).
 *
 * @example parseJsonBytes(readFileSync('cfg.json')) // right({ ... }) or left('not valid UTF-8')
 */
export const parseJsonBytes = (bytes: Uint8Array): Either<string, unknown> => {
  const text = decodeUtf8(bytes);
  return text._tag === 'Left' ? text : parseJson(text.right);
};
