import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromData } from '@foldnet/core';
import { decodeSafetensors, decodeTrainState, encodeSafetensors, parseJson, parseJsonBytes } from '@foldnet/train';

/*
 * One rule for every JSON text foldnet reads (issue 18): UTF-8 only, one leading BOM ignored, a key
 * repeated in one object refused with its name. Here the rule itself (parseJson) and the two
 * entry points of the train package (a checkpoint's header, its JSON metadata entries); the CLI's
 * config and model-spec files are checked in packages/cli/test/hostile.test.ts.
 */

const BOM = '\ufeff';
const right = (r: ReturnType<typeof parseJson>): unknown => (r._tag === 'Right' ? r.right : `Left: ${r.left}`);

// A JSON text with one key repeated in the object at `path`, by hand: JSON.stringify cannot make one.
const withRepeatedKey = (value: unknown, key: string): string => {
  const inner = JSON.stringify(value);
  return `{"outer": {${JSON.stringify(key)}: 1, "other": ${inner}, ${JSON.stringify(key)}: 2}}`;
};

describe('parseJson: the rule', () => {
  it('any JSON value (fast-check jsonValue, 500 cases) parses as JSON.parse does, with and without a leading BOM', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const text = JSON.stringify(v);
        const expected: unknown = JSON.parse(text);
        expect(right(parseJson(text))).toEqual(expected);
        expect(right(parseJson(BOM + text))).toEqual(expected);
      }),
      { seed: 18, numRuns: 500 },
    );
  });

  it('a key repeated in one object is refused with its name and where it is, at any depth (300 cases)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.string({ minLength: 1, maxLength: 8 }), (v, key) => {
        const r = parseJson(withRepeatedKey(v, key));
        expect(r._tag === 'Left' && r.left).toBe(`the key ${JSON.stringify(key)} appears twice in outer (each key may appear once in an object)`);
      }),
      { seed: 19, numRuns: 300 },
    );
  });

  it('"a" and "\\u0061" are the same key; keys in sibling or nested objects may repeat', () => {
    expect(parseJson('{"a": 1, "\\u0061": 2}')).toEqual({ _tag: 'Left', left: 'the key "a" appears twice (each key may appear once in an object)' });
    expect(right(parseJson('{"a": {"a": 1}, "b": [{"a": 1}, {"a": 2}]}'))).toEqual({ a: { a: 1 }, b: [{ a: 1 }, { a: 2 }] });
    expect(parseJson('{"layers": [{"type": "relu"}, {"type": "affine", "units": 3, "type": "relu"}]}')).toEqual({
      _tag: 'Left',
      left: 'the key "type" appears twice in layers[1] (each key may appear once in an object)',
    });
  });

  it('10,000-deep nesting is parsed (the scan for repeated keys keeps its own stack)', () => {
    const deep = `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`;
    expect(parseJson(deep)._tag).toBe('Right');
    expect(parseJson(`${'['.repeat(10_000)}${']'.repeat(10_000)}`)._tag).toBe('Right');
  });

  it('one BOM is ignored, not two; bytes that are not UTF-8 are refused', () => {
    expect(parseJson(`${BOM}${BOM}{}`)._tag).toBe('Left');
    expect(parseJsonBytes(new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]))).toEqual({ _tag: 'Right', right: {} });
    expect(parseJsonBytes(new Uint8Array([0x7b, 0xff, 0x7d]))).toEqual({ _tag: 'Left', left: 'not valid UTF-8' });
  });
});

// A safetensors file around a header text given byte for byte (padded with spaces as foldnet does).
const withHeader = (header: string, data: Uint8Array = new Uint8Array(0)): Uint8Array => {
  const json = new TextEncoder().encode(header);
  const length = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + length + data.length).fill(0x20, 8, 8 + length);
  new DataView(out.buffer).setBigUint64(0, BigInt(length), true);
  out.set(json, 8);
  out.set(data, 8 + length);
  return out;
};

describe('the same rule in checkpoints', () => {
  const tensor = '"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}';
  const four = new Uint8Array(4);

  it('a header with a leading BOM is read as without one', () => {
    const plain = decodeSafetensors(withHeader(`{${tensor}}`, four), { file: 'c' });
    const bom = decodeSafetensors(withHeader(`${BOM}{${tensor}}`, four), { file: 'c' });
    expect(plain._tag).toBe('Right');
    expect(bom).toEqual(plain);
  });

  it('a header naming a tensor twice is refused with its name (JSON.parse kept the last)', () => {
    const r = decodeSafetensors(withHeader(`{${tensor}, ${tensor}}`, four), { file: 'c' });
    expect(r._tag === 'Left' && r.left.message).toBe('c: byte 8: header: the key "w" appears twice (each key may appear once in an object)');
  });

  it('a metadata entry repeated in __metadata__ is refused', () => {
    const r = decodeSafetensors(withHeader('{"__metadata__": {"step": "1", "step": "9"}}'), { file: 'c' });
    expect(r._tag === 'Left' && r.left.message).toBe('c: byte 8: header: the key "step" appears twice in __metadata__ (each key may appear once in an object)');
  });

  it('JSON metadata entries (model, config, optimizer): a BOM is ignored, a repeated key refused naming the entry', () => {
    const meta = (extra: Record<string, string>) => ({ format: 'foldnet-checkpoint/1', step: '3', ...extra });
    const ok = decodeTrainState('c', meta({ model: `${BOM}{"input": [1]}` }), {});
    expect(ok._tag === 'Right' && ok.right.model).toEqual({ input: [1] });
    for (const field of ['model', 'config', 'optimizer', 'metrics']) {
      const r = decodeTrainState('c', meta({ [field]: '{"name": "sgd", "lr": 0.1, "lr": 10}' }), {});
      expect(r._tag === 'Left' && r.left.message).toBe(`c: metadata "${field}": the key "lr" appears twice (each key may appear once in an object)`);
    }
  });

  it('what foldnet writes it reads: encodeSafetensors never repeats a key', () => {
    const bytes = encodeSafetensors({ w: fromData([1], new Float32Array([1])) }, { step: '1' });
    expect(decodeSafetensors(bytes, { file: 'c' })._tag).toBe('Right');
  });
});
