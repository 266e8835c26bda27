// Merged into @jupyterlab/builder's webpack config (package.json jupyterlab.webpackConfig).
// plotly.js-dist-min ships minified: parsing and re-minifying its 4.6 MB took
// ~90 s of the ~100 s build, for nothing. Our own code is ~35 kB unminified.
module.exports = {
  module: { noParse: /plotly\.js-dist-min[\\/]plotly\.min\.js$/ },
  optimization: { minimize: false }
};
