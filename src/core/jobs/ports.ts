/** Ports in LISTEN state (st 0A) in /proc/net/tcp and tcp6 text. */
export function listeningPorts(procNetTcp: string): Set<number> {
  const ports = new Set<number>();
  for (const line of procNetTcp.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 4 || !/^\d+:$/.test(fields[0])) continue;
    if (fields[3] !== '0A') continue;
    const port = parseInt(fields[1].split(':').pop() ?? '', 16);
    if (Number.isFinite(port)) ports.add(port);
  }
  return ports;
}

/** A MASTER_PORT that nothing listens on and no other job of this client was given. */
export function pickFreePort(busy: ReadonlySet<number>, random: () => number = Math.random, low = 29500, high = 39500): number {
  const span = high - low;
  const start = Math.floor(random() * span);
  for (let i = 0; i < span; i++) {
    const port = low + ((start + i) % span);
    if (!busy.has(port)) return port;
  }
  throw new Error(`No free port between ${low} and ${high}`);
}
