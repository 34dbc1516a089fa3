/**
 * Hand-written recursive-descent parser for SCIM filters (RFC 7644 §3.4.2.2) and PATCH
 * paths (RFC 7644 §3.5.2). We own this rather than use scimmy's parser, which mis-applies
 * De Morgan on `not (a or b)` and fails on escaped quotes.
 *
 * Grammar (precedence low to high: or, and, not/parentheses/attribute expression):
 *
 *   filter    = orExpr
 *   orExpr    = andExpr *("or" andExpr)
 *   andExpr   = unary *("and" unary)
 *   unary     = "not" "(" orExpr ")" / "(" orExpr ")" / attrExpr
 *   attrExpr  = attrPath "pr" / attrPath compareOp compValue / attrPath "[" valFilter "]"
 *             / attrPath "[" valFilter "]" "." ATTRNAME ("pr" / compareOp compValue)   ; Entra ID, see parseSubAttrTest
 *   attrPath  = [URI ":"] ATTRNAME ["." ATTRNAME]
 *   compValue = false / null / true / number / string        ; JSON literals (RFC 8259)
 *
 * Keywords and operators are case-insensitive (ABNF quoted strings are, RFC 5234 §2.3).
 * The parser is schema-agnostic: whether an attribute exists is decided later, by the
 * binder in evaluate.ts.
 */
import { ScimError } from '../error';

export type CompareOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'lt' | 'ge' | 'le';

/** `schema` is the URN prefix when one was written for an extension; core URNs are normalised away. */
export interface AttrPath {
  schema?: string;
  attr: string;
  sub?: string;
}

export type FilterNode =
  | { type: 'and'; left: FilterNode; right: FilterNode }
  | { type: 'or'; left: FilterNode; right: FilterNode }
  | { type: 'not'; expr: FilterNode }
  | { type: 'compare'; path: AttrPath; op: CompareOp; value: string | number | boolean | null }
  | { type: 'present'; path: AttrPath }
  /** `emails[type eq "work"]`: the inner filter's paths are relative to one element. */
  | { type: 'valuePath'; path: AttrPath; filter: FilterNode };

/** `emails[type eq "work"].value` => path {attr:'emails'}, filter, subAttr 'value'. */
export interface PatchPath {
  path: AttrPath;
  filter?: FilterNode;
  subAttr?: string;
}

/**
 * Bounds that keep a hostile filter from costing the server much (parse, SQL planning,
 * evaluation): its length, its nesting (parentheses, not, [ ]) and its comparisons (each `eq`,
 * `co`, …, `pr`, inside [ ] too). IdPs send one to three comparisons; each `co` on a
 * multi-valued attribute is a scan of every value of every user of the tenant.
 */
export const MAX_FILTER_LENGTH = 4096;
export const MAX_FILTER_DEPTH = 10;
export const MAX_FILTER_TERMS = 20;

const COMPARE_OPS: readonly CompareOp[] = ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'lt', 'ge', 'le'];
const CORE_URNS = ['urn:ietf:params:scim:schemas:core:2.0:user', 'urn:ietf:params:scim:schemas:core:2.0:group'];
/** RFC 7643 §2.1: ATTRNAME = ALPHA *(nameChar); `$ref` is the one reserved exception. */
const ATTRNAME = /^(?:[A-Za-z][A-Za-z0-9_-]*|\$ref)$/;
/** Characters an attribute path token may contain: name chars, `$`, and the `:` `.` of URNs. */
const PATH_CHAR = /[A-Za-z0-9_$:.-]/;
const JSON_NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const OPS_HINT = 'a comparison operator (eq, ne, co, sw, ew, gt, lt, ge, le) or "pr"';

type ErrorType = 'invalidFilter' | 'invalidPath';

class Parser {
  pos = 0;
  private depth = 0;
  private terms = 0;

  constructor(
    private readonly src: string,
    private readonly scimType: ErrorType,
  ) {}

  fail(expected: string, at = this.pos): never {
    const what = this.scimType === 'invalidFilter' ? 'Invalid filter' : 'Invalid path';
    const found = at >= this.src.length ? 'the end of the input' : JSON.stringify(this.src.slice(at, at + 24) + (at + 24 < this.src.length ? '…' : ''));
    throw new ScimError(400, this.scimType, `${what} at column ${at + 1}: expected ${expected}, found ${found}.`);
  }

  private failPlain(message: string): never {
    throw new ScimError(400, this.scimType, `${this.scimType === 'invalidFilter' ? 'Invalid filter' : 'Invalid path'}: ${message}`);
  }

  get atEnd(): boolean {
    return this.pos >= this.src.length;
  }

  peekChar(): string | undefined {
    return this.src[this.pos];
  }

  skipWs(): void {
    // RFC 7644 writes SP between tokens; tabs and newlines are accepted too, being harmless.
    while (this.pos < this.src.length && ' \t\r\n'.includes(this.src[this.pos])) this.pos++;
  }

  private enter(): void {
    if (++this.depth > MAX_FILTER_DEPTH) this.failPlain(`nested more than ${MAX_FILTER_DEPTH} levels deep.`);
  }

  private leave(): void {
    this.depth--;
  }

  /** Counts one comparison (or `pr`). */
  private term(): void {
    if (++this.terms > MAX_FILTER_TERMS) this.failPlain(`more than ${MAX_FILTER_TERMS} comparisons; split the query or narrow it.`);
  }

  /** The keyword (a run of letters ending at a token boundary) at the cursor, lower-cased; not consumed. */
  peekKeyword(): string | undefined {
    this.skipWs();
    let end = this.pos;
    while (end < this.src.length && /[A-Za-z]/.test(this.src[end])) end++;
    if (end === this.pos || (end < this.src.length && PATH_CHAR.test(this.src[end]))) return undefined;
    return this.src.slice(this.pos, end).toLowerCase();
  }

  private acceptKeyword(word: string): boolean {
    if (this.peekKeyword() !== word) return false;
    this.pos += word.length;
    return true;
  }

  private expectChar(ch: string, expected: string): void {
    this.skipWs();
    if (this.src[this.pos] !== ch) this.fail(expected);
    this.pos++;
  }

  // --- filters -------------------------------------------------------------------------

  parseOr(inValuePath: string | undefined): FilterNode {
    let left = this.parseAnd(inValuePath);
    while (this.acceptKeyword('or')) left = { type: 'or', left, right: this.parseAnd(inValuePath) };
    return left;
  }

  private parseAnd(inValuePath: string | undefined): FilterNode {
    let left = this.parseUnary(inValuePath);
    while (this.acceptKeyword('and')) left = { type: 'and', left, right: this.parseUnary(inValuePath) };
    return left;
  }

  private parseUnary(inValuePath: string | undefined): FilterNode {
    this.skipWs();
    if (this.peekChar() === '(') return this.parseGroup(inValuePath);
    const start = this.pos;
    if (this.acceptKeyword('not')) {
      this.skipWs();
      // RFC 7644 §3.4.2.2 only knows `not ( filter )`; there is no attribute named "not".
      if (this.peekChar() !== '(') this.fail('"(" after "not" (write: not (expression))');
      return { type: 'not', expr: this.parseGroup(inValuePath) };
    }
    this.pos = start;
    return this.parseAttrExpr(inValuePath);
  }

  private parseGroup(inValuePath: string | undefined): FilterNode {
    this.enter();
    this.pos++; // '('
    const inner = this.parseOr(inValuePath);
    this.expectChar(')', '"and", "or" or ")"');
    this.leave();
    return inner;
  }

  private parseAttrExpr(inValuePath: string | undefined): FilterNode {
    this.skipWs();
    const pathStart = this.pos;
    const path = this.parseAttrPath();
    if (inValuePath !== undefined && (path.schema !== undefined || path.sub !== undefined)) {
      this.fail(`a sub-attribute name of "${inValuePath}" (paths inside [ ] are relative to one element)`, pathStart);
    }
    this.skipWs();
    if (this.peekChar() === '[') {
      const bracket = this.pos;
      if (inValuePath !== undefined) this.fail('an operator: [ ] filters cannot be nested', bracket);
      if (path.sub !== undefined)
        this.fail(`an operator: [ ] filters apply to a complex attribute (e.g. emails[type eq "work"]), not to "${path.attr}.${path.sub}"`, bracket);
      this.enter();
      this.pos++;
      const filter = this.parseOr(path.attr);
      this.expectChar(']', '"and", "or" or "]"');
      this.leave();
      if (this.peekChar() === '.') return { type: 'valuePath', path, filter: this.parseSubAttrTest(path.attr, filter) };
      return { type: 'valuePath', path, filter };
    }
    const opStart = this.pos;
    const word = this.peekKeyword();
    if (word === 'pr') {
      this.pos += 2;
      this.term();
      return { type: 'present', path };
    }
    if (word === undefined || !(COMPARE_OPS as readonly string[]).includes(word)) {
      this.fail(`${OPS_HINT} after "${this.src.slice(pathStart, opStart).trim()}"`, opStart);
    }
    this.pos += word.length;
    const op = word as CompareOp;
    this.term();
    this.skipWs();
    return { type: 'compare', path, op, value: this.parseValue(op) };
  }

  /**
   * `emails[type eq "work"].value eq "x"`: not RFC 7644 grammar, but what Entra ID sends to find
   * a user by its work email. Read as `emails[type eq "work" and value eq "x"]`: one element
   * satisfies both (the cursor is on the "." after "]").
   */
  private parseSubAttrTest(attr: string, filter: FilterNode): FilterNode {
    this.pos++; // '.'
    const subStart = this.pos;
    while (!this.atEnd && /[A-Za-z0-9_$-]/.test(this.src[this.pos])) this.pos++;
    const sub = this.src.slice(subStart, this.pos);
    if (!ATTRNAME.test(sub)) this.fail(`a sub-attribute name of "${attr}" after "]."`, subStart);
    const opStart = this.pos;
    const word = this.peekKeyword();
    if (word === 'pr') {
      this.pos += 2;
      return { type: 'and', left: filter, right: { type: 'present', path: { attr: sub } } };
    }
    if (word === undefined || !(COMPARE_OPS as readonly string[]).includes(word)) this.fail(`${OPS_HINT} after "${attr}[…].${sub}"`, opStart);
    this.pos += word.length;
    const op = word as CompareOp;
    this.skipWs();
    return { type: 'and', left: filter, right: { type: 'compare', path: { attr: sub }, op, value: this.parseValue(op) } };
  }

  private parseValue(op: CompareOp): string | number | boolean | null {
    const ch = this.peekChar();
    if (ch === '"') return this.parseString();
    if (ch === '-' || (ch !== undefined && ch >= '0' && ch <= '9')) {
      JSON_NUMBER.lastIndex = this.pos;
      const m = JSON_NUMBER.exec(this.src);
      const end = m ? this.pos + m[0].length : this.pos;
      if (!m || (end < this.src.length && PATH_CHAR.test(this.src[end]))) this.fail('a JSON number');
      const n = Number(m[0]);
      if (!Number.isFinite(n)) this.fail('a number within the range of a double');
      this.pos = end;
      return n;
    }
    const word = this.peekKeyword();
    if (word === 'true' || word === 'false' || word === 'null') {
      this.pos += word.length;
      return word === 'null' ? null : word === 'true';
    }
    this.fail(`a value after "${op}": a "quoted string", a number, true, false or null`);
  }

  /** A JSON string literal (RFC 8259 §7) with its escapes, `\"`, `\\` and `\uXXXX` included. */
  private parseString(): string {
    const start = this.pos;
    this.pos++; // opening quote
    let out = '';
    for (;;) {
      if (this.atEnd) this.fail("a closing '\"' for the string that starts here", start);
      const ch = this.src[this.pos];
      const code = ch.charCodeAt(0);
      if (ch === '"') {
        this.pos++;
        return out;
      }
      if (code < 0x20) this.fail('a printable character (control characters must be escaped, e.g. \\n)');
      if (code >= 0xd800 && code <= 0xdfff) {
        // A raw surrogate must be a proper pair; PostgreSQL could not store a lone one anyway.
        const next = this.src.charCodeAt(this.pos + 1);
        if (code > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) this.fail('valid UTF-16 text (unpaired surrogate)');
        out += ch + this.src[this.pos + 1];
        this.pos += 2;
        continue;
      }
      if (ch !== '\\') {
        out += ch;
        this.pos++;
        continue;
      }
      const esc = this.src[this.pos + 1];
      const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
      if (esc !== undefined && esc in simple) {
        out += simple[esc];
        this.pos += 2;
        continue;
      }
      if (esc !== 'u') this.fail('a JSON escape (\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX)');
      const unit = this.hex4(this.pos + 2);
      this.pos += 6;
      if (unit === 0) this.fail('a character other than \\u0000 (NUL cannot be stored)', this.pos - 6);
      if (unit >= 0xdc00 && unit <= 0xdfff) this.fail('a high surrogate before a low one (unpaired \\u escape)', this.pos - 6);
      if (unit >= 0xd800 && unit <= 0xdbff) {
        const low = this.src.startsWith('\\u', this.pos) ? this.hex4(this.pos + 2) : -1;
        if (!(low >= 0xdc00 && low <= 0xdfff)) this.fail('a \\uXXXX low surrogate completing the pair', this.pos);
        out += String.fromCharCode(unit, low);
        this.pos += 6;
        continue;
      }
      out += String.fromCharCode(unit);
    }
  }

  private hex4(at: number): number {
    const digits = this.src.slice(at, at + 4);
    if (!/^[0-9A-Fa-f]{4}$/.test(digits)) this.fail('four hex digits after \\u', at);
    return parseInt(digits, 16);
  }

  // --- attribute paths -----------------------------------------------------------------

  /** `[URN ":"] attr ["." sub]`; the URN is everything up to the last colon. */
  parseAttrPath(): AttrPath {
    const start = this.pos;
    while (this.pos < this.src.length && PATH_CHAR.test(this.src[this.pos])) this.pos++;
    const token = this.src.slice(start, this.pos);
    if (token === '') this.fail('an attribute name', start);
    let schema: string | undefined;
    let rest = token;
    const colon = token.lastIndexOf(':');
    if (colon >= 0) {
      schema = token.slice(0, colon);
      rest = token.slice(colon + 1);
      if (!/^urn:[A-Za-z0-9][A-Za-z0-9-]*:\S+$/i.test(schema))
        this.fail('an attribute name or a schema URN such as urn:ietf:params:scim:schemas:extension:enterprise:2.0:User', start);
      if (CORE_URNS.includes(schema.toLowerCase())) schema = undefined;
    }
    const parts = rest.split('.');
    const nameStart = start + (colon >= 0 ? colon + 1 : 0);
    if (parts.length > 2) this.fail('at most one sub-attribute (attr.sub)', nameStart);
    if (!ATTRNAME.test(parts[0])) this.fail('an attribute name (a letter followed by letters, digits, "_" or "-")', nameStart);
    if (parts.length === 2 && !ATTRNAME.test(parts[1])) this.fail('a sub-attribute name after "."', nameStart + parts[0].length + 1);
    return { ...(schema !== undefined ? { schema } : {}), attr: parts[0], ...(parts.length === 2 ? { sub: parts[1] } : {}) };
  }
}

function checkInput(input: unknown, scimType: ErrorType, what: string): string {
  if (typeof input !== 'string') throw new ScimError(400, scimType, `The ${what} must be a string.`);
  if (input.length > MAX_FILTER_LENGTH) throw new ScimError(400, scimType, `The ${what} is longer than ${MAX_FILTER_LENGTH} characters.`);
  return input;
}

/** Parses a `filter` parameter (RFC 7644 §3.4.2.2); throws ScimError 400 invalidFilter saying where and what was expected. */
export function parseFilter(input: string): FilterNode {
  const p = new Parser(checkInput(input, 'invalidFilter', 'filter'), 'invalidFilter');
  p.skipWs();
  if (p.atEnd) p.fail('a filter expression');
  const node = p.parseOr(undefined);
  p.skipWs();
  if (!p.atEnd) p.fail(p.peekChar() === ')' ? '"and", "or" or the end of the filter (unbalanced ")")' : '"and", "or" or the end of the filter');
  return node;
}

/**
 * Parses a PATCH operation path (RFC 7644 §3.5.2): `attrPath` or `valuePath [ "." subAttr ]`.
 * Every error, the embedded filter's included, is invalidPath (RFC 7644 §3.5.2).
 */
export function parsePatchPath(input: string): PatchPath {
  const src = checkInput(input, 'invalidPath', 'path').trim();
  const p = new Parser(src, 'invalidPath');
  if (p.atEnd) p.fail('an attribute path');
  const path = p.parseAttrPath();
  if (p.peekChar() !== '[') {
    if (!p.atEnd) p.fail('"[", "." or the end of the path');
    return { path };
  }
  if (path.sub !== undefined) p.fail(`the end of the path: [ ] filters apply to a complex attribute, not to "${path.attr}.${path.sub}"`);
  p.pos++;
  const filter = p.parseOr(path.attr);
  p.skipWs();
  if (p.peekChar() !== ']') p.fail('"and", "or" or "]"');
  p.pos++;
  if (p.atEnd) return { path, filter };
  if (p.peekChar() !== '.') p.fail('"." and a sub-attribute, or the end of the path');
  p.pos++;
  const subStart = p.pos;
  while (!p.atEnd && /[A-Za-z0-9_$-]/.test(p.peekChar()!)) p.pos++;
  const subAttr = src.slice(subStart, p.pos);
  if (!ATTRNAME.test(subAttr)) p.fail('a sub-attribute name after "]."', subStart);
  if (!p.atEnd) p.fail('the end of the path');
  return { path, filter, subAttr };
}

/** Parses a bare attribute path (`sortBy`, `attributes`): `[URN ":"] attr ["." sub]`. */
export function parseAttrPath(input: string, scimType: ErrorType = 'invalidPath'): AttrPath {
  const p = new Parser(checkInput(input, scimType, 'attribute path').trim(), scimType);
  const path = p.parseAttrPath();
  if (!p.atEnd) p.fail('the end of the attribute path');
  return path;
}

/** The path as written in SCIM notation, for messages. */
export function formatAttrPath(path: AttrPath): string {
  return `${path.schema !== undefined ? `${path.schema}:` : ''}${path.attr}${path.sub !== undefined ? `.${path.sub}` : ''}`;
}
