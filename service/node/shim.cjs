'use strict';
// gpm's Node.js shim, preloaded with NODE_OPTIONS=--require. It makes PM2 cluster-mode apps run unmodified on
// gpm's language-neutral cluster mode:
//  - server.listen(PORT) becomes a listen on the socket gpm passed as fd 3.. (LISTEN_FDS) for that port;
//  - with no socket for that port, in cluster mode, it asks gpm to bind the port once (LISTEN=...) and waits to be
//    replaced by a worker that inherits it, so `gpm start app.js -i max` shares one port as under PM2; if gpm
//    refuses (a privileged port for an app that is not running as the daemon's user, the port in use...), it
//    says why on stderr and listens as it would without gpm, so the app gets the error the system gives;
//  - process.send('ready') without an IPC channel becomes READY=1 on gpm's notify stream;
//  - with shutdown_with_message, the kill signal (GPM_SHUTDOWN_MESSAGE names it) becomes PM2's IPC message
//    'shutdown' for an app that listens to process.on('message'); one that does not dies of the signal.
// It does nothing when the app is not under gpm.
const net = require('net');

const env = process.env;
const notifyPath = env.GPM_NOTIFY_STREAM;
if (notifyPath) {
  const fds = env.LISTEN_PID === String(process.pid) ? parseInt(env.LISTEN_FDS || '0', 10) : 0;
  const byPort = new Map();
  (env.GPM_LISTEN_ADDRS || '').split(',').forEach((addr, i) => {
    const m = /:(\d+)$/.exec(addr);
    if (m && i < fds) byPort.set(Number(m[1]), 3 + i);
  });

  const notify = (msg) => {
    const c = net.createConnection(notifyPath);
    c.on('error', () => {});
    c.end(msg);
  };

  // ask sends msg and calls back with gpm's answer ('' when there is none).
  const ask = (msg, cb) => {
    const c = net.createConnection(notifyPath);
    let answer = '';
    let done = false;
    const finish = () => { if (!done) { done = true; cb(answer.trim()); } };
    c.setEncoding('utf8');
    c.on('data', (d) => { answer += d; });
    c.on('end', finish);
    c.on('close', finish);
    c.on('error', () => {});
    c.end(msg);
  };

  const requestedPort = (args) => {
    const a = args[0];
    if (typeof a === 'number' || (typeof a === 'string' && /^\d+$/.test(a))) return Number(a);
    if (a && typeof a === 'object' && a.port !== undefined && a.fd === undefined && a.path === undefined &&
        a.handle === undefined) return Number(a.port);
    return undefined;
  };

  const listen = net.Server.prototype.listen;
  net.Server.prototype.listen = function (...args) {
    const port = requestedPort(args);
    if (port === undefined || port === 0) return listen.apply(this, args);
    const cb = args.find((x) => typeof x === 'function');
    const fd = byPort.get(port);
    if (fd !== undefined) return listen.call(this, { fd }, cb);
    if (env.GPM_CLUSTER === '1') {
      // gpm binds the port and replaces this worker with one that inherits it; until then, nothing listens here.
      ask(`LISTEN=tcp://:${port}`, (answer) => {
        if (answer === 'OK') {
          // Nothing else may keep the event loop alive (the server does not listen): without this timer Node exits
          // 0 before the reload replaces it, and gpm counts a restart (seen under load).
          setInterval(() => {}, 1 << 30);
          return;
        }
        if (answer.startsWith('ERR ')) console.error(`gpm: port ${port} not shared by gpm: ${answer.slice(4)}`);
        listen.apply(this, args);
      });
      return this;
    }
    return listen.apply(this, args);
  };

  if (typeof process.send !== 'function') {
    process.send = function (msg, ...rest) {
      if (msg === 'ready') notify('READY=1');
      const cb = rest.find((x) => typeof x === 'function');
      if (cb) process.nextTick(cb, null);
      return true;
    };
  }

  const shutdownSig = env.GPM_SHUTDOWN_MESSAGE;
  if (shutdownSig) {
    const onSignal = () => {
      if (process.listenerCount('message') > 0) {
        process.emit('message', 'shutdown');
        return;
      }
      process.removeListener(shutdownSig, onSignal);
      if (process.listenerCount(shutdownSig) === 0) process.kill(process.pid, shutdownSig);
    };
    try { process.on(shutdownSig, onSignal); } catch (e) { /* a signal Node cannot catch: the signal does it */ }
  }
}
