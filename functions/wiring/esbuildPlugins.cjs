// esbuild plugins of the function bundles (serverless.yml custom.esbuild.plugins;
// bench/lib/bundles.ts loads the same file).
//
// builtins-as-require: a Node built-in module imported with an ESM `import`
// statement is loaded through an ES module facade, which reads every export
// once, lazy getters included: `import { STATUS_CODES } from 'node:http'`
// (@middy/util) makes Node load its bundled undici for `http.WebSocket`, and
// xmpp.js's, Powertools' and our imports of tls, net, util, console do the
// same on a smaller scale. Hoisted to the top of the bundle, those run at
// import even for modules esbuild evaluates lazily. Resolved here to
// `require()` (the bundle's banner defines it), the same module objects load
// without the facade: about 40 ms less per cold start (measured, checkInvite).
// Dynamic `import()` of a built-in is left alone: it runs when it is needed.
const { builtinModules } = require('node:module');

const builtins = new Set(builtinModules.flatMap((m) => (m.startsWith('node:') ? [m] : [m, `node:${m}`])));

module.exports = [
  {
    name: 'builtins-as-require',
    setup(build) {
      build.onResolve({ filter: /^(node:)?[a-z_/]+$/ }, (args) =>
        args.kind === 'import-statement' && builtins.has(args.path) ? { path: args.path, namespace: 'builtin-require' } : undefined
      );
      build.onLoad({ filter: /.*/, namespace: 'builtin-require' }, (args) => ({
        contents: `module.exports = require(${JSON.stringify(args.path)});`,
        loader: 'js',
      }));
    },
  },
];
