// Draws the benchmark's throughput rows as an SVG bar chart (docs/bench.svg):
// one group per workload, one bar per client, each bar's median with its min–max.
// Usage: node bench/chart.mjs [target/bench/results.json] [docs/bench.svg]
import fs from 'node:fs';

const [input = 'target/bench/results.json', output = 'docs/bench.svg'] = process.argv.slice(2);
const results = JSON.parse(fs.readFileSync(input, 'utf8'));
const clients = ['burrow', 'stompjs', 'raw'];
const colours = { burrow: '#e4572e', stompjs: '#4c78a8', raw: '#9d9d9d' };
const rows = results.summary.filter((s) => s.metric === 'msgPerSec' && s.workload !== 'burst' && s.workload !== 'latency');

const barH = 12;
const gap = 4;
const groupH = clients.length * (barH + gap) + 14;
const left = 330;
const width = 900;
const plotW = width - left - 90;
const top = 46;
const height = top + rows.length * groupH + 30;
const escape = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
const fmt = (n) => Math.round(n).toLocaleString('en-US');

const parts = [];
parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`);
parts.push(`<rect width="100%" height="100%" fill="#fff"/>`);
const when = (results.meta?.finished ?? '').slice(0, 10);
parts.push(`<text x="12" y="20" font-size="15" font-weight="bold">Messages per second, median of ${results.config?.rounds ?? '?'} rounds (bars: min–max), one headless Chromium${when ? `, ${when}` : ''}</text>`);
clients.forEach((c, i) => {
  parts.push(`<rect x="${12 + i * 120}" y="30" width="12" height="10" fill="${colours[c]}"/><text x="${28 + i * 120}" y="39">${c === 'raw' ? 'raw WebSocket' : c}</text>`);
});
rows.forEach((row, r) => {
  const y0 = top + r * groupH;
  const max = Math.max(...clients.map((c) => row.clients[c]?.max ?? 0), 1);
  const target = row.target === 'rabbit' ? 'RabbitMQ' : 'fast peer';
  parts.push(`<text x="12" y="${y0 + 24}">${escape(`${target}: ${row.label}`)}</text>`);
  clients.forEach((c, i) => {
    const s = row.clients[c];
    if (!s) return;
    const y = y0 + i * (barH + gap);
    const w = (s.median / max) * plotW;
    parts.push(`<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${colours[c]}"/>`);
    const x1 = left + (s.min / max) * plotW;
    const x2 = left + (s.max / max) * plotW;
    parts.push(`<line x1="${x1.toFixed(1)}" x2="${x2.toFixed(1)}" y1="${y + barH / 2}" y2="${y + barH / 2}" stroke="#222" stroke-width="1"/>`);
    parts.push(`<text x="${(left + w + 6).toFixed(1)}" y="${y + barH - 2}" font-size="11">${fmt(s.median)}</text>`);
  });
});
parts.push('</svg>');
fs.writeFileSync(output, parts.join('\n') + '\n');
console.log(`wrote ${output} (${rows.length} rows)`);
