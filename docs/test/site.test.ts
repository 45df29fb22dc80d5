// Checks the documentation site: every page exists in English and Chinese, the site
// builds (including the TypeDoc API reference), Chinese search tokenizes words, and
// the error code registry is complete in both languages.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import config from '../.vitepress/config.mts'

const docsDir = fileURLToPath(new URL('..', import.meta.url))
const repoRoot = join(docsDir, '..')
const distDir = join(docsDir, '.vitepress', 'dist')

/** Markdown pages of the site, relative to `dir`, with `/` separators. */
function pages(dir: string, skip: (rel: string) => boolean): string[] {
  const out: string[] = []
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const full = join(d, name)
      const rel = relative(dir, full).split(sep).join('/')
      if (name.startsWith('.') || name === 'node_modules' || skip(rel)) continue
      if (statSync(full).isDirectory()) walk(full)
      else if (name.endsWith('.md')) out.push(rel)
    }
  }
  walk(dir)
  return out.sort()
}

const notSite = (rel: string) =>
  rel === 'api' || rel === 'test' || rel === 'public' || rel === 'zh/api' || rel === 'README.md'
const english = pages(docsDir, (rel) => notSite(rel) || rel === 'zh')
const chinese = pages(join(docsDir, 'zh'), (rel) => rel === 'api')

describe('locales', () => {
  it('has the expected pages', () => {
    for (const page of [
      'index.md',
      'guide/getting-started.md',
      'guide/architecture.md',
      'modules/net.md',
      'modules/datagram.md',
      'modules/tls.md',
      'benchmarks.md',
      'errors.md',
      'known-problems.md',
      'fuzzing.md',
      'api-reference.md',
    ]) {
      expect(english).toContain(page)
    }
  })

  it('mirrors every English page in Chinese and vice versa', () => {
    expect(chinese).toEqual(english)
  })

  it('writes the Chinese pages in Chinese', () => {
    for (const page of chinese) {
      const text = readFileSync(join(docsDir, 'zh', page), 'utf8')
      expect(text, page).toMatch(/[\u4e00-\u9fff]{4,}/)
    }
  })
})

describe('search tokenizer', () => {
  const miniSearch = (config.themeConfig as any).search.options.miniSearch
  const fromConfig: Array<[string, (text: string) => string[]]> = [
    ['miniSearch.options.tokenize', miniSearch.options.tokenize],
    ['miniSearch.searchOptions.tokenize', miniSearch.searchOptions.tokenize],
  ]

  for (const [where, fn] of fromConfig) {
    it(`${where} splits Chinese into words`, () => {
      expect(typeof fn).toBe('function')
      // VitePress ships the function to the browser as source text and rebuilds it with
      // `new Function`; do the same so a closure over module state would fail here.
      const rebuilt = new Function(`return ${fn.toString()}`)() as (text: string) => string[]
      for (const tokenize of [fn, rebuilt]) {
        const tokens = tokenize('网络运行时')
        expect(tokens.length).toBeGreaterThan(1)
        expect(tokens).toContain('网络')
        const mixed = tokenize('iocrate 是一个原生加速的网络运行时，支持 TLS 与 UDP')
        expect(mixed).toEqual(expect.arrayContaining(['iocrate', '网络', 'TLS', 'UDP']))
        expect(mixed.every((t) => !/[\s，。]/.test(t))).toBe(true)
      }
    })
  }

  it('handles English words and identifiers', () => {
    const tokenize = miniSearch.options.tokenize as (text: string) => string[]
    expect(tokenize('A native-accelerated network runtime.')).toEqual(
      expect.arrayContaining(['A', 'native', 'accelerated', 'network', 'runtime']),
    )
    expect(tokenize('ERR_IOCRATE_TLS_ALERT')).toEqual(
      expect.arrayContaining(['ERR_IOCRATE_TLS_ALERT', 'TLS', 'ALERT']),
    )
  })
})

describe('error code registry', () => {
  const codes = JSON.parse(
    readFileSync(join(docsDir, '.vitepress', 'error-codes.json'), 'utf8'),
  ) as Array<{ code: string; en: string; zh: string }>

  it('documents every code in English and Chinese', () => {
    expect(codes.length).toBeGreaterThan(0)
    for (const entry of codes) {
      expect(entry.code, JSON.stringify(entry)).toMatch(/^(E[A-Z]+|ERR_[A-Z0-9_]+)$/)
      expect(entry.en?.trim().length, entry.code).toBeGreaterThan(10)
      expect(entry.zh?.trim().length, entry.code).toBeGreaterThan(4)
      expect(entry.zh, entry.code).toMatch(/[\u4e00-\u9fff]/)
    }
  })

  it('has no duplicates and includes the known codes', () => {
    const list = codes.map((c) => c.code)
    expect(new Set(list).size).toBe(list.length)
    expect(list).toEqual(
      expect.arrayContaining([
        'ECONNREFUSED', 'ECONNRESET', 'EADDRINUSE', 'ETIMEDOUT', 'EPIPE', 'EMSGSIZE', 'ENOENT',
        'EACCES', 'ERR_IOCRATE_NATIVE_NOT_FOUND', 'ERR_IOCRATE_RUNTIME_CONFIG',
        'ERR_IOCRATE_TLS_CERT_UNTRUSTED', 'ERR_IOCRATE_TLS_HOSTNAME_MISMATCH',
        'ERR_IOCRATE_TLS_CERT_EXPIRED', 'ERR_IOCRATE_TLS_HANDSHAKE', 'ERR_IOCRATE_TLS_ALERT',
        'ERR_IOCRATE_TLS_BAD_CONFIG', 'ERR_IOCRATE_DGRAM_TRUNCATED', 'ERR_SOCKET_CLOSED',
        'ERR_STREAM_WRITE_AFTER_END', 'ERR_INVALID_ARG_VALUE',
      ]),
    )
  })
})

describe('docs build', () => {
  it('builds every page in both locales plus the API reference', { timeout: 300_000 }, () => {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
    const result = spawnSync(npm, ['run', 'docs:build'], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 280_000,
      shell: process.platform === 'win32',
    })
    const output = `${result.stdout ?? ''}\n${result.stderr ?? ''}`
    expect(result.error, output).toBeUndefined()
    expect(result.status, output).toBe(0)

    const html = (page: string) => join(distDir, page.replace(/\.md$/, '.html'))
    for (const page of english) {
      expect(existsSync(html(page)), `missing ${page}`).toBe(true)
      expect(existsSync(html(`zh/${page}`)), `missing zh/${page}`).toBe(true)
    }
    expect(existsSync(join(distDir, 'api', 'index.html')), 'missing api/index.html').toBe(true)

    // The error table and the benchmark tables are rendered at build time.
    const errors = readFileSync(html('errors.md'), 'utf8')
    expect(errors).toContain('ERR_IOCRATE_TLS_HOSTNAME_MISMATCH')
    expect(readFileSync(html('zh/errors.md'), 'utf8')).toContain('对端拒绝了连接')
    expect(readFileSync(html('benchmarks.md'), 'utf8')).toContain('iocrate-bench')

    // The Chinese search index holds Chinese words, not whole sentences.
    const chunks = join(distDir, 'assets', 'chunks')
    const zhIndex = readdirSync(chunks).find((f) => f.startsWith('@localSearchIndexzh'))
    expect(zhIndex, 'no Chinese search index').toBeDefined()
    expect(readFileSync(join(chunks, zhIndex!), 'utf8')).toContain('"网络"')
  })
})
