import { parseIp } from '../ip/cidr.js';
import { HOST_NETWORK, type Attachment } from '../network-model.js';
import { buildHostnameFile, buildHostsFile, parseAddHost } from './hosts.js';
import { buildResolvConf } from './resolv-conf.js';

export interface ContainerFilesOptions {
  hostname?: string;
  domainname?: string;
  /** --add-host "name:ip" */
  extraHosts?: string[];
  dns?: string[];
  dnsSearch?: string[];
  dnsOptions?: string[];
}

export interface ContainerFiles {
  hosts: string;
  hostname: string;
  resolvConf: string;
}

export interface ContainerFilesInput {
  containerId: string;
  /** The container's attachments, first network first. */
  attachments: readonly Attachment[];
  /** Shares the host's network (also implied by a first attachment to `host`). */
  hostNetwork?: boolean;
  /** Gateway of the first user network with embedded DNS, if any. */
  embeddedDns: string | undefined;
  host: { resolvConf: string; hosts: string; hostname: string };
  options: ContainerFilesOptions;
}

/**
 * /etc/hosts, /etc/hostname and /etc/resolv.conf for a container. Host mode
 * gets the host's files (plus --add-host and DNS overrides); everything else
 * gets its own, naming its addresses and pointing at the embedded DNS server
 * on user networks.
 */
export function buildContainerFiles(input: ContainerFilesInput): ContainerFiles {
  const { options: opts, host } = input;
  const extraHosts = (opts.extraHosts ?? []).map(parseAddHost);
  const overrides = { nameservers: opts.dns, search: opts.dnsSearch, options: opts.dnsOptions };

  if (input.hostNetwork === true || input.attachments[0]?.networkName === HOST_NETWORK) {
    const extra = extraHosts.map((e) => `${e.ip}\t${e.names.join(' ')}\n`).join('');
    const separator = host.hosts === '' || host.hosts.endsWith('\n') ? '' : '\n';
    const customised = opts.dns || opts.dnsSearch || opts.dnsOptions;
    return {
      hosts: `${host.hosts}${separator}${extra}`,
      hostname: buildHostnameFile(opts.hostname ?? host.hostname),
      resolvConf: customised ? buildResolvConf({ hostResolvConf: host.resolvConf, ...overrides, ipv6: true }) : host.resolvConf,
    };
  }

  const hostname = opts.hostname ?? input.containerId.slice(0, 12);
  const addresses = input.attachments.filter((a) => a.state === 'attached').flatMap((a) => a.ips);
  const ipv6 = addresses.some((ip) => parseIp(ip.replace(/\/\d+$/, '')).family === 6);
  return {
    hosts: buildHostsFile({ hostname, domainname: opts.domainname, addresses, extraHosts }),
    hostname: buildHostnameFile(hostname),
    resolvConf: buildResolvConf({ hostResolvConf: host.resolvConf, embeddedDns: input.embeddedDns, ...overrides, ipv6 }),
  };
}
