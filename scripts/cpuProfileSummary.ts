import { readFileSync } from 'node:fs';

/** The parts of a V8 .cpuprofile (`node --cpu-prof`, or the inspector's Profiler.stop) read here. */
interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }>;
  samples: number[];
  timeDeltas: number[];
}

/** Where a function's self time goes, by the file it sits in; the first match wins. */
const CATEGORIES: Array<[name: string, matches: (url: string, fn: string) => boolean]> = [
  ['garbage collection', (_, fn) => fn === '(garbage collector)'],
  ['idle', (_, fn) => fn === '(idle)'],
  ['V8/native, unattributed', (_, fn) => fn === '(program)'],
  ['S3 signing (SigV4)', (url) => /@smithy\/signature-v4|@aws-sdk\/signature-v4/.test(url)],
  ['S3 checksums (CRC32)', (url) => /@aws-crypto|@aws-sdk\/crc|flexible-checksums|@smithy\/(hash|md5|chunked)/.test(url)],
  ['S3 multipart (lib-storage)', (url) => url.includes('@aws-sdk/lib-storage')],
  ['S3 HTTP handler', (url) => url.includes('@smithy/node-http-handler')],
  ['S3 XML', (url) => /fast-xml-parser|xml-builder/.test(url)],
  ['AWS SDK, other (middleware, serde)', (url) => /@aws-sdk|@smithy|@aws\//.test(url)],
  [
    'Drive client (gaxios, googleapis)',
    (url) => /gaxios|googleapis|google-auth-library|gtoken|gcp-metadata|url-template|node-fetch|\/extend\/|\/qs\//.test(url),
  ],
  ['logging (pino)', (url) => /\/pino|sonic-boom|common\/logger/.test(url)],
  ['Temporal SDK', (url) => url.includes('@temporalio')],
  ['hashing (crypto)', (url) => url.startsWith('node:internal/crypto')],
  [
    'HTTP, sockets (node)',
    (url) => /^node:(_http|https|http|net|tls|dns|internal\/(http|net|stream_base|tls|dns|url|js_stream))/.test(url),
  ],
  ['async hooks (AsyncLocalStorage)', (url) => /^node:(internal\/)?async_hooks/.test(url)],
  ['streams (node)', (url) => url.startsWith('node:internal/streams') || url === 'node:stream'],
  [
    'timers, promises, events (node)',
    (url) => /^node:(internal\/(timers|process\/task_queues|event_target|abort_controller)|events|timers)/.test(url),
  ],
  ['drive-vault code', (url) => /\/(activities|common|workflows|worker)\//.test(url)],
  ['node, other', (url) => url.startsWith('node:')],
  ['other', () => true],
];

const shortUrl = (url: string) => url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(?=activities|common|scripts|test)/, '');

export interface ProfileSummary {
  totalMs: number;
  byCategory: Array<{ name: string; ms: number }>;
  /** The costliest functions by self time, each with its category. */
  topFunctions: Array<{ name: string; category: string; ms: number }>;
}

/** Sums a profile's sampled self time by category and by function. */
export function summarizeProfile(profile: CpuProfile, top = 25): ProfileSummary {
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  // A native function (no file: a socket write, a hash update) counts where its nearest JavaScript caller sits.
  const callerUrl = (id: number): string => {
    for (let p = parentOf.get(id); p !== undefined; p = parentOf.get(p))
      if (byNode.get(p)!.callFrame.url) return byNode.get(p)!.callFrame.url;
    return '';
  };
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const categories = new Map<string, number>();
  const functions = new Map<string, { category: string; us: number }>();
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url: ownUrl, lineNumber } = byNode.get(id)!.callFrame;
    const url = ownUrl || (functionName.startsWith('(') ? '' : callerUrl(id));
    const category = CATEGORIES.find(([, matches]) => matches(url, functionName))![0];
    categories.set(category, (categories.get(category) ?? 0) + us);
    const where = ownUrl ? ` ${shortUrl(ownUrl)}:${lineNumber + 1}` : '';
    const name =
      ownUrl || functionName.startsWith('(') ? `${functionName || '(anonymous)'}${where}` : `${functionName} (native) in ${shortUrl(url)}`;
    const f = functions.get(name) ?? functions.set(name, { category, us: 0 }).get(name)!;
    f.us += us;
    if (category !== 'idle') totalUs += us;
  }
  return {
    totalMs: totalUs / 1000,
    byCategory: [...categories].sort((a, b) => b[1] - a[1]).map(([name, us]) => ({ name, ms: us / 1000 })),
    topFunctions: [...functions]
      .sort((a, b) => b[1].us - a[1].us)
      .slice(0, top)
      .map(([name, f]) => ({ name, category: f.category, ms: f.us / 1000 })),
  };
}

/** `npx tsx scripts/cpuProfileSummary.ts FILE.cpuprofile [per]`: the breakdown, in ms, divided by `per` (e.g. files). */
if (require.main === module) {
  const [file, per = '1'] = process.argv.slice(2);
  printSummary(summarizeProfile(JSON.parse(readFileSync(file, 'utf8')), 500), Number(per), 6);
}

/** Prints the breakdown per unit (per file), and under each category its costliest functions. */
export function printSummary(summary: ProfileSummary, per: number, functionsPerCategory: number): void {
  const ms = (v: number) => (v / per).toFixed(3).padStart(7);
  console.log(`${ms(summary.totalMs)} ms sampled (idle excluded), by category:`);
  for (const c of summary.byCategory) {
    console.log(`${ms(c.ms)}  ${c.name}`);
    for (const f of summary.topFunctions.filter((t) => t.category === c.name).slice(0, functionsPerCategory))
      console.log(`         ${ms(f.ms)}  ${f.name}`);
  }
}
