/**
 * Command-line flags of the example scripts: `--name value` and bare `--name` switches.
 */
const argv = process.argv.slice(2);

/** The value after `--name`, or undefined. */
export function flag(name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

/** Whether the bare switch `--name` is present. */
export function hasFlag(name: string): boolean {
  return argv.includes(`--${name}`);
}
