// Builds dist/ once before the tests: the end-to-end tests start the kernel
// as Jupyter does, `node dist/main.js -f CONNECTION_FILE`.
const { execFileSync } = require("child_process");
const path = require("path");

module.exports = async () => {
  const root = path.resolve(__dirname, "..");
  execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", path.join(root, "tsconfig.build.json")], {
    cwd: root,
    stdio: "inherit",
  });
};
