import { Readable } from 'node:stream'

/**
 * A message body as a Readable stream, with helpers that read it whole: `buffer()`,
 * `text()`, `json()` and `arrayBuffer()`. Base of {@link IncomingMessage} (server side)
 * and {@link ClientResponse} (client side).
 */
export class BodyReadable extends Readable {
  /** Reads the whole body into one Buffer. */
  async buffer(): Promise<Buffer> {
    const chunks: Buffer[] = []
    for await (const c of this) chunks.push(c as Buffer)
    return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)
  }

  /** Reads the whole body as UTF-8 text. */
  async text(): Promise<string> {
    return (await this.buffer()).toString('utf8')
  }

  /** Reads the whole body and parses it as JSON. */
  async json<T = unknown>(): Promise<T> {
    return JSON.parse(await this.text()) as T
  }

  /** Reads the whole body into an ArrayBuffer. */
  async arrayBuffer(): Promise<ArrayBuffer> {
    const b = await this.buffer()
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer
  }
}
