// @berth/bench: berth beside containerd and bare runc, as ratios. The
// command is dist/bin.js; these are its parts, for tests and reuse.
export { quantile, ratioOfMedians, summarize, type Summary } from './stats.js';
export {
  errorText,
  interleavedSchedule,
  runInterleaved,
  samplesOf,
  type Contestant,
  type ContestantSamples,
  type Counts,
  type InterleaveResult,
  type RunOptions,
  type Sample,
  type SampleError,
  type Slot,
} from './interleave.js';
export {
  buildMetric,
  ratiosOf,
  type BenchReport,
  type ContestantInfo,
  type ContestantKind,
  type ContestantResult,
  type MetricDef,
  type MetricReport,
  type Ratio,
  type ScenarioReport,
} from './report.js';
export { alignedTable, formatNumber, formatRatio, machineLine, markdownFailure, markdownTable, renderMarkdown, renderText, resultRows, type Align } from './table.js';
export { collectMachineInfo, parseCpuModel, parseOsRelease, parseToolVersion, type MachineInfo } from './machine.js';
export {
  listProcesses,
  matchProcesses,
  parseKbField,
  parsePpid,
  parsePss,
  parseVmRss,
  readProcessMemory,
  sumMemory,
  type MemoryTotal,
  type ProcessInfo,
  type ProcessMemory,
} from './memory.js';
export { ALL_SCENARIOS, parseBenchArgs, parseScenarioList, USAGE, UsageError, type BenchOptions } from './options.js';
export { countsFor, NAMESPACE, runBench, SCENARIOS } from './harness.js';
export { containerdConfig, containerdPaths, DISABLED_PLUGINS, startContainerd, type ContainerdPaths, type ContainerdPeer } from './peers/containerd.js';
export { extractLayout, floorSpec, layerTarFlags, prepareRuncFloor, type RuncFloor } from './peers/runc.js';
export { berthCliBin, startBerth, withoutBerthEnv, type BerthPeer } from './peers/berth.js';
export { leafSnapshots, parseCtrSnapshots } from './scenarios/s2-cold-pull.js';
export { parseCtrTasks } from './scenarios/s3-fan-out.js';
export { breakdown, perContainer, readMembers, type Member, type MemorySample } from './scenarios/s4-memory.js';
export { berthExitSubjects, EventBook, exitScript, parseBerthExit, parseCtrEventLine, rfc3339ToMs, type ExitEvent } from './scenarios/s5-exit-events.js';
export type { BenchEnv, Scenario, ScenarioCounts } from './scenario.js';
