// The HTTP API of the gpm daemon, as the page uses it: the token, JSON requests, and the Server-Sent Events stream
// read with fetch (EventSource cannot send the Authorization header).

const TOKEN_KEY = 'gpm.token';

// takeTokenFromURL moves a token given in the fragment (#token=..., the link `gpm web` prints) into the tab's
// session storage and removes it from the address bar, the history and any bookmark made later. A fragment never
// reaches a server, so it is not in any log either.
export function takeTokenFromURL() {
  const hash = location.hash.slice(1);
  if (!hash) return;
  const params = new URLSearchParams(hash);
  if (!params.has('token')) return;
  const token = params.get('token').trim();
  if (token) setToken(token);
  params.delete('token');
  const rest = params.toString();
  history.replaceState(history.state, '', location.pathname + location.search + (rest ? '#' + rest : ''));
}

// memoryToken holds the token when session storage is disabled: it then lives as long as the page.
let memoryToken = '';

export function getToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || memoryToken;
  } catch {
    return memoryToken;
  }
}

export function setToken(token) {
  memoryToken = token;
  try {
    sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    // storage disabled: memoryToken serves
  }
}

export function clearToken() {
  memoryToken = '';
  try {
    sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // nothing stored
  }
}

// APIError is an answer other than 2xx; auth is true for 401 and 403 (no token, or a wrong one).
export class APIError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
    this.auth = status === 401 || status === 403;
  }
}

function headers(extra) {
  const h = new Headers(extra);
  const t = getToken();
  if (t) h.set('Authorization', 'Bearer ' + t);
  return h;
}

// failure turns an answer that is not 2xx into an APIError carrying the daemon's message: {"error": "..."},
// {"error": {"message": "..."}}, {"message": "..."} or plain text.
async function failure(r) {
  let msg = `${r.status} ${r.statusText}`.trim();
  try {
    const text = (await r.text()).trim();
    if (text) {
      msg = text;
      try {
        const j = JSON.parse(text);
        const e = j && (typeof j.error === 'object' && j.error ? j.error.message : j.error);
        msg = e || j.message || text;
      } catch {
        // not JSON: the text is the message
      }
    }
  } catch {
    // no body
  }
  return new APIError(msg, r.status);
}

export async function getJSON(path, signal) {
  const r = await fetch(path, { headers: headers({ Accept: 'application/json' }), cache: 'no-store', signal });
  if (!r.ok) throw await failure(r);
  return r.json();
}

// getLines fetches an endpoint that answers log lines as a JSON array (of events or strings) or as text, and
// returns them as [{stream, line, id}].
export async function getLines(path, signal) {
  const r = await fetch(path, { headers: headers({ Accept: 'application/json, text/plain' }), cache: 'no-store', signal });
  if (!r.ok) throw await failure(r);
  const text = await r.text();
  let v;
  try {
    v = JSON.parse(text);
  } catch {
    return text.split('\n').filter((l) => l !== '').map((line) => ({ line }));
  }
  if (v && !Array.isArray(v)) v = v.lines || v.events || [];
  if (!Array.isArray(v)) return [];
  return v
    .map((e) => (typeof e === 'string' ? { line: e } : e))
    .filter((e) => e && typeof e.line === 'string');
}

// post runs an action: a JSON body (CSRF-safe: a cross-site form cannot send application/json) and the token.
export async function post(path, body = {}) {
  const r = await fetch(path, {
    method: 'POST',
    headers: headers({ 'Content-Type': 'application/json', Accept: 'application/json' }),
    body: JSON.stringify(body),
    cache: 'no-store',
  });
  if (!r.ok) throw await failure(r);
  const text = await r.text();
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return text;
  }
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });
}

// parseSSE reads a text/event-stream body and calls onMessage({id, event, data}) for each message, as the HTML
// standard's event-stream interpretation does: lines end in CR, LF or CRLF; `data` lines join with LF; a
// message is dispatched at a blank line; `id` (without NUL) persists into later messages; lines starting with a
// colon are comments (keep-alives). It returns when the body ends.
export async function parseSSE(body, onMessage) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  let data = [];
  let event = '';
  let id;
  let idSet = false; // this message had an id field: without data, it still moves the last event id
  let retry;
  const line = (l) => {
    if (l === '') {
      if (data.length > 0) onMessage({ id, event: event || 'message', data: data.join('\n'), retry });
      else if (idSet) onMessage({ id, event: '', data: '', retry });
      data = [];
      event = '';
      idSet = false;
      return;
    }
    if (l[0] === ':') return;
    const i = l.indexOf(':');
    const field = i < 0 ? l : l.slice(0, i);
    let value = i < 0 ? '' : l.slice(i + 1);
    if (value[0] === ' ') value = value.slice(1);
    switch (field) {
      case 'data': data.push(value); break;
      case 'event': event = value; break;
      case 'id':
        if (!value.includes('\0')) {
          id = value;
          idSet = true;
        }
        break;
      case 'retry': if (/^\d+$/.test(value)) retry = Number(value); break;
    }
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    // A CR at the end may be the first half of a CRLF: keep it for the next chunk.
    const end = buf.endsWith('\r') ? buf.length - 1 : buf.length;
    const lines = buf.slice(0, end).split(/\r\n|\r|\n/);
    buf = lines.pop() + buf.slice(end);
    for (const l of lines) line(l);
  }
}

// openStream follows an SSE endpoint until close() is called: it reconnects after a drop (backing off up to 15 s)
// with the last event id in the Last-Event-ID header, so that the daemon resumes where the stream broke. It calls
// onEvent with each event's JSON, and onState with 'connecting', 'live' (with {resumed}), 'down' (with the error) or
// 'auth' (the token was refused: the stream stops until it is opened again).
export function openStream(url, { onEvent, onState }) {
  const ctl = new AbortController();
  let lastId = '';
  let retry = 1000;
  let failures = 0;
  (async () => {
    while (!ctl.signal.aborted) {
      onState('connecting');
      try {
        const h = headers({ Accept: 'text/event-stream' });
        if (lastId) h.set('Last-Event-ID', lastId);
        const r = await fetch(url, { headers: h, cache: 'no-store', signal: ctl.signal });
        if (!r.ok) throw await failure(r);
        if (!r.body) throw new Error('the answer has no body');
        onState('live', { resumed: lastId !== '' });
        failures = 0;
        await parseSSE(r.body, (m) => {
          if (m.id !== undefined) lastId = m.id;
          if (m.retry !== undefined) retry = m.retry;
          if (m.data === '') return;
          let ev;
          try {
            ev = JSON.parse(m.data);
          } catch {
            return; // not an event of ours
          }
          onEvent(ev);
        });
        if (ctl.signal.aborted) return;
        onState('down', new Error('the stream ended'));
      } catch (err) {
        if (ctl.signal.aborted) return;
        if (err instanceof APIError && err.auth) {
          onState('auth', err);
          return;
        }
        failures++;
        onState('down', err);
      }
      await sleep(Math.min(retry * 2 ** Math.min(failures, 4), 15000), ctl.signal);
    }
  })();
  return { close: () => ctl.abort() };
}
