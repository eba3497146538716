/**
 * The scripts' flags: node:util's parseArgs, with an unknown or malformed flag answered by one line naming it and
 * where the usage is (the comment at the top of the script), exit 2, instead of parseArgs' stack trace.
 *
 *   const values = parseFlags('compare-builds', { base: { type: 'string' }, rounds: { type: 'string', default: '60' } });
 */
import { parseArgs } from 'node:util';

export const parseFlags = (name, options) => {
  try {
    return parseArgs({ options }).values;
  } catch (e) {
    console.error(`${name}: ${e.message} (usage: the comment at the top of ${process.argv[1]})`);
    process.exit(2);
  }
};
