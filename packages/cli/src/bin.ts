#!/usr/bin/env node
/**
 * The `foldnet` executable: runs the CLI on this process's arguments and sets its exit code
 * (0 success, 1 a check failed, 2 bad input, 130 interrupted by Ctrl-C). Nothing else lives here,
 * so the CLI stays testable in-process through `runCli`.
 */
import { nodeIo } from './io.js';
import { runCli } from './program.js';

process.exitCode = await runCli(process.argv.slice(2), nodeIo());
