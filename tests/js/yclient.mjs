#!/usr/bin/env node
// A stock y-websocket client for tests, driven by JSON lines.
//
//   node tests/js/yclient.mjs --url ws://127.0.0.1:PORT/yjs/WORKSPACE --room src/app.py \
//        [--token T] [--sync-timeout-ms 10000] [--reconnect] [--watch]
//
// It connects an unmodified `WebsocketProvider` (so what passes here passes for the editor),
// waits for `synced`, then runs the operations read from stdin one at a time, in order:
//   {"op":"insert","index":N,"text":"..."}      {"op":"delete","index":N,"length":N}
//   {"op":"text"}                               -> {"event":"text","text":"..."}
//   {"op":"awareness","state":{...}}            (null clears the local state)
//   {"op":"wait_text","equals"|"contains":"...","timeout_ms":N} -> text event, or an error
//   {"op":"close"}                              (also on end of stdin)
// Indices are Yjs units (UTF-16 code units). An "id" on an operation is echoed on its reply;
// insert, delete and awareness answer {"event":"done",...} once applied locally.
// Events on stdout, one JSON object a line: synced (with clientId), status, awareness (every
// known state by client id, on each change), close (code and reason from the server; null
// when the watchdog closed), error. The close op answers done, then the process exits 0.
// With --watch, remote edits print a text event too.
// Without --reconnect a close before or after sync ends the process (exit 3), so a refused
// connection shows up as one close event instead of an endless retry loop; with it, the
// provider's own rule applies (reconnect unless the code is 4400-4499). Exit 2: bad usage,
// or not synced within --sync-timeout-ms.

import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import WebSocket from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'

const { values: args } = parseArgs({
  options: {
    url: { type: 'string' },
    room: { type: 'string' },
    token: { type: 'string' },
    'sync-timeout-ms': { type: 'string', default: '10000' },
    reconnect: { type: 'boolean', default: false },
    watch: { type: 'boolean', default: false }
  }
})

let closing = false
const emit = (obj) => closing || process.stdout.write(JSON.stringify(obj) + '\n')

if (!args.url || !args.room) {
  emit({ event: 'error', error: 'usage: yclient.mjs --url WS_URL --room ROOM [--token T]' })
  process.exit(2)
}

const doc = new Y.Doc()
const text = doc.getText('source')
const provider = new WebsocketProvider(args.url, args.room, doc, {
  WebSocketPolyfill: WebSocket,
  params: args.token ? { token: args.token } : {},
  disableBc: true, // BroadcastChannel would bypass the server between local docs
  ...(!args.reconnect && { shouldReconnect: () => false })
})

const finish = (code) => {
  closing = true
  provider.destroy()
  doc.destroy()
  process.exit(code)
}

provider.on('status', ({ status }) => emit({ event: 'status', status }))
provider.on('connection-close', (event) => {
  emit({ event: 'close', code: event?.code ?? null, reason: event?.reason ?? null })
})
provider.on('connection-error', (event) => {
  emit({ event: 'error', error: String(event?.message ?? 'connection error') })
})
provider.on('closed', () => finish(3))
provider.awareness.on('change', () => {
  const states = Object.fromEntries(provider.awareness.getStates())
  emit({ event: 'awareness', states })
})
if (args.watch) {
  text.observe((event) => {
    if (event.transaction.origin === provider) emit({ event: 'text', text: text.toString() })
  })
}

const synced = new Promise((resolve) => {
  provider.on('sync', (state) => state && resolve())
})
const syncTimeout = Number(args['sync-timeout-ms'])
const timer = setTimeout(() => {
  emit({ event: 'error', error: `not synced after ${syncTimeout} ms` })
  finish(2)
}, syncTimeout)

/** Resolve once the text satisfies the condition, or reject after the timeout. */
const waitText = (cmd) => new Promise((resolve, reject) => {
  const matches = () => {
    const now = text.toString()
    if (cmd.equals !== undefined ? now === cmd.equals : now.includes(cmd.contains ?? '')) {
      return now
    }
    return null
  }
  const check = () => {
    const now = matches()
    if (now === null) return
    text.unobserve(check)
    clearTimeout(deadline)
    resolve(now)
  }
  const deadline = setTimeout(() => {
    text.unobserve(check)
    reject(new Error(`wait_text timed out; text is ${JSON.stringify(text.toString())}`))
  }, cmd.timeout_ms ?? 5000)
  text.observe(check)
  check()
})

/** Yjs clamps or throws deep inside on a bad range; say so plainly instead. */
const checkRange = (index, length = 0) => {
  if (!Number.isInteger(index) || !Number.isInteger(length) || index < 0 || length < 0 ||
      index + length > text.length) {
    throw new Error(`range ${index}+${length} outside the text (length ${text.length})`)
  }
}

const handlers = {
  insert: (cmd) => { checkRange(cmd.index); text.insert(cmd.index, String(cmd.text)); return { event: 'done' } },
  delete: (cmd) => { checkRange(cmd.index, cmd.length); text.delete(cmd.index, cmd.length); return { event: 'done' } },
  text: () => ({ event: 'text', text: text.toString() }),
  awareness: (cmd) => { provider.awareness.setLocalState(cmd.state ?? null); return { event: 'done' } },
  wait_text: async (cmd) => ({ event: 'text', text: await waitText(cmd) }),
  close: () => { emit({ event: 'done', op: 'close' }); finish(0) }
}

/** Run one line; errors are reported and the client carries on. */
const run = async (line) => {
  if (!line.trim()) return
  let cmd = {}
  try {
    cmd = JSON.parse(line)
    const handler = handlers[cmd.op]
    if (!handler) throw new Error(`unknown op ${JSON.stringify(cmd.op)}`)
    const reply = await handler(cmd)
    emit({ ...reply, op: cmd.op, ...(cmd.id !== undefined && { id: cmd.id }) })
  } catch (err) {
    emit({ event: 'error', op: cmd.op, ...(cmd.id !== undefined && { id: cmd.id }), error: err.message })
  }
}

// Lines are queued from the start and run strictly in order once the document is synced.
let queue = synced.then(() => {
  clearTimeout(timer)
  emit({ event: 'synced', clientId: doc.clientID })
})
const lines = createInterface({ input: process.stdin })
lines.on('line', (line) => { queue = queue.then(() => run(line)) })
lines.on('close', () => { queue = queue.then(() => finish(0)) })
