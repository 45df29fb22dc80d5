import { Readable } from 'node:stream'

/**
 * A message body as a Readable stream, with helpers that read it whole: `buffer()`,
 * `text()`, `json()` and `arrayBuffer()`. Base of {@link IncomingMessage} (server side)
 * and {@link ClientResponse} (client side).
 */
export class BodyReadable extends Readable {
  /**
   * Reads the whole body into one Buffer. Rejects with the stream's error, or with
   * `ERR_STREAM_PREMATURE_CLOSE` if it is destroyed before its end.
   */
  buffer(): Promise<Buffer> {
    // Plain listeners rather than `for await`: an async iterator costs several promises
    // and listeners per body, which shows on small bodies.
    return new Promise((resolve, reject) => {
      if (this.errored) return reject(this.errored)
      if (this.destroyed) return reject(premature())
      const chunks: Buffer[] = []
      const onData = (c: Buffer): void => {
        chunks.push(c)
      }
      const done = (): void => {
        this.off('data', onData)
        this.off('end', onEnd)
        this.off('error', onError)
        this.off('close', onClose)
      }
      const onEnd = (): void => {
        done()
        resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks))
      }
      const onError = (err: Error): void => {
        done()
        reject(err)
      }
      const onClose = (): void => {
        if (this.readableEnded) return
        done()
        reject(this.errored ?? premature())
      }
      this.on('data', onData)
      this.on('end', onEnd)
      this.on('error', onError)
      this.on('close', onClose)
    })
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

function premature(): Error {
  return Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' })
}
