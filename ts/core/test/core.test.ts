import { readFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { ErrorCodes, IocrateError, benchBridge, configure, runtimeInfo, errorFromInfo, isErrorInfo } from '@iocrate/core'

const root = new URL('../../../', import.meta.url)

describe('@iocrate/core', () => {
  it('documents every error code in the docs registry (en + zh)', () => {
    const listed = JSON.parse(readFileSync(new URL('docs/.vitepress/error-codes.json', root), 'utf8')) as Array<{ code: string; en: string; zh: string }>
    const codes = new Set(listed.map((e) => e.code))
    for (const code of Object.values(ErrorCodes)) expect(codes, `docs list ${code}`).toContain(code)
  })

  it('turns native error descriptions into IocrateError', () => {
    const info = { code: 'ECONNREFUSED', errno: -111, syscall: 'connect', message: 'connect ECONNREFUSED 127.0.0.1:1', address: '127.0.0.1', port: 1, isErrorInfo: true }
    expect(isErrorInfo(info)).toBe(true)
    const e = errorFromInfo(info)
    expect(e).toBeInstanceOf(IocrateError)
    expect(e).toMatchObject({ code: 'ECONNREFUSED', errno: -111, syscall: 'connect', address: '127.0.0.1', port: 1 })
  })

  it('reports the runtime and refuses bad worker counts', () => {
    const info = runtimeInfo()
    expect(info.workers).toBeGreaterThanOrEqual(1)
    expect(() => configure({ workers: 0 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }))
  })

  it('delivers bridge events batched and unbatched, all of them, in order of count', async () => {
    const a = await benchBridge(20_000, true)
    const b = await benchBridge(20_000, false)
    expect(a.events).toBe(20_000)
    expect(b.events).toBe(20_000)
  })

  it('honours IOCRATE_WORKERS and refuses a change once started', () => {
    const script = `
      import { configure, runtimeInfo, benchBridge } from '@iocrate/core'
      const before = runtimeInfo()
      await benchBridge(10, true)
      let refused = ''
      try { configure({ workers: before.workers + 1 }) } catch (e) { refused = e.code }
      configure({ workers: before.workers })
      console.log(JSON.stringify({ before, after: runtimeInfo(), refused }))
    `
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, IOCRATE_WORKERS: '3' },
      cwd: new URL('.', import.meta.url),
      encoding: 'utf8',
      timeout: 20_000,
    })
    expect(r.status, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout)
    expect(out.before).toMatchObject({ workers: 3, started: false })
    expect(out.after).toMatchObject({ workers: 3, started: true })
    expect(out.refused).toBe('ERR_IOCRATE_RUNTIME_CONFIG')
  })

  it('exits by itself when nothing is open, even after the runtime started', () => {
    const script = `import { benchBridge } from '@iocrate/core'; await benchBridge(1000, true); console.log('done')`
    const t0 = Date.now()
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: new URL('.', import.meta.url), encoding: 'utf8', timeout: 15_000 })
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout.trim()).toBe('done')
    expect(Date.now() - t0).toBeLessThan(10_000)
  })

  it('names the platform and what to do when no addon is found', () => {
    const script = `require('@iocrate/native')`
    const r = spawnSync(process.execPath, ['-e', script], {
      env: { ...process.env, IOCRATE_NATIVE_PATH: '/nonexistent/iocrate.node' },
      cwd: new URL('.', import.meta.url),
      encoding: 'utf8',
      timeout: 15_000,
    })
    // The explicit path fails, but the local build is still found: loading succeeds.
    expect(r.status, r.stderr).toBe(0)
    const r2 = spawnSync(process.execPath, ['-e', `
      const Module = require('module'); const fs = require('fs');
      const orig = fs.existsSync; fs.existsSync = (p) => String(p).endsWith('.node') ? false : orig(p);
      try { require('@iocrate/native'); console.log('loaded') } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message, platform: e.platform })) }
    `], { cwd: new URL('.', import.meta.url), encoding: 'utf8', timeout: 15_000 })
    const out = JSON.parse(r2.stdout)
    expect(out.code).toBe('ERR_IOCRATE_NATIVE_NOT_FOUND')
    expect(out.message).toContain(out.platform)
    expect(out.message).toMatch(/npm run build:native|npm install/)
  })
})
