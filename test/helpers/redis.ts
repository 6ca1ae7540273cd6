// A real redis-server (Debian package redis-server) for the cluster tests: a
// free port, a temporary directory, append-only persistence fsynced on every
// write, so a restarted Redis comes back with what it had, as a production
// Redis with `appendonly yes` does. stop() and start() keep the port and the
// data; kill() is a SIGKILL.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { makeTempDir } from './gateway.js';
import { freePort } from '../../lab/gateway-process.js';
import { findExecutable, requireTool } from './tools.js';

export interface RedisServer {
  url: string;
  port: number;
  start(): Promise<void>;
  /** SIGTERM: Redis finishes its append-only file and exits. */
  stop(): Promise<void>;
  kill(): Promise<void>;
  /** Sends one command (inline protocol) and returns the raw answer. */
  command(line: string): Promise<string>;
  dispose(): Promise<void>;
}

/** True when redis-server is installed; off CI a missing one skips with a printed reason, in CI it throws. */
export function redisAvailable(): boolean {
  return requireTool('redis-server', 'redis-server');
}

function send(port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    socket.setTimeout(2_000, () => socket.destroy(new Error('redis did not answer')));
    socket.on('connect', () => socket.write(`${line}\r\n`));
    socket.on('data', (chunk) => {
      answer += chunk.toString();
      if (answer.endsWith('\r\n')) socket.end();
    });
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

class RedisProcess implements RedisServer {
  readonly url: string;
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private output = '';

  constructor(private readonly dir: string, readonly port: number) {
    this.url = `redis://127.0.0.1:${port}`;
  }

  async start(): Promise<void> {
    if (this.child) return;
    const redis = ['redis-server', '--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir,
      '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--daemonize', 'no', '--loglevel', 'warning'];
    // As for influxd: the kernel ends redis-server when the test worker dies before its afterAll.
    const [command, ...args] = findExecutable('setpriv') ? ['setpriv', '--pdeathsig', 'TERM', '--', ...redis] : redis;
    const child = spawn(command!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-4000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`redis-server exited during start-up:\n${this.output}`);
      if ((await this.command('PING').catch(() => '')).startsWith('+PONG')) return;
      if (Date.now() > deadline) throw new Error(`redis-server did not answer PING within 10 s:\n${this.output}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  private async end(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill(signal);
    await this.exited;
    this.child = null;
  }

  stop(): Promise<void> {
    return this.end('SIGTERM');
  }

  kill(): Promise<void> {
    return this.end('SIGKILL');
  }

  command(line: string): Promise<string> {
    return send(this.port, line);
  }

  async dispose(): Promise<void> {
    await this.kill();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function startRedis(): Promise<RedisServer> {
  const dir = makeTempDir('redis-');
  // A free port may be taken between finding and binding it: retry.
  for (let attempt = 1; ; attempt++) {
    const server = new RedisProcess(dir, await freePort());
    try {
      await server.start();
      return server;
    } catch (err) {
      await server.kill();
      if (attempt === 3) {
        fs.rmSync(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }
}
