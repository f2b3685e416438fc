// Summarise V8 CPU profiles (`node --cpu-prof --cpu-prof-dir=DIR …`): self time per function, slowest first.
// Usage: node bench/cpu-profile.mjs DIR [top=40]. Native calls (Dawn) count as self time of the JS that made them.
import fs from 'node:fs';
import path from 'node:path';

const dir = process.argv[2];
const top = Number(process.argv[3] ?? 40);
if (!dir) throw new Error('usage: node bench/cpu-profile.mjs DIR [top]');
for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
  const p = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
  const nodes = new Map(p.nodes.map((n) => [n.id, n]));
  const byNode = new Map();
  p.samples.forEach((id, i) => byNode.set(id, (byNode.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  const self = new Map();
  let total = 0;
  for (const [id, us] of byNode) {
    const { functionName, url, lineNumber } = nodes.get(id).callFrame;
    const key = `${functionName || '(anonymous)'} ${url.split('/').slice(-2).join('/')}:${lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + us);
    total += us;
  }
  console.log(`${f}: ${(total / 1e3).toFixed(0)} ms sampled`);
  for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`${(us / 1e3).toFixed(1).padStart(9)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%  ${k}`);
}
