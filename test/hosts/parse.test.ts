import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseHosts } from '../../src/hosts/index.js'

const reasons = (text: string) => parseHosts(text, 'h.txt').problems.map((p) => `${p.file}:${p.line}: ${p.reason}`)

test('accepts names, IPv4, bracketed IPv6, ports and every key', () => {
  const { targets, problems } = parseHosts(
    [
      '# comment',
      '',
      'Example.COM',
      'api.example.com:8443 path=/v1/x?y=1 sni=other.example.com tags=iot,azure expect=fail  # trailing comment',
      '192.0.2.7:443',
      '[2001:db8::1]:444 path=/a#frag',
      'plain.example.com sni=-',
    ].join('\n'),
    'h.txt',
  )
  assert.deepEqual(problems, [])
  // A server name other than the host's own is part of the target's identity.
  assert.deepEqual(
    targets.map((t) => t.id),
    [
      'example.com:443',
      'api.example.com:8443 sni=other.example.com',
      '192.0.2.7:443',
      '[2001:db8::1]:444',
      'plain.example.com:443 sni=-',
    ],
  )
  const api = targets[1]!
  assert.equal(api.path, '/v1/x?y=1')
  assert.equal(api.sni, 'other.example.com')
  assert.deepEqual(api.tags, ['iot', 'azure'])
  assert.equal(api.expect, 'fail')
  assert.deepEqual(api.source, { file: 'h.txt', line: 4 })
  assert.equal(targets[0]!.sni, 'example.com', 'SNI defaults to the host')
  assert.equal(targets[2]!.sni, null, 'no SNI for an IP literal')
  assert.equal(targets[3]!.path, '/a#frag', '# inside a value is not a comment')
  assert.equal(targets[4]!.sni, null, 'sni=- turns SNI off')
})

test('CRLF line endings are accepted', () => {
  const { targets, problems } = parseHosts('a.example.com\r\nb.example.com:444\r\n', 'h.txt')
  assert.deepEqual(problems, [])
  assert.equal(targets.length, 2)
})

test('every bad line is reported with file:line and why', () => {
  const lines = [
    'good.example.com',
    'bad_name.example.com',
    'x.example.com:0',
    'x.example.com:65536',
    'x.example.com:https',
    'x.example.com colour=blue',
    'x.example.com path=/a b',
    'x.example.com path=/a,b',
    'x,y.example.com',
    'x.example.com sni=a,b',
    'evil.example.com\rAT+S.RESET',
    'nul.example.com\0',
    `${'a'.repeat(64)}.example.com`,
    `${'abcdefghi.'.repeat(26)}com`,
    'good.example.com',
    '2001:db8::1',
    'x.example.com expect=maybe',
    'x.example.com path=noslash',
    'ünï.example.com',
    'x.example.com sni=192.0.2.1',
    'x.example.com\ttags=ok,b@d',
    'x.example.com path=/a path=/b',
    'https://x.example/status',
  ]
  const got = reasons(lines.join('\n'))
  const expectLine = (n: number, fragment: RegExp) =>
    assert.ok(
      got.some((r) => r.startsWith(`h.txt:${n}: `) && fragment.test(r)),
      `line ${n} ${fragment}: ${got.join('\n')}`,
    )
  expectLine(2, /RFC 1123/)
  expectLine(3, /outside 1-65535/)
  expectLine(4, /outside 1-65535/)
  expectLine(5, /not a number/)
  expectLine(6, /unknown key "colour"/)
  expectLine(7, /cannot contain spaces/)
  expectLine(8, /comma/)
  expectLine(9, /comma/)
  expectLine(10, /comma/)
  expectLine(11, /control character CR/)
  // A URL pasted from a browser is named as one, with what to write instead.
  expectLine(
    lines.length,
    /"https:\/\/x\.example\/status" is a URL; write the host as x\.example and the path as path=\/status/,
  )
  expectLine(12, /control character NUL/)
  expectLine(13, /longer than 63/)
  expectLine(14, /limit is 253/)
  expectLine(15, /duplicate target good\.example\.com:443 \(first on line 1\)/)
  expectLine(16, /brackets/)
  expectLine(17, /pass or fail/)
  expectLine(18, /must start with \//)
  expectLine(19, /non-ASCII/)
  expectLine(20, /IP address cannot be sent as SNI/)
  expectLine(21, /tag "b@d"/)
  expectLine(22, /given twice/)
  assert.equal(got.length, lines.length - 1, 'only line 1 is good')
})

test('no value that reaches an AT command can carry CR, LF, NUL or a comma', () => {
  const hostile = ['a.com path=/x\r\nAT+S.RESET', 'a.com sni=b.com\0', 'a.com path=/,443,2,,,,', 'a.com:443,2']
  for (const line of hostile) {
    const { targets } = parseHosts(line, 'h.txt')
    for (const t of targets) {
      for (const v of [t.host, t.path, t.sni ?? '', ...t.tags])
        assert.doesNotMatch(v, /[\r\n\0,]/, `${JSON.stringify(line)} leaked ${JSON.stringify(v)}`)
    }
  }
})

test('duplicate detection ignores host case', () => {
  assert.match(reasons('A.example.com\na.example.com:443').join('\n'), /h\.txt:2: duplicate/)
})
