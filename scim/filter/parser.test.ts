import { ScimError } from '../error';
import { type FilterNode, MAX_FILTER_DEPTH, MAX_FILTER_LENGTH, MAX_FILTER_TERMS, parseAttrPath, parseFilter, parsePatchPath } from './parser';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

/** Compact rendering of a tree, to assert structure (and so precedence) at a glance. */
function show(n: FilterNode): string {
  const path = (p: { schema?: string; attr: string; sub?: string }) => `${p.schema ? `${p.schema}:` : ''}${p.attr}${p.sub ? `.${p.sub}` : ''}`;
  switch (n.type) {
    case 'and':
    case 'or':
      return `(${show(n.left)} ${n.type} ${show(n.right)})`;
    case 'not':
      return `not ${show(n.expr)}`;
    case 'present':
      return `${path(n.path)} pr`;
    case 'compare':
      return `${path(n.path)} ${n.op} ${JSON.stringify(n.value)}`;
    case 'valuePath':
      return `${path(n.path)}[${show(n.filter)}]`;
  }
}

function errorOf(fn: () => unknown): ScimError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ScimError);
    return err as ScimError;
  }
  throw new Error('expected a ScimError');
}

describe('parseFilter', () => {
  it('parses every comparison operator, case-insensitively', () => {
    for (const op of ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'lt', 'ge', 'le']) {
      expect(parseFilter(`userName ${op} "x"`)).toEqual({ type: 'compare', path: { attr: 'userName' }, op, value: 'x' });
      expect(parseFilter(`userName ${op.toUpperCase()} "x"`)).toEqual({ type: 'compare', path: { attr: 'userName' }, op, value: 'x' });
    }
    expect(parseFilter('title Pr')).toEqual({ type: 'present', path: { attr: 'title' } });
  });

  it('parses JSON literals: strings, numbers, true/false/null in any case', () => {
    expect(show(parseFilter('a eq 42'))).toBe('a eq 42');
    expect(show(parseFilter('a eq -1.5e3'))).toBe('a eq -1500');
    expect(show(parseFilter('a eq 0'))).toBe('a eq 0');
    expect(show(parseFilter('a eq true'))).toBe('a eq true');
    expect(show(parseFilter('a eq False'))).toBe('a eq false');
    expect(show(parseFilter('a eq NULL'))).toBe('a eq null');
    expect(show(parseFilter('a eq ""'))).toBe('a eq ""');
  });

  it('decodes string escapes', () => {
    const value = (f: string) => (parseFilter(f) as Extract<FilterNode, { type: 'compare' }>).value;
    expect(value(String.raw`a eq "say \"hi\""`)).toBe('say "hi"');
    expect(value(String.raw`a eq "back\\slash"`)).toBe('back\\slash');
    expect(value(String.raw`a eq "\u00e9t\u00C9 \/ \t\n"`)).toBe('étÉ / \t\n');
    expect(value(String.raw`a eq "\ud83d\ude00"`)).toBe('😀');
    expect(value('a eq "😀 ünïcode"')).toBe('😀 ünïcode');
    expect(value(String.raw`a eq "ends with backslash \\"`)).toBe('ends with backslash \\');
    expect(value(String.raw`a eq "x\" or b eq \"y"`)).toBe('x" or b eq "y');
  });

  it('binds and tighter than or, left to right', () => {
    expect(show(parseFilter('a pr or b pr and c pr'))).toBe('(a pr or (b pr and c pr))');
    expect(show(parseFilter('a pr and b pr or c pr'))).toBe('((a pr and b pr) or c pr)');
    expect(show(parseFilter('a pr or b pr or c pr'))).toBe('((a pr or b pr) or c pr)');
    expect(show(parseFilter('a pr AND b pr Or c pr'))).toBe('((a pr and b pr) or c pr)');
  });

  it('honours parentheses and not', () => {
    expect(show(parseFilter('(a pr or b pr) and c pr'))).toBe('((a pr or b pr) and c pr)');
    // not applies to the whole parenthesised disjunction: no De Morgan rewriting in the parser.
    expect(show(parseFilter('not (a eq 1 or b eq 2)'))).toBe('not (a eq 1 or b eq 2)');
    expect(show(parseFilter('NOT(a pr) and b pr'))).toBe('(not a pr and b pr)');
    expect(show(parseFilter('not (not (a pr))'))).toBe('not not a pr');
    expect(show(parseFilter('((a pr))'))).toBe('a pr');
    expect(show(parseFilter('  a pr   and\tb pr  '))).toBe('(a pr and b pr)');
  });

  it('parses sub-attributes, URN-qualified paths and $ref', () => {
    expect(parseFilter('name.givenName eq "B"')).toEqual({ type: 'compare', path: { attr: 'name', sub: 'givenName' }, op: 'eq', value: 'B' });
    expect(parseFilter(`${ENTERPRISE}:employeeNumber eq "7"`)).toEqual({
      type: 'compare',
      path: { schema: ENTERPRISE, attr: 'employeeNumber' },
      op: 'eq',
      value: '7',
    });
    expect(parseFilter(`${ENTERPRISE}:manager.value pr`)).toEqual({ type: 'present', path: { schema: ENTERPRISE, attr: 'manager', sub: 'value' } });
    expect(parseFilter('members.$ref pr')).toEqual({ type: 'present', path: { attr: 'members', sub: '$ref' } });
    expect(parseFilter('x-y_z1 pr')).toEqual({ type: 'present', path: { attr: 'x-y_z1' } });
  });

  it('normalises the core User and Group URNs away', () => {
    expect(parseFilter('urn:ietf:params:scim:schemas:core:2.0:User:userName eq "b"')).toEqual(parseFilter('userName eq "b"'));
    expect(parseFilter('URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER:name.givenName pr')).toEqual(parseFilter('name.givenName pr'));
    expect(parseFilter('urn:ietf:params:scim:schemas:core:2.0:Group:displayName pr')).toEqual(parseFilter('displayName pr'));
  });

  it('parses value paths with relative inner paths', () => {
    expect(show(parseFilter('emails[type eq "work" and value co "@x.com"]'))).toBe('emails[(type eq "work" and value co "@x.com")]');
    expect(show(parseFilter('emails[type eq "work"] or ims[type eq "xmpp" and not (value pr)]'))).toBe(
      '(emails[type eq "work"] or ims[(type eq "xmpp" and not value pr)])',
    );
    expect(show(parseFilter(`${ENTERPRISE}:manager[value eq "1"]`))).toBe(`${ENTERPRISE}:manager[value eq "1"]`);
    expect(show(parseFilter('members[value eq "a" or value eq "b"] and displayName pr'))).toBe('(members[(value eq "a" or value eq "b")] and displayName pr)');
  });

  it('when Entra sends emails[type eq "work"].value eq "x", then it means one work email with that value', () => {
    expect(show(parseFilter('emails[type eq "work"].value eq "x@example.org"'))).toBe('emails[(type eq "work" and value eq "x@example.org")]');
    expect(show(parseFilter('emails[type eq "work"].value pr and active eq true'))).toBe('(emails[(type eq "work" and value pr)] and active eq true)');
  });

  it('keeps "and"/"or" inside strings as text', () => {
    expect(show(parseFilter('title eq "this and that" or title eq "(x)"'))).toBe('(title eq "this and that" or title eq "(x)")');
  });

  it.each([
    ['', /column 1: expected a filter expression, found the end of the input/],
    ['userName', /column 9: expected a comparison operator \(eq, ne, co, sw, ew, gt, lt, ge, le\) or "pr" after "userName", found the end/],
    ['userName equals "x"', /column 10: expected a comparison operator .* found "equals \\"x\\""/],
    ['userName eq', /column 12: expected a value after "eq": a "quoted string", a number, true, false or null/],
    ['userName eq x', /expected a value after "eq"/],
    ["userName eq 'x'", /expected a value after "eq"/],
    ['userName eq "x', /column 13: expected a closing '"' for the string that starts here/],
    ['userName eq "x" and', /column 20: expected an attribute name, found the end of the input/],
    ['userName eq "x" userName eq "y"', /column 17: expected "and", "or" or the end of the filter/],
    ['(userName pr', /column 13: expected "and", "or" or "\)"/],
    ['userName pr)', /unbalanced "\)"/],
    ['not userName pr', /expected "\(" after "not"/],
    ['emails[type eq "work"', /expected "and", "or" or "]"/],
    ['emails[type eq "work"].value', /expected a comparison operator .* after "emails\[…\]\.value"/],
    ['emails[type eq "work"].', /a sub-attribute name of "emails" after "\]\."/],
    ['emails[type[value pr]]', /\[ \] filters cannot be nested/],
    ['emails[name.givenName pr]', /a sub-attribute name of "emails"/],
    ['name.givenName[value pr]', /\[ \] filters apply to a complex attribute/],
    ['a.b.c pr', /at most one sub-attribute/],
    ['1abc pr', /expected a value|expected an attribute name/],
    ['a eq 01', /a JSON number/],
    ['a eq 1e999', /within the range/],
    [String.raw`a eq "\x"`, /a JSON escape/],
    [String.raw`a eq "\u12"`, /four hex digits/],
    [String.raw`a eq "\u0000"`, /NUL/],
    [String.raw`a eq "\ud800"`, /low surrogate/],
    [String.raw`a eq "\udc00"`, /unpaired/],
    ['a eq "tab\there"', /control characters must be escaped/],
    ['foo:bar pr', /a schema URN/],
  ])('rejects %j with a helpful invalidFilter', (input, message) => {
    const err = errorOf(() => parseFilter(input));
    expect(err.status).toBe(400);
    expect(err.scimType).toBe('invalidFilter');
    expect(err.detail).toMatch(message);
  });

  it('limits input length and nesting depth', () => {
    const long = `title eq "${'x'.repeat(MAX_FILTER_LENGTH)}"`;
    expect(errorOf(() => parseFilter(long)).detail).toMatch(/longer than 4096 characters/);
    const nested = (n: number) => `${'('.repeat(n)}a pr${')'.repeat(n)}`;
    expect(show(parseFilter(nested(MAX_FILTER_DEPTH)))).toBe('a pr');
    expect(errorOf(() => parseFilter(nested(MAX_FILTER_DEPTH + 1))).detail).toMatch(/nested more than 10 levels/);
    expect(errorOf(() => parseFilter(`${'not ('.repeat(60)}a pr${')'.repeat(60)}`)).scimType).toBe('invalidFilter');
  });

  it('when a filter has more comparisons than the limit (inside [ ] too), then it is 400 invalidFilter naming the limit', () => {
    const chain = (n: number, term: string) => Array.from({ length: n }, () => term).join(' or ');
    expect(() => parseFilter(chain(MAX_FILTER_TERMS, 'a pr'))).not.toThrow();
    const tooMany = errorOf(() => parseFilter(chain(MAX_FILTER_TERMS + 1, 'a pr')));
    expect(tooMany.scimType).toBe('invalidFilter');
    expect(tooMany.detail).toMatch(/more than 20 comparisons/);
    // The shape of the outside finding: 100 `emails[value co …]` terms.
    expect(errorOf(() => parseFilter(chain(100, 'emails[value co "x"]'))).detail).toMatch(/more than 20 comparisons/);
    expect(errorOf(() => parseFilter(`emails[${chain(MAX_FILTER_TERMS + 1, 'value co "x"')}]`)).scimType).toBe('invalidFilter');
  });

  it('rejects non-string input', () => {
    expect(errorOf(() => parseFilter(42 as unknown as string)).scimType).toBe('invalidFilter');
  });
});

describe('parsePatchPath', () => {
  it('parses attribute paths', () => {
    expect(parsePatchPath('displayName')).toEqual({ path: { attr: 'displayName' } });
    expect(parsePatchPath('name.givenName')).toEqual({ path: { attr: 'name', sub: 'givenName' } });
    expect(parsePatchPath(`${ENTERPRISE}:manager`)).toEqual({ path: { schema: ENTERPRISE, attr: 'manager' } });
    expect(parsePatchPath(`${ENTERPRISE}:manager.value`)).toEqual({ path: { schema: ENTERPRISE, attr: 'manager', sub: 'value' } });
    expect(parsePatchPath('urn:ietf:params:scim:schemas:core:2.0:User:userName')).toEqual({ path: { attr: 'userName' } });
  });

  it('parses value paths with and without a trailing sub-attribute', () => {
    expect(parsePatchPath('emails[type eq "work"].value')).toEqual({
      path: { attr: 'emails' },
      filter: { type: 'compare', path: { attr: 'type' }, op: 'eq', value: 'work' },
      subAttr: 'value',
    });
    expect(parsePatchPath('members[value eq "2819c223-7f76-453a-919d-413861904646"]')).toEqual({
      path: { attr: 'members' },
      filter: { type: 'compare', path: { attr: 'value' }, op: 'eq', value: '2819c223-7f76-453a-919d-413861904646' },
    });
    const p = parsePatchPath('addresses[type eq "work" and primary eq true].streetAddress');
    expect(show(p.filter!)).toBe('(type eq "work" and primary eq true)');
    expect(p.subAttr).toBe('streetAddress');
    expect(parsePatchPath(`${ENTERPRISE}:manager[value pr].displayName`).path).toEqual({ schema: ENTERPRISE, attr: 'manager' });
  });

  it.each([
    ['', /expected an attribute path/],
    ['emails[type eq "work"', /expected "and", "or" or "]"/],
    ['emails[type eq "work"]value', /expected "." and a sub-attribute/],
    ['emails[type eq "work"].', /a sub-attribute name after "]."/],
    ['emails[type eq "work"].value.x', /the end of the path/],
    ['emails[type eq]', /expected a value after "eq"/],
    ['name.givenName[value pr]', /\[ \] filters apply to a complex attribute/],
    ['emails type', /expected "\[", "." or the end of the path/],
  ])('rejects %j as invalidPath', (input, message) => {
    const err = errorOf(() => parsePatchPath(input));
    expect(err.scimType).toBe('invalidPath');
    expect(err.detail).toMatch(message);
  });
});

describe('parseAttrPath', () => {
  it('parses sortBy-style paths', () => {
    expect(parseAttrPath('name.familyName')).toEqual({ attr: 'name', sub: 'familyName' });
    expect(parseAttrPath(`${ENTERPRISE}:department`)).toEqual({ schema: ENTERPRISE, attr: 'department' });
    expect(errorOf(() => parseAttrPath('name[x pr]')).scimType).toBe('invalidPath');
  });
});
