import dgram from 'node:dgram'
import { once } from 'node:events'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'

const echo = fileURLToPath(new URL('../../../examples/datagram/echo.mjs', import.meta.url))

it('examples/datagram/echo.mjs echoes datagrams', async () => {
  const child = spawn(process.execPath, [echo, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] })
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = ''
      child.stdout.on('data', (d: Buffer) => {
        out += d
        const m = /listening on (\S+):(\d+)/.exec(out)
        if (m) resolve(Number(m[2]))
      })
      child.on('exit', (c) => reject(new Error(`echo exited with ${c}: ${out}`)))
    })
    const client = dgram.createSocket('udp4')
    for (const text of ['one', 'two', 'three']) {
      const got = once(client, 'message')
      client.send(text, port, '127.0.0.1')
      const [msg, rinfo] = (await got) as [Buffer, dgram.RemoteInfo]
      expect(msg.toString()).toBe(text)
      expect(rinfo.port).toBe(port)
    }
    client.close()
  } finally {
    const exited = once(child, 'exit')
    child.kill('SIGTERM')
    const [code, signal] = await exited
    expect(code === 0 || signal === 'SIGTERM').toBe(true)
  }
})
