// Checks what the browser tests need, with a message that says how to get it;
// builds the kernel bridge (the kernelspec runs kernel-bridge/dist/main.js)
// and installs the lab extension as they are in this checkout into the .venv
// (scripts/install-lab-extension.sh: pip install ./lab-extension; idempotent,
// ~5 s when nothing changed).
const { execFileSync } = require('child_process');
const { existsSync } = require('fs');
const path = require('path');

module.exports = async () => {
  const repo = path.resolve(__dirname, '..', '..');
  const chromium = process.env.TORCHCLAD_CHROMIUM || '/usr/bin/chromium';
  const need = [
    [chromium, "Debian's chromium: apt-get install chromium (scripts/setup.sh installs it)"],
    [path.join(repo, '.venv', 'bin', 'jupyter'), 'the .venv with JupyterLab: scripts/setup.sh'],
    [path.join(repo, 'kernel-bridge', 'dist', 'main.js'), 'the kernel bridge: npm run build --workspace kernel-bridge'],
    [process.env.TORCHCLAD_HOST || path.join(repo, 'build', 'cling-plugin', 'host', 'torchclad-host'), 'the kernel host: scripts/build.sh (or TORCHCLAD_HOST)']
  ];
  const missing = need.filter(([p]) => !existsSync(p));
  if (missing.length) {
    throw new Error(`browser tests: missing prerequisites:\n${missing.map(([p, how]) => `  ${p} (${how})`).join('\n')}`);
  }
  const bridge = path.join(repo, 'kernel-bridge');
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(bridge, 'tsconfig.build.json')], { cwd: bridge, stdio: 'inherit' });
  execFileSync('bash', [path.join(repo, 'scripts', 'install-lab-extension.sh')], { cwd: repo, stdio: 'inherit' });
};
