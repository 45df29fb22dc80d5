// Type round-trips against the real PostgreSQL 15 of scripts/services.sh, over plain TCP
// and TLS: every value sent as a parameter and read back, and read from SQL literals.
// Results come in text format, so what is checked here is crates/postgres's text decoders
// (types/decode.rs `text`, datetime.rs, array.rs) plus the TS parameter encoder.
//
// `it.fails` marks a known bug (reported, not fixed here: the fix belongs in ts/postgres/src
// or the binding); such a test starts failing — i.e. tells you — once the bug is fixed.
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect, type Client, type ClientOptions, type PgParam, type PgValue } from '@iocrate/postgres'
import { services, utc } from './helpers.js'

const env = services().postgres

const targets: Array<[string, ClientOptions]> = [
  ['plain TCP', { url: env.url }],
  ['TLS', { url: env.url, ssl: { ca: readFileSync(env.tls.ca) } }],
]

const all256 = Buffer.from(Array.from({ length: 256 }, (_, i) => i))

describe.each(targets)('types over %s', (_name, opts) => {
  let c: Client

  beforeAll(async () => {
    c = await connect(opts)
  })
  afterAll(async () => {
    await c.end()
  })

  /** The first row of a query, as an array. */
  /**
   * Runs the query twice: the first run prepares the statement and reads text results; the
   * second gets binary results wherever the codec decodes them. Both must read the same.
   */
  async function row(text: string, params: PgParam[] = []): Promise<PgValue[]> {
    const r = await c.query<PgValue[]>(text, params, { rowMode: 'array' })
    const binary = await c.query<PgValue[]>(text, params, { rowMode: 'array' })
    expect(binary.rows, `binary results of: ${text}`).toEqual(r.rows)
    return r.rows[0]!
  }
  /** `select $1::<type>`: the value the server parsed, read back. */
  async function rt(type: string, v: PgParam): Promise<PgValue> {
    return (await row(`select $1::${type}`, [v]))[0]!
  }

  it('runs over the intended transport', async () => {
    const [ssl] = await row(`select ssl from pg_stat_ssl where pid = pg_backend_pid()`)
    expect(ssl).toBe(opts.ssl !== undefined)
  })

  describe('integers', () => {
    it('int2 and int4 are numbers, min and max included', async () => {
      expect(await row(`select '-32768'::int2, '32767'::int2, '-2147483648'::int4, 2147483647::int4, 0::int2`)).toEqual([-32768, 32767, -2147483648, 2147483647, 0])
      for (const v of [-32768, 32767, 0]) expect(await rt('int2', v)).toBe(v)
      for (const v of [-2147483648, 2147483647, -1]) expect(await rt('int4', v)).toBe(v)
    })

    it('an out-of-range parameter is the server error 22003', async () => {
      await expect(rt('int2', 32768)).rejects.toMatchObject({ name: 'PostgresError', code: '22003' })
      await expect(rt('int4', 2 ** 31)).rejects.toMatchObject({ code: '22003' })
      await expect(rt('int4', 1.5)).rejects.toMatchObject({ code: '22P02' })
    })

    it('int8 is an exact string by default (count(*) too)', async () => {
      expect(await row(`select '-9223372036854775808'::int8, '9223372036854775807'::int8, count(*) from (values (1), (2)) v`)).toEqual(['-9223372036854775808', '9223372036854775807', '2'])
      expect(await rt('int8', 2n ** 63n - 1n)).toBe('9223372036854775807')
      expect(await rt('int8', -(2n ** 63n))).toBe('-9223372036854775808')
      expect(await rt('int8', '9007199254740993')).toBe('9007199254740993')
      expect(await rt('int8', 42)).toBe('42')
    })

    it('int8 as bigint and as number by option', async () => {
      await using b = await connect({ ...opts, int8: 'bigint' })
      const r = await b.query<PgValue[]>(`select '-9223372036854775808'::int8, $1::int8, array[1, null, 9223372036854775807]::int8[]`, [2n ** 63n - 1n], { rowMode: 'array' })
      expect(r.rows[0]).toEqual([-(2n ** 63n), 2n ** 63n - 1n, [1n, null, 2n ** 63n - 1n]])
      await using n = await connect({ ...opts, int8: 'number' })
      const [[small, max]] = (await n.query<PgValue[]>(`select 9007199254740991::int8, '9223372036854775807'::int8`, [], { rowMode: 'array' })).rows as [[number, number]]
      expect(small).toBe(Number.MAX_SAFE_INTEGER)
      // Beyond 2^53 a number is the nearest double: what the option asks for.
      expect(max).toBe(2 ** 63)
    })

    it('oid is a plain number (it always fits a double)', async () => {
      expect(await row(`select 'pg_class'::regclass::oid, 4294967295::oid`)).toEqual([1259, 4294967295])
    })
  })

  describe('floats', () => {
    it('float8: exact doubles, NaN, ±Infinity and -0', async () => {
      const [a, b, nan, inf, ninf, nz, tiny] = await row(`select 0.1::float8, 1e308::float8, 'NaN'::float8, 'Infinity'::float8, '-Infinity'::float8, '-0'::float8, 5e-324::float8`)
      expect(a).toBe(0.1)
      expect(b).toBe(1e308)
      expect(nan).toBeNaN()
      expect(inf).toBe(Infinity)
      expect(ninf).toBe(-Infinity)
      expect(Object.is(nz, -0)).toBe(true)
      expect(tiny).toBe(5e-324)
      for (const v of [0.1, 1 / 3, -1e-300, 1.7976931348623157e308, Infinity, -Infinity]) expect(await rt('float8', v)).toBe(v)
      expect(await rt('float8', NaN)).toBeNaN()
    })

    it('float4: the decimal PostgreSQL prints (0.1, not the widened float), NaN, ±Infinity, -0', async () => {
      const [a, b, nan, inf, ninf, nz] = await row(`select 0.1::float4, 1.5::float4, 'NaN'::float4, 'Infinity'::float4, '-Infinity'::float4, '-0'::float4`)
      expect(a).toBe(0.1)
      expect(b).toBe(1.5)
      expect(nan).toBeNaN()
      expect(inf).toBe(Infinity)
      expect(ninf).toBe(-Infinity)
      expect(Object.is(nz, -0)).toBe(true)
      // The largest float4 prints as 3.4028235e+38, and that decimal is what comes back.
      expect(await rt('float4', 3.4028234663852886e38)).toBe(3.4028235e38)
      expect(await rt('float4', -Infinity)).toBe(-Infinity)
    })

    it('a -0 parameter keeps its sign', async () => {
      expect(Object.is(await rt('float8', -0), -0)).toBe(true)
    })
  })

  describe('numeric', () => {
    it('is an exact string: big, scale kept, NaN, ±Infinity', async () => {
      expect(await row(`select 123456789012345678901234567890.123456789::numeric, 1.5::numeric(10,4), 'NaN'::numeric, 'Infinity'::numeric, '-Infinity'::numeric, -0.000001::numeric, 0::numeric`)).toEqual([
        '123456789012345678901234567890.123456789',
        '1.5000',
        'NaN',
        'Infinity',
        '-Infinity',
        '-0.000001',
        '0',
      ])
      expect(await rt('numeric', '-98765432109876543210.0123456789')).toBe('-98765432109876543210.0123456789')
      expect(await rt('numeric', 'NaN')).toBe('NaN')
      expect(await rt('numeric', 0.1)).toBe('0.1')
      expect(await rt('numeric', 10n ** 40n)).toBe('1' + '0'.repeat(40))
    })
  })

  describe('bool', () => {
    it('true, false and null', async () => {
      expect(await row(`select true, false, null::bool, $1::bool, $2::bool, $3::bool`, [true, false, null])).toEqual([true, false, null, true, false, null])
    })
  })

  describe('text types', () => {
    it('text and varchar round-trip any UTF-8; char(n) is blank-padded', async () => {
      const s = `quotes ' " back\\slash, {braces} é 😀 \u2028 tab\there`
      expect(await rt('text', s)).toBe(s)
      expect(await rt('varchar', s)).toBe(s)
      expect(await rt('varchar(3)', 'abc')).toBe('abc')
      expect(await rt('text', '')).toBe('')
      expect(await row(`select 'abc'::char(5), $1::char(3), 'x'::"char", 'pg_class'::name`, ['ab'])).toEqual(['abc  ', 'ab ', 'x', 'pg_class'])
    })

    it('a NUL character is refused by the server (22021)', async () => {
      await expect(rt('text', 'a\u0000b')).rejects.toMatchObject({ code: '22021' })
    })
  })

  describe('bytea', () => {
    it('all 256 byte values, and empty, as Buffers (sent binary)', async () => {
      const [lit, empty] = await row(`select decode('${all256.toString('hex')}', 'hex'), ''::bytea`)
      expect(lit).toEqual(all256)
      expect(Buffer.isBuffer(lit)).toBe(true)
      expect(empty).toEqual(Buffer.alloc(0))
      expect(await rt('bytea', all256)).toEqual(all256)
      expect(await rt('bytea', Buffer.alloc(0))).toEqual(Buffer.alloc(0))
      expect(await row(`select length($1::bytea), $2::text`, [all256, 'next'])).toEqual([256, 'next'])
    })

    it('reads the escape output format too (bytea_output = escape)', async () => {
      await using e = await connect(opts)
      await e.query(`set bytea_output = 'escape'`)
      const r = await e.query<PgValue[]>(`select $1::bytea, '\\x5c00'::bytea, array[$1::bytea, '\\x5c22'::bytea, '']`, [all256], { rowMode: 'array' })
      expect(r.rows[0]).toEqual([all256, Buffer.from([0x5c, 0]), [all256, Buffer.from([0x5c, 0x22]), Buffer.alloc(0)]])
    })
  })

  describe('json and jsonb', () => {
    it('nested values, unicode and numbers are parsed', async () => {
      const doc = { a: [1, -2.5, 1e21, null, true, 'é😀"\\'], b: { c: { d: [] } }, '': 'empty key' }
      expect(await rt('json', doc)).toEqual(doc)
      expect(await rt('jsonb', doc)).toEqual(doc)
      expect(await row(`select '{"n": 2.50, "big": 12345678901234567890, "huge": 1e400, "u": "\\u00e9"}'::json, '[1, "x", {"k": null}]'::jsonb, '"s"'::jsonb, 'null'::jsonb, '3'::json`)).toEqual([
        // JSON numbers become JS numbers: 12345678901234567890 and 1e400 lose precision, as JSON.parse does.
        { n: 2.5, big: 12345678901234567890, huge: Infinity, u: 'é' },
        [1, 'x', { k: null }],
        's',
        null,
        3,
      ])
    })

    it('a JSON string, or a top-level array, is sent as JSON text', async () => {
      expect(await rt('jsonb', JSON.stringify([1, 2]))).toEqual([1, 2])
      expect(await rt('jsonb', '"str"')).toBe('str')
      // A JS array parameter is an array literal (design), not JSON.
      await expect(rt('jsonb', [1, 2])).rejects.toMatchObject({ code: '22P02' })
    })
  })

  describe('uuid', () => {
    it('is a lower-case string', async () => {
      const u = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'
      expect(await rt('uuid', u)).toBe(u)
      expect(await rt('uuid', u.toUpperCase())).toBe(u)
      expect(await row(`select '{A0EEBC999C0B4EF8BB6D6BB9BD380A11}'::uuid`)).toEqual([u])
    })
  })

  describe('dates and times', () => {
    it('date: UTC midnight, BC dates and 5-digit years', async () => {
      expect(await row(`select '2024-02-29'::date, '1900-03-01'::date, '0001-01-01'::date, '0044-03-15 BC'::date, '0001-01-01 BC'::date, '10000-01-01'::date, '4713-01-01 BC'::date`)).toEqual([
        utc(2024, 2, 29),
        utc(1900, 3, 1),
        utc(1, 1, 1),
        utc(-43, 3, 15),
        utc(0, 1, 1),
        utc(10000, 1, 1),
        utc(-4712, 1, 1),
      ])
      expect(await rt('date', utc(2024, 2, 29))).toEqual(utc(2024, 2, 29))
      expect(await rt('date', '1999-12-31')).toEqual(utc(1999, 12, 31))
    })

    it('timestamp and timestamptz: the same instants; µs below the ms are floored', async () => {
      expect(await row(`select '2024-01-01 12:34:56.123999'::timestamp, '1969-12-31 23:59:59.999999'::timestamp, '2024-01-01 00:00:00+05:30'::timestamptz, '0044-03-15 12:00:00 BC'::timestamp, '1800-06-01 00:00:00+00'::timestamptz`)).toEqual([
        utc(2024, 1, 1, 12, 34, 56, 123),
        new Date(-1),
        utc(2023, 12, 31, 18, 30),
        utc(-43, 3, 15, 12),
        utc(1800, 6, 1),
      ])
      const d = new Date(1_700_000_000_123)
      expect(await rt('timestamptz', d)).toEqual(d)
      expect(await rt('timestamp', d)).toEqual(d)
      expect(await rt('timestamptz', '2024-01-01T00:00:00.5Z')).toEqual(utc(2024, 1, 1, 0, 0, 0, 500))
    })

    it('±infinity reads as ±Infinity; a value beyond the Date range as an Invalid Date', async () => {
      const vals = await row(`select 'infinity'::date, '-infinity'::date, 'infinity'::timestamp, '-infinity'::timestamptz, '294276-12-31 23:59:59'::timestamp`)
      expect(vals.slice(0, 4)).toEqual([Infinity, -Infinity, Infinity, -Infinity])
      expect(vals[4]).toBeInstanceOf(Date)
      expect((vals[4] as Date).getTime()).toBeNaN()
      // The server sees them fine.
      expect(await row(`select 'infinity'::timestamptz::text, $1::date::text`, ['-infinity'])).toEqual(['infinity', '-infinity'])
    })

    it('timestamptz instants are the same in any session time zone (Asia/Kolkata, +05:53:28 LMT)', async () => {
      await using z = await connect(opts)
      await z.query(`set time zone 'Asia/Kolkata'`)
      expect(z.parameters.get('TimeZone')).toBe('Asia/Kolkata')
      const d = new Date(1_700_000_000_123)
      const r = await z.query<PgValue[]>(
        `select '2024-01-01 00:00:00+00'::timestamptz, '1800-01-01 00:00:00+00'::timestamptz, '0044-03-15 12:00:00+00 BC'::timestamptz, $1::timestamptz, $1::timestamptz::text, '1800-01-01 00:00:00+00'::timestamptz::text, '2024-06-01 10:00'::timestamp, $2::date`,
        [d, utc(2024, 2, 29)],
        { rowMode: 'array' },
      )
      expect(r.rows[0]).toEqual([
        utc(2024, 1, 1),
        utc(1800, 1, 1),
        utc(-43, 3, 15, 12),
        d,
        '2023-11-15 03:43:20.123+05:30',
        '1800-01-01 05:53:28+05:53:28',
        // timestamp (without zone) ignores the session zone: wall time read as UTC.
        utc(2024, 6, 1, 10),
        utc(2024, 2, 29),
      ])
    })

    it('a DateStyle other than ISO falls back to the server text (text results only)', async () => {
      await using s = await connect(opts)
      await s.query(`set datestyle = 'SQL, DMY'`)
      expect((await s.query<PgValue[]>(`select '2024-01-31'::date`, [], { rowMode: 'array' })).rows[0]).toEqual(['31/01/2024'])
      // The second run of the statement asks for binary results: no DateStyle there.
      expect((await s.query<PgValue[]>(`select '2024-01-31'::date`, [], { rowMode: 'array' })).rows[0]).toEqual([utc(2024, 1, 31)])
    })

    it('a BC or 5-digit-year Date parameter round-trips', async () => {
      expect(await rt('timestamptz', utc(-43, 3, 15, 12))).toEqual(utc(-43, 3, 15, 12))
      expect(await rt('timestamptz', utc(10000, 1, 1))).toEqual(utc(10000, 1, 1))
    })

    it('an Invalid Date parameter is a typed encode error', async () => {
      await expect(rt('timestamptz', new Date(NaN))).rejects.toMatchObject({ code: 'ERR_PG_ENCODE' })
    })

    it('time, timetz and interval are the server text', async () => {
      expect(await row(`select '04:05:06.789'::time, '24:00'::time, '04:05+05:30'::timetz, '1 year 2 mons 3 days 04:05:06.789'::interval, '-1 day +2 hours'::interval, '0'::interval`)).toEqual([
        '04:05:06.789',
        '24:00:00',
        '04:05:00+05:30',
        '1 year 2 mons 3 days 04:05:06.789',
        '-1 days +02:00:00',
        '00:00:00',
      ])
      expect(await rt('interval', 'P1Y2M3DT4H5M6S')).toBe('1 year 2 mons 3 days 04:05:06')
      expect(await rt('time', '23:59:59.999999')).toBe('23:59:59.999999')
    })
  })

  describe('inet and cidr', () => {
    it('v4 and v6, with and without a prefix', async () => {
      expect(await row(`select '192.168.0.1'::inet, '192.168.0.1/24'::inet, '10.0.0.0/8'::cidr, '2001:db8::1'::inet, '2001:db8::1/64'::inet, '2001:db8::/32'::cidr, '::ffff:1.2.3.4'::inet, '::1'::inet`)).toEqual([
        '192.168.0.1',
        '192.168.0.1/24',
        '10.0.0.0/8',
        '2001:db8::1',
        '2001:db8::1/64',
        '2001:db8::/32',
        '::ffff:1.2.3.4',
        '::1',
      ])
      expect(await rt('inet', '2001:0DB8:0000::0001')).toBe('2001:db8::1')
      expect(await rt('cidr', '10.1')).toBe('10.1.0.0/16')
    })
  })

  describe('arrays', () => {
    it('1-D, 2-D, 3-D, empty, NULL elements, explicit bounds', async () => {
      expect(await row(`select '{1,2,3}'::int[], '{{1,2},{3,NULL}}'::int[], '{{{1},{2}},{{3},{4}}}'::int2[], '{}'::int[], array[array[]::int[]], '[0:1]={7,8}'::int[], '{NULL}'::int[]`)).toEqual([
        [1, 2, 3],
        [
          [1, 2],
          [3, null],
        ],
        [
          [[1], [2]],
          [[3], [4]],
        ],
        [],
        [],
        [7, 8],
        [null],
      ])
    })

    it('text elements with quotes, backslashes, commas, braces, blanks; "NULL" is not null', async () => {
      const tricky = ['a', 'NULL', null, 'null', 'b,c', '{x}', 'q"q', 'b\\s', '', ' sp ', 'é😀', '\\"}{,', 'NULL ']
      expect(await rt('text[]', tricky)).toEqual(tricky)
      expect(await rt('varchar[]', tricky)).toEqual(tricky)
      expect(await row(`select array['a', 'NULL', null, 'b,c', '{x}', 'q"q', 'b\\s', '', ' sp ']`)).toEqual([['a', 'NULL', null, 'b,c', '{x}', 'q"q', 'b\\s', '', ' sp ']])
      const nested = [
        ['a"', null],
        ['}', 'NULL'],
      ]
      expect(await rt('text[]', nested)).toEqual(nested)
      expect(await rt('text[]', [])).toEqual([])
    })

    it('arrays of every scalar type', async () => {
      const u = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'
      const [b, i8, f8, f4, num, bool, ch, d, ts, tstz, js, jsb, uu, iv, ip, cidr, tm] = await row(`select
        array['\\x00ff'::bytea, '', null], array[1, null, -9223372036854775808]::int8[], array['NaN', 'Infinity', '-Infinity', '-0', '0.1']::float8[],
        array[0.5, null]::float4[], array[1.50, 'NaN', null]::numeric[], array[true, false, null], array['a']::char(3)[],
        array['2024-02-29', '0044-03-15 BC', null]::date[], array['2024-01-01 12:00:00.5']::timestamp[], array['2024-01-01 00:00:00+00']::timestamptz[],
        array['{"a":[1]}', '"s"']::json[], array['{"b":null}']::jsonb[], array['${u}']::uuid[], array['1 day', '-01:00']::interval[],
        array['::1', '10.0.0.1/8']::inet[], array['10.0.0.0/8']::cidr[], array['04:05']::time[]`)
      expect(b).toEqual([Buffer.from([0, 255]), Buffer.alloc(0), null])
      expect(i8).toEqual(['1', null, '-9223372036854775808'])
      expect(f8).toEqual([NaN, Infinity, -Infinity, -0, 0.1])
      expect(Object.is((f8 as number[])[3], -0)).toBe(true)
      expect(f4).toEqual([0.5, null])
      expect(num).toEqual(['1.50', 'NaN', null])
      expect(bool).toEqual([true, false, null])
      expect(ch).toEqual(['a  '])
      expect(d).toEqual([utc(2024, 2, 29), utc(-43, 3, 15), null])
      expect(ts).toEqual([utc(2024, 1, 1, 12, 0, 0, 500)])
      expect(tstz).toEqual([utc(2024, 1, 1)])
      expect(js).toEqual([{ a: [1] }, 's'])
      expect(jsb).toEqual([{ b: null }])
      expect(uu).toEqual([u])
      expect(iv).toEqual(['1 day', '-01:00:00'])
      expect(ip).toEqual(['::1', '10.0.0.1/8'])
      expect(cidr).toEqual(['10.0.0.0/8'])
      expect(tm).toEqual(['04:05:00'])
    })

    it('array parameters of every kind round-trip', async () => {
      expect(await rt('int[]', [[1, 2], [3, null]])).toEqual([[1, 2], [3, null]])
      expect(await rt('int8[]', [1n, -(2n ** 63n), null])).toEqual(['1', '-9223372036854775808', null])
      expect(await rt('float8[]', [NaN, Infinity, -Infinity, 0.1])).toEqual([NaN, Infinity, -Infinity, 0.1])
      expect(await rt('numeric[]', ['1.50', 'NaN'])).toEqual(['1.50', 'NaN'])
      expect(await rt('bool[]', [true, false, null])).toEqual([true, false, null])
      expect(await rt('bytea[]', [all256, Buffer.alloc(0), null])).toEqual([all256, Buffer.alloc(0), null])
      expect(await rt('date[]', [utc(2024, 2, 29), null])).toEqual([utc(2024, 2, 29), null])
      expect(await rt('timestamptz[]', [new Date(1_700_000_000_123)])).toEqual([new Date(1_700_000_000_123)])
      expect(await rt('jsonb[]', [{ a: [1, 'é"\\'] }, null])).toEqual([{ a: [1, 'é"\\'] }, null])
      expect(await rt('uuid[]', ['A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'])).toEqual(['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'])
      expect(await rt('inet[]', ['::1', '1.2.3.4/24'])).toEqual(['::1', '1.2.3.4/24'])
      expect(await rt('interval[]', ['1 day'])).toEqual(['1 day'])
      expect(await rt('char(2)[]', ['a', null])).toEqual(['a ', null])
    })
  })

  describe('enums and domains', () => {
    beforeAll(async () => {
      // pg_temp: private to this session, gone with it.
      await c.query(`create type pg_temp.mood as enum ('sad', 'ok', 'happy')`)
      await c.query(`create domain pg_temp.posint as int check (value > 0)`)
      await c.query(`create domain pg_temp.email as text check (value like '%@%')`)
      await c.query(`create temp table typed (m pg_temp.mood, p pg_temp.posint, e pg_temp.email)`)
    })

    it('an enum is its label', async () => {
      expect(await row(`select 'ok'::pg_temp.mood, $1::pg_temp.mood, null::pg_temp.mood`, ['happy'])).toEqual(['ok', 'happy', null])
      await expect(rt('pg_temp.mood', 'angry')).rejects.toMatchObject({ code: '22P02' })
    })

    it('a domain reads as its base type; its check is the server error 23514', async () => {
      await c.query(`insert into typed values ($1, $2, $3)`, ['sad', 7, 'a@b'])
      expect((await c.query(`select * from typed`)).rows).toEqual([{ m: 'sad', p: 7, e: 'a@b' }])
      await expect(c.query(`insert into typed (p) values ($1)`, [-1])).rejects.toMatchObject({ code: '23514' })
    })

    // GAP (crates/postgres ARRAYS knows only built-in array OIDs): an array of an enum or a
    // domain comes back as the literal text '{sad,happy}', not an array as the design says.
    it.fails('arrays of enums and domains are arrays', async () => {
      expect(await row(`select array['sad', 'happy']::pg_temp.mood[], array[1, 2]::pg_temp.posint[]`)).toEqual([['sad', 'happy'], [1, 2]])
    })

    it('(today) arrays of enums and domains are their literal text', async () => {
      expect(await row(`select array['sad', 'happy']::pg_temp.mood[], array[1, 2]::pg_temp.posint[]`)).toEqual(['{sad,happy}', '{1,2}'])
    })
  })
})
