// The tasks service's settings, on top of every service's base settings.
import { baseConfigSchema } from '@berth/service-kit';
import { z } from 'zod';

export const tasksConfigSchema = baseConfigSchema.extend({
  tasks: z
    .object({
      /** Parent cgroup of containers (cgroupfs path): a container's cgroup is <parent>/<id>. */
      cgroupParent: z.string().regex(/^\//, 'must be an absolute cgroup path').default('/berth'),
      /** Host path of the init binary `--init` runs (tini or catatonit); searched in the usual places when unset. */
      initPath: z.string().optional(),
      /** Rotate a container's log file at this size (bytes); 0 never rotates. */
      logMaxBytes: z.number().int().min(0).default(10 * 1024 * 1024),
      /** Rotated log files kept per container. */
      logMaxFiles: z.number().int().min(1).max(64).default(5),
      /** Seconds between the stop signal and SIGKILL when neither the request nor the container says. */
      stopTimeoutSeconds: z.number().int().min(0).default(10),
      /** How long to wait for an exit after SIGKILL before reporting the agent as unresponsive (ms). */
      killGraceMs: z.number().int().min(100).default(30_000),
      /** Heartbeat interval assumed when an agent's heartbeat does not say (seconds). */
      heartbeatIntervalSeconds: z.number().int().min(1).default(5),
      /** Silent heartbeat intervals after which a node is unavailable. */
      missedHeartbeats: z.number().int().min(1).default(3),
      restartBackoff: z
        .object({
          initialMs: z.number().int().min(1).default(100),
          maxMs: z.number().int().min(1).default(60_000),
          resetAfterMs: z.number().int().min(0).default(10_000),
        })
        .strict()
        .default({}),
      /** Deadline of calls to the neighbours (ms); waits have none. */
      callTimeoutMs: z.number().int().min(100).default(120_000),
      /** How often a reconcile that could not reach the agent is retried (ms). */
      reconcileRetryMs: z.number().int().min(100).default(5_000),
    })
    .strict()
    .default({}),
});

export type TasksConfig = z.infer<typeof tasksConfigSchema>;
