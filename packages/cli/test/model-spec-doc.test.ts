import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeModelSpec, layerTypes } from '@foldnet/layers';
import { runInProcess } from './in-process.js';

/*
 * docs/model-spec.md documents the JSON model spec, and cannot drift from the decoder: every built-in
 * layer type has its section, naming every field the decoder takes for it (read from the decoder's own
 * "unknown field; <type> takes ..." answer). examples/model-spec.json uses every built-in type, and
 * `foldnet summary` describes it, and a checkpoint trained from it.
 */

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..');
const doc = fs.readFileSync(path.join(root, 'docs', 'model-spec.md'), 'utf8');
const exampleFile = path.join(root, 'examples', 'model-spec.json');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldnet-spec-doc-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

// Values for the fields a type requires, so the decoder gets as far as the unknown one.
const sampleValues: Readonly<Record<string, unknown>> = { filters: 1, size: 1, units: 1, layers: [], block: [], branches: [[], []], merge: 'add', nodes: [] };

/** The fields the decoder takes for `type`: it lists them when given one it does not know. */
const decoderFields = (type: string): string[] => {
  const layer: Record<string, unknown> = { type, notAField: 1 };
  for (let tries = 0; tries < 10; tries++) {
    const r = decodeModelSpec({ input: [1, 8, 8], layers: [layer] });
    const message = r._tag === 'Left' ? r.left.message : '';
    const takes = /unknown field; \S+ takes (.*)$/.exec(message);
    if (takes !== null) return takes[1] === 'no fields but name' ? ['name'] : takes[1].split(', ');
    const required = /layers\[0\]\.(\w+): required by/.exec(message);
    if (required === null) throw new Error(`${type}: ${message}`);
    layer[required[1]] = sampleValues[required[1]];
  }
  throw new Error(`${type}: no field list`);
};

/** The section of the doc headed by `type` (it may share the heading with others: `relu`, `sigmoid`, `tanh`). */
const sectionOf = (type: string): string | undefined => {
  const sections = doc.split(/^### /m).slice(1);
  return sections.find((s) => (s.split('\n')[0] ?? '').split(', ').includes(`\`${type}\``));
};

/** Every `type` in a spec, nested ones included. */
const typesIn = (json: unknown): Set<string> => {
  const found = new Set<string>();
  const walk = (u: unknown): void => {
    if (Array.isArray(u)) u.forEach(walk);
    else if (typeof u === 'object' && u !== null) {
      const type = Reflect.get(u, 'type');
      if (typeof type === 'string') found.add(type);
      Object.values(u).forEach(walk);
    }
  };
  walk(json);
  return found;
};

const cli = (args: readonly string[]) => runInProcess(args, tmp);

describe('docs/model-spec.md: every built-in layer type and its fields', () => {
  const builtIns = layerTypes();

  it('knows the fifteen built-in types (a new one must be documented to pass the next test)', () => {
    expect(builtIns).toEqual(expect.arrayContaining(['conv2d', 'maxPool2d', 'avgPool2d', 'globalAvgPool2d', 'affine', 'flatten', 'relu', 'sigmoid', 'tanh', 'dropout', 'batchNorm', 'sequential', 'residual', 'parallel', 'graph']));
  });

  it.each(layerTypes())('%s has a section naming every field the decoder takes', (type) => {
    const section = sectionOf(type);
    expect(section, `no "### \`${type}\`" section`).toBeDefined();
    for (const field of decoderFields(type)) expect(section ?? '', `${type}.${field}`).toContain(`\`${field}\``);
  });

  it("the graph's merge nodes add and concat, their inputs and the graph's output are documented", () => {
    const graph = sectionOf('graph') ?? '';
    for (const word of ['`"input"`', '`inputs`', '`output`', '{ "type": "add"', '{ "type": "concat"']) expect(graph).toContain(word);
  });

  it('the README links it', () => {
    expect(fs.readFileSync(path.join(root, 'README.md'), 'utf8')).toContain('(docs/model-spec.md)');
  });
});

describe('examples/model-spec.json: a complete example', () => {
  const spec: unknown = JSON.parse(fs.readFileSync(exampleFile, 'utf8'));

  it('uses every built-in layer type and both graph merges', () => {
    const used = typesIn(spec);
    for (const type of [...layerTypes(), 'add', 'concat']) expect(used, type).toContain(type);
  });

  it('foldnet summary examples/model-spec.json: every layer, 30,530 params', async () => {
    const r = await cli(['summary', exampleFile]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^total +30,530$/m);
    for (const kind of layerTypes()) expect(r.out, kind).toMatch(new RegExp(` ${kind} +\\[`));
    // the doc quotes the same count
    expect(doc).toContain('30,530 params');
  });

  it('trains, and foldnet summary of its checkpoint prints the same table, headed by the file and step', async () => {
    const t = await cli(['train', '--model', exampleFile, '--iters', '2', '--train-size', '20', '--test-size', '10', '--batch-size', '10', '--eval-every', '0', '--out', 'run']);
    expect(t.code, t.err).toBe(0);
    const fromSpec = await cli(['summary', exampleFile]);
    const fromCheckpoint = await cli(['summary', path.join('run', 'checkpoint.safetensors')]);
    expect(fromCheckpoint.code, fromCheckpoint.err).toBe(0);
    const [head, ...table] = fromCheckpoint.out.split('\n');
    expect(head).toBe(`${path.join('run', 'checkpoint.safetensors')} (step 2)`);
    expect(table.join('\n')).toBe(fromSpec.out.split('\n').slice(1).join('\n'));
    const json = await cli(['summary', path.join('run', 'checkpoint.safetensors'), '--json']);
    expect(JSON.parse(json.out)).toMatchObject({ step: 2, totalParams: 30530 });
  });
});
