/** A header value as `setHeader` accepts it. */
export type OutgoingHeaderValue = number | string | readonly string[]

/** Header fields as `writeHead` accepts them: an object, or a flat or paired raw list. */
export type OutgoingHeaders =
  | Record<string, OutgoingHeaderValue | undefined>
  | readonly string[]
  | readonly (readonly [string, OutgoingHeaderValue])[]

/** Incoming header fields with lower-case names, combined the way Node combines them. */
export type IncomingHttpHeaders = Record<string, string | string[] | undefined>

// Fields where Node keeps only the first value (RFC 9110 says they are singletons).
const SINGLE = new Set([
  'age', 'authorization', 'content-length', 'content-type', 'etag', 'expires', 'from', 'host',
  'if-modified-since', 'if-unmodified-since', 'last-modified', 'location', 'max-forwards',
  'proxy-authorization', 'referer', 'retry-after', 'server', 'user-agent',
])

/**
 * Builds Node's `headers` object from a flat raw list `[name, value, …]`: names lower
 * case; `set-cookie` an array; `cookie` joined with `; `; singletons keep the first
 * value; the rest joined with `, `.
 */
export function combineHeaders(raw: readonly string[], start = 0): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = Object.create(null) as IncomingHttpHeaders
  for (let i = start; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase()
    const value = raw[i + 1] as string
    const prev = out[name]
    if (prev === undefined) {
      out[name] = name === 'set-cookie' ? [value] : value
    } else if (name === 'set-cookie') {
      ;(prev as string[]).push(value)
    } else if (name === 'cookie') {
      out[name] = `${prev as string}; ${value}`
    } else if (!SINGLE.has(name)) {
      out[name] = `${prev as string}, ${value}`
    }
  }
  return out
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
// Field values, as Node checks them: tab, visible ASCII and obs-text (U+0080–U+00FF) only,
// so no CR, LF, NUL, other controls or characters that do not fit in one latin1 byte.
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/

/** Throws Node's error for an invalid header name. @internal */
export function checkName(name: string): void {
  if (typeof name !== 'string' || !TOKEN.test(name)) {
    throw Object.assign(new TypeError(`Header name must be a valid HTTP token ["${String(name)}"]`), {
      code: 'ERR_INVALID_HTTP_TOKEN',
    })
  }
}

/** Throws Node's error for an invalid header value. @internal */
export function checkValue(name: string, value: string): void {
  if (BAD_VALUE.test(value)) {
    throw Object.assign(new TypeError(`Invalid character in header content ["${name}"]`), { code: 'ERR_INVALID_CHAR' })
  }
}

/** Appends `\0name\0value` pairs for one field to `parts`. @internal */
export function pushField(parts: string[], name: string, value: OutgoingHeaderValue): void {
  if (Array.isArray(value)) {
    for (const v of value as readonly string[]) {
      const s = String(v)
      checkValue(name, s)
      parts.push(name, s)
    }
  } else {
    const s = String(value)
    checkValue(name, s)
    parts.push(name, s)
  }
}
