// The node packages of tests/js, loaded from there so the benchmark needs no install of its own.
// They are loaded as ES modules, like the editor does: the CommonJS builds reach every lib0
// function through a namespace getter, which made the clients here several times slower.
// Resolving by each package's "import" export gives the very files that y-websocket's own
// `import 'yjs'` resolves to, so there is a single copy of Yjs.

import { readFileSync } from 'node:fs'

const modules = new URL('../../tests/js/node_modules/', import.meta.url)

/** The ES module entry of `pkg` (and export `sub`), as node would resolve it from tests/js. */
function entry (pkg, sub) {
  const meta = JSON.parse(readFileSync(new URL(`${pkg}/package.json`, modules), 'utf8'))
  let target = meta.exports?.[sub] ?? (sub === '.' ? meta.module ?? meta.main : sub)
  while (typeof target === 'object' && target !== null) {
    target = target.import ?? target.node ?? target.module ?? target.default
  }
  return new URL(`${pkg}/${target}`, modules)
}

const load = (pkg, sub = '.') => import(entry(pkg, sub))

export const Y = await load('yjs')
export const { WebSocket } = await load('ws')
export const { WebsocketProvider } = await load('y-websocket')
export const encoding = await load('lib0', './encoding')
export const syncProtocol = await load('y-protocols', './sync')
