// HTTP/1.1 server under test (http suite).
//   --impl=node | fastify | iocrate | iocrate-fetch | iocrate-static
//   --mode=hello | json | post
//     hello: GET / → 200 text/plain 'Hello, World!'
//     json:  GET / → 200 application/json, JSON.stringify({ message: 'Hello, World!' }) per request
//     post:  POST /upload → reads the whole body (counting bytes, nothing buffered) and answers its length
// node:http and @iocrate/http run the very same `(req, res)` handler; fastify runs the idiomatic equivalent.
// iocrate-fetch: `createServer({ fetch })` returning a `Response` (hello only).
// iocrate-static: `createServer({ routes: [...] })`, answered in Rust without entering JS (hello only).
//   --https --cert=PATH --key=PATH  (impl node or iocrate only) the same handler over HTTPS:
//     node → node:https `createServer({ cert, key }, handler)`, iocrate → @iocrate/https `createServer({ cert, key }, handler)`.
// Prints {"ready":true,"port":N}; exits when stdin closes (lib/child.mjs).
import { readFileSync } from 'node:fs';
import { childArgs, emit, serveCommands, unavailable } from '../lib/child.mjs';

const args = childArgs();
const impl = args.impl ?? 'node';
const mode = args.mode ?? 'hello';
const useHttps = args.https === true;
const host = '127.0.0.1';
const HELLO = 'Hello, World!';
const MiB = 1024 * 1024;

// The (req, res) handlers shared by node:http and @iocrate/http.
const handlers = {
  hello(req, res) {
    res.setHeader('Content-Type', 'text/plain');
    res.end(HELLO);
  },
  json(req, res) {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ message: HELLO }));
  },
  post(req, res) {
    let n = 0;
    req.on('data', (chunk) => {
      n += chunk.length;
    });
    req.on('end', () => {
      res.setHeader('Content-Type', 'text/plain');
      res.end(String(n));
    });
  },
};

function listenNodeStyle(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      resolve(server.address().port);
    });
  });
}

async function fastify() {
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false, bodyLimit: 2 * MiB });
  if (mode === 'hello') app.get('/', (req, reply) => reply.type('text/plain').send(HELLO));
  // No response schema: fastify's default serializer is JSON.stringify, once per request.
  else if (mode === 'json') app.get('/', () => ({ message: HELLO }));
  else if (mode === 'post') {
    // Count the body as it streams in (the same work as the node:http handler), no buffering.
    app.addContentTypeParser('application/octet-stream', (req, payload, done) => {
      let n = 0;
      payload.on('data', (chunk) => {
        n += chunk.length;
      });
      payload.on('end', () => done(null, n));
      payload.on('error', done);
    });
    app.post('/upload', (req, reply) => reply.type('text/plain').send(String(req.body)));
  } else throw new Error(`fastify: no mode ${mode}`);
  await app.listen({ port: 0, host });
  return app.server.address().port;
}

async function iocrate() {
  const http = await import('@iocrate/http');
  if (typeof http.createServer !== 'function') throw new Error('@iocrate/http has no createServer()');
  if (impl === 'iocrate') return listenNodeStyle(http.createServer(handlers[mode]));
  if (mode !== 'hello') throw new Error(`${impl}: hello mode only`);
  if (impl === 'iocrate-fetch')
    return listenNodeStyle(http.createServer({ fetch: () => new Response(HELLO, { headers: { 'Content-Type': 'text/plain' } }) }));
  if (impl === 'iocrate-static')
    return listenNodeStyle(http.createServer({ routes: [{ path: '/', body: HELLO, headers: { 'Content-Type': 'text/plain' } }] }));
  throw new Error(`unknown impl ${impl}`);
}

// HTTPS: node:https and @iocrate/https, each `createServer({ cert, key }, handler)` with the shared handler.
async function httpsServer() {
  if (typeof args.cert !== 'string' || typeof args.key !== 'string') throw new Error('--https needs --cert=PATH and --key=PATH');
  const tls = { cert: readFileSync(args.cert, 'utf8'), key: readFileSync(args.key, 'utf8') };
  if (impl === 'node') return listenNodeStyle((await import('node:https')).createServer(tls, handlers[mode]));
  if (impl === 'iocrate') {
    const https = await import('@iocrate/https');
    if (typeof https.createServer !== 'function') throw new Error('@iocrate/https has no createServer()');
    return listenNodeStyle(https.createServer(tls, handlers[mode]));
  }
  throw new Error(`--https: impl ${impl} not supported (node, iocrate)`);
}

try {
  if (!handlers[mode]) throw new Error(`unknown mode ${mode}`);
  let port;
  if (useHttps) port = await httpsServer();
  else if (impl === 'node') port = await listenNodeStyle((await import('node:http')).createServer(handlers[mode]));
  else if (impl === 'fastify') port = await fastify();
  else if (impl.startsWith('iocrate')) port = await iocrate();
  else throw new Error(`unknown impl ${impl}`);
  if (!port) throw new Error('server did not report a port');
  serveCommands();
  emit({ ready: true, port });
} catch (err) {
  unavailable(err);
}
