// Reads "A<TAB>B" lines, prints semver.compare(A, B) (node-semver, strict) or "E" when it throws:
// the reference our npm version port is checked against. SEMVER_MODULE names the package dir.
const semver = require(process.env.SEMVER_MODULE || 'semver');
const lines = require('fs').readFileSync(0, 'utf8').split('\n');
lines.pop();
const out = [];
for (const line of lines) {
  const [a, b] = line.split('\t');
  try { out.push(String(semver.compare(a, b))); } catch (e) { out.push('E'); }
}
process.stdout.write(out.join('\n') + '\n');
