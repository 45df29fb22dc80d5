/**
 * `@iocrate/postgres` (work in progress): a PostgreSQL client whose protocol codec runs in
 * Rust (crates/postgres) — each socket read is decoded, rows included, in one call.
 * @packageDocumentation
 */
export { Client, connect } from './client.js'
export type { ClientOptions, SqlQuery } from './client.js'
export type { CursorOptions, PgParam, QueryOptions, QueryResult, SslOptions } from './connection.js'
export { PgClientError, PgErrorCodes, PostgresError } from './errors.js'
export type { Int8Mode, PgJson, PgValue } from './events.js'
export { PendingQuery, sql, SqlFragment } from './sql.js'
export type { DefaultRow, RowList, SqlFragmentTag, SqlValue } from './sql.js'
export { createPool, PoolErrorCodes } from './pool.js'
export type { Listening, NotificationListener, PoolOptions, PoolStats, ReservedSql, SessionSql, Sql, SqlTag, Transaction, TransactionOptions } from './pool.js'
