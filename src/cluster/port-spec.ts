/**
 * A k3d config's `ports[].port`, read as k3d v5.8.3 reads it: k3d hands the string to Docker's
 * nat.ParsePortSpec (k3d-io/k3d v5.8.3 pkg/client/ports.go TransformPorts; docker/go-connections
 * v0.5.0, the version k3d's go.mod pins, nat/nat.go ParsePortSpec, splitParts, SplitProtoPort and
 * nat/parse.go ParsePortRange): `[IP:][HOSTPORT:]CONTAINERPORT[/PROTO]`, each port a number
 * 0-65535 or a range `A-B`, the IP v4 or [v6], the protocol tcp, udp or sctp.
 */
import { isIP } from 'node:net';

export interface PortSpec {
  ip: string;
  /** Host ports Docker binds as written; empty when Docker picks them (no host port, or a host range for one container port). */
  hostPorts: number[];
  containerPorts: number[];
  protocol: string;
}

/** ParseUint(s, 10, 16): digits only, at most 65535. */
function uint16(s: string): number | undefined {
  if (!/^\d+$/.test(s)) return undefined;
  const n = Number(s);
  return n <= 65535 ? n : undefined;
}

function portRange(s: string): [number, number] | undefined {
  if (s === '') return undefined;
  if (!s.includes('-')) {
    const n = uint16(s);
    return n === undefined ? undefined : [n, n];
  }
  const parts = s.split('-');
  const start = uint16(parts[0]!);
  const end = uint16(parts[1]!);
  if (start === undefined || end === undefined || end < start) return undefined;
  return [start, end];
}

/** The mappings a port string stands for, or Docker's reason for refusing it. */
export function parsePortSpec(raw: string): PortSpec | { error: string } {
  const parts = raw.split(':');
  const n = parts.length;
  let ip = n >= 3 ? parts.slice(0, n - 2).join(':') : '';
  const hostPort = n >= 2 ? parts[n - 2]! : '';
  let containerPort = parts[n - 1]!;
  // SplitProtoPort
  let protocol = '';
  const slash = containerPort.split('/');
  if (containerPort !== '' && slash[0] !== '') {
    protocol = slash.length === 1 || slash[1] === '' ? 'tcp' : slash[1]!;
    containerPort = slash[0]!;
  } else containerPort = '';
  if (ip.startsWith('[')) {
    if (!ip.endsWith(']')) return { error: `invalid IP address ${ip}` };
    ip = ip.slice(1, -1);
  }
  if (ip !== '' && isIP(ip) === 0) return { error: `invalid IP address: ${ip}` };
  if (containerPort === '') return { error: `no port specified: ${raw}<empty>` };
  const container = portRange(containerPort);
  if (!container) return { error: `invalid containerPort: ${containerPort}` };
  const host = hostPort === '' ? undefined : portRange(hostPort);
  if (hostPort !== '' && !host) return { error: `invalid hostPort: ${hostPort}` };
  const [start, end] = container;
  if (host && end - start !== host[1] - host[0] && end !== start) {
    return { error: `invalid ranges specified for container and host Ports: ${containerPort} and ${hostPort}` };
  }
  if (!['tcp', 'udp', 'sctp'].includes(protocol.toLowerCase())) return { error: `invalid proto: ${protocol}` };
  const containerPorts = Array.from({ length: end - start + 1 }, (_, i) => start + i);
  // A host range for a single container port is a range Docker picks from, not ports it binds.
  const hostPorts = host && !(start === end && host[0] !== host[1]) ? containerPorts.map((_, i) => host[0] + i) : [];
  return { ip, hostPorts, containerPorts, protocol: protocol.toLowerCase() };
}
