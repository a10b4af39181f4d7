// Name rules from the CNI spec and the kernel; every name that ends up in a
// path, an environment variable or an interface is checked here first.

const CONTAINER_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const NETNS_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const PLUGIN_TYPE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const IFNAME_MAX = 15;

export function validateContainerId(id: string): void {
  if (typeof id !== 'string' || id.length === 0) throw new Error('CNI container id is empty');
  if (id.length > 255 || !CONTAINER_ID.test(id)) {
    throw new Error(
      `invalid CNI container id ${JSON.stringify(id)}: must start with a letter or digit and contain only letters, digits, '_', '.', '-' (at most 255)`,
    );
  }
}

export function validateNetworkName(name: string): void {
  if (typeof name !== 'string' || name.length === 0) throw new Error('CNI network name is empty');
  if (name.length > 128 || !NETWORK_NAME.test(name)) {
    throw new Error(
      `invalid CNI network name ${JSON.stringify(name)}: must start with a letter or digit and contain only letters, digits, '_', '.', '-' (at most 128)`,
    );
  }
}

/** Kernel interface names: 1..15 bytes, no '/', ':' or whitespace, not '.' or '..'. */
export function validateIfname(ifname: string): void {
  if (typeof ifname !== 'string' || ifname.length === 0) throw new Error('interface name is empty');
  if (Buffer.byteLength(ifname) > IFNAME_MAX) {
    throw new Error(`interface name ${JSON.stringify(ifname)} is longer than ${IFNAME_MAX} bytes`);
  }
  if (ifname === '.' || ifname === '..' || /[/:\s]/.test(ifname)) {
    throw new Error(`invalid interface name ${JSON.stringify(ifname)}: no '/', ':', whitespace, '.' or '..'`);
  }
}

export function validateNetnsName(name: string): void {
  if (typeof name !== 'string' || name.length === 0) throw new Error('netns name is empty');
  if (name.length > 200 || !NETNS_NAME.test(name)) {
    throw new Error(
      `invalid netns name ${JSON.stringify(name)}: must start with a letter or digit and contain only letters, digits, '_', '.', '-' (at most 200)`,
    );
  }
}

export function validatePluginType(type: string): void {
  if (typeof type !== 'string' || type.length === 0) throw new Error('CNI plugin entry has no "type"');
  if (!PLUGIN_TYPE.test(type)) {
    throw new Error(`invalid CNI plugin type ${JSON.stringify(type)}: must be a plain binary name`);
  }
}

/** Prefix of the netns names the agent gives containers, unless configured otherwise. */
export const DEFAULT_NETNS_PREFIX = 'berth-';

const NETNS_PREFIX = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function validateNetnsPrefix(prefix: string): void {
  if (typeof prefix !== 'string' || !NETNS_PREFIX.test(prefix) || prefix.length > 64) {
    throw new Error(
      `invalid netns prefix ${JSON.stringify(prefix)}: must start with a letter or digit and contain only letters, digits, '_', '.', '-' (at most 64)`,
    );
  }
}

/** The netns name of a container: <prefix><container id>. */
export function containerNetnsName(prefix: string, containerId: string): string {
  validateNetnsPrefix(prefix);
  validateContainerId(containerId);
  const name = `${prefix}${containerId}`;
  validateNetnsName(name);
  return name;
}

/** The container a netns name belongs to, or undefined when the name is not <prefix><container id>. */
export function containerOfNetns(prefix: string, name: string): string | undefined {
  if (!name.startsWith(prefix)) return undefined;
  const id = name.slice(prefix.length);
  return id !== '' && id.length <= 255 && CONTAINER_ID.test(id) ? id : undefined;
}
