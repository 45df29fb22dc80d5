'use strict'
// Finds and loads the iocrate addon for this platform. Hand-written (not generated):
// 1. IOCRATE_NATIVE_PATH (or NAPI_RS_NATIVE_LIBRARY_PATH), a path to a .node file;
// 2. a local build next to this file: iocrate.<platform>.node (`npm run build:native`);
// 3. the platform package @iocrate/native-<platform>, installed as an optional dependency.
// Otherwise it throws an Error with code ERR_IOCRATE_NATIVE_NOT_FOUND that names the
// platform and what to do.

const { join } = require('node:path')
const { existsSync, readFileSync } = require('node:fs')

function isMusl() {
  if (process.platform !== 'linux') return false
  try {
    const report = typeof process.report?.getReport === 'function' ? process.report.getReport() : null
    if (report && report.header) return !report.header.glibcVersionRuntime
  } catch {}
  try {
    return readFileSync('/usr/bin/ldd', 'utf8').includes('musl')
  } catch {
    return false
  }
}

function platformTriple() {
  const { platform, arch } = process
  if (platform === 'linux') return `linux-${arch}-${isMusl() ? 'musl' : 'gnu'}`
  if (platform === 'win32') return `win32-${arch}-msvc`
  return `${platform}-${arch}`
}

const SUPPORTED = [
  'linux-x64-gnu', 'linux-arm64-gnu', 'linux-x64-musl', 'linux-arm64-musl',
  'darwin-x64', 'darwin-arm64', 'win32-x64-msvc',
]

function load() {
  const triple = platformTriple()
  const tried = []
  const explicit = process.env.IOCRATE_NATIVE_PATH || process.env.NAPI_RS_NATIVE_LIBRARY_PATH
  if (explicit) {
    try {
      return require(explicit)
    } catch (e) {
      tried.push(`${explicit}: ${e.message}`)
    }
  }
  const local = join(__dirname, `iocrate.${triple}.node`)
  if (existsSync(local)) {
    try {
      return require(local)
    } catch (e) {
      tried.push(`${local}: ${e.message}`)
    }
  } else {
    tried.push(`${local}: not found`)
  }
  const pkg = `@iocrate/native-${triple}`
  try {
    return require(pkg)
  } catch (e) {
    tried.push(`${pkg}: ${e.code === 'MODULE_NOT_FOUND' ? 'not installed' : e.message}`)
  }
  const supported = SUPPORTED.includes(triple)
  const advice = supported
    ? `Install the prebuilt binary: reinstall with optional dependencies enabled ` +
      `(\`npm install\` without --no-optional / --omit=optional, so that ${pkg} is installed), ` +
      `or build from source with a Rust toolchain: \`npm run build:native\`.`
    : `No prebuilt binary is published for ${triple} (prebuilt: ${SUPPORTED.join(', ')}). ` +
      `Build from source with a Rust toolchain: \`npm run build:native\`, or point IOCRATE_NATIVE_PATH at a built .node file.`
  const err = new Error(
    `iocrate: no native addon for this platform (${triple}, Node ${process.version}). ${advice}\nTried:\n  ${tried.join('\n  ')}`,
  )
  err.code = 'ERR_IOCRATE_NATIVE_NOT_FOUND'
  err.platform = triple
  err.tried = tried
  throw err
}

module.exports = load()
module.exports.__platform = platformTriple()
