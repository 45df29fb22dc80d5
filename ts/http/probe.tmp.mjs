import { createServer } from '@iocrate/http'
import { connect } from 'node:net'
const s = createServer({ onError: (e) => console.log('onError', e.code, e.message) }, (req, res) => {
  switch (req.url) {
    case '/204body': res.writeHead(204); res.end('should not appear'); break
    case '/headstream': res.write('abc'); res.write('def'); res.end(); break
    case '/latin1': res.end('café', 'latin1'); break
    case '/utf8': res.end('✓✓'); break
    case '/empty': res.write(''); res.write('abc'); res.write(Buffer.alloc(0)); res.end('z'); break
    case '/cl': res.setHeader('Content-Length', 6); res.write('abc'); res.end('def'); break
    case '/clbad': res.writeHead(200, { 'Content-Length': 2 }); res.end('toolong'); break
    case '/close': res.setHeader('Connection', 'close'); res.end('bye'); break
    case '/reason': res.statusMessage = 'Fine'; res.end('r'); break
    case '/te': res.setHeader('Transfer-Encoding', 'chunked'); res.end('manual'); break
    case '/304body': res.writeHead(304); res.write('x'); res.end(); break
    default: res.end(`${req.url} ${req.httpVersion}`)
  }
})
async function send(payload) {
  const port = s.address().port
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1'); let out = ''
    c.on('data', d => out += d.toString('latin1')); c.on('error', () => {})
    c.write(Buffer.from(payload, 'latin1'))
    const t = setTimeout(() => { c.destroy(); resolve(out + ' [OPEN]') }, 700)
    c.on('close', () => { clearTimeout(t); resolve(out + ' [CLOSED]') })
  })
}
s.listen(0, '127.0.0.1', async () => {
  const strip = (x) => JSON.stringify(x.replace(/Date: .*\r\n/g, ''))
  for (const p of ['/204body', '/latin1', '/utf8', '/empty', '/cl', '/clbad', '/close', '/reason', '/te', '/304body'])
    console.log(p, strip(await send(`GET ${p} HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n`)))
  console.log('HEAD stream', strip(await send(`HEAD /headstream HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n`)))
  console.log('abs', strip(await send(`GET http://x/abs?q HTTP/1.1\r\nHost: x\r\n\r\n`)))
  console.log('1.0 ka', strip(await send(`GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.0\r\n\r\n`)))
  s.close(); s.closeAllConnections()
})
