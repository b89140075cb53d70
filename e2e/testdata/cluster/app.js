// A plain Node http app, as PM2 users write them: it knows nothing of gpm, LISTEN_FDS or fd 3.
const http = require('http');

const server = http.createServer((req, res) => {
  res.setHeader('Content-Type', 'text/plain');
  res.end(`pid ${process.pid} instance ${process.env.NODE_APP_INSTANCE}\n`);
});

server.listen(process.env.PORT || 8080, () => {
  console.log(`pid ${process.pid} listening on ${JSON.stringify(server.address())}`);
  if (process.send) process.send('ready');
});

process.on('SIGINT', () => server.close(() => process.exit(0)));
