import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { createServer as netServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

export const root = resolve(import.meta.dirname, '../../..')

let dir: string | undefined
/** Generates the test PKI once per worker; returns its directory. */
export function certDir(): string {
  if (!dir) {
    dir = mkdtempSync(join(tmpdir(), 'iocrate-tls-test-'))
    execFileSync('bash', [join(root, 'scripts/gen-test-certs.sh'), dir], { stdio: 'ignore' })
  }
  return dir
}

export function pem(name: string): Buffer {
  return readFileSync(join(certDir(), name))
}

export function path(name: string): string {
  return join(certDir(), name)
}

export async function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = netServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port
      s.close(() => res(p))
    })
  })
}

const children: ChildProcess[] = []
export function killAll(): void {
  for (const c of children.splice(0)) c.kill('SIGKILL')
}

/** Starts `openssl s_server -rev` (reverses each line) and waits until it accepts. */
export async function sServer(name: string, extra: string[] = []): Promise<number> {
  const port = await freePort()
  const c = spawn('openssl', ['s_server', '-accept', `127.0.0.1:${port}`, '-quiet', '-rev', '-cert', path(`${name}.pem`), '-key', path(`${name}.key`), ...extra], {
    stdio: ['pipe', 'ignore', 'ignore'],
  })
  children.push(c)
  const { connect } = await import('node:net')
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((res) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy()
        res(true)
      })
      s.on('error', () => res(false))
    })
    if (ok) return port
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error('s_server did not start')
}

/** Runs `openssl s_client` with `input` on stdin; resolves with its stdout and exit code. */
export function sClient(port: number, extra: string[], input: string): Promise<{ out: string; code: number | null }> {
  return new Promise((res) => {
    const c = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-quiet', '-ign_eof', '-verify_return_error', '-CAfile', path('ca.pem'), ...extra])
    children.push(c)
    let out = ''
    c.stdout.on('data', (d: Buffer) => (out += d.toString()))
    c.stderr.on('data', (d: Buffer) => (out += d.toString()))
    const t = setTimeout(() => c.kill('SIGKILL'), 10_000)
    c.on('close', (code) => {
      clearTimeout(t)
      res({ out, code })
    })
    c.stdin.end(input)
  })
}
