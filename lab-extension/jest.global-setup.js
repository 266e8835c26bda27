// The payload types come from kernel-bridge's built declarations
// (dist/training-schema.d.ts, see src/schema.ts), and bridge.spec.ts drives
// kernel-bridge's built telemetry (dist/telemetry.js): build kernel-bridge's
// dist/ when these are missing or older than its sources, so the tests see
// the current wire format.
const { execFileSync } = require('child_process');
const { existsSync, readdirSync, statSync } = require('fs');
const path = require('path');

module.exports = async () => {
  const bridge = path.dirname(require.resolve('@torchclad/kernel-bridge/package.json'));
  const src = path.join(bridge, 'src');
  const newest = Math.max(
    ...readdirSync(src)
      .filter(f => f.endsWith('.ts') && !f.endsWith('.spec.ts'))
      .map(f => statSync(path.join(src, f)).mtimeMs)
  );
  const built = ['training-schema.d.ts', 'telemetry.js'].map(f => path.join(bridge, 'dist', f));
  if (built.some(f => !existsSync(f) || statSync(f).mtimeMs < newest)) {
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(bridge, 'tsconfig.build.json')], {
      cwd: bridge,
      stdio: 'inherit'
    });
  }
};
