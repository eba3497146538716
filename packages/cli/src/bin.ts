#!/usr/bin/env node
/**
 * The `foldnet` executable: runs the CLI on this process's arguments and sets its exit code
 * (0 success, 1 a check failed, 2 bad input, 130 interrupted by Ctrl-C, 143 by SIGTERM, 129 by SIGHUP). Nothing else lives here
 * but the choice of malloc settings (malloc.ts), so the CLI stays testable in-process through `runCli`.
 */
import { nodeIo } from './io.js';
import { dieWithParent, glibcVersion, runInTunedChild, wantsTunedMalloc } from './malloc.js';
import { runCli } from './program.js';

const args = process.argv.slice(2);
if (wantsTunedMalloc(args, process.env, process.platform, glibcVersion)) {
  process.exitCode = await runInTunedChild();
} else {
  dieWithParent();
  process.exitCode = await runCli(args, nodeIo());
}
