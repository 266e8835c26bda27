// Merged into @jupyterlab/builder's webpack config (package.json jupyterlab.webpackConfig).
// plotly.js-dist-min ships minified: parsing and re-minifying its 4.6 MB took
// ~90 s of the ~100 s build, for nothing. Our own code is ~35 kB unminified.
// JSROOT imports Node-only packages (canvas, jsdom, gl, ...) on paths that
// run only under Node (batch images): in the browser they are empty modules.
const nodeOnly = ['canvas', 'jsdom', 'gl', 'mathjax', 'tmp', 'xhr2', 'zlib', 'fs',
  '@resvg/resvg-js', '@oneidentity/zstd-js'];
module.exports = {
  module: { noParse: /plotly\.js-dist-min[\\/]plotly\.min\.js$/ },
  resolve: { alias: Object.fromEntries(nodeOnly.map(name => [name, false])) },
  externals: { 'node:worker_threads': 'var {}' },
  optimization: { minimize: false }
};
