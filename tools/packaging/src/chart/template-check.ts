// A syntax check of a chart's templates that needs no helm binary: each file
// lexed and parsed as Go's text/template would (template-lexer.ts,
// template-actions.ts), then, across the actions of a file, that every
// if/with/range/define/block has its end, else sits only in if/with/range
// (once, after any else-if chain), break/continue only in range, define
// only at the top level, variables are declared before use; and across the
// chart, that every include/template names a template some file defines
// (once), every function called exists in Helm, and, given values, every
// .Values path a template reads exists.
import { unresolvedReferences, valuesReferences } from './chart.js';
import { parseAction, type ParsedAction, type VariableEvent } from './template-actions.js';
import { HELM_TEMPLATE_FUNCTIONS } from './template-functions.js';
import { lexTemplate } from './template-lexer.js';

export interface TemplateProblem {
  /** Template file name, as a key of the map checked. */
  file: string;
  line: number;
  message: string;
}

export interface TemplateCheckOptions {
  /** Functions templates may call; default HELM_TEMPLATE_FUNCTIONS. */
  functions?: ReadonlySet<string>;
  /** values.yaml, parsed: when given, every `.Values.x.y` a template reads must exist in it. */
  values?: Record<string, unknown>;
}

type BlockKind = 'if' | 'with' | 'range' | 'define' | 'block';

interface Frame {
  kind: BlockKind;
  line: number;
  elseAt?: number;
  /** An `else if`/`else with` that does not continue this frame's chain opened a nested block (Go reads it as else + that block). */
  nestedByElse?: { kind: string; line: number };
  /** Variables visible before the frame: restored at its end. */
  outerVars: string[];
}

interface NameUse {
  file: string;
  line: number;
  what: 'include' | 'template';
  name: string | undefined;
}

interface FileResult {
  problems: TemplateProblem[];
  defines: { name: string; file: string; line: number }[];
  uses: NameUse[];
}

const tag = (kind: string) => `{{${kind}}}`;

/** The checks within one file. Pure. */
function checkFile(file: string, text: string, functions: ReadonlySet<string>): FileResult {
  const lexed = lexTemplate(text);
  const problems: TemplateProblem[] = lexed.problems.map((p) => ({ file, ...p }));
  const problem = (line: number, message: string) => problems.push({ file, line, message });
  const defines: FileResult['defines'] = [];
  const uses: NameUse[] = [];
  const stack: Frame[] = [];
  let vars = ['$'];

  const applyVariables = (events: VariableEvent[]) => {
    for (const e of events) {
      if (e.op === 'declare') vars.push(e.name);
      else if (!vars.includes(e.name)) {
        problem(e.line, e.op === 'use' ? `undefined variable "${e.name}"` : `undefined variable "${e.name}" (assigned with "=" before any ":=")`);
      }
    }
  };
  const open = (kind: BlockKind, line: number, fresh: boolean) => {
    stack.push({ kind, line, outerVars: vars });
    vars = fresh ? ['$'] : [...vars];
  };
  const innermostLoop = () => {
    for (let i = stack.length - 1; i >= 0; i--) {
      const k = stack[i]!.kind;
      if (k === 'range') return true;
      if (k === 'define' || k === 'block') return false;
    }
    return false;
  };

  for (const action of lexed.actions) {
    const a: ParsedAction = parseAction(action);
    for (const p of a.problems) problem(p.line, p.message);
    for (const f of a.functions) if (!functions.has(f.name)) problem(f.line, `function "${f.name}" not defined (not a Go template, sprig or Helm function)`);
    for (const inc of a.includes) uses.push({ file, line: inc.line, what: 'include', name: inc.name });
    const top = stack.at(-1);
    switch (a.kind) {
      case 'define':
        if (top) problem(a.line, `${tag('define')} inside the ${tag(top.kind)} opened at line ${top.line}: templates are defined at the top level only`);
        if (a.name !== undefined) defines.push({ name: a.name, file, line: a.line });
        open('define', a.line, true);
        break;
      case 'block':
        applyVariables(a.variables); // the block's argument is read where it stands; its body is a template of its own
        if (a.name !== undefined) defines.push({ name: a.name, file, line: a.line });
        open('block', a.line, true);
        break;
      case 'if':
      case 'with':
      case 'range':
        open(a.kind, a.line, false);
        applyVariables(a.variables);
        break;
      case 'else':
        if (!top) problem(a.line, `${tag('else')} outside any if, with or range`);
        else if (top.kind === 'define' || top.kind === 'block') {
          problem(a.line, `${tag('else')} directly in the ${tag(top.kind)} opened at line ${top.line}: else belongs to if, with or range`);
        } else if (top.elseAt !== undefined) {
          problem(a.line, `a second ${tag('else')} in the ${tag(top.kind)} opened at line ${top.line} (its else is at line ${top.elseAt}); expected ${tag('end')}`);
        } else if (a.elseControl === undefined) top.elseAt = a.line;
        else if (a.elseControl !== top.kind) {
          top.elseAt = a.line;
          top.nestedByElse = { kind: a.elseControl, line: a.line };
          open(a.elseControl, a.line, false);
        }
        applyVariables(a.variables);
        break;
      case 'end':
        if (!top) problem(a.line, `${tag('end')} without an open if, with, range, define or block`);
        else vars = stack.pop()!.outerVars;
        break;
      case 'break':
      case 'continue':
        if (!innermostLoop()) problem(a.line, `${tag(a.kind)} outside any range`);
        break;
      case 'template':
        if (a.name !== undefined) uses.push({ file, line: a.line, what: 'template', name: a.name });
        applyVariables(a.variables);
        break;
      case 'pipeline':
        applyVariables(a.variables);
        break;
    }
  }
  if (lexed.complete) {
    for (const f of stack) {
      const hint = f.nestedByElse
        ? ` (the "else ${f.nestedByElse.kind}" at line ${f.nestedByElse.line} opened a nested ${tag(f.nestedByElse.kind)}, which took the ${tag('end')})`
        : '';
      problem(f.line, `${tag(f.kind)} has no matching ${tag('end')}${hint}`);
    }
  }
  return { problems, defines, uses };
}

/** Every problem of a chart's templates (file name -> text); empty when they are sound. Pure. */
export function checkTemplates(templates: Map<string, string>, opts: TemplateCheckOptions = {}): TemplateProblem[] {
  const functions = opts.functions ?? HELM_TEMPLATE_FUNCTIONS;
  const results = [...templates].map(([file, text]) => checkFile(file, text, functions));
  const problems = results.flatMap((r) => r.problems);

  const defined = new Map<string, { file: string; line: number }>();
  for (const d of results.flatMap((r) => r.defines)) {
    const first = defined.get(d.name);
    if (first) problems.push({ file: d.file, line: d.line, message: `template "${d.name}" is defined again (first at ${first.file}:${first.line}); helm silently keeps one of them` });
    else defined.set(d.name, d);
  }
  for (const u of results.flatMap((r) => r.uses)) {
    if (u.name === undefined) problems.push({ file: u.file, line: u.line, message: `${u.what} with a computed name: only a quoted name can be checked against the chart's templates` });
    else if (!defined.has(u.name)) problems.push({ file: u.file, line: u.line, message: `${u.what} "${u.name}": no template of that name is defined in the chart` });
  }
  if (opts.values) {
    for (const r of unresolvedReferences(valuesReferences(templates), opts.values)) {
      problems.push({ file: r.file, line: r.line, message: `.Values.${r.path.join('.')} is not in values.yaml` });
    }
  }
  return problems.sort((x, y) => x.file.localeCompare(y.file) || x.line - y.line);
}
