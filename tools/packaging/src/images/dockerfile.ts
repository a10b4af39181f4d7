// A reading of deploy/docker/Dockerfile good enough to check it against the
// services: its stages (targets) with the instructions of each, continuation
// lines joined and comments dropped.
import { readFileSync } from 'node:fs';

export interface DockerfileStage {
  name: string;
  from: string;
  /** Instructions in order, e.g. { op: 'USER', args: '10001:10001' }. */
  instructions: { op: string; args: string }[];
}

/** The stages of a Dockerfile text. Pure. */
export function parseDockerfile(text: string): DockerfileStage[] {
  const logical: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (pending === '' && /^\s*#/.test(line)) continue;
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1) + ' ';
      continue;
    }
    const full = (pending + line).trim();
    pending = '';
    if (full !== '') logical.push(full);
  }
  const stages: DockerfileStage[] = [];
  for (const l of logical) {
    const m = /^(\S+)\s*(.*)$/.exec(l)!;
    const op = m[1]!.toUpperCase();
    const args = m[2]!.replace(/\s+/g, ' ');
    if (op === 'FROM') {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!from) throw new Error(`cannot read FROM ${args}`);
      stages.push({ name: from[2] ?? String(stages.length), from: from[1]!, instructions: [] });
    } else if (stages.length > 0) {
      stages[stages.length - 1]!.instructions.push({ op, args });
    }
  }
  return stages;
}

export function readDockerfile(file: string): DockerfileStage[] {
  return parseDockerfile(readFileSync(file, 'utf8'));
}

/** The last value of an instruction in a stage (USER, ENTRYPOINT, HEALTHCHECK …), if any. */
export const lastInstruction = (stage: DockerfileStage, op: string): string | undefined =>
  stage.instructions.filter((i) => i.op === op).at(-1)?.args;

/** The JSON array form of an instruction's arguments (ENTRYPOINT ["a","b"]). */
export function execForm(args: string | undefined): string[] | undefined {
  if (args === undefined) return undefined;
  const json = args.slice(args.indexOf('['));
  try {
    const parsed = JSON.parse(json) as unknown;
    return Array.isArray(parsed) && parsed.every((a) => typeof a === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}
