/**
 * The latency chart of `etcd-bridge bench`: a histogram of put → state-written latencies with the
 * cumulative share as a line over it and p50/p95/p99 marked, as a hand-written, self-contained SVG
 * (no script, no external font or stylesheet), so it opens in any browser and renders on GitHub.
 */
import { summarizeLatencies } from './stats.js';

export interface LatencyChartOptions {
  /** First line of the heading. */
  readonly title?: string;
  /** Second line, e.g. the load and where the figures come from. */
  readonly subtitle?: string;
  readonly width?: number;
  readonly height?: number;
  /** About how many bars; the bin width is rounded to 1, 2 or 5 × 10^k ms. */
  readonly bins?: number;
}

const MARGIN = { top: 64, right: 64, bottom: 56, left: 64 };

/** The smallest 1, 2 or 5 × 10^k that is ≥ x (x > 0). */
export function niceCeil(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) return 1;
  const power = 10 ** Math.floor(Math.log10(x));
  for (const step of [1, 2, 5, 10]) {
    const candidate = step * power;
    if (candidate >= x * (1 - 1e-12)) return candidate;
  }
  return 10 * power;
}

export function escapeXml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&apos;');
}

/** A number as an SVG coordinate: at most two decimals, no exponent. */
function n(value: number): string {
  return String(Math.round(value * 100) / 100);
}

/** Milliseconds for an axis label: no trailing zeros. */
function ms(value: number): string {
  return String(Number(value.toPrecision(6)));
}

/** A measured latency: one decimal. */
function ms1(value: number): string {
  return value.toFixed(1);
}

export interface Histogram {
  readonly binWidth: number;
  /** counts[i] covers [i × binWidth, (i + 1) × binWidth). */
  readonly counts: readonly number[];
  /** Samples at or beyond the last bin's end (drawn as a note, not a bar). */
  readonly overflow: number;
  readonly upper: number;
}

/**
 * Bins the samples from 0 up to a round number at or above their 99.9th percentile, so one stray
 * sample cannot squash the chart; what lies beyond is counted as overflow.
 */
export function histogram(samples: readonly number[], bins = 40): Histogram {
  const summary = summarizeLatencies(samples);
  const top = Math.max(summary.p999, summary.p99 * 1.2, 1e-3);
  const binWidth = niceCeil(top / bins);
  const count = Math.max(1, Math.ceil(top / binWidth));
  const counts = new Array<number>(count).fill(0);
  let overflow = 0;
  for (const sample of samples) {
    const index = Math.floor(Math.max(0, sample) / binWidth);
    if (index >= count) overflow++;
    else counts[index] = counts[index]! + 1;
  }
  return { binWidth, counts, overflow, upper: count * binWidth };
}

export function latencyChartSvg(samplesMs: readonly number[], options: LatencyChartOptions = {}): string {
  const width = options.width ?? 800;
  const height = options.height ?? 420;
  const summary = summarizeLatencies(samplesMs);
  const hist = histogram(samplesMs, options.bins ?? 40);
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const x0 = MARGIN.left;
  const y0 = MARGIN.top + plotH;
  const maxCount = Math.max(1, ...hist.counts);
  const yTop = niceCeil(maxCount);
  const xOf = (value: number) => x0 + (Math.min(value, hist.upper) / hist.upper) * plotW;
  const yOfCount = (count: number) => y0 - (count / yTop) * plotH;
  const yOfShare = (share: number) => y0 - share * plotH;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
  );
  const title = options.title ?? 'Latency: heat stack put → state record written';
  out.push(`<title>${escapeXml(title)}</title>`);
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${x0}" y="22" font-size="15" font-weight="bold">${escapeXml(title)}</text>`);
  const subtitle =
    options.subtitle ??
    `${summary.count} samples; p50 ${ms1(summary.p50)} ms, p95 ${ms1(summary.p95)} ms, p99 ${ms1(summary.p99)} ms, max ${ms1(summary.max)} ms`;
  out.push(`<text x="${x0}" y="42" fill="#444444">${escapeXml(subtitle)}</text>`);

  // Grid and left axis (count).
  for (let i = 0; i <= 4; i++) {
    const value = (yTop * i) / 4;
    const y = yOfCount(value);
    out.push(`<line x1="${x0}" y1="${n(y)}" x2="${x0 + plotW}" y2="${n(y)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${x0 - 6}" y="${n(y + 4)}" text-anchor="end" fill="#444444">${ms(value)}</text>`);
    out.push(`<text x="${x0 + plotW + 6}" y="${n(y + 4)}" fill="#b03a2e">${ms(i * 25)}%</text>`);
  }

  // Bars.
  const barW = (hist.binWidth / hist.upper) * plotW;
  out.push('<g fill="#4a7ab5">');
  hist.counts.forEach((count, i) => {
    if (count === 0) return;
    const y = yOfCount(count);
    out.push(
      `<rect x="${n(x0 + i * barW)}" y="${n(y)}" width="${n(Math.max(0.5, barW - 1))}" height="${n(y0 - y)}"><title>${ms(i * hist.binWidth)}–${ms((i + 1) * hist.binWidth)} ms: ${count}</title></rect>`,
    );
  });
  out.push('</g>');

  // Cumulative share, one point a bin end.
  const points: string[] = [`${n(x0)},${n(y0)}`];
  let cumulative = 0;
  hist.counts.forEach((count, i) => {
    cumulative += count;
    points.push(`${n(x0 + (i + 1) * barW)},${n(yOfShare(cumulative / summary.count))}`);
  });
  out.push(`<polyline points="${points.join(' ')}" fill="none" stroke="#b03a2e" stroke-width="1.5"/>`);

  // Percentile markers.
  const markers: Array<[string, number]> = [
    ['p50', summary.p50],
    ['p95', summary.p95],
    ['p99', summary.p99],
  ];
  markers.forEach(([label, value], i) => {
    const x = xOf(value);
    out.push(
      `<line x1="${n(x)}" y1="${MARGIN.top}" x2="${n(x)}" y2="${y0}" stroke="#222222" stroke-dasharray="4 3"/>`,
    );
    out.push(
      `<text x="${n(x + 3)}" y="${MARGIN.top + 12 + i * 14}" fill="#222222">${label} ${ms1(value)} ms</text>`,
    );
  });

  // Bottom axis (ms).
  out.push(`<line x1="${x0}" y1="${y0}" x2="${x0 + plotW}" y2="${y0}" stroke="#222222"/>`);
  const tickStep = niceCeil(hist.upper / 8);
  for (let value = 0; value <= hist.upper + 1e-9; value += tickStep) {
    const x = xOf(value);
    out.push(`<line x1="${n(x)}" y1="${y0}" x2="${n(x)}" y2="${y0 + 4}" stroke="#222222"/>`);
    out.push(`<text x="${n(x)}" y="${y0 + 17}" text-anchor="middle" fill="#444444">${ms(value)}</text>`);
  }
  out.push(
    `<text x="${x0 + plotW / 2}" y="${height - 14}" text-anchor="middle">latency (ms), bins of ${ms(hist.binWidth)} ms</text>`,
  );
  out.push(
    `<text x="14" y="${MARGIN.top + plotH / 2}" text-anchor="middle" transform="rotate(-90 14 ${MARGIN.top + plotH / 2})">records</text>`,
  );
  out.push(
    `<text x="${width - 10}" y="${MARGIN.top + plotH / 2}" text-anchor="middle" fill="#b03a2e" transform="rotate(90 ${width - 10} ${MARGIN.top + plotH / 2})">cumulative share</text>`,
  );
  if (hist.overflow > 0) {
    out.push(
      `<text x="${x0 + plotW}" y="${MARGIN.top - 6}" text-anchor="end" fill="#444444">${hist.overflow} beyond ${ms(hist.upper)} ms (max ${ms1(summary.max)} ms)</text>`,
    );
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
