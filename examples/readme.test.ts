/**
 * The root README shows only what runs: every TypeScript block in it is an example program that
 * examples.test.ts runs (the whole file, or a verbatim excerpt marked `// from examples/<file>`),
 * its quick-start commands are the two the setup supports, and its relative links lead to files.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const readme = readFileSync(join(root, 'README.md'), 'utf8');

// The programs CI runs (examples.test.ts), the module custom-layer.ts imports, the vitest suite, and the demo page
// (test/browser/demo.test.ts drives it in Chromium).
const checkedByCi = ['quickstart.ts', 'lenet5.ts', 'custom-layer.ts', 'leaky-relu.ts', 'conv1x1.ts', 'training-fold.ts', 'property-test/leaky-relu.test.ts', 'property-test/conv1x1.test.ts', 'web/main.ts'];

const blocks = (lang: RegExp): string[] =>
  [...readme.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].filter((m) => lang.test(m[1])).map((m) => m[2]);

describe('README.md', () => {
  const tsBlocks = blocks(/^(ts|typescript)$/);

  it('has TypeScript blocks, the first one a whole example program (the ten-line network)', () => {
    expect(tsBlocks.length).toBeGreaterThan(0);
    expect(tsBlocks[0]).toBe(readFileSync(join(root, 'examples', 'quickstart.ts'), 'utf8'));
  });

  it('every TypeScript block is an example CI runs, whole or as a marked verbatim excerpt', () => {
    for (const block of tsBlocks) {
      const marked = /^\/\/ from examples\/(\S+)\n([\s\S]*)$/.exec(block);
      if (marked === null) {
        const whole = checkedByCi.find((f) => readFileSync(join(root, 'examples', f), 'utf8') === block);
        expect(whole, `README block is not an example file:\n${block}`).toBeDefined();
      } else {
        expect(checkedByCi, `README excerpt names examples/${marked[1]}`).toContain(marked[1]);
        expect(readFileSync(join(root, 'examples', marked[1]), 'utf8'), `README excerpt is not verbatim in examples/${marked[1]}`).toContain(marked[2]);
      }
    }
  });

  it('every example CI runs is one examples.test.ts runs or imports', () => {
    const runner = readFileSync(join(root, 'examples', 'examples.test.ts'), 'utf8');
    for (const f of ['quickstart.ts', 'lenet5.ts', 'custom-layer.ts', 'training-fold.ts']) expect(runner).toContain(`runExample('${f}'`);
    const customLayer = readFileSync(join(root, 'examples', 'custom-layer.ts'), 'utf8');
    expect(customLayer).toContain("from './leaky-relu.js'");
    expect(customLayer).toContain("from './conv1x1.js'");
  });

  it('the quick start is the two commands the setup supports, in a sh block', () => {
    const sh = blocks(/^sh$/).join('\n');
    expect(sh).toMatch(/^\.\/scripts\/setup\.sh && pnpm foldnet train$/m);
    expect(sh).toMatch(/^bash \.ci\/run$/m);
    expect(existsSync(join(root, 'scripts', 'setup.sh'))).toBe(true);
    expect(existsSync(join(root, '.ci', 'run'))).toBe(true);
  });

  it('every relative link and image leads to a file in the repository', () => {
    const targets = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]).filter((t) => !/^[a-z]+:/.test(t) && !t.startsWith('#'));
    expect(targets).toEqual(expect.arrayContaining(['packages/cli/docs/accuracy.png', 'RELIABILITY.md', 'packages/train/CHECKPOINTS.md']));
    for (const t of targets) expect(existsSync(join(root, t)), `README links to ${t}`).toBe(true);
  });

  it('the scripts it names exist in package.json (docs, examples, foldnet)', () => {
    const pkg: unknown = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    const scripts = typeof pkg === 'object' && pkg !== null && 'scripts' in pkg && typeof pkg.scripts === 'object' && pkg.scripts !== null ? Object.keys(pkg.scripts) : [];
    for (const s of ['docs', 'examples', 'foldnet']) expect(scripts).toContain(s);
    expect(readme).toContain('pnpm run docs');
    expect(readme).toContain('pnpm run examples');
  });
});
