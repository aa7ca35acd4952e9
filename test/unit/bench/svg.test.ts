import { describe, expect, it } from 'vitest';
import { escapeXml, histogram, latencyChartSvg, niceCeil } from '../../../bench/svg.js';

/** Every element opened is closed, in order: enough to know a browser will not reject it. */
function tagsBalance(svg: string): boolean {
  const stack: string[] = [];
  for (const match of svg.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
    const [, closing, name, selfClosing] = match;
    if (selfClosing) continue;
    if (closing) {
      if (stack.pop() !== name) return false;
    } else stack.push(name!);
  }
  return stack.length === 0;
}

describe('niceCeil', () => {
  it('rounds up to 1, 2 or 5 × 10^k', () => {
    expect(niceCeil(0.7)).toBe(1);
    expect(niceCeil(1)).toBe(1);
    expect(niceCeil(1.2)).toBe(2);
    expect(niceCeil(3)).toBe(5);
    expect(niceCeil(7)).toBe(10);
    expect(niceCeil(0.03)).toBeCloseTo(0.05);
    expect(niceCeil(120)).toBe(200);
  });
});

describe('histogram', () => {
  it('puts every sample in one bin or in the overflow', () => {
    const samples = [...Array.from({ length: 999 }, (_, i) => (i % 40) + 0.5), 10_000];
    const hist = histogram(samples, 40);
    const binned = hist.counts.reduce((a, b) => a + b, 0);
    expect(binned + hist.overflow).toBe(samples.length);
    expect(hist.overflow).toBe(1);
    expect(hist.upper).toBe(hist.counts.length * hist.binWidth);
  });
});

describe('latencyChartSvg', () => {
  const samples = Array.from({ length: 1000 }, (_, i) => 5 + (i % 100) * 0.3 + (i % 97 === 0 ? 80 : 0));

  it('writes a self-contained, well-formed SVG with bars, the CDF and the percentile marks', () => {
    const svg = latencyChartSvg(samples);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(tagsBalance(svg)).toBe(true);
    expect(svg).not.toMatch(/<script|href=|NaN|Infinity|undefined/);
    expect(svg).toContain('<polyline');
    for (const label of ['p50', 'p95', 'p99']) expect(svg).toMatch(new RegExp(`>${label} [\\d.]+ ms<`));
    const nonEmptyBins = histogram(samples).counts.filter((count) => count > 0).length;
    expect(svg.match(/<rect x=/g)?.length).toBe(nonEmptyBins + 1); // + the background
  });

  it('escapes the title', () => {
    const svg = latencyChartSvg([1, 2, 3], { title: 'a < b & "c"' });
    expect(svg).toContain('a &lt; b &amp; &quot;c&quot;');
    expect(tagsBalance(svg)).toBe(true);
  });

  it('draws a single sample and all-equal samples', () => {
    expect(tagsBalance(latencyChartSvg([4]))).toBe(true);
    expect(tagsBalance(latencyChartSvg([0, 0, 0]))).toBe(true);
    expect(latencyChartSvg([0, 0, 0])).not.toMatch(/NaN|Infinity/);
  });

  it('escapeXml covers the five XML specials', () => {
    expect(escapeXml(`<&>"'`)).toBe('&lt;&amp;&gt;&quot;&apos;');
  });
});
