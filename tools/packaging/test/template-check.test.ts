// The chart template checker on small good and bad templates: what Go's
// text/template (and so helm) accepts passes, each kind of mistake is
// reported with its file, line and what is wrong.
import { describe, expect, it } from 'vitest';
import { checkTemplates, lexTemplate, valuesReferences, type TemplateProblem } from '../src/index.js';

const HELPERS = `{{/* Chart name. */}}
{{- define "t.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "t.value" -}}
{{- if kindIs "slice" . }}
{{- join "," . }}
{{- else if kindIs "map" . }}
{{- $pairs := list }}
{{- range $k, $v := . }}{{ $pairs = append $pairs (printf "%s=%v" $k $v) }}{{ end }}
{{- join "," $pairs }}
{{- else }}
{{- toString . }}
{{- end }}
{{- end }}
`;

/** Problems of one file `t.yaml` (checked together with HELPERS), as "line: message". */
function problemsOf(text: string, values?: Record<string, unknown>): string[] {
  const templates = new Map([
    ['_helpers.tpl', HELPERS],
    ['t.yaml', text],
  ]);
  return checkTemplates(templates, values ? { values } : {}).map((p: TemplateProblem) => `${p.file}:${p.line}: ${p.message}`);
}

describe('checkTemplates accepts what helm accepts', () => {
  it('nested control structures, chains, scopes, includes, comments and trim markers', () => {
    const text = `{{- $fullname := include "t.name" . }}
kind: Thing
metadata:
  name: {{ $fullname }}-x   {{- /* a comment with "quotes", }} and {{ inside */}}
spec:
  {{- with .Values.labels }}
  labels: {{- toYaml . | nindent 4 }}
  {{- else }}
  labels: {}
  {{- end }}
  items:
  {{- range $i, $item := .Values.items }}
    {{- if eq $i 3 }}{{ break }}{{ end }}
    {{- if not $item.enabled }}{{ continue }}{{ end }}
    - name: {{ $item.name | quote }}
      value: {{ include "t.value" $item.value | quote }}
      index: {{ add $i 1 }}
  {{- else }}
    []
  {{- end }}
  {{- if .Values.a }}
  a: {{ .Values.a }}
  {{- else if and .Values.b (gt (len .Values.items) 2) }}
  b: {{ printf "%d-%s" -3 'x' }}
  {{- else if $x := .Values.c }}
  c: {{ $x }}
  {{- else }}
  d: {{ "{{ not an action }}" }}
  {{- end }}
  raw: {{ \`multi
line\` | quote }}
  multi: {{ dict
    "a" 1
    "b" (list 1 2) | toJson }}
  num: {{-3}}
{{ block "t.footer" . }}footer of {{ .Release.Name }}{{ end }}
{{ template "t.footer" . }}
`;
    expect(problemsOf(text)).toEqual([]);
  });

  it('reads .Values paths from actions only, not from text or comments', () => {
    const refs = valuesReferences(new Map([['t.yaml', `# .Values.inText\n{{/* .Values.inComment */}}\n{{ .Values.a.b }} {{ $.Values.c }}\n{{ .root.Values.d.e }}`]]));
    expect(refs).toEqual([
      { file: 't.yaml', line: 3, path: ['a', 'b'] },
      { file: 't.yaml', line: 3, path: ['c'] },
      { file: 't.yaml', line: 4, path: ['d', 'e'] },
    ]);
  });
});

describe('checkTemplates reports', () => {
  it.each([
    ['an if without end', 'a\n{{ if .Values.a }}x', ['t.yaml:2: {{if}} has no matching {{end}}']],
    ['a range without end', '{{ range .Values.a }}\n{{ with .b }}{{ end }}', ['t.yaml:1: {{range}} has no matching {{end}}']],
    ['a define without end', '{{ define "t.x" }}x', ['t.yaml:1: {{define}} has no matching {{end}}']],
    ['an end without a block', '{{ if .a }}{{ end }}\n{{ end }}', ['t.yaml:2: {{end}} without an open if, with, range, define or block']],
    ['an else outside any block', 'x\n{{ else }}', ['t.yaml:2: {{else}} outside any if, with or range']],
    [
      'an else directly in a define',
      '{{ define "t.x" }}\n{{ else }}{{ end }}',
      ['t.yaml:2: {{else}} directly in the {{define}} opened at line 1: else belongs to if, with or range'],
    ],
    [
      'a second else',
      '{{ if .a }}1{{ else }}2\n{{ else }}3{{ end }}',
      ['t.yaml:2: a second {{else}} in the {{if}} opened at line 1 (its else is at line 1); expected {{end}}'],
    ],
    [
      'an else if after the else',
      '{{ if .a }}1\n{{ else }}2\n{{ else if .b }}3{{ end }}',
      ['t.yaml:3: a second {{else}} in the {{if}} opened at line 1 (its else is at line 2); expected {{end}}'],
    ],
    [
      'an else if in a range, which Go reads as else + a nested if',
      '{{ range .a }}1\n{{ else if .b }}2{{ end }}',
      ['t.yaml:1: {{range}} has no matching {{end}} (the "else if" at line 2 opened a nested {{if}}, which took the {{end}})'],
    ],
    [
      'a define below the top level',
      '{{ if .a }}\n{{ define "t.x" }}{{ end }}\n{{ end }}',
      ['t.yaml:2: {{define}} inside the {{if}} opened at line 1: templates are defined at the top level only'],
    ],
    ['break outside a range', '{{ if .a }}{{ break }}{{ end }}', ['t.yaml:1: {{break}} outside any range']],
    [
      'continue in a define called from a range',
      '{{ range .a }}{{ end }}\n{{ define "t.x" }}{{ continue }}{{ end }}',
      ['t.yaml:2: {{continue}} outside any range'],
    ],
    ['an include of an undefined template', 'a: {{ include "t.nmae" . }}', ['t.yaml:1: include "t.nmae": no template of that name is defined in the chart']],
    ['a template of an undefined template', '{{ template "t.footer" . }}', ['t.yaml:1: template "t.footer": no template of that name is defined in the chart']],
    [
      'an include with a computed name',
      '{{ $n := "t.name" }}{{ include $n . }}',
      ['t.yaml:1: include with a computed name: only a quoted name can be checked against the chart\'s templates'],
    ],
    [
      'a template defined twice',
      '\n{{ define "t.name" }}x{{ end }}',
      ['t.yaml:2: template "t.name" is defined again (first at _helpers.tpl:2); helm silently keeps one of them'],
    ],
    ['an unknown function', 'a: {{ .Values.a | toYml }}', ['t.yaml:1: function "toYml" not defined (not a Go template, sprig or Helm function)']],
    ['env, which helm removes from sprig', '{{ env "HOME" }}', ['t.yaml:1: function "env" not defined (not a Go template, sprig or Helm function)']],
    ['an undefined variable', '{{ $x := 1 }}{{ $y }}', ['t.yaml:1: undefined variable "$y"']],
    ['a variable used after its scope', '{{ if .a }}{{ $x := 1 }}{{ end }}\n{{ $x }}', ['t.yaml:2: undefined variable "$x"']],
    ['a range variable used after the range', '{{ range $k, $v := .a }}{{ $v }}{{ end }}{{ $k }}', ['t.yaml:1: undefined variable "$k"']],
    ['a variable from outside a define', '{{ $x := 1 }}\n{{ define "t.x" }}{{ $x }}{{ end }}', ['t.yaml:2: undefined variable "$x"']],
    ['an assignment to an undeclared variable', '{{ $x = 1 }}', ['t.yaml:1: undefined variable "$x" (assigned with "=" before any ":=")']],
    ['two variables declared outside range', '{{ $a, $b := .x }}', ['t.yaml:1: too many declarations in command']],
    ['an empty action', 'a\n{{ }}', ['t.yaml:2: missing value for command (an empty action)']],
    ['an if without a condition', '{{ if }}x{{ end }}', ['t.yaml:1: missing value for if']],
    ['an empty pipeline stage', '{{ .a | }}', ['t.yaml:1: missing command in command (an empty stage of a "|" pipeline)']],
    ['a constant as a later pipeline stage', '{{ .a | "x" }}', ['t.yaml:1: non executable command in pipeline stage 2: "\\"x\\""']],
    ['words after end', '{{ if .a }}{{ end .a }}', ['t.yaml:1: unexpected ".a" in end']],
    ['a keyword as an operand', '{{ .a | if }}', ['t.yaml:1: unexpected "if" in command']],
    ['a define without a quoted name', '{{ define t.x }}{{ end }}', ['t.yaml:1: define: expected a quoted template name, found "t"']],
  ])('%s', (_what, text, expected) => {
    expect(problemsOf(text)).toEqual(expected);
  });

  it.each([
    ['an action never closed', 'a: 1\nb: {{ .Values.b }\n', ['t.yaml:2: unclosed action (no "}}" before the end of the file)']],
    [
      'an action never closed, then YAML',
      'a: 1\nb: {{ .Values.b }\nc: 3\n',
      ['t.yaml:3: expected ":=" (in the action opened at line 2: is its "}}" missing?)'],
    ],
    ['an action opened inside an action', 'b: {{ .Values.b {{ .c }}', ['t.yaml:1: unexpected "{" in command', 't.yaml:1: unexpected "{" in command']],
    ['a "}}" with no action', 'a: {{ .a }}\nb: x }}\n', ['t.yaml:2: "}}" outside any action: a "{{" is missing, or an action was closed early (write "} }" for YAML)']],
    ['an unterminated string', 'a: {{ "abc }}\n{{ if }}', ['t.yaml:1: unterminated quoted string']],
    ['an unterminated raw string', 'a: {{ `abc }}', ['t.yaml:1: unterminated raw quoted string']],
    ['an unterminated character constant', "a: {{ 'a }}", ['t.yaml:1: unterminated character constant']],
    ['an unclosed comment', 'x\n{{/* abc }}\ny', ['t.yaml:2: unclosed comment']],
    ['a comment followed by more', '{{/* abc */ .a }}', ['t.yaml:1: comment ends before closing delimiter ("*/" must be followed by "}}" or " -}}")']],
    [
      'a comment not right after the delimiter',
      '{{ /* abc */ }}',
      [
        't.yaml:1: unexpected "/" in command',
        't.yaml:1: unexpected "*" in command',
        't.yaml:1: unexpected "*" in command',
        't.yaml:1: unexpected "/" in command',
        't.yaml:1: function "abc" not defined (not a Go template, sprig or Helm function)',
      ],
    ],
    ['an unclosed paren', 'a: {{ (include "t.name" . }}', ['t.yaml:1: unclosed left paren']],
    ['an extra right paren', 'a: {{ include "t.name" . ) }}', ['t.yaml:1: unexpected right paren']],
    ['a bad number', 'a: {{ 3x }}', ['t.yaml:1: bad number syntax: "3x"']],
    ['a single colon', 'a: {{ $x : 1 }}', ['t.yaml:1: expected ":="']],
  ])('%s', (_what, text, expected) => {
    expect(problemsOf(text)).toEqual(expected);
  });

  it('stops a file at its first lexing error, and does not then report its open blocks', () => {
    const lexed = lexTemplate('{{ if .a }}\n{{ "oops }}\n{{ end }}');
    expect(lexed.complete).toBe(false);
    expect(lexed.actions).toHaveLength(1);
    expect(problemsOf('{{ if .a }}\n{{ "oops }}\n{{ end }}')).toEqual(['t.yaml:2: unterminated quoted string']);
  });

  it('.Values paths missing from the values given', () => {
    expect(problemsOf('a: {{ .Values.a.b }}\nc: {{ $.Values.c }}\nd: {{ .Values.nameOverride }}', { a: { b: 1 }, nameOverride: '' })).toEqual([
      't.yaml:2: .Values.c is not in values.yaml',
    ]);
  });

  it('problems of several files, sorted by file and line', () => {
    const problems = checkTemplates(
      new Map([
        ['b.yaml', '{{ end }}\n{{ if .x }}'],
        ['a.yaml', '\n\n{{ nope }}'],
      ]),
    );
    expect(problems).toEqual([
      { file: 'a.yaml', line: 3, message: 'function "nope" not defined (not a Go template, sprig or Helm function)' },
      { file: 'b.yaml', line: 1, message: '{{end}} without an open if, with, range, define or block' },
      { file: 'b.yaml', line: 2, message: '{{if}} has no matching {{end}}' },
    ]);
  });
});

describe('lexTemplate', () => {
  it('tokens of an action, with trim markers and multi-line actions', () => {
    const { actions, problems } = lexTemplate('x {{- $a := .Values.b | default (printf "%d" -1) -}}\n{{ range $k, $v := $.c.d }}{{end}}');
    expect(problems).toEqual([]);
    expect(actions.map((a) => a.tokens.map((t) => `${t.kind}:${t.text}`).join(' '))).toEqual([
      'variable:$a declare::= field:.Values.b pipe:| identifier:default leftParen:( identifier:printf string:"%d" number:-1 rightParen:)',
      'keyword:range variable:$k punct:, variable:$v declare::= variable:$ field:.c.d',
      'keyword:end',
    ]);
    expect(actions.map((a) => a.line)).toEqual([1, 2, 2]);
  });
});
