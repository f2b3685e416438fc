/** `animgs demo` (npm run demo): for now checks the adapter; later issues grow it into the full synthetic demo. */
import type { Command } from 'commander';
import { doctor } from './doctor.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run the built-in demo (currently: the adapter check of `doctor`)')
    .action(async () => {
      const ok = await doctor();
      process.exitCode = ok ? 0 : 1;
    });
}
