import { describe, expect, it } from 'vitest';
import { parseFormat, renderInspect, renderList, renderTable, renderTemplate, renderTemplateList } from '../src/output.js';

describe('renderTable', () => {
  it('aligns columns to the widest cell, three spaces apart, no trailing blanks', () => {
    const text = renderTable(
      ['NAME', 'STATUS', 'PORTS'],
      [
        ['web', 'Up 5 seconds', '127.0.0.1:8080->80/tcp'],
        ['a-much-longer-name', 'Exited (0)', ''],
      ],
    );
    expect(text).toBe(
      [
        'NAME                 STATUS         PORTS',
        'web                  Up 5 seconds   127.0.0.1:8080->80/tcp',
        'a-much-longer-name   Exited (0)',
        '',
      ].join('\n'),
    );
  });
  it('prints the header alone for no rows', () => expect(renderTable(['A', 'B'], [])).toBe('A   B\n'));
});

describe('parseFormat', () => {
  it('knows table, json and templates', () => {
    expect(parseFormat(undefined)).toBe('table');
    expect(parseFormat('table')).toBe('table');
    expect(parseFormat('json')).toBe('json');
    expect(parseFormat('{{json .}}')).toBe('json');
    expect(parseFormat('{{.Names}}')).toEqual({ template: '{{.Names}}' });
    expect(() => parseFormat('yaml')).toThrow('unknown --format "yaml"');
    expect(() => parseFormat('{{range .}}x{{end}}')).toThrow('unsupported --format template');
  });
});

describe('templates', () => {
  const item = { ID: 'abc', State: { Status: 'running', Pid: 42 }, Labels: { a: '1' }, List: [1, 2] };
  it('prints fields, nested fields and JSON', () => {
    expect(renderTemplate('{{.ID}} {{ .State.Status }} {{.State.Pid}}', item)).toBe('abc running 42');
    expect(renderTemplate('{{json .Labels}}', item)).toBe('{"a":"1"}');
    expect(renderTemplate('{{.Missing}}', item)).toBe('<no value>');
    expect(renderTemplate('{{.Labels}} {{.List}}', item)).toBe('map[a:1] [1 2]');
    expect(renderTemplate('{{.ID}}\\t{{.State.Pid}}', item)).toBe('abc\t42');
  });
  it('"table" templates align cells under headers', () => {
    expect(renderTemplateList('table {{.ID}}\\t{{.State.Status}}', [item, { ID: 'defghi', State: { Status: 'exited' } }])).toBe(
      'ID       STATE.STATUS\nabc      running\ndefghi   exited\n',
    );
  });
});

describe('renderList', () => {
  const items = [
    { id: 'aaaaaaaaaaaaaaaa', name: 'one' },
    { id: 'bbbbbbbbbbbbbbbb', name: 'two' },
  ];
  const o = {
    columns: [
      { header: 'ID', cell: (i: (typeof items)[number]) => i.id.slice(0, 4) },
      { header: 'NAME', cell: (i: (typeof items)[number]) => i.name },
    ],
    json: (i: (typeof items)[number]) => ({ ID: i.id, Name: i.name }),
  };
  it('table', () => expect(renderList(items, { ...o, format: 'table' })).toBe('ID     NAME\naaaa   one\nbbbb   two\n'));
  it('json is an array of the JSON objects', () => {
    expect(JSON.parse(renderList(items, { ...o, format: 'json' }))).toEqual([
      { ID: 'aaaaaaaaaaaaaaaa', Name: 'one' },
      { ID: 'bbbbbbbbbbbbbbbb', Name: 'two' },
    ]);
    expect(renderList([], { ...o, format: 'json' })).toBe('[]\n');
  });
  it('a template per item', () => expect(renderList(items, { ...o, format: { template: '{{.Name}}' } })).toBe('one\ntwo\n'));
  it('-q prints only the quiet value', () => {
    expect(renderList(items, { ...o, format: 'table', quiet: (i) => i.id })).toBe('aaaaaaaaaaaaaaaa\nbbbbbbbbbbbbbbbb\n');
  });
  it('inspect is always an array of objects, or a template per object', () => {
    expect(JSON.parse(renderInspect([{ a: 1 }], 'table'))).toEqual([{ a: 1 }]);
    expect(renderInspect([{ a: 1 }, { a: 2 }], { template: '{{.a}}' })).toBe('1\n2\n');
  });
});
