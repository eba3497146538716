#!/usr/bin/env node
/**
 * The `foldnet` executable: runs the CLI on this process's arguments and sets its exit code
 * (0 success, 1 a check failed, 2 bad input). Nothing else lives here, so the CLI stays testable
 * in-process through `runCli`.
 */
import { register } from 'node:module';

// Before the libraries load: lets Node resolve `fp-ts/Either`-style imports (see esm-hooks.ts).
register('./esm-hooks.js', import.meta.url);
const { nodeIo } = await import('./io.js');
const { runCli } = await import('./program.js');

process.exitCode = await runCli(process.argv.slice(2), nodeIo());
