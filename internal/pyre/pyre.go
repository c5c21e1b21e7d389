// Package pyre compiles Python re patterns (the syntax of Chaos Toolkit's regex tolerances) to
// Go RE2, keeping their meaning, and searches with re.search semantics.
//
// What is translated:
//   - $ outside MULTILINE matches at the end and also just before a final newline, as in
//     Python. RE2 has no lookahead, so Search picks a translation by the input: without a
//     final newline $ is \z; when the final newline is the only one, $ is (?m:$), exact too;
//     otherwise the pattern (with $ as \z) is tried on the input, then on the input without
//     its final newline. Only that last case can differ from Python, when a match consumes
//     the final newline after a $ (as "a$\n" does on "x\na\n");
//   - \Z (end of input) becomes \z; \A, \b, \B are kept; \uXXXX, \UXXXXXXXX, \xHH and octal
//     escapes (\0, \012) become \x{...}; escapes of punctuation are literal characters;
//   - \d, \w, \s and their negations are Unicode-aware as in Python 3 (\d is \p{Nd}, \w is
//     [\p{L}\p{N}_], \s is Python's whitespace set), or ASCII under the (?a) flag;
//   - flags (?aimsux) at the start, scoped flags (?i:...) and (?-i:...), VERBOSE (?x)
//     (whitespace and # comments dropped), comments (?#...), named groups (?P<name>...);
//   - {,n} becomes {0,n}; a { that does not start a repeat is a literal, as in Python;
//   - inside classes, [ is a literal (Go would read [[:alpha:]] as a POSIX class) and \b is a
//     backspace; [x\W] becomes an alternation, and a negated set holding \D, \W or \S
//     ([^\W_]) is computed as explicit rune ranges, since RE2 has no set difference.
//
// What is refused, with an error naming the construct: lookahead and lookbehind ((?=, (?!,
// (?<=, (?<!), backreferences (\1, (?P=name)), conditionals ((?(1)...)), atomic groups ((?>...)),
// possessive quantifiers (a*+), \N{...} names, the LOCALE flag, global flags after the start,
// bad escapes such as \q or \z (an error in Python 3.11 too), and repeat counts above 1000 (an
// RE2 limit). \b and \B follow ASCII word characters only (RE2), where Python's follow Unicode
// ones.
package pyre

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Regexp is a compiled Python pattern. It is safe for concurrent use.
type Regexp struct {
	src string
	// re is the translation with $ (outside MULTILINE) and \Z as \z.
	re *regexp.Regexp
	// When the pattern has a $ outside MULTILINE: lastNL is the translation for inputs whose
	// only newline ends them ($ as (?m:$)), and trimmed the one searched in an input with
	// other newlines minus its final "\n" ($ as \z, \Z never matching).
	lastNL, trimmed *regexp.Regexp
}

// Compile translates a Python re pattern to Go RE2. The error reads like Python's ("bad escape
// \q at position 3") or names the construct RE2 lacks ("lookahead (?=...) is not supported").
func Compile(pattern string) (*Regexp, error) {
	t, err := translate(pattern)
	if err != nil {
		return nil, err
	}
	r := &Regexp{src: pattern}
	if r.re, err = goCompile(t.main.String()); err != nil {
		return nil, err
	}
	if t.dollar {
		if r.lastNL, err = goCompile(t.lastNL.String()); err != nil {
			return nil, err
		}
		if r.trimmed, err = goCompile(t.trim.String()); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func goCompile(s string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(s)
	if err != nil {
		return nil, fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
	return re, nil
}

// MustCompile is Compile that panics on error, for patterns written in Go code.
func MustCompile(pattern string) *Regexp {
	r, err := Compile(pattern)
	if err != nil {
		panic(fmt.Sprintf("pyre: Compile(%q): %v", pattern, err))
	}
	return r
}

// String returns the Python pattern.
func (r *Regexp) String() string { return r.src }

// Go returns the Go translation used for inputs that do not end with a newline ($ and \Z as
// \z).
func (r *Regexp) Go() *regexp.Regexp { return r.re }

// Search reports whether Python's re.search(pattern, s) finds a match.
func (r *Regexp) Search(s string) bool {
	if r.trimmed == nil || !strings.HasSuffix(s, "\n") {
		return r.re.MatchString(s)
	}
	if strings.IndexByte(s, '\n') == len(s)-1 {
		return r.lastNL.MatchString(s)
	}
	return r.re.MatchString(s) || r.trimmed.MatchString(s[:len(s)-1])
}

// Search reports whether re.search finds a match of re in s.
func Search(re *Regexp, s string) bool { return re.Search(s) }

// ---- translation ----

type flags struct {
	ignore, multiline, dotall, verbose, ascii bool
}

type translator struct {
	src                string
	pos                int
	main, lastNL, trim strings.Builder
	dollar             bool
	f                  flags
	stack              []flags
	// atStart is true until the first item that is not a global flag group.
	atStart bool
	// canRepeat is true when the last item emitted can take a quantifier.
	canRepeat bool
	// lastWasRepeat is true when the last item emitted was a quantifier.
	lastWasRepeat bool
}

const (
	unicodeDigit = `\p{Nd}`
	unicodeWord  = `\p{L}\p{N}_`
	unicodeSpace = `\t-\r\x1c-\x20\x85\xa0\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}`
	neverMatch   = `[^\x00-\x{10FFFF}]`
	maxRepeat    = 1000
	pyWhitespace = " \t\n\r\v\f"
	hexDigits    = "0123456789abcdefABCDEF"
	octDigits    = "01234567"
)

func (t *translator) errorf(pos int, format string, args ...any) error {
	return fmt.Errorf("%s at position %d", fmt.Sprintf(format, args...), pos)
}

// emit writes the same text to every translation.
func (t *translator) emit(s string) {
	t.main.WriteString(s)
	t.lastNL.WriteString(s)
	t.trim.WriteString(s)
}

func translate(p string) (*translator, error) {
	t := &translator{src: p, atStart: true}
	if err := t.alternation(0); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *translator) peekByte() byte {
	if t.pos < len(t.src) {
		return t.src[t.pos]
	}
	return 0
}

func (t *translator) skipVerbose() {
	for t.f.verbose && t.pos < len(t.src) {
		c := t.src[t.pos]
		if strings.IndexByte(pyWhitespace, c) >= 0 {
			t.pos++
			continue
		}
		if c == '#' {
			for t.pos < len(t.src) && t.src[t.pos] != '\n' {
				t.pos++
			}
			continue
		}
		break
	}
}

// alternation translates up to the closing parenthesis of the current group (depth > 0) or the
// end of the pattern (depth 0).
func (t *translator) alternation(depth int) error {
	t.canRepeat = false
	t.lastWasRepeat = false
	for {
		t.skipVerbose()
		if t.pos >= len(t.src) {
			if depth > 0 {
				return t.errorf(len(t.src), "missing ), unterminated subpattern")
			}
			return nil
		}
		start := t.pos
		c := t.src[t.pos]
		switch c {
		case ')':
			if depth == 0 {
				return t.errorf(start, "unbalanced parenthesis")
			}
			return nil
		case '|':
			t.pos++
			t.emit("|")
			t.canRepeat, t.lastWasRepeat = false, false
			t.atStart = false
		case '(':
			if err := t.group(); err != nil {
				return err
			}
		case '[':
			t.atStart = false
			if err := t.class(); err != nil {
				return err
			}
			t.canRepeat, t.lastWasRepeat = true, false
		case '*', '+', '?', '{':
			if err := t.quantifier(); err != nil {
				return err
			}
		case '\\':
			t.atStart = false
			if err := t.escape(); err != nil {
				return err
			}
		case '.':
			t.atStart = false
			t.pos++
			t.emit(".")
			t.canRepeat, t.lastWasRepeat = true, false
		case '^':
			t.atStart = false
			t.pos++
			t.emit("^")
			t.canRepeat, t.lastWasRepeat = false, false
		case '$':
			t.atStart = false
			t.pos++
			if t.f.multiline {
				t.emit("$")
			} else {
				t.dollar = true
				t.main.WriteString(`\z`)
				t.lastNL.WriteString(`(?m:$)`)
				t.trim.WriteString(`\z`)
			}
			t.canRepeat, t.lastWasRepeat = false, false
		default:
			t.atStart = false
			r, size := utf8.DecodeRuneInString(t.src[t.pos:])
			t.pos += size
			t.emit(regexp.QuoteMeta(string(r)))
			t.canRepeat, t.lastWasRepeat = true, false
		}
	}
}

func (t *translator) quantifier() error {
	start := t.pos
	c := t.src[t.pos]
	var q string
	if c == '{' {
		// Python: {m}, {m,}, {,n}, {m,n}, {,}; anything else is a literal {.
		i := t.pos + 1
		lo := i
		for i < len(t.src) && t.src[i] >= '0' && t.src[i] <= '9' {
			i++
		}
		loS := t.src[lo:i]
		hiS := loS
		comma := false
		if i < len(t.src) && t.src[i] == ',' {
			comma = true
			i++
			hi := i
			for i < len(t.src) && t.src[i] >= '0' && t.src[i] <= '9' {
				i++
			}
			hiS = t.src[hi:i]
		}
		if i >= len(t.src) || t.src[i] != '}' || (!comma && loS == "") {
			// A literal "{".
			t.atStart = false
			t.pos++
			t.emit(`\{`)
			t.canRepeat, t.lastWasRepeat = true, false
			return nil
		}
		t.pos = i + 1
		min, max := 0, -1
		if loS != "" {
			n, err := strconv.Atoi(loS)
			if err != nil || n > maxRepeat {
				return t.errorf(start, "repeat count %s is above %d, the most RE2 supports", loS, maxRepeat)
			}
			min = n
		}
		if hiS != "" {
			n, err := strconv.Atoi(hiS)
			if err != nil || n > maxRepeat {
				return t.errorf(start, "repeat count %s is above %d, the most RE2 supports", hiS, maxRepeat)
			}
			max = n
			if max < min {
				return t.errorf(start+1, "min repeat greater than max repeat")
			}
		}
		switch {
		case !comma:
			q = fmt.Sprintf("{%d}", min)
		case max < 0:
			q = fmt.Sprintf("{%d,}", min)
		default:
			q = fmt.Sprintf("{%d,%d}", min, max)
		}
	} else {
		t.pos++
		q = string(c)
	}
	if t.lastWasRepeat {
		return t.errorf(start, "multiple repeat")
	}
	if !t.canRepeat {
		return t.errorf(start, "nothing to repeat")
	}
	t.atStart = false
	if t.pos < len(t.src) {
		switch t.src[t.pos] {
		case '?':
			t.pos++
			q += "?"
		case '+':
			return t.errorf(t.pos, "possessive quantifier %s+ is not supported by RE2", q)
		}
	}
	t.emit(q)
	t.canRepeat, t.lastWasRepeat = false, true
	return nil
}

func (t *translator) group() error {
	start := t.pos
	t.pos++ // (
	rest := t.src[t.pos:]
	open := "("
	newFlags := t.f
	switch {
	case strings.HasPrefix(rest, "?:"):
		t.pos += 2
		open = "(?:"
	case strings.HasPrefix(rest, "?P<"):
		end := strings.IndexByte(rest, '>')
		if end < 0 {
			return t.errorf(t.pos+3, "missing >, unterminated name")
		}
		name := rest[3:end]
		if !isIdentifier(name) {
			if name == "" {
				return t.errorf(t.pos+3, "missing group name")
			}
			return t.errorf(t.pos+3, "bad character in group name '%s'", name)
		}
		t.pos += end + 1
		open = "(?P<" + name + ">"
	case strings.HasPrefix(rest, "?P="):
		return t.errorf(start, "backreference (?P=...) is not supported by RE2")
	case strings.HasPrefix(rest, "?="), strings.HasPrefix(rest, "?!"):
		return t.errorf(start, "lookahead %s...) is not supported by RE2", "("+rest[:2])
	case strings.HasPrefix(rest, "?<="), strings.HasPrefix(rest, "?<!"):
		return t.errorf(start, "lookbehind %s...) is not supported by RE2", "("+rest[:3])
	case strings.HasPrefix(rest, "?#"):
		end := strings.IndexByte(rest, ')')
		if end < 0 {
			return t.errorf(start, "missing ), unterminated comment")
		}
		t.pos += end + 1
		return nil
	case strings.HasPrefix(rest, "?>"):
		return t.errorf(start, "atomic group (?>...) is not supported by RE2")
	case strings.HasPrefix(rest, "?("):
		return t.errorf(start, "conditional group (?(...)...) is not supported by RE2")
	case strings.HasPrefix(rest, "?"):
		// Flags: (?aiLmsux) global, or (?aiLmsux-imsx:...) scoped.
		i := 1
		on := ""
		for i < len(rest) && strings.IndexByte("aiLmsux", rest[i]) >= 0 {
			on += rest[i : i+1]
			i++
		}
		off := ""
		if i < len(rest) && rest[i] == '-' {
			i++
			for i < len(rest) && strings.IndexByte("imsx", rest[i]) >= 0 {
				off += rest[i : i+1]
				i++
			}
			if off == "" {
				return t.errorf(t.pos+i, "missing flag")
			}
		}
		if i >= len(rest) {
			return t.errorf(t.pos+i, "missing -, : or )")
		}
		if on == "" && off == "" {
			if rest[i] == '<' {
				return t.errorf(t.pos, "unknown extension ?<%s", string(rest[min(i+1, len(rest)-1)]))
			}
			return t.errorf(t.pos, "unknown extension ?%s", string(rest[i]))
		}
		if strings.Contains(on, "L") {
			return t.errorf(t.pos+1, "bad inline flags: cannot use 'L' flag with a str pattern")
		}
		if strings.Contains(on, "a") && strings.Contains(on, "u") {
			return t.errorf(t.pos+1, "bad inline flags: flags 'a', 'u' and 'L' are incompatible")
		}
		switch rest[i] {
		case ')':
			if off != "" {
				return t.errorf(t.pos+i, "missing :")
			}
			if !t.atStart {
				return t.errorf(start, "global flags not at the start of the expression")
			}
			t.pos += i + 1
			t.f = applyFlags(t.f, on, "")
			if gf := goFlags(on, ""); gf != "" {
				t.emit("(?" + gf + ")")
			}
			return nil
		case ':':
			t.pos += i + 1
			newFlags = applyFlags(t.f, on, off)
			open = "(?:"
			if gf := goFlags(on, off); gf != "" {
				open = "(?" + gf + ":"
			}
		default:
			return t.errorf(t.pos+i, "missing -, : or )")
		}
	}
	t.atStart = false
	t.emit(open)
	t.stack = append(t.stack, t.f)
	t.f = newFlags
	if err := t.alternation(1); err != nil {
		return err
	}
	// t.src[t.pos] == ')'
	t.pos++
	t.f = t.stack[len(t.stack)-1]
	t.stack = t.stack[:len(t.stack)-1]
	t.emit(")")
	t.canRepeat, t.lastWasRepeat = true, false
	return nil
}

func applyFlags(f flags, on, off string) flags {
	for _, c := range on {
		switch c {
		case 'i':
			f.ignore = true
		case 'm':
			f.multiline = true
		case 's':
			f.dotall = true
		case 'x':
			f.verbose = true
		case 'a':
			f.ascii = true
		case 'u':
			f.ascii = false
		}
	}
	for _, c := range off {
		switch c {
		case 'i':
			f.ignore = false
		case 'm':
			f.multiline = false
		case 's':
			f.dotall = false
		case 'x':
			f.verbose = false
		}
	}
	return f
}

// goFlags keeps the flags RE2 understands (i, m, s) in Go's (?on-off) syntax.
func goFlags(on, off string) string {
	keep := func(s string) string {
		var b strings.Builder
		for _, c := range s {
			if c == 'i' || c == 'm' || c == 's' {
				b.WriteRune(c)
			}
		}
		return b.String()
	}
	on, off = keep(on), keep(off)
	if off != "" {
		return on + "-" + off
	}
	return on
}

func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && r >= '0' && r <= '9') {
			continue
		}
		return false
	}
	return true
}

// classEscape returns the Go text of \d, \w, \s (and negations) for the current flags: inner
// is the content to put inside a class, negated tells whether it is a negated set.
func (t *translator) shorthand(c byte) (inner string, negated bool) {
	if t.f.ascii {
		return `\` + string(c), false
	}
	switch c {
	case 'd':
		return unicodeDigit, false
	case 'D':
		return unicodeDigit, true
	case 'w':
		return unicodeWord, false
	case 'W':
		return unicodeWord, true
	case 's':
		return unicodeSpace, false
	case 'S':
		return unicodeSpace, true
	}
	return "", false
}

// escape translates one escape outside a class.
func (t *translator) escape() error {
	start := t.pos
	if t.pos+1 >= len(t.src) {
		return t.errorf(start, "bad escape (end of pattern)")
	}
	c := t.src[t.pos+1]
	switch c {
	case 'd', 'D', 'w', 'W', 's', 'S':
		t.pos += 2
		inner, neg := t.shorthand(c)
		switch {
		case t.f.ascii:
			t.emit(inner)
		case neg:
			t.emit("[^" + inner + "]")
		default:
			t.emit("[" + inner + "]")
		}
		t.canRepeat, t.lastWasRepeat = true, false
		return nil
	case 'b', 'B', 'A':
		t.pos += 2
		t.emit(`\` + string(c))
		t.canRepeat, t.lastWasRepeat = false, false
		return nil
	case 'Z':
		t.pos += 2
		t.main.WriteString(`\z`)
		t.lastNL.WriteString(`\z`)
		t.trim.WriteString(neverMatch)
		t.canRepeat, t.lastWasRepeat = false, false
		return nil
	}
	r, err := t.charEscape(false)
	if err != nil {
		return err
	}
	t.emit(literal(r))
	t.canRepeat, t.lastWasRepeat = true, false
	return nil
}

// charEscape reads an escape that stands for one character (t.pos at the backslash).
func (t *translator) charEscape(inClass bool) (rune, error) {
	start := t.pos
	c := t.src[t.pos+1]
	switch c {
	case 'a':
		t.pos += 2
		return '\a', nil
	case 'f':
		t.pos += 2
		return '\f', nil
	case 'n':
		t.pos += 2
		return '\n', nil
	case 'r':
		t.pos += 2
		return '\r', nil
	case 't':
		t.pos += 2
		return '\t', nil
	case 'v':
		t.pos += 2
		return '\v', nil
	case 'b':
		if inClass {
			t.pos += 2
			return '\b', nil
		}
	case 'x', 'u', 'U':
		n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[c]
		h := t.src[t.pos+2 : min(t.pos+2+n, len(t.src))]
		if len(h) != n || strings.Trim(h, hexDigits) != "" {
			return 0, t.errorf(start, "incomplete escape \\%c%s", c, h)
		}
		v, _ := strconv.ParseUint(h, 16, 32)
		if v > utf8.MaxRune {
			return 0, t.errorf(start, "bad escape \\%c%s", c, h)
		}
		t.pos += 2 + n
		return rune(v), nil
	case 'N':
		return 0, t.errorf(start, "named Unicode escape \\N{...} is not supported")
	}
	if c >= '0' && c <= '9' {
		// Python: \0 and up to two more octal digits, or three octal digits, are octal
		// escapes; other digits are group references (outside a class) or errors.
		i := t.pos + 1
		if c == '0' {
			j := i + 1
			for j < len(t.src) && j < i+3 && strings.IndexByte(octDigits, t.src[j]) >= 0 {
				j++
			}
			v, _ := strconv.ParseUint(t.src[i:j], 8, 32)
			t.pos = j
			return rune(v), nil
		}
		if i+2 < len(t.src) && strings.IndexByte(octDigits, t.src[i]) >= 0 &&
			strings.IndexByte(octDigits, t.src[i+1]) >= 0 && strings.IndexByte(octDigits, t.src[i+2]) >= 0 {
			v, _ := strconv.ParseUint(t.src[i:i+3], 8, 32)
			if v > 0o377 {
				return 0, t.errorf(start, "octal escape value \\%s outside of range 0-0o377", t.src[i:i+3])
			}
			t.pos = i + 3
			return rune(v), nil
		}
		if inClass {
			return 0, t.errorf(start, "bad escape \\%c", c)
		}
		j := i
		for j < len(t.src) && j < i+2 && t.src[j] >= '0' && t.src[j] <= '9' {
			j++
		}
		return 0, t.errorf(start, "backreference \\%s is not supported by RE2", t.src[i:j])
	}
	if c < 0x80 && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
		return 0, t.errorf(start, "bad escape \\%c", c)
	}
	r, size := utf8.DecodeRuneInString(t.src[t.pos+1:])
	t.pos += 1 + size
	return r, nil
}

// literal returns Go regexp text matching exactly r, outside a class.
func literal(r rune) string {
	if r < 0x20 || r == 0x7f {
		return fmt.Sprintf(`\x{%x}`, r)
	}
	return regexp.QuoteMeta(string(r))
}

// classLiteral returns Go text for r inside a class.
func classLiteral(r rune) string {
	if (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r > 0x7f && r != utf8.RuneError) {
		return string(r)
	}
	return fmt.Sprintf(`\x{%x}`, r)
}

// class translates a character set [...] (t.pos at "[").
func (t *translator) class() error {
	start := t.pos
	t.pos++
	negate := false
	if t.pos < len(t.src) && t.src[t.pos] == '^' {
		negate = true
		t.pos++
	}
	var items strings.Builder
	var negShorthands []string
	first := true
	for {
		if t.pos >= len(t.src) {
			return t.errorf(start, "unterminated character set")
		}
		c := t.src[t.pos]
		if c == ']' && !first {
			t.pos++
			break
		}
		first = false
		itemStart := t.pos
		// One item: a character (possibly starting a range) or a shorthand class.
		var lo rune
		if c == '\\' {
			if t.pos+1 >= len(t.src) {
				return t.errorf(t.pos, "bad escape (end of pattern)")
			}
			e := t.src[t.pos+1]
			if strings.IndexByte("dDwWsS", e) >= 0 {
				t.pos += 2
				inner, neg := t.shorthand(e)
				if neg {
					negShorthands = append(negShorthands, inner)
				} else {
					items.WriteString(inner)
				}
				if t.pos+1 < len(t.src) && t.src[t.pos] == '-' && t.src[t.pos+1] != ']' {
					return t.errorf(itemStart, "bad character range %s", t.src[itemStart:t.pos+2])
				}
				continue
			}
			if e == 'A' || e == 'Z' || e == 'B' {
				return t.errorf(t.pos, "bad escape \\%c", e)
			}
			r, err := t.charEscape(true)
			if err != nil {
				return err
			}
			lo = r
		} else {
			r, size := utf8.DecodeRuneInString(t.src[t.pos:])
			t.pos += size
			lo = r
		}
		// A range?
		if t.pos+1 < len(t.src) && t.src[t.pos] == '-' && t.src[t.pos+1] != ']' {
			t.pos++
			var hi rune
			if t.src[t.pos] == '\\' {
				if t.pos+1 >= len(t.src) {
					return t.errorf(t.pos, "bad escape (end of pattern)")
				}
				if strings.IndexByte("dDwWsS", t.src[t.pos+1]) >= 0 {
					return t.errorf(itemStart, "bad character range %s", t.src[itemStart:t.pos+2])
				}
				r, err := t.charEscape(true)
				if err != nil {
					return err
				}
				hi = r
			} else {
				r, size := utf8.DecodeRuneInString(t.src[t.pos:])
				t.pos += size
				hi = r
			}
			if hi < lo {
				return t.errorf(itemStart, "bad character range %s", t.src[itemStart:t.pos])
			}
			items.WriteString(classLiteral(lo) + "-" + classLiteral(hi))
			continue
		}
		items.WriteString(classLiteral(lo))
	}
	body := items.String()
	switch {
	case len(negShorthands) == 0:
		if body == "" { // only possible with "[]" forms Python refuses; kept for safety
			return t.errorf(start, "unterminated character set")
		}
		if negate {
			t.emit("[^" + body + "]")
		} else {
			t.emit("[" + body + "]")
		}
	case !negate:
		// [x\W] is x or a non-word character: an alternation of classes.
		parts := make([]string, 0, len(negShorthands)+1)
		if body != "" {
			parts = append(parts, "["+body+"]")
		}
		for _, n := range negShorthands {
			parts = append(parts, "[^"+n+"]")
		}
		t.emit("(?:" + strings.Join(parts, "|") + ")")
	case body == "" && len(negShorthands) == 1:
		// [^\W] is \w.
		t.emit("[" + negShorthands[0] + "]")
	default:
		// [^x\W] is \w without x: RE2 has no set difference, so compute the ranges.
		set := []rune{0, utf8.MaxRune}
		for _, n := range negShorthands {
			set = intersect(set, classRanges("["+n+"]", false))
		}
		if body != "" {
			// Under IGNORECASE every case form of an excluded character is excluded.
			set = subtract(set, classRanges("["+body+"]", t.f.ignore))
		}
		t.emit(rangesClass(set))
	}
	return nil
}

// classRanges returns the rune ranges (lo, hi pairs) of a Go character class.
func classRanges(class string, fold bool) []rune {
	flags := syntax.Perl
	if fold {
		flags |= syntax.FoldCase
	}
	re, err := syntax.Parse(class, flags)
	if err != nil {
		return nil
	}
	switch re.Op {
	case syntax.OpCharClass:
		return re.Rune
	case syntax.OpLiteral:
		out := make([]rune, 0, 2*len(re.Rune))
		for _, r := range re.Rune {
			out = append(out, r, r)
		}
		return out
	}
	return nil
}

// intersect returns the ranges in both a and b (sorted lo, hi pairs).
func intersect(a, b []rune) []rune {
	var out []rune
	for i, j := 0, 0; i < len(a) && j < len(b); {
		lo, hi := max(a[i], b[j]), min(a[i+1], b[j+1])
		if lo <= hi {
			out = append(out, lo, hi)
		}
		if a[i+1] < b[j+1] {
			i += 2
		} else {
			j += 2
		}
	}
	return out
}

// subtract returns the ranges of a that are not in b (sorted lo, hi pairs).
func subtract(a, b []rune) []rune {
	// a \ b = a ∩ complement(b).
	var comp []rune
	next := rune(0)
	for i := 0; i < len(b); i += 2 {
		if b[i] > next {
			comp = append(comp, next, b[i]-1)
		}
		next = b[i+1] + 1
	}
	if next <= utf8.MaxRune {
		comp = append(comp, next, utf8.MaxRune)
	}
	return intersect(a, comp)
}

// rangesClass writes rune ranges as a Go class; an empty set never matches.
func rangesClass(set []rune) string {
	if len(set) == 0 {
		return neverMatch
	}
	var b strings.Builder
	b.WriteByte('[')
	for i := 0; i < len(set); i += 2 {
		if set[i] == set[i+1] {
			fmt.Fprintf(&b, `\x{%x}`, set[i])
		} else {
			fmt.Fprintf(&b, `\x{%x}-\x{%x}`, set[i], set[i+1])
		}
	}
	b.WriteByte(']')
	return b.String()
}
