/** One sample of Prometheus' text exposition format: `name{label="value",...} value`. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/gy;

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const m = LABEL.exec(text);
    if (!m) throw new Error(`bad labels in exposition line: ${line}`);
    labels[m[1]] = m[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  }
  return labels;
}

/** Every sample of an exposition text; a line that is neither a comment nor a sample fails the parse. */
export function parseExposition(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => {
      const m = line.match(SAMPLE_LINE);
      if (!m) throw new Error(`not an exposition line: ${line}`);
      // Go's ParseFloat, as Prometheus reads them: NaN and Inf in any case (prom-client writes `Nan`).
      const text = m[3].toLowerCase();
      const value = text === 'nan' ? Number.NaN : /^[+-]?inf$/.test(text) ? (text.startsWith('-') ? -1 : 1) * Infinity : Number(m[3]);
      if (Number.isNaN(value) && text !== 'nan') throw new Error(`bad value in exposition line: ${line}`);
      return { name: m[1], labels: m[2] ? parseLabels(m[2], line) : {}, value };
    });
}

/** A scrape, read as numbers. */
export class Scrape {
  constructor(readonly samples: Sample[]) {}

  /** The samples of `name` whose labels include `labels`. */
  matching(name: string, labels: Record<string, string> = {}): Sample[] {
    return this.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  }

  /** The one sample of `name` with exactly `labels`, or undefined when the scrape has none. */
  value(name: string, labels: Record<string, string> = {}): number | undefined {
    const exact = this.matching(name, labels).filter((s) => Object.keys(s.labels).length === Object.keys(labels).length);
    if (exact.length > 1) throw new Error(`${exact.length} samples of ${name} ${JSON.stringify(labels)}`);
    return exact[0]?.value;
  }

  /** The sum of the samples of `name` whose labels include `labels`; 0 when there are none, as for an unseen counter. */
  sum(name: string, labels: Record<string, string> = {}): number {
    return this.matching(name, labels).reduce((total, s) => total + s.value, 0);
  }
}

/** GETs a metrics endpoint and parses what it answers; the content type comes back for checking. */
export async function scrape(url: string): Promise<{ status: number; contentType: string | null; scrape: Scrape }> {
  const res = await fetch(url);
  const text = await res.text();
  return { status: res.status, contentType: res.headers.get('content-type'), scrape: new Scrape(parseExposition(text)) };
}
