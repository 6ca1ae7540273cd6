// Reading docker-compose.yml and the Dockerfile without a Docker engine: the
// compose file as `docker-compose config` normalises it (Debian package
// docker-compose 1.29; its PyYAML turns the YAML into JSON), and the
// Dockerfile's stages and instructions.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

export interface ComposeService {
  image?: string;
  build?: { context: string };
  command?: string[];
  environment?: Record<string, string>;
  ports?: Array<{ published: number; target: number }>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  profiles?: string[];
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/** Validates the file (throws with docker-compose's message when it is invalid) and returns it normalised. */
export function composeConfig(file = 'docker-compose.yml'): ComposeFile {
  const yaml = execFileSync('docker-compose', ['-f', file, 'config'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const json = execFileSync('python3', ['-c', 'import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'], { input: yaml, encoding: 'utf8' });
  return JSON.parse(json) as ComposeFile;
}

export interface DockerStage {
  from: string;
  name: string | null;
  instructions: Array<{ op: string; args: string }>;
}

/** Stages in order, with continuation lines joined and comments dropped. */
export function parseDockerfile(file = 'Dockerfile'): { args: Record<string, string>; stages: DockerStage[] } {
  const lines = fs.readFileSync(file, 'utf8').replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const args: Record<string, string> = {};
  const stages: DockerStage[] = [];
  for (const line of lines) {
    const [, op = '', rest = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const upper = op.toUpperCase();
    if (upper === 'FROM') {
      const [, image = '', name = null] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest) ?? [];
      stages.push({ from: image.replace(/^\$\{(\w+)\}$/, (_, v: string) => args[v] ?? ''), name, instructions: [] });
    } else if (upper === 'ARG' && stages.length === 0) {
      const [name = '', value = ''] = rest.split('=');
      args[name] = value;
    } else {
      stages.at(-1)?.instructions.push({ op: upper, args: rest.replace(/\s+/g, ' ') });
    }
  }
  return { args, stages };
}

/** A stage and the stages it builds on (FROM another stage), base first. */
export function stageChain(stages: DockerStage[], name: string): DockerStage[] {
  const stage = stages.find((s) => s.name === name);
  if (!stage) throw new Error(`no stage ${name}`);
  return stages.some((s) => s.name === stage.from) ? [...stageChain(stages, stage.from), stage] : [stage];
}
