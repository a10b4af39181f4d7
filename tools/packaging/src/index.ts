// @berth/packaging: what turns the workspace into images and a chart, and
// checks both against the services.
export { binEntry, findRepoRoot, readManifest, serviceNames, servicePackage, workspacePackages, type PackageManifest, type WorkspacePackage } from './workspace.js';
export { productionClosure, resolvePackageDir, runtimeDeps, type BundledPackage } from './bundle/closure.js';
export { HEALTH_PROBE_PATH, shipsAtRuntime, writeBundle, type BundleManifest } from './bundle/write.js';
export { checkSocket, probeTarget, type ProbeTarget } from './health-probe.js';
export { bridgeDevices, pingEngine, startDockerEngine, type DockerEngine, type DockerEngineOptions } from './docker/engine.js';
export { DockerCli, type BuildOptions, type ImageInspect } from './docker/cli.js';
export { hostNode, mergedUsrPath, missingLibraries, normaliseTarNames, parseLdd, writeNodeOverlay, type HostNode } from './images/node-runtime.js';
export { importBaseImage, nodeBaseTar, RUNTIME_TOOLS_PACKAGES, type BaseImageTar } from './images/base-image.js';
export { overlayEntries } from './images/base-image.js';
export { buildEnvImage, DEPS_MARKER, installedModuleDirs, lockDigest } from './images/build-env.js';
export { CONTEXT_EXCLUDES, includedInContext, stageContext } from './images/context.js';
export { buildOfflineImages, DOCKERFILE, imageTargets, type OfflineBuild, type OfflineBuildOptions } from './images/build-images.js';
export { execForm, lastInstruction, parseDockerfile, readDockerfile, type DockerfileStage } from './images/dockerfile.js';
export { assertSupportedSchema, validateJson, type JsonSchema, type SchemaProblem } from './chart/json-schema.js';
export { literalBerthEnvNames, loadChart, schemaAt, unresolvedReferences, valuesReferences, type ChartFiles, type ValuesReference } from './chart/chart.js';
export { configKeys, jsonTypeOfLeaf, serviceConfigSchema, type ConfigKeys, type LeafKind } from './chart/service-config.js';
