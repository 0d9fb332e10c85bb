// node:test reporter that counts leaf tests (a test with subtests counts through its subtests) and writes
// {passed, failed, skipped, failures[]} as JSON to the file named by FTW_COUNTS_FILE.
import { writeFileSync } from 'node:fs';

export default async function* countReporter(source) {
  const counts = { passed: 0, failed: 0, skipped: 0, failures: [] };
  const childSeen = []; // childSeen[n]: an event at nesting n was seen since the last finished test at nesting n-1
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { nesting, name, details, skip, todo } = event.data;
    const isParent = childSeen[nesting + 1] === true;
    childSeen[nesting + 1] = false;
    childSeen[nesting] = true;
    if (details?.type === 'suite' || isParent) {
      // A parent that failed without any failing child (a hook or its own assertion) still counts as a failure.
      if (event.type === 'test:fail' && details?.error?.failureType !== 'subtestsFailed') {
        counts.failed++;
        counts.failures.push(`${name}: ${details?.error?.message ?? 'failed'}`);
      }
      continue;
    }
    if (skip || todo) counts.skipped++;
    else if (event.type === 'test:pass') counts.passed++;
    else {
      counts.failed++;
      counts.failures.push(`${name}: ${String(details?.error?.cause?.message ?? details?.error?.message ?? 'failed').split('\n')[0]}`);
    }
  }
  if (process.env.FTW_COUNTS_FILE) writeFileSync(process.env.FTW_COUNTS_FILE, JSON.stringify(counts));
  yield '';
}
