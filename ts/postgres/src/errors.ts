import { IocrateError } from '@iocrate/core'

/** Error codes raised by the client itself (server errors carry their SQLSTATE instead). */
export const PgErrorCodes = {
  /** The server sent bytes that are not the protocol; the connection was dropped. */
  PROTOCOL: 'ERR_PG_PROTOCOL',
  /** A message exceeded a limit. */
  LIMIT: 'ERR_PG_LIMIT',
  /** Authentication failed on the client side (SCRAM signature, unsupported method). */
  AUTH: 'ERR_PG_AUTH',
  /** The server asked for an authentication method the client does not do. */
  AUTH_UNSUPPORTED: 'ERR_PG_AUTH_UNSUPPORTED',
  /** A value could not be encoded as a parameter. */
  ENCODE: 'ERR_PG_ENCODE',
  /** The connection was lost before the query was answered (it may have run). */
  CONNECTION_LOST: 'ERR_PG_CONNECTION_LOST',
  /** The client was closed; the query was not sent. */
  CLOSED: 'ERR_PG_CLOSED',
  /** The query ran past its `timeout` and was cancelled on the server. */
  TIMEOUT: 'ERR_PG_TIMEOUT',
  /** Pool: no connection became available within `acquireTimeout`. */
  ACQUIRE_TIMEOUT: 'ERR_PG_ACQUIRE_TIMEOUT',
  /** Pool: `COMMIT` was answered with a rollback (a statement of the transaction had failed). */
  TX_ROLLED_BACK: 'ERR_PG_TX_ROLLED_BACK',
  /** COPY through `query()`, or a COPY in the direction the call does not do. */
  COPY: 'ERR_PG_COPY',
  /** The server refused TLS (`sslmode` required it). */
  TLS_REFUSED: 'ERR_PG_TLS_REFUSED',
} as const

/** An error from the client (not from the server). */
export class PgClientError extends IocrateError {
  constructor(code: string, message: string, details: { cause?: unknown } = {}) {
    super(code, message, details)
    this.name = 'PgClientError'
  }
}

/**
 * An error the server reported (ErrorResponse), with every field it sent. `code` is the
 * SQLSTATE (`23505` unique_violation, `42601` syntax_error, `57014` query_canceled, ...).
 */
export class PostgresError extends IocrateError {
  /** `ERROR`, `FATAL`, `PANIC` (localized: see `severityLocal`). */
  readonly severity: string
  /** Localized severity. */
  readonly severityLocal?: string
  readonly detail?: string
  readonly hint?: string
  /** 1-based character position in the query. */
  readonly position?: number
  readonly internalPosition?: number
  readonly internalQuery?: string
  readonly where?: string
  readonly schema?: string
  readonly table?: string
  readonly column?: string
  readonly dataType?: string
  readonly constraint?: string
  readonly file?: string
  readonly line?: number
  readonly routine?: string

  constructor(fields: Map<string, string>) {
    // `code` is the SQLSTATE.
    super(fields.get('C') ?? 'XX000', fields.get('M') ?? 'unknown server error')
    this.name = 'PostgresError'
    this.severity = fields.get('V') ?? fields.get('S') ?? 'ERROR'
    const set = (k: string, name: string, num = false): void => {
      const v = fields.get(k)
      if (v !== undefined) Object.defineProperty(this, name, { value: num ? Number(v) : v, enumerable: true })
    }
    set('S', 'severityLocal')
    set('D', 'detail')
    set('H', 'hint')
    set('P', 'position', true)
    set('p', 'internalPosition', true)
    set('q', 'internalQuery')
    set('W', 'where')
    set('s', 'schema')
    set('t', 'table')
    set('c', 'column')
    set('d', 'dataType')
    set('n', 'constraint')
    set('F', 'file')
    set('L', 'line', true)
    set('R', 'routine')
  }
}
