// The payload types come from kernel-bridge's built declarations
// (dist/training-schema.d.ts, see src/schema.ts): build them when missing or
// older than their source, so the type-checking tests see the current wire format.
const { execFileSync } = require('child_process');
const { existsSync, statSync } = require('fs');
const path = require('path');

module.exports = async () => {
  const bridge = path.dirname(require.resolve('@torchclad/kernel-bridge/package.json'));
  const src = path.join(bridge, 'src', 'training-schema.ts');
  const dts = path.join(bridge, 'dist', 'training-schema.d.ts');
  if (!existsSync(dts) || statSync(dts).mtimeMs < statSync(src).mtimeMs) {
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(bridge, 'tsconfig.build.json')], {
      cwd: bridge,
      stdio: 'inherit'
    });
  }
};
