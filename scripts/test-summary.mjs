// Adds up the results of scripts/test.sh's suites into the one closing line CI reads: "N passed, N failed".
import * as fs from 'node:fs';

const read = (f) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : undefined);
let passed = 0;
let failed = 0;
let skipped = 0;

const vitest = read('.test-results/vitest.json');
if (vitest) {
  const r = JSON.parse(vitest);
  passed += r.numPassedTests;
  failed += r.numFailedTests + (r.numRuntimeErrorTestSuites ?? 0);
  skipped += r.numPendingTests + r.numTodoTests;
  console.log(`vitest: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests} skipped`);
  // Say plainly what did not run (the torch blocks without --with-torch, say), not just how many.
  const notRun = (r.testResults ?? []).flatMap((f) =>
    (f.assertionResults ?? []).filter((a) => a.status === 'pending' || a.status === 'skipped').map((a) => a.fullName ?? a.title),
  );
  for (const name of notRun.slice(0, 30)) console.log(`  not run: ${name}`);
  if (notRun.length > 30) console.log(`  … and ${notRun.length - 30} more (.test-results/vitest.json)`);
} else {
  failed += 1;
  console.log('vitest: no results');
}

const py = read('.test-results/python.txt');
if (py) {
  const ran = Number(/Ran (\d+) tests?/.exec(py)?.[1] ?? 0);
  const bad = [...py.matchAll(/(failures|errors)=(\d+)/g)].reduce((a, m) => a + Number(m[2]), 0);
  const skip = Number(/skipped=(\d+)/.exec(py)?.[1] ?? 0);
  const ok = /\nOK\b/.test(py);
  const pyFailed = ok ? 0 : Math.max(bad, 1);
  passed += Math.max(0, ran - pyFailed - skip);
  failed += pyFailed;
  skipped += skip;
  console.log(`python: ${Math.max(0, ran - pyFailed - skip)} passed, ${pyFailed} failed, ${skip} skipped`);
}

const plugin = read('.test-results/plugin.txt');
if (plugin !== undefined) {
  const ok = /plugin validation passed/i.test(plugin);
  if (ok) passed += 1;
  else failed += 1;
  console.log(`plugin validator: ${ok ? 'passed' : 'failed'}`);
}

const install = read('.test-results/install.txt');
if (install !== undefined) {
  const ok = /plugin install check passed/i.test(install);
  if (ok) passed += 1;
  else failed += 1;
  console.log(`offline plugin install: ${ok ? 'passed' : 'failed'}`);
}

// Steps without a count of their own (bundle up to date, type check) fail the run through the exit status.
if (process.argv[2] !== '0' && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
