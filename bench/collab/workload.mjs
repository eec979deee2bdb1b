#!/usr/bin/env node
// The client side of bench/collab/run.py: one workload against one y-websocket server.
//
//   node bench/collab/workload.mjs MODE '{"url": "ws://127.0.0.1:PORT/yjs/WS", "token": "T", ...}'
//
// MODE is probe, fanout, burst, sync, idle or trace (see the functions below for their settings).
// Every client is a stock `WebsocketProvider` (BroadcastChannel off, so every update goes
// through the server) except in `idle`, which opens raw protocol sockets to stay light.
// Connections the server drops after sync reconnect as in the editor and are counted in
// `server_closes`.
// The result is one JSON line on stdout; a failure prints {"error": "..."} and exits 1.
// Writers and observers live in this process, so latencies use one clock (performance.now).

import { readFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { gunzipSync } from 'node:zlib'
import { WebSocket, WebsocketProvider, Y, encoding, syncProtocol } from './deps.mjs'

process.setMaxListeners(0) // every provider adds an exit listener
const now = () => performance.now()
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const yieldIO = () => new Promise((resolve) => setImmediate(resolve))
const STAMP = /<(\d+):(\d+):(\d+\.\d+)>/g

// -- clients ------------------------------------------------------------------------------------

/** Connections the server closed after they had synced ("code reason" -> count): part of
 * every result. A close with a 44xx code ends the workload (the provider gives up too). */
const serverCloses = new Map()
let abort
const aborted = new Promise((_resolve, reject) => { abort = reject })

function noteClose (who, code, reason, terminal) {
  const key = `${who}: ${code} ${reason}`.trim()
  serverCloses.set(key, (serverCloses.get(key) ?? 0) + 1)
  if (terminal) abort(new Error(`the server closed a synced connection: ${key}`))
}

/** A synced stock provider on `room`; rejects when refused or not synced in time. Once synced
 * it behaves like the editor's: when the server drops it, it reconnects and resyncs. */
function connect (cfg, room, timeoutMs = 20000, role = 'client') {
  const doc = new Y.Doc()
  const client = { doc, text: doc.getText('source'), synced: false }
  const shouldReconnect = (event) => client.synced && !(event.code >= 4400 && event.code < 4500)
  const provider = new WebsocketProvider(cfg.url, room, doc, {
    WebSocketPolyfill: WebSocket,
    params: { token: cfg.token },
    disableBc: true,
    shouldReconnect
  })
  client.provider = provider
  provider.on('connection-error', (event) => { client.error = event?.message })
  provider.on('connection-close', (event) => {
    if (!event || !client.synced) return
    const reason = client.error ? `${event.reason} (error: ${client.error})` : event.reason
    client.error = undefined
    noteClose(role, event.code, reason, !shouldReconnect(event))
  })
  return new Promise((resolve, reject) => {
    const fail = (err) => { clearTimeout(timer); close(client); reject(err) }
    const timer = setTimeout(() => fail(new Error(`${room}: not synced in ${timeoutMs} ms`)), timeoutMs)
    provider.on('closed', ({ code, reason }) => {
      if (!client.synced) fail(new Error(`${room}: the server refused the connection: ${code} ${reason}`))
    })
    provider.on('sync', (state) => {
      if (state && !client.synced) { client.synced = true; clearTimeout(timer); resolve(client) }
    })
  })
}

function close (client) {
  client.provider.destroy()
  client.doc.destroy()
}

/** `count` synced clients on one room, a few connecting at a time; the first one writes. */
async function connectMany (cfg, room, count, parallel = 10) {
  const clients = []
  for (let i = 0; i < count; i += parallel) {
    const batch = Array.from({ length: Math.min(parallel, count - i) },
      (_, k) => connect(cfg, room, 20000, i + k === 0 ? 'writer' : 'observer'))
    clients.push(...await Promise.all(batch))
  }
  return clients
}

// -- latency probes -----------------------------------------------------------------------------

/** Deliveries of stamped inserts to the observers, for the current phase only. */
class Deliveries {
  constructor () { this.phase = 0; this.start(0, 0) }

  start (phase, expected) {
    this.phase = phase
    this.expected = expected
    this.count = 0
    this.latencies = []
    this.last = now()
    this.done = new Promise((resolve) => { this.resolve = resolve })
    if (expected === 0) this.resolve()
  }

  receive (phase, latency) {
    if (phase !== this.phase) return
    this.count++
    this.latencies.push(latency)
    this.last = now()
    if (this.count >= this.expected) this.resolve()
  }

  /** True when everything arrived within `ms`. */
  async wait (ms) {
    let timer
    const late = new Promise((resolve) => { timer = setTimeout(resolve, ms) })
    await Promise.race([this.done, late])
    clearTimeout(timer)
    return this.count >= this.expected
  }
}

function watch (observers, deliveries) {
  for (const client of observers) {
    client.text.observe((event) => {
      const t = now()
      for (const op of event.delta) {
        if (typeof op.insert !== 'string') continue
        for (const m of op.insert.matchAll(STAMP)) deliveries.receive(Number(m[1]), t - Number(m[3]))
      }
    })
  }
}

/** Each call appends one stamped string in its own transaction (one update) and trims the
 * start so the live text stays at LIVE_CHARS: a document that kept growing would make every
 * update dearer (Yjs splits and re-joins one long merged string), for servers and clients. */
const LIVE_CHARS = 1024
function stamper (writer, phase) {
  const text = writer.text
  return (seq) => writer.doc.transact(() => {
    text.insert(text.length, `<${phase}:${seq}:${now().toFixed(3)}>`)
    if (text.length > LIVE_CHARS) text.delete(0, text.length - LIVE_CHARS)
  })
}

/** Call `send(i)` `count` times at `rate` per second on an absolute schedule (late ticks
 * catch up in one go); returns the milliseconds it took. */
async function pace (rate, count, send) {
  const start = now()
  const interval = 1000 / rate
  let i = 0
  while (i < count) {
    const due = Math.min(count, Math.floor((now() - start) / interval) + 1)
    while (i < due) send(i++)
    if (i < count) await sleep(Math.max(0, start + i * interval - now()))
  }
  return now() - start
}

/** CPU seconds used so far by process `pid` (utime + stime, in clock ticks of 1/100 s). */
function cpuSeconds (pid) {
  if (!pid) return 0
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

function percentiles (values) {
  const sorted = Float64Array.from(values).sort()
  const at = (p) => sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] : null
  return { samples: sorted.length, p50_ms: at(0.5), p99_ms: at(0.99), max_ms: at(1) }
}

/** One measured phase: send `count` stamped updates at `rate`, wait for the observers. */
async function phase (writer, observers, deliveries, id, rate, count, drainMs, serverPid) {
  deliveries.start(id, count * observers.length)
  const cpu = process.cpuUsage()
  const serverCpu = cpuSeconds(serverPid)
  const t0 = now()
  const sendMs = await pace(rate, count, stamper(writer, id))
  const complete = await deliveries.wait(drainMs)
  const elapsed = Math.max(deliveries.last - t0, sendMs)
  const used = process.cpuUsage(cpu)
  return {
    rate,
    sent_per_s: count / (sendMs / 1000),
    delivered_per_s: deliveries.count / observers.length / (elapsed / 1000),
    lost: deliveries.expected - deliveries.count,
    complete,
    client_busy: (used.user + used.system) / 1000 / (now() - t0),
    server_busy: serverPid ? (cpuSeconds(serverPid) - serverCpu) * 1000 / (now() - t0) : null,
    ...percentiles(deliveries.latencies)
  }
}

// -- workloads ----------------------------------------------------------------------------------

/** {clients, rate, count, warmup}: one writer at a steady rate, clients - 1 observers. */
async function fanout (cfg) {
  const [writer, ...observers] = await connectMany(cfg, cfg.room, cfg.clients)
  const deliveries = new Deliveries()
  watch(observers, deliveries)
  await phase(writer, observers, deliveries, 1, cfg.rate, cfg.warmup, 10000)
  const result = await phase(writer, observers, deliveries, 2, cfg.rate, cfg.count, 10000, cfg.server_pid)
  return { clients: cfg.clients, ...result }
}

/** {clients, start_rate, max_rate, step_ms, limit_ms, refine}: double the rate each step until
 * p99 passes limit_ms (or updates are lost), then bisect `refine` times between the last good
 * rate and the first bad one. Reports the best delivered rate that stayed within the limit. */
async function burst (cfg) {
  const [writer, ...observers] = await connectMany(cfg, cfg.room, cfg.clients)
  const deliveries = new Deliveries()
  watch(observers, deliveries)
  const steps = []
  let id = 1
  const step = async (rate) => {
    const count = Math.max(1, Math.round(rate * cfg.step_ms / 1000))
    const result = await phase(writer, observers, deliveries, ++id, rate, count, 10000, cfg.server_pid)
    result.ok = result.complete && result.p99_ms <= cfg.limit_ms
    steps.push(result)
    await sleep(300) // let the server settle before the next step
    return result.ok
  }
  await phase(writer, observers, deliveries, 1, cfg.start_rate, cfg.start_rate, 10000)
  let good = 0
  let bad = 0
  for (let rate = cfg.start_rate; rate <= cfg.max_rate; rate *= 2) {
    if (!await step(rate)) { bad = rate; break }
    good = rate
  }
  for (let i = 0; bad && i < cfg.refine; i++) {
    const rate = Math.round(good ? Math.sqrt(good * bad) : bad / 2)
    if (await step(rate)) good = rate; else bad = rate
  }
  const passed = steps.filter((s) => s.ok)
  const best = passed.reduce((a, s) => Math.max(a, Math.min(s.sent_per_s, s.delivered_per_s)), 0)
  return {
    clients: cfg.clients,
    updates_per_s: best,
    reached_max: !bad,
    steps
  }
}

/** 1 MB-ish of text (ASCII lines, so UTF-16 length == bytes). */
function filler (size) {
  const lines = []
  let length = 0
  for (let i = 0; length < size; i++) {
    const line = `line ${i}: the quick brown fox jumps over the lazy dog ${i * 7919 % 104729}\n`
    lines.push(line)
    length += line.length
  }
  return lines.join('').slice(0, size)
}

/** {size, chunk, repeats}: fill a room, then time fresh clients until synced with all of it. */
async function sync (cfg) {
  const [writer, witness] = await connectMany(cfg, cfg.room, 2)
  const content = filler(cfg.size)
  const full = new Promise((resolve) => {
    witness.text.observe(() => { if (witness.text.length === cfg.size) resolve() })
  })
  for (let i = 0; i < cfg.size; i += cfg.chunk) {
    writer.text.insert(i, content.slice(i, i + cfg.chunk))
    await yieldIO()
  }
  await full
  const times = []
  for (let i = 0; i < cfg.repeats; i++) {
    const t0 = now()
    const client = await connect(cfg, cfg.room, 60000, 'newcomer')
    if (client.text.length !== cfg.size) throw new Error(`synced with ${client.text.length} chars`)
    times.push(now() - t0)
    close(client)
    await sleep(100)
  }
  times.sort((a, b) => a - b)
  return { size: cfg.size, times_ms: times, median_ms: times[Math.floor(times.length / 2)] }
}

function rssKiB (pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1])
}

/** The messages a provider would send for a small document: its content as an update, then
 * sync step 1; the server's step 2 reply, sent after it applied the update, confirms both. */
function openingMessages (index) {
  const doc = new Y.Doc()
  doc.getText('source').insert(0, `# document ${index}\nprint("hello from ${index}")\n`)
  const update = encoding.createEncoder()
  encoding.writeVarUint(update, 0)
  syncProtocol.writeUpdate(update, Y.encodeStateAsUpdate(doc))
  const step1 = encoding.createEncoder()
  encoding.writeVarUint(step1, 0)
  syncProtocol.writeSyncStep1(step1, doc)
  doc.destroy()
  return [encoding.toUint8Array(update), encoding.toUint8Array(step1)]
}

/** A raw y-protocol socket that opens one small document; resolves with the open socket. */
function openRaw (cfg, room, index, timeoutMs = 20000) {
  const ws = new WebSocket(`${cfg.url}/${room}?token=${encodeURIComponent(cfg.token)}`)
  ws.binaryType = 'arraybuffer'
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { ws.terminate(); reject(new Error(`${room}: no sync step 2`)) }, timeoutMs)
    ws.on('open', () => { for (const m of openingMessages(index)) ws.send(m) })
    ws.on('message', (data) => {
      const bytes = new Uint8Array(data)
      if (bytes[0] === 0 && bytes[1] === 1) { clearTimeout(timer); resolve(ws) }
    })
    ws.on('close', (code, reason) => {
      clearTimeout(timer)
      if (!ws.ending) noteClose('idle', code, String(reason), false)
      reject(new Error(`${room}: closed ${code} ${reason}`))
    })
    ws.on('error', () => {}) // the close that follows says what happened
  })
}

/** {docs, warm, parallel, settle_ms, server_pid}: the server's RSS growth per open document. */
async function idle (cfg) {
  const sockets = []
  const open = async (first, count) => {
    for (let i = first; i < first + count; i += cfg.parallel) {
      const n = Math.min(cfg.parallel, first + count - i)
      sockets.push(...await Promise.all(Array.from({ length: n }, (_, k) =>
        openRaw(cfg, `${cfg.room}/doc-${i + k}.py`, i + k))))
    }
    await sleep(cfg.settle_ms)
  }
  await open(0, cfg.warm) // loads whatever the server loads on first use
  const before = rssKiB(cfg.server_pid)
  const t0 = now()
  await open(cfg.warm, cfg.docs)
  const openMs = now() - t0 - cfg.settle_ms
  const after = rssKiB(cfg.server_pid)
  const stillOpen = sockets.filter((ws) => ws.readyState === WebSocket.OPEN).length
  for (const ws of sockets) { ws.ending = true; ws.terminate() }
  return {
    docs: cfg.docs,
    rss_before_kib: before,
    rss_after_kib: after,
    kib_per_doc: (after - before) / cfg.docs,
    open_ms: openMs,
    still_open: stillOpen - cfg.warm
  }
}

/** The trace's transactions as lists of [pos, deleted, inserted] patches, and the text they make
 * (endContent for the whole trace, the replayed text for a prefix). */
function loadTrace (path, edits) {
  const trace = JSON.parse(gunzipSync(readFileSync(path)).toString('utf8'))
  const txns = trace.txns.map((t) => t.patches)
  if (!edits || edits >= txns.length) return { txns, expected: trace.endContent }
  const prefix = txns.slice(0, edits)
  const scratch = new Y.Doc()
  prefix.forEach((patches) => applyPatches(scratch, patches))
  return { txns: prefix, expected: scratch.getText('source').toString() }
}

function applyPatches (doc, patches) {
  const text = doc.getText('source')
  doc.transact(() => {
    for (const [pos, deleted, inserted] of patches) {
      if (deleted) text.delete(pos, deleted)
      if (inserted) text.insert(pos, inserted)
    }
  })
}

/** {trace, edits, timeout_ms, high_water}: replay every transaction as one update through one
 * client, as fast as the socket drains, until an observer holds the final text. */
async function trace (cfg) {
  const { txns, expected } = loadTrace(cfg.trace, cfg.edits)
  const [writer, observer] = await connectMany(cfg, cfg.room, 2)
  const arrived = new Promise((resolve) => {
    observer.text.observe(() => {
      const text = observer.text
      if (text.length === expected.length && text.toString() === expected) resolve(now())
    })
  })
  const clocks = new Float64Array(txns.length).fill(Infinity) // the writer's clock after each edit
  const serverCpu = cpuSeconds(cfg.server_pid)
  const t0 = now()
  for (let i = 0; i < txns.length; i++) {
    applyPatches(writer.doc, txns[i])
    clocks[i] = Y.getState(writer.doc.store, writer.doc.clientID)
    if (i % 256 === 255) {
      if (now() - t0 > cfg.timeout_ms) break
      await yieldIO()
      while (writer.provider.ws && writer.provider.ws.bufferedAmount > cfg.high_water) await sleep(1)
    }
  }
  const sentMs = now() - t0
  const timeout = sleep(Math.max(0, cfg.timeout_ms - sentMs)).then(() => null)
  const done = await Promise.race([arrived, timeout])
  if (done === null) {
    const seen = editsSeen(clocks, Y.getState(observer.doc.store, writer.doc.clientID))
    const seconds = (now() - t0) / 1000
    const rate = seen / seconds
    const busy = (cpuSeconds(cfg.server_pid) - serverCpu) / seconds
    throw new Error(`timed out: the observer had ${seen} of ${txns.length} edits after ` +
      `${seconds.toFixed(0)} s (${rate.toFixed(0)} edits/s, server CPU ${(busy * 100).toFixed(0)}%; ` +
      `the whole replay would take about ${(txns.length / rate).toFixed(0)} s)` +
      strangers(observer.doc, writer.doc.clientID))
  }
  return {
    edits: txns.length,
    chars: expected.length,
    writer_matches: writer.text.toString() === expected,
    sent_ms: sentMs,
    replay_ms: done - t0,
    edits_per_s: txns.length / ((done - t0) / 1000),
    server_busy: cfg.server_pid ? (cpuSeconds(cfg.server_pid) - serverCpu) * 1000 / (done - t0) : null
  }
}

/** {}: two clients sync and one sees the other's edit, or the endpoint is not usable. */
async function probe (cfg) {
  const t0 = now()
  const [writer, observer] = await connectMany(cfg, cfg.room, 2)
  const seen = new Promise((resolve) => observer.text.observe(resolve))
  writer.text.insert(0, 'probe')
  if (await Promise.race([seen.then(() => true), sleep(10000)]) !== true) {
    throw new Error('an edit did not reach the other client within 10 s')
  }
  return { text: observer.text.toString(), ms: now() - t0 }
}

/** Edits in `doc` that the writer never made (the server editing the text on its own). */
function strangers (doc, writerId) {
  const others = [...Y.decodeStateVector(Y.encodeStateVector(doc))].filter(([id]) => id !== writerId)
  if (!others.length) return ''
  const text = doc.getText('source').length
  return `; the document (${text} chars) also holds inserts from Yjs client(s) the writer ` +
    `never was: ${others.map(([id, clock]) => `${id} (${clock} items)`).join(', ')}`
}

/** How many edits an observer holding the writer's clock `clock` has (deletions do not move
 * the clock, so this counts the last of a run of deletions as seen with the insert before). */
function editsSeen (clocks, clock) {
  let lo = 0
  let hi = clocks.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (clocks[mid] <= clock) lo = mid + 1; else hi = mid
  }
  return lo
}

// -- main ---------------------------------------------------------------------------------------

const MODES = { probe, fanout, burst, sync, idle, trace }

async function main () {
  const [mode, json] = process.argv.slice(2)
  if (!MODES[mode]) throw new Error(`usage: workload.mjs ${Object.keys(MODES).join('|')} JSON`)
  const result = await Promise.race([MODES[mode](JSON.parse(json ?? '{}')), aborted])
  result.server_closes = Object.fromEntries(serverCloses)
  process.stdout.write(JSON.stringify(result) + '\n')
}

main().then(
  () => process.exit(0),
  (err) => {
    const closes = serverCloses.size ? ` (server closes: ${JSON.stringify(Object.fromEntries(serverCloses))})` : ''
    process.stdout.write(JSON.stringify({ error: err.message + closes }) + '\n')
    process.exit(1)
  }
)
