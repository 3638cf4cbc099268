import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const example = join(root, 'docs', 'examples', 'own-cluster');

/** The gate script of docs/ci-recipe.md, as written there (the sh block after its marker). */
function gateScript(): string {
  const doc = readFileSync(join(root, 'docs', 'ci-recipe.md'), 'utf8');
  const m = /<!-- ci-recipe: gate script -->\n```sh\n([\s\S]*?)\n```\n/.exec(doc);
  assert.ok(m, 'docs/ci-recipe.md has the gate script block');
  return m[1]!;
}

/** A checkout of the team's repository: cluster/ with the study and the given dump as cluster.yaml. */
function checkout(dir: string, dump: string): void {
  mkdirSync(join(dir, 'cluster'), { recursive: true });
  copyFileSync(join(example, 'study.yaml'), join(dir, 'cluster', 'study.yaml'));
  copyFileSync(join(example, dump), join(dir, 'cluster', 'cluster.yaml'));
}

function gate(tmp: string, headDump: string, out: string) {
  const script = join(tmp, 'svcsim-gate.sh');
  writeFileSync(script, gateScript());
  return spawnSync('bash', [script], {
    env: { ...process.env, BASE: join(tmp, 'base'), HEAD: join(tmp, headDump), STUDY: 'cluster/study.yaml', OUT: join(tmp, out), SVCSIM: `${process.execPath} ${join(root, 'bin', 'svcsim.js')}` },
    encoding: 'utf8',
  });
}

test('the CI recipe\'s gate script runs the shipped study before and after the change, writes JUnit and the comparison', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'svcsim-ci-'));
  try {
    checkout(join(tmp, 'base'), 'cluster.yaml');
    checkout(join(tmp, 'head'), 'cluster-pr.yaml');
    const r = gate(tmp, 'head', 'out');
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const out = join(tmp, 'out');
    const junit = readFileSync(join(out, 'junit.xml'), 'utf8');
    assert.match(junit, /<testsuite name="own-cluster-rollout" tests="2" failures="0"/);
    assert.match(junit, /networkProgrammingLatency\.p99 &lt; 5s/);
    const comment = readFileSync(join(out, 'comment.md'), 'utf8');
    assert.match(comment, /Every expectation of the study held after this change/);
    assert.match(comment, /svcsim compare`, exit [01]/);
    assert.ok(readFileSync(join(out, 'compare.txt'), 'utf8').length > 0);
    // The change doubled shop/web: the report lists what the dump lacked and what it ignored.
    const report = readFileSync(join(out, 'head', 'report.md'), 'utf8');
    assert.match(report, /cluster\.yaml runs live/);
    assert.match(report, /ignored .*ConfigMap shop\/kube-root-ca\.crt/);
    assert.ok(existsSync(join(out, 'base', 'summary.json')));

    // A change the manifests cannot run (web's ReplicaSet gone) exits 2 naming the Deployment.
    const broken = readFileSync(join(example, 'cluster.yaml'), 'utf8').replace('kind: Deployment\n          name: web\n', 'kind: Deployment\n          name: webb\n');
    assert.notEqual(broken, readFileSync(join(example, 'cluster.yaml'), 'utf8'), 'the test edits the owner reference');
    checkout(join(tmp, 'bad'), 'cluster.yaml');
    writeFileSync(join(tmp, 'bad', 'cluster', 'cluster.yaml'), broken);
    const bad = gate(tmp, 'bad', 'out-bad');
    assert.equal(bad.status, 2, bad.stdout + bad.stderr);
    assert.match(bad.stdout + bad.stderr, /Deployment shop\/web/);
    assert.match(readFileSync(join(tmp, 'out-bad', 'comment.md'), 'utf8'), /did not run on this change/);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
