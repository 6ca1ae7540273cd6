// System tools some suites need (Debian packages installed by .ci/run). In CI
// a missing tool fails the suite; on a developer machine it skips with a reason.
import { execFileSync } from 'node:child_process';

export function findExecutable(name: string): string | null {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

/** True when `name` is on PATH; throws in CI when it is not, so a missing tool can never pass silently. */
export function requireTool(name: string, debianPackage: string): boolean {
  if (findExecutable(name)) return true;
  const reason = `${name} not found: apt-get install ${debianPackage}`;
  if (process.env.CI) throw new Error(`${reason} (required in CI)`);
  console.warn(`skipping: ${reason}`);
  return false;
}
