// The node packages of tests/js, loaded from there so the benchmark needs no install of its own.
// Everything comes through one CommonJS `require`, so y-websocket and this code share a single
// copy of Yjs (two copies would break `instanceof` checks and make Yjs warn).

import { createRequire } from 'node:module'

const require = createRequire(new URL('../../tests/js/package.json', import.meta.url))

export const Y = require('yjs')
export const WebSocket = require('ws')
export const { WebsocketProvider } = require('y-websocket')
export const encoding = require('lib0/encoding')
export const syncProtocol = require('y-protocols/sync')
