// The dashboard: the process table kept live by the daemon's event stream, charts of each app's cpu and memory,
// the selected app's details and log tail, the action buttons and the host's figures.
//
// Everything an app controls (names, log lines, reasons, paths) goes into the page with textContent or
// setAttribute, never as HTML.

import * as api from './api.js';
import { newChart, WINDOW_MS } from './chart.js';
import * as fmt from './format.js';

const ACTIONS = ['restart', 'reload', 'stop', 'start'];
const STATUSES = new Set(['online', 'launching', 'stopping', 'stopped', 'waiting', 'errored']);
const LOG_LINES = 1000; // kept in the log pane
const TAIL_LINES = 100; // asked for when an app is selected
const CPU_FLOOR = 5; // percent: the charts' lowest full scale
const MEM_FLOOR = 16 << 20; // bytes

const $ = (sel) => document.querySelector(sel);

const procs = new Map(); // id → api.Process, as GET /api/processes answered and events changed since
const rows = new Map(); // id → the row's elements
const samples = new Map(); // id → [{t, cpu, mem}], the last WINDOW_MS
const uptimeBase = new Map(); // id → {ms, at}: uptime_ms at performance.now() = at
const busy = new Set(); // "id/action" of the actions under way
let selected = null; // id of the process in the details
let mainStream = null;
let logView = null; // {stream, abort, name, id}

function text(el, s) {
  const v = s === undefined || s === null || s === '' ? '–' : String(s);
  if (el.textContent !== v) el.textContent = v;
}

function make(tag, className, textContent) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (textContent !== undefined) e.textContent = textContent;
  return e;
}

// ---- notices and the token form

let noticeTimer = 0;
function notice(msg, isError = false) {
  const n = $('#notice');
  n.textContent = msg;
  n.classList.toggle('error', isError);
  n.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { n.hidden = true; }, isError ? 10000 : 4000);
}

function askToken(message) {
  const form = $('#token-form');
  $('#token-msg').textContent = message || '';
  form.hidden = false;
}

function setupToken() {
  api.takeTokenFromURL();
  const form = $('#token-form');
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const input = $('#token-input');
    const t = input.value.trim();
    if (!t) return;
    api.setToken(t);
    input.value = '';
    form.hidden = true;
    startMainStream();
    refresh();
    if (selected !== null) openLogs(selected, true);
  });
  if (!api.getToken()) askToken('Reading may work without it on loopback; the buttons need it.');
}

function authFailed(err) {
  api.clearToken();
  askToken(`The daemon refused the token (${err.message}).`);
}

// ---- the process list

let refreshTimer = 0;
let refreshing = false;
let refreshAgain = false;

// scheduleRefresh reloads the list soon: events say that something changed, the list says all of it (restarts,
// uptime, a new app's config). Bursts of events cost one request.
function scheduleRefresh(delay = 250) {
  if (refreshTimer) return;
  refreshTimer = setTimeout(() => { refreshTimer = 0; refresh(); }, delay);
}

async function refresh() {
  if (refreshing) {
    refreshAgain = true;
    return;
  }
  refreshing = true;
  scheduleHost(); // its process count and memory changed too
  try {
    setProcesses(await api.getJSON('api/processes'));
  } catch (err) {
    if (err.auth) authFailed(err);
    // While the stream is down the pill says so; the list is loaded again when it is back.
    else if (document.body.dataset.stream === 'live') notice(`Loading the processes: ${err.message}`, true);
  } finally {
    refreshing = false;
    if (refreshAgain) {
      refreshAgain = false;
      scheduleRefresh(0);
    }
  }
}

function setProcesses(list) {
  if (!Array.isArray(list)) return;
  const seen = new Set();
  const now = performance.now();
  for (const p of list) {
    seen.add(p.id);
    const old = procs.get(p.id);
    // A sample newer than the list keeps its figures: the list's may be a sampling interval old.
    if (old && old.pid === p.pid && old.sampledAt) {
      p.cpu = old.cpu;
      p.memory = old.memory;
      p.sampledAt = old.sampledAt;
    }
    procs.set(p.id, p);
    uptimeBase.set(p.id, { ms: p.uptime_ms || 0, at: now });
    // The list's figures seed the charts of a page just opened; 0 bytes means not sampled yet (a new run).
    if (!samples.has(p.id) && p.status === 'online' && p.memory > 0) addSample(p.id, p.cpu, p.memory);
  }
  for (const id of [...procs.keys()]) {
    if (!seen.has(id)) removeProcess(id);
  }
  render();
}

function removeProcess(id) {
  procs.delete(id);
  samples.delete(id);
  uptimeBase.delete(id);
  const r = rows.get(id);
  if (r) {
    r.tr.remove();
    rows.delete(id);
  }
  if (selected === id) closeDetails();
}

function addSample(id, cpu, mem) {
  if (typeof cpu !== 'number' || typeof mem !== 'number') return;
  let s = samples.get(id);
  if (!s) samples.set(id, (s = []));
  const t = Date.now();
  s.push({ t, cpu, mem });
  while (s.length > 0 && s[0].t < t - WINDOW_MS) s.shift();
}

// ---- events

function onEvent(ev) {
  switch (ev.type) {
    case 'state': {
      const p = procs.get(ev.id);
      if (!p) {
        scheduleRefresh(0); // a new process: the list has its whole record
        return;
      }
      if (ev.status === 'deleted') {
        removeProcess(ev.id);
        render();
        scheduleRefresh();
        return;
      }
      if (ev.status) p.status = ev.status;
      const pid = ev.pid || 0;
      if (pid !== p.pid) {
        p.pid = pid;
        p.sampledAt = 0;
        uptimeBase.set(ev.id, { ms: 0, at: performance.now() });
      }
      if (ev.reason) p.reason = ev.reason;
      updateRow(ev.id);
      if (selected === ev.id) renderDetails();
      scheduleRefresh();
      return;
    }
    case 'sample': {
      for (const s of ev.samples || []) {
        const p = procs.get(s.id);
        if (!p) {
          scheduleRefresh();
          continue;
        }
        p.cpu = s.cpu;
        p.memory = s.memory;
        p.cpu_seconds = s.cpu_seconds;
        p.sampledAt = Date.now();
        if (s.pid && s.pid !== p.pid) {
          p.pid = s.pid;
          scheduleRefresh();
        }
        addSample(s.id, s.cpu, s.memory);
        updateRow(s.id);
      }
      if (selected !== null) renderCharts();
      return;
    }
    case 'dropped': // the daemon's queue for this stream overflowed
    case 'lost': // Last-Event-ID was older than the events the server keeps
      // Events were lost: the list is the truth again.
      scheduleRefresh(0);
      return;
  }
}

function setStreamState(state, info) {
  const pill = $('#stream-state');
  const label = {
    connecting: 'connecting…',
    live: 'live',
    down: 'reconnecting…',
    auth: 'token needed',
  }[state] || state;
  document.body.dataset.stream = state;
  // Whether the last connection asked to resume (Last-Event-ID): shown to tests and to curious people.
  if (state === 'live') document.body.dataset.resumed = String(Boolean(info && info.resumed));
  pill.textContent = label;
  pill.title = info instanceof Error ? info.message : '';
  if (state === 'live') {
    scheduleRefresh(0); // the first load, or what happened while the stream was down
    const n = $('#notice');
    if (n.classList.contains('error')) n.hidden = true; // an error of the outage is over
  }
  if (state === 'auth') authFailed(info);
}

function startMainStream() {
  if (mainStream) mainStream.close();
  mainStream = api.openStream('api/events', { onEvent, onState: setStreamState });
}

// ---- the table

function makeRow(id) {
  const tr = make('tr');
  tr.dataset.id = String(id);
  const cell = (cls, label) => {
    const td = make('td', cls);
    td.dataset.label = label;
    tr.append(td);
    return td;
  };
  const r = { tr };
  r.id = cell('id', 'id');
  const name = cell('name', 'name');
  r.name = make('button', 'link');
  r.name.type = 'button';
  r.ns = make('span', 'ns');
  name.append(r.name, r.ns);
  r.mode = cell('mode', 'mode');
  r.pid = cell('pid', 'pid');
  r.status = make('span', 'badge');
  cell('status', 'status').append(r.status);
  const figure = (cls, label) => {
    const td = cell(cls, label);
    const t = make('span', 'num');
    const c = newChart('spark');
    td.append(t, c.svg);
    return [t, c];
  };
  [r.cpu, r.cpuChart] = figure('cpu', 'cpu');
  [r.mem, r.memChart] = figure('mem', 'memory');
  r.restarts = cell('restarts', 'restarts');
  r.uptime = cell('uptime', 'uptime');
  const actions = make('div', 'btns');
  cell('actions', 'actions').append(actions);
  r.buttons = {};
  for (const a of ACTIONS) {
    const b = make('button', `act act-${a}`, a);
    b.type = 'button';
    b.dataset.action = a;
    actions.append(b);
    r.buttons[a] = b;
  }
  return r;
}

function uptime(id) {
  const p = procs.get(id);
  const base = uptimeBase.get(id);
  if (!p || !base || p.status !== 'online') return null;
  return base.ms + (performance.now() - base.at);
}

function updateRow(id) {
  const p = procs.get(id);
  if (!p) return;
  let r = rows.get(id);
  if (!r) {
    r = makeRow(id);
    rows.set(id, r);
  }
  r.tr.dataset.name = p.name;
  r.tr.dataset.status = p.status;
  r.tr.classList.toggle('selected', selected === id);
  text(r.id, p.id);
  text(r.name, p.name);
  r.name.setAttribute('aria-label', `details of ${p.name} (${p.id})`);
  r.ns.textContent = p.namespace && p.namespace !== 'default' ? p.namespace : '';
  text(r.mode, p.mode || (p.config && p.config.exec_mode));
  text(r.pid, p.pid || '');
  text(r.status, p.status);
  r.status.className = `badge s-${STATUSES.has(p.status) ? p.status : 'other'}`;
  r.status.title = p.reason || p.status_text || '';
  const running = p.status === 'online';
  text(r.cpu, running ? fmt.percent(p.cpu) : '');
  text(r.mem, running ? fmt.bytes(p.memory) : '');
  const hist = samples.get(id) || [];
  r.cpuChart.update(hist.map((s) => ({ t: s.t, v: s.cpu })), CPU_FLOOR);
  r.memChart.update(hist.map((s) => ({ t: s.t, v: s.mem })), MEM_FLOOR);
  text(r.restarts, p.restarts);
  text(r.uptime, running ? fmt.duration(uptime(id)) : '');
  for (const a of ACTIONS) {
    const b = r.buttons[a];
    b.setAttribute('aria-label', `${a} ${p.name} (${p.id})`);
    const pointless = (a === 'start' && (running || p.status === 'launching')) || (a === 'stop' && p.status === 'stopped');
    b.disabled = busy.has(`${id}/${a}`) || pointless;
  }
}

function render() {
  const tbody = $('#procs tbody');
  const ids = [...procs.keys()].sort((a, b) => a - b);
  let prev = null;
  for (const id of ids) {
    updateRow(id);
    const tr = rows.get(id).tr;
    const expected = prev ? prev.nextSibling : tbody.firstChild;
    // Only rows out of place move: moving a row would take the focus off its buttons.
    if (tr !== expected) tbody.insertBefore(tr, expected);
    prev = tr;
  }
  $('#empty').hidden = ids.length > 0;
  if (selected !== null) renderDetails();
}

async function act(id, action) {
  const p = procs.get(id);
  const what = `${action} ${p ? p.name : ''} (${id})`;
  const key = `${id}/${action}`;
  busy.add(key);
  updateRow(id);
  try {
    await api.post(`api/processes/${encodeURIComponent(id)}/${action}`, {});
    notice(`${what}: done`);
  } catch (err) {
    if (err.auth) authFailed(err);
    notice(`${what}: ${err.message}`, true);
  } finally {
    busy.delete(key);
    updateRow(id);
    scheduleRefresh(0);
  }
}

// ---- details

let detailCharts = null;

function closeDetails() {
  selected = null;
  $('#details').hidden = true;
  if (logView) {
    logView.stream.close();
    logView.abort.abort();
    logView = null;
  }
  for (const r of rows.values()) r.tr.classList.remove('selected');
}

function select(id) {
  if (!procs.has(id)) return;
  const same = selected === id;
  selected = id;
  for (const [rid, r] of rows) r.tr.classList.toggle('selected', rid === id);
  $('#details').hidden = false;
  if (!detailCharts) {
    detailCharts = { cpu: newChart('big', { grid: true }), mem: newChart('big', { grid: true }) };
    $('#d-cpu-chart').append(detailCharts.cpu.svg);
    $('#d-mem-chart').append(detailCharts.mem.svg);
  }
  renderDetails();
  if (!same) openLogs(id, false);
  if (window.matchMedia('(max-width: 900px)').matches) $('#details').scrollIntoView({ block: 'start' });
}

function renderCharts() {
  const p = procs.get(selected);
  if (!p || !detailCharts) return;
  const hist = samples.get(selected) || [];
  const cpu = detailCharts.cpu.update(hist.map((s) => ({ t: s.t, v: s.cpu })), CPU_FLOOR);
  const mem = detailCharts.mem.update(hist.map((s) => ({ t: s.t, v: s.mem })), MEM_FLOOR);
  const running = p.status === 'online';
  const over = (c) => (c.span ? ` · peak ${c === cpu ? fmt.percent(c.peak) : fmt.bytes(c.peak)} over ${fmt.duration(c.span)}` : '');
  $('#d-cpu-now').textContent = `${running ? fmt.percent(p.cpu) : '–'}${over(cpu)}`;
  $('#d-mem-now').textContent = `${running ? fmt.bytes(p.memory) : '–'}${over(mem)}`;
}

function renderDetails() {
  const p = procs.get(selected);
  if (!p) return;
  $('#d-title').textContent = `${p.name} (${p.id})`;
  const c = p.config || {};
  const exit = p.exit_code !== null && p.exit_code !== undefined ? String(p.exit_code) : '';
  const items = [
    ['status', p.status],
    ['reason', p.reason],
    ['status text', p.status_text],
    ['pid', p.pid || ''],
    ['namespace', p.namespace],
    ['mode', `${p.mode || c.exec_mode || ''}${c.instances > 1 ? ` · instance ${p.instance} of ${c.instances}` : ''}`],
    ['script', [c.interpreter && c.interpreter !== 'none' ? c.interpreter : '', c.script, ...(c.args || [])].filter(Boolean).join(' ')],
    ['cwd', c.cwd],
    ['restarts', `${p.restarts} (unstable ${p.unstable_restarts})`],
    ['last exit', [exit, p.exit_signal].filter(Boolean).join(' ')],
    ['uptime', p.status === 'online' ? fmt.duration(uptime(p.id)) : ''],
    ['started', p.started_at ? fmt.time(p.started_at) : ''],
    ['created', fmt.time(p.created_at)],
    ['next restart', p.next_restart ? fmt.time(p.next_restart) : ''],
    ['cpu time', typeof p.cpu_seconds === 'number' ? `${p.cpu_seconds.toFixed(1)} s` : ''],
    ['containment', [p.containment, p.containment_reason].filter(Boolean).join(': ')],
    ['cgroup', p.cgroup],
    ['autorestart', c.autorestart === undefined ? '' : String(c.autorestart)],
    ['max memory restart', c.max_memory_restart ? fmt.bytes(c.max_memory_restart) : ''],
    ['cron restart', c.cron_restart],
    ['watch', (c.watch || []).join(', ')],
    ['out log', p.out_log],
    ['err log', p.err_log],
    ['log', p.log],
  ];
  const dl = $('#d-info');
  const frag = document.createDocumentFragment();
  for (const [k, v] of items) {
    if (v === undefined || v === null || v === '') continue;
    frag.append(make('dt', '', k), make('dd', k === 'uptime' ? 'uptime' : '', String(v)));
  }
  dl.replaceChildren(frag);
  renderCharts();
}

// ---- logs

let pendingLogs = [];
let logTimer = 0;

function logItem(ev) {
  const li = make('li', ev.stream === 'err' ? 'err' : 'out');
  if (ev.id !== undefined && ev.id !== null) li.append(make('span', 'src', `${ev.id}|`));
  li.append(document.createTextNode(ev.line));
  return li;
}

function queueLog(ev) {
  pendingLogs.push(ev);
  if (pendingLogs.length > LOG_LINES) pendingLogs.splice(0, pendingLogs.length - LOG_LINES);
  if (!logTimer) logTimer = setTimeout(flushLogs, 50);
}

function flushLogs() {
  logTimer = 0;
  const ol = $('#d-logs');
  const frag = document.createDocumentFragment();
  for (const ev of pendingLogs) frag.append(logItem(ev));
  pendingLogs = [];
  ol.append(frag);
  while (ol.childElementCount > LOG_LINES) ol.firstElementChild.remove();
  if ($('#d-follow').checked) ol.scrollTop = ol.scrollHeight;
}

// openLogs shows the last lines of the selected app's logs and follows them: the live lines over SSE
// (?logs=1&name=), the tail from the logs endpoint. Lines without a seq on the stream are read back from the files:
// shown only when the logs endpoint gave nothing.
function openLogs(id, again) {
  const p = procs.get(id);
  if (!p) return;
  if (logView && !again && logView.name === p.name) return;
  if (logView) {
    logView.stream.close();
    logView.abort.abort();
  }
  const ol = $('#d-logs');
  ol.replaceChildren();
  pendingLogs = [];
  const name = p.name;
  const abort = new AbortController();
  let tail = 'pending'; // 'pending' | 'ok' | 'failed'
  const early = []; // lines read back from files, kept until the tail is known
  const stream = api.openStream(`api/events?logs=1&name=${encodeURIComponent(name)}`, {
    onEvent: (ev) => {
      if (ev.type !== 'log' || typeof ev.line !== 'string') return;
      if (ev.name && ev.name !== name) return;
      if (!ev.seq) {
        if (tail === 'pending') early.push(ev);
        else if (tail === 'failed') queueLog(ev);
        return;
      }
      queueLog(ev);
    },
    onState: (state, info) => {
      ol.dataset.stream = state;
      if (state === 'auth') authFailed(info);
    },
  });
  logView = { stream, abort, name, id };
  api.getLines(`api/processes/${encodeURIComponent(id)}/logs?lines=${TAIL_LINES}`, abort.signal).then(
    (lines) => {
      if (abort.signal.aborted) return;
      tail = 'ok';
      const frag = document.createDocumentFragment();
      for (const ev of lines) frag.append(logItem(ev));
      ol.prepend(frag);
      if ($('#d-follow').checked) ol.scrollTop = ol.scrollHeight;
    },
    (err) => {
      if (abort.signal.aborted) return;
      tail = 'failed';
      if (err.auth) authFailed(err);
      for (const ev of early) queueLog(ev);
    },
  );
}

// ---- host figures

function hostValue(key, v) {
  const k = key.toLowerCase();
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'number' ? x.toFixed(2) : String(x))).join(' ');
  if (typeof v !== 'number') return String(v);
  if (/(^|_)(mem|memory|rss|bytes|swap)|_bytes$|memory/.test(k)) return fmt.bytes(v);
  if (/uptime.*ms|_ms$/.test(k)) return fmt.duration(v);
  if (/uptime|_seconds$/.test(k) && !/cpu/.test(k)) return fmt.duration(v * 1000);
  if (/load/.test(k)) return v.toFixed(2);
  if (/cpu.*percent|percent/.test(k)) return fmt.percent(v);
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

function flatten(obj, prefix, out) {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix} ${k}` : k;
    if (v && typeof v === 'object' && !Array.isArray(v)) flatten(v, key, out);
    else if (v !== null && v !== '' && (!Array.isArray(v) || v.every((x) => typeof x !== 'object'))) out.push([key, v]);
  }
  return out;
}

// hostFigures picks and joins the figures of GET /api/system that fit a header line (web.System); fields it does
// not know are shown as they come, so a newer daemon's additions appear without a change here.
function hostFigures(sys) {
  const out = [];
  const used = new Set(['memory_available', 'daemon_goroutines', 'daemon_pid']);
  const take = (label, ...keys) => {
    if (!keys.every((k) => sys[k] !== undefined && sys[k] !== null)) return;
    keys.forEach((k) => used.add(k));
    out.push([label, keys.map((k) => hostValue(k, sys[k])).join(' / ')]);
  };
  take('host', 'hostname');
  take('cpus', 'cpus');
  take('load', 'load');
  take('memory', 'memory_used', 'memory_total');
  take('up', 'uptime');
  take('gpm', 'daemon_version');
  take('gpm rss', 'daemon_rss');
  take('gpm up', 'daemon_uptime');
  take('processes', 'processes');
  for (const [k, v] of flatten(sys, '', [])) {
    if (!used.has(k)) out.push([k.replaceAll('_', ' '), hostValue(k, v)]);
  }
  return out;
}

let hostAt = 0; // Date.now() of the last refreshHost
let hostTimer = 0;

// scheduleHost refreshes the host figures soon, at most every 2 s.
function scheduleHost() {
  if (hostTimer) return;
  hostTimer = setTimeout(() => { hostTimer = 0; refreshHost(); }, Math.max(0, 2000 - (Date.now() - hostAt)));
}

async function refreshHost() {
  hostAt = Date.now();
  try {
    const sys = await api.getJSON('api/system');
    const frag = document.createDocumentFragment();
    for (const [k, v] of hostFigures(sys || {})) {
      const div = make('div', 'fig');
      div.append(make('dt', '', k), make('dd', '', v));
      frag.append(div);
    }
    $('#host').replaceChildren(frag);
  } catch (err) {
    if (err.auth) authFailed(err);
    // otherwise the figures stay as they were; the stream's state tells whether the daemon answers
  }
}

// ---- start

function main() {
  setupToken();
  const tbody = $('#procs tbody');
  tbody.addEventListener('click', (e) => {
    const tr = e.target.closest('tr[data-id]');
    if (!tr) return;
    const id = Number(tr.dataset.id);
    const b = e.target.closest('button[data-action]');
    if (b) act(id, b.dataset.action);
    else select(id);
  });
  $('#d-close').addEventListener('click', closeDetails);
  const ol = $('#d-logs');
  ol.addEventListener('scroll', () => {
    // Scrolling up to read stops following; scrolling back to the end follows again.
    $('#d-follow').checked = ol.scrollHeight - ol.scrollTop - ol.clientHeight < 8;
  });
  startMainStream();
  refresh();
  refreshHost();
  setInterval(refreshHost, 5000);
  setInterval(() => {
    for (const id of procs.keys()) {
      const r = rows.get(id);
      if (r && procs.get(id).status === 'online') text(r.uptime, fmt.duration(uptime(id)));
    }
    const dd = selected !== null && procs.has(selected) ? $('#d-info dd.uptime') : null;
    if (dd) text(dd, fmt.duration(uptime(selected)));
  }, 1000);
}

main();
