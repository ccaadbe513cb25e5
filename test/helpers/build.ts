/**
 * Vitest global setup: builds dist/ once before the test files run, so the tests that use the
 * built package (package.test.ts packs it, cli.test.ts runs dist/cli.js) never race on it.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: fileURLToPath(new URL('../..', import.meta.url)), stdio: 'ignore' });
}
