// @berth/packaging: what turns the workspace into images and a chart, and
// checks both against the services.
export { binEntry, findRepoRoot, readManifest, serviceNames, servicePackage, workspacePackages, type PackageManifest, type WorkspacePackage } from './workspace.js';
export { productionClosure, resolvePackageDir, runtimeDeps, type BundledPackage } from './bundle/closure.js';
export { HEALTH_PROBE_PATH, shipsAtRuntime, workspaceOutputs, writeBundle, type BundleManifest } from './bundle/write.js';
export { checkSocket, probeTarget, type ProbeTarget } from './health-probe.js';
export { bridgeDevices, pingEngine, startDockerEngine, type DockerEngine, type DockerEngineOptions } from './docker/engine.js';
export { DockerCli, type BuildOptions, type ImageInspect } from './docker/cli.js';
export { hostNode, mergedUsrPath, missingLibraries, normaliseTarNames, parseLdd, writeNodeOverlay, type HostNode } from './images/node-runtime.js';
export { importBaseImage, nodeBaseTar, RUNTIME_TOOLS_PACKAGES, type BaseImageTar } from './images/base-image.js';
export { overlayEntries } from './images/base-image.js';
export { buildEnvImage, DEPS_MARKER, installedModuleDirs, lockDigest } from './images/build-env.js';
export { contextRules, stageContext } from './images/context.js';
export { isIgnored, parseDockerignore, type IgnoreRule } from './images/dockerignore.js';
export { buildOfflineImages, DOCKERFILE, imageTargets, type OfflineBuild, type OfflineBuildOptions } from './images/build-images.js';
export { execForm, lastInstruction, parseDockerfile, readDockerfile, type DockerfileStage } from './images/dockerfile.js';
export { assertSupportedSchema, DEFINITIONS_REF, DRAFT_07, resolveRef, validateJson, type JsonSchema, type SchemaProblem } from './chart/json-schema.js';
export { literalBerthEnvNames, loadChart, schemaAt, unresolvedReferences, valuesReferences, type ChartFiles, type ValuesReference } from './chart/chart.js';
export { CONFIG_FILE_ENV, configKeys, jsonTypeOfLeaf, serviceConfigSchema, type ConfigKeys, type LeafKind } from './chart/service-config.js';
export { checkTemplates, type TemplateCheckOptions, type TemplateProblem } from './chart/template-check.js';
export { lexTemplate, KEYWORDS, type LexedTemplate, type LexProblem, type TemplateAction, type Token, type TokenKind } from './chart/template-lexer.js';
export { parseAction, stringValue, type ActionKind, type ParsedAction, type VariableEvent } from './chart/template-actions.js';
export { HELM_TEMPLATE_FUNCTIONS } from './chart/template-functions.js';
