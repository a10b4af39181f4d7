import { describe, expect, it } from 'vitest';
import { labelsFrom, parseEnvFile, parseEnvValue, parseKeyValue } from '../src/parse/env.js';
import { parseFilters, psFilters, PS_FILTER_KEYS } from '../src/parse/filters.js';
import { parseRestart } from '../src/parse/restart.js';

describe('environment flags', () => {
  const env = { HOME: '/root', EMPTY: '' };
  it('-e KEY=VALUE as is, bare KEY from our environment or dropped', () => {
    expect(parseEnvValue('A=1=2', env)).toBe('A=1=2');
    expect(parseEnvValue('HOME', env)).toBe('HOME=/root');
    expect(parseEnvValue('EMPTY', env)).toBe('EMPTY=');
    expect(parseEnvValue('MISSING', env)).toBeUndefined();
    expect(() => parseEnvValue('=x', env)).toThrow('invalid environment variable "=x"');
    expect(() => parseEnvValue('A B=1', env)).toThrow('without whitespace');
  });
  it('--env-file: comments, blanks, verbatim values, bare keys', () => {
    const text = '# comment\n\nA=1\n  B="quoted stays"\r\nHOME\nMISSING\nC=\n';
    expect(parseEnvFile(text, 'app.env', env)).toEqual(['A=1', 'B="quoted stays"', 'HOME=/root', 'C=']);
  });
  it('--env-file errors name the file and line', () => {
    expect(() => parseEnvFile('A=1\nBAD KEY=2\n', 'app.env', env)).toThrow(/^app\.env:2: invalid environment variable/);
  });
  it('labels: KEY=VALUE, bare KEY is empty, later wins', () => {
    expect(labelsFrom(['a=1', 'b', 'a=2', 'c=x=y'])).toEqual({ a: '2', b: '', c: 'x=y' });
    expect(() => parseKeyValue('=v')).toThrow('invalid label "=v"');
  });
});

describe('parseRestart', () => {
  it.each([
    ['no', { name: 'no', maxRetries: 0 }],
    ['always', { name: 'always', maxRetries: 0 }],
    ['unless-stopped', { name: 'unless-stopped', maxRetries: 0 }],
    ['on-failure', { name: 'on-failure', maxRetries: 0 }],
    ['on-failure:5', { name: 'on-failure', maxRetries: 5 }],
  ])('%s', (input, spec) => expect(parseRestart(input)).toEqual(spec));
  it.each([
    ['sometimes', 'use no, always, unless-stopped or on-failure'],
    ['always:3', 'applies to on-failure only'],
    ['on-failure:-1', 'must be a whole number'],
    ['on-failure:x', 'must be a whole number'],
    ['on-failure:1:2', 'use no, always'],
  ])('rejects %s', (input, message) => expect(() => parseRestart(input)).toThrow(message));
});

describe('filters', () => {
  it('parses key=value against allowed keys', () => {
    expect(parseFilters(['name=web', 'label=a=b'], PS_FILTER_KEYS)).toEqual([
      { key: 'name', value: 'web' },
      { key: 'label', value: 'a=b' },
    ]);
    expect(() => parseFilters(['colour=red'], PS_FILTER_KEYS)).toThrow('unknown key "colour" (valid keys: id, name,');
    expect(() => parseFilters(['name'], PS_FILTER_KEYS)).toThrow('expected key=value');
  });
  it('ps: docker status names map to the service, exit codes stay in the CLI', () => {
    const f = parseFilters(['status=exited', 'status=running', 'exited=3', 'ancestor=busybox'], PS_FILTER_KEYS);
    expect(psFilters(f)).toEqual({ service: ['status=stopped', 'status=running', 'ancestor=busybox'], exitCodes: [3] });
    expect(() => psFilters(parseFilters(['status=sleeping'], PS_FILTER_KEYS))).toThrow('use one of created, running');
    expect(() => psFilters(parseFilters(['exited=x'], PS_FILTER_KEYS))).toThrow('expected an exit code');
  });
});
