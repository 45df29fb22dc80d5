// The `sql` tagged template and its fragments. Theory of operation: a fragment is a template
// (text pieces around values); `id` and `list` are fragments too (`id` a single quoted piece,
// `list` the pieces `(`, `, `, `)` around its values). Compiling walks the tree once: a value
// that is a fragment is expanded in place, any other value is pushed as the next `$n`. So the
// text sent to the server only ever holds what the template author wrote, quoted identifiers,
// and `$n` placeholders — never a value.
import { invalidArg } from '@iocrate/core'
import type { SqlQuery } from './client.js'
import type { PgParam, QueryResult } from './connection.js'
import { PgClientError, PgErrorCodes } from './errors.js'
import type { PgValue } from './events.js'

/** What a template may interpolate: a parameter (sent as `$n`) or a fragment (expanded). */
export type SqlValue = PgParam | SqlFragment | PendingQuery<unknown>

/** The protocol's limit: Bind carries the parameter count in an int16. */
const MAX_PARAMS = 65535

/**
 * A piece of SQL with its parameters, made by {@link sql}, {@link sql.id} or {@link sql.list}.
 * Interpolated into another template it is expanded there, its parameters renumbered.
 */
export class SqlFragment {
  readonly #strings: readonly string[]
  readonly #values: readonly SqlValue[]

  /** @internal */
  constructor(strings: readonly string[], values: readonly SqlValue[]) {
    this.#strings = strings
    this.#values = values
  }

  /** The text (with `$1`, `$2`, ...) and the parameters this fragment compiles to. */
  toQuery(): SqlQuery {
    const params: PgParam[] = []
    const text = emit(this, params)
    return { text, params }
  }

  /** @internal */
  static emit(f: SqlFragment, params: PgParam[]): string {
    const s = f.#strings
    const v = f.#values
    let text = s[0]!
    for (let i = 0; i < v.length; i++) {
      const x = v[i]
      const inner = fragmentOf(x)
      if (inner !== undefined) text += emit(inner, params)
      else {
        if (params.length === MAX_PARAMS) throw new PgClientError(PgErrorCodes.ENCODE, `a query takes at most ${MAX_PARAMS} parameters`)
        params.push(x as PgParam)
        text += '$' + params.length
      }
      text += s[i + 1]!
    }
    return text
  }
}

const emit = SqlFragment.emit

function fragmentOf(x: unknown): SqlFragment | undefined {
  if (x instanceof SqlFragment) return x
  if (x instanceof PendingQuery) return PendingQuery.fragmentOf(x as PendingQuery<unknown>)
  return undefined
}

/** Rows of a query, with the command's tag: `rows.count`, `rows.command`, `rows.columns`. */
export type RowList<Row> = Row[] & {
  /** Rows affected or returned, from the command tag. */
  readonly count: number
  /** `SELECT`, `INSERT`, `UPDATE`, ... */
  readonly command: string
  /** Column names, in order. */
  readonly columns: readonly string[]
}

/** @internal */
export function rowList<Row>(r: QueryResult<Row>): RowList<Row> {
  return Object.defineProperties(r.rows, {
    count: { value: r.count },
    command: { value: r.command },
    columns: { value: r.columns },
  }) as RowList<Row>
}

/**
 * A query made by a pool's (or transaction's) tagged template: a Promise of its rows that runs
 * only when awaited (`then`), so it can also be interpolated into another template as a
 * fragment without running. `execute()` sends it without awaiting.
 */
export class PendingQuery<Row> extends Promise<RowList<Row>> {
  // `then` must make plain Promises, not PendingQueries (whose constructor takes no executor).
  static override get [Symbol.species](): PromiseConstructor {
    return Promise
  }

  readonly #fragment: SqlFragment
  #run: ((q: SqlQuery) => Promise<QueryResult<Row>>) | undefined
  #settle: { resolve: (v: RowList<Row>) => void; reject: (e: unknown) => void }

  /** @internal */
  constructor(fragment: SqlFragment, run: (q: SqlQuery) => Promise<QueryResult<Row>>) {
    let settle: { resolve: (v: RowList<Row>) => void; reject: (e: unknown) => void } | undefined
    super((resolve, reject) => (settle = { resolve, reject }))
    this.#fragment = fragment
    this.#run = run
    this.#settle = settle!
  }

  /** Sends the query now (it is otherwise sent on the first `then`/`await`). */
  execute(): this {
    const run = this.#run
    if (run === undefined) return this
    this.#run = undefined
    const { resolve, reject } = this.#settle
    try {
      run(this.#fragment.toQuery()).then((r) => resolve(rowList(r)), reject)
    } catch (err) {
      reject(err)
    }
    return this
  }

  /** @internal */
  static fragmentOf(q: PendingQuery<unknown>): SqlFragment {
    return q.#fragment
  }

  /** The text and parameters that will be sent. */
  toQuery(): SqlQuery {
    return this.#fragment.toQuery()
  }

  /** Sends the query (once) and chains on its rows, like `Promise.prototype.then`. */
  override then<A = RowList<Row>, B = never>(
    onfulfilled?: ((value: RowList<Row>) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    this.execute()
    return super.then(onfulfilled, onrejected)
  }
}

/** Quotes an identifier: `"` around it, inner `"` doubled. @internal */
export function quoteIdent(name: string): string {
  if (typeof name !== 'string' || name.length === 0) throw invalidArg('name', name, 'must be a non-empty string')
  if (name.includes('\0')) throw invalidArg('name', name, 'must not contain NUL')
  return '"' + name.replace(/"/g, '""') + '"'
}

/** The `sql` tag with its fragment helpers. */
export interface SqlFragmentTag {
  /**
   * A fragment: `` sql`where id = ${id}` ``. Every `${value}` becomes a parameter (`$n`),
   * except fragments, which are expanded in place with their parameters renumbered.
   */
  (strings: TemplateStringsArray, ...values: SqlValue[]): SqlFragment
  /**
   * A quoted identifier: `sql.id('users')` → `"users"`, `sql.id(['app', 'users'])` →
   * `"app"."users"`. Inner `"` are doubled, so any string stays one identifier. PostgreSQL
   * truncates identifiers longer than 63 bytes.
   */
  id(name: string | readonly string[]): SqlFragment
  /**
   * A parenthesized list of parameters: `sql.list([1, 2])` → `($1, $2)`, for `in` and
   * `values`. Elements that are fragments are expanded. An empty list gives `(NULL)`, so
   * `x in ${sql.list([])}` matches no row (and `x not in (NULL)` none either: NULL semantics).
   */
  list(values: readonly SqlValue[]): SqlFragment
}

/** Builds the fragment of a template (also what a pool's tag wraps). @internal */
export function fragment(strings: TemplateStringsArray, values: readonly SqlValue[]): SqlFragment {
  if (!Array.isArray(strings) || strings.length !== values.length + 1) throw invalidArg('strings', strings, 'must be the strings of a tagged template')
  for (const s of strings) if (s === undefined) throw invalidArg('strings', s, 'has an invalid escape sequence')
  return new SqlFragment(strings, values)
}

/** @internal */
export function id(name: string | readonly string[]): SqlFragment {
  const parts = typeof name === 'string' ? [name] : name
  if (!Array.isArray(parts) || parts.length === 0) throw invalidArg('name', name, 'must be a string or a non-empty array of strings')
  return new SqlFragment([parts.map(quoteIdent).join('.')], [])
}

/** @internal */
export function list(values: readonly SqlValue[]): SqlFragment {
  if (!Array.isArray(values)) throw invalidArg('values', values, 'must be an array')
  if (values.length === 0) return new SqlFragment(['(NULL)'], [])
  const strings = ['(']
  for (let i = 1; i < values.length; i++) strings.push(', ')
  strings.push(')')
  return new SqlFragment(strings, [...values])
}

/**
 * Builds SQL fragments, always parameterized:
 *
 * ```ts
 * const q = sql`select * from ${sql.id('users')} where id in ${sql.list([1, 2])} and name = ${name}`
 * q.toQuery() // { text: 'select * from "users" where id in ($1, $2) and name = $3', params: [1, 2, name] }
 * await pool`${q} limit 10`
 * ```
 *
 * There is deliberately no `sql.raw(text)`: splicing text into a query is how injection
 * happens, and a fragment is only ever made of template text the author wrote, quoted
 * identifiers and parameters. Compose with nested fragments instead (`` sql`order by ${sql.id(col)} desc` ``).
 */
export const sql: SqlFragmentTag = Object.assign((strings: TemplateStringsArray, ...values: SqlValue[]): SqlFragment => fragment(strings, values), { id, list })

/** The default row type. */
export type DefaultRow = Record<string, PgValue>
