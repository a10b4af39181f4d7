// The agent's configuration: the settings every service shares, plus where
// its helper binaries are and how often it reports. Each key is also a flag
// (--runtime-path) and an environment variable (BERTH_RUNTIME_PATH).
import { DEFAULT_NETNS_PREFIX, DEFAULT_PLUGIN_DIRS, DEFAULT_TIMEOUT_MS } from '@berth/cni';
import { baseConfigSchema } from '@berth/service-kit';
import { z } from 'zod';

export const agentConfigSchema = baseConfigSchema.extend({
  /** The OCI runtime (runc) binary. */
  runtimePath: z.string().min(1).default('/usr/sbin/runc'),
  /** The per-container monitor (conmon) binary. */
  conmonPath: z.string().min(1).default('/usr/bin/conmon'),
  /** CNI plugin execution (the Cni service; GetInfo reports the plugin dirs and version). */
  cni: z
    .object({
      /** Directories searched, in order, for CNI plugin binaries. */
      pluginDirs: z.array(z.string().min(1)).min(1).default([...DEFAULT_PLUGIN_DIRS]),
      /** Cached ADD results (DEL and CHECK need them); default <state>/cni/results. */
      cacheDir: z.string().min(1).optional(),
      /** Limit for one plugin invocation. */
      timeoutMs: z.number().int().positive().default(DEFAULT_TIMEOUT_MS),
    })
    .strict()
    .default({}),
  /** Container network namespaces (the Netns service): the agent alone names them <prefix><container id>. */
  netns: z
    .object({
      /** Prefix of the names under /run/netns; ListNetns (and networking's reconcile) sees only names with it. */
      prefix: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/).max(64).default(DEFAULT_NETNS_PREFIX),
    })
    .strict()
    .default({}),
  /** How often the node heartbeat is published on berth.node.<node>.heartbeat. */
  heartbeatIntervalMs: z.number().int().min(100).max(3_600_000).default(5000),
  /** Rotate container logs at this many bytes when CreateTask gives no log_max_bytes; 0: never. */
  logMaxSize: z.number().int().min(0).default(0),
  /** Log files kept by rotation (the live one included) when CreateTask gives no log_max_files. */
  logMaxFiles: z.number().int().min(1).max(64).default(3),
  /** How often logs are checked against their size limit. */
  logRotateIntervalMs: z.number().int().min(100).default(1000),
  /** gRPC address other services reach this agent at (heartbeats carry it); default unix:<its socket>. */
  advertiseAddress: z.string().min(1).optional(),
});

export type AgentConfig = z.infer<typeof agentConfigSchema>;
