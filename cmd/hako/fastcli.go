package main

import (
	"reflect"
	"strconv"
	"strings"

	"github.com/alecthomas/kong"
)

// runner is what every command struct implements.
type runner interface{ Run(g *Globals) error }

// fastParse parses the plain command lines container managers issue on
// every container operation (`--root R --log F create --bundle B ID`,
// `start ID`, `kill ID 9`, `delete --force ID`, `exec --process F ID`, ...)
// into cli and returns the command to run. It reads the same struct tags as
// kong but only those of the globals and of the one command named, where
// kong.New builds and interpolates the model of the whole command line
// first: about 2 ms of reflection and regexp work on every invocation,
// a tenth of a `run`.
//
// It returns nil, leaving cli for kong, for anything it does not fully
// understand: help, --version, an unknown or misspelt flag, a missing or
// extra argument, `--`, combined short flags, a tag it does not know, a
// value kong would reject. kong then parses the line from scratch and
// reports errors with its usual messages, so the fast path can only ever
// accept what kong accepts (TestFastParseAgreesWithKong checks the two
// give the same result).
func fastParse(cli *CLI, args []string) runner {
	root := reflect.ValueOf(cli).Elem()
	globals := root.FieldByName("Globals")
	if !setDefaults(globals) {
		return nil
	}
	// Global flags come before the command, as runc's clients write them.
	i := 0
	for ; i < len(args) && strings.HasPrefix(args[i], "-"); i++ {
		n, ok := parseFlag(globals, args, i)
		if !ok {
			return nil
		}
		i += n
	}
	if i == len(args) {
		return nil
	}
	cmd, ok := commandField(root, args[i])
	if !ok {
		return nil
	}
	if !setDefaults(cmd) {
		return nil
	}
	positional, ok := positionalFields(cmd)
	if !ok {
		return nil
	}
	next := 0 // index into positional
	for i++; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") && a != "-" {
			n, ok := parseFlag(cmd, args, i)
			if !ok {
				return nil
			}
			i += n
			continue
		}
		if next == len(positional) {
			return nil // one argument too many
		}
		f := positional[next]
		if f.passthrough {
			// The rest of the line is the process's argv; kong takes it
			// verbatim too once the argument starts.
			rest := args[i:]
			f.v.Set(reflect.ValueOf(append([]string(nil), rest...)))
			next++
			i = len(args)
			break
		}
		if !setValue(f.v, f.field, a) {
			return nil
		}
		next++
	}
	for ; next < len(positional); next++ {
		if !positional[next].optional {
			return nil // kong reports the missing argument
		}
	}
	r, ok := cmd.Addr().Interface().(runner)
	if !ok {
		return nil
	}
	return r
}

// commandField finds the command struct the word names among the fields of
// CLI tagged cmd.
func commandField(root reflect.Value, word string) (reflect.Value, bool) {
	t := root.Type()
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if _, ok := sf.Tag.Lookup("cmd"); !ok {
			continue
		}
		name := sf.Tag.Get("name")
		if name == "" {
			name = flagName(sf.Name)
		}
		if name == word {
			return root.Field(i), true
		}
	}
	return reflect.Value{}, false
}

// knownTags are the struct tags fastParse understands; a field with any
// other tag sends the line to kong.
var knownTags = map[string]bool{
	"arg": true, "optional": true, "passthrough": true, "short": true, "name": true,
	"help": true, "placeholder": true, "default": true, "enum": true, "sep": true,
	"hidden": true, "cmd": true,
}

// fields calls fn for each flag or argument field of the struct v,
// descending into embedded structs as kong does. It stops at fn's false.
func fields(v reflect.Value, fn func(sf reflect.StructField, fv reflect.Value) bool) bool {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() {
			if sf.Anonymous && sf.Type.Kind() == reflect.Struct {
				if !fields(v.Field(i), fn) {
					return false
				}
			}
			continue
		}
		if sf.Anonymous && sf.Type.Kind() == reflect.Struct {
			if !fields(v.Field(i), fn) {
				return false
			}
			continue
		}
		if !fn(sf, v.Field(i)) {
			return false
		}
	}
	return true
}

// tagsKnown says whether every key of a kong tag is one fastParse handles.
func tagsKnown(tag reflect.StructTag) bool {
	s := string(tag)
	for s != "" {
		s = strings.TrimLeft(s, " ")
		j := strings.Index(s, ":")
		if j <= 0 || j+1 >= len(s) || s[j+1] != '"' {
			return false
		}
		if !knownTags[s[:j]] {
			return false
		}
		rest := s[j+2:]
		k := 0
		for k < len(rest) && rest[k] != '"' {
			if rest[k] == '\\' {
				k++
			}
			k++
		}
		if k >= len(rest) {
			return false
		}
		s = rest[k+1:]
	}
	return true
}

// setDefaults applies the default tags of v's fields, as kong does before
// parsing, and checks every field is of a kind fastParse handles.
func setDefaults(v reflect.Value) bool {
	return fields(v, func(sf reflect.StructField, fv reflect.Value) bool {
		if _, cmd := sf.Tag.Lookup("cmd"); cmd {
			return true // a subcommand: looked at only when named
		}
		if !tagsKnown(sf.Tag) || !supported(sf, fv) {
			return false
		}
		if d, ok := sf.Tag.Lookup("default"); ok {
			return setValue(fv, sf, d)
		}
		return true
	})
}

// supported says whether fastParse can set a field of this type.
func supported(sf reflect.StructField, fv reflect.Value) bool {
	switch fv.Type() {
	case reflect.TypeOf(rootlessMode("")):
		return true
	case reflect.TypeOf(kong.VersionFlag(false)):
		// Never set here: --version goes to kong.
		_, hasDefault := sf.Tag.Lookup("default")
		return !hasDefault
	}
	switch fv.Kind() {
	case reflect.String, reflect.Bool, reflect.Int:
		return fv.Type().PkgPath() == "" // no named types: they may carry a kong mapper
	case reflect.Slice:
		return fv.Type() == reflect.TypeOf([]string(nil))
	}
	return false
}

type positional struct {
	v           reflect.Value
	field       reflect.StructField
	optional    bool
	passthrough bool
}

// positionalFields lists the arg fields of a command in order.
func positionalFields(cmd reflect.Value) ([]positional, bool) {
	var out []positional
	ok := fields(cmd, func(sf reflect.StructField, fv reflect.Value) bool {
		if _, isArg := sf.Tag.Lookup("arg"); !isArg {
			return true
		}
		_, opt := sf.Tag.Lookup("optional")
		_, pass := sf.Tag.Lookup("passthrough")
		if pass && fv.Type() != reflect.TypeOf([]string(nil)) {
			return false
		}
		if !pass && fv.Kind() == reflect.Slice {
			return false // a variadic argument: kong's rules
		}
		out = append(out, positional{v: fv, field: sf, optional: opt || sf.Tag.Get("default") != "", passthrough: pass})
		return true
	})
	return out, ok
}

// parseFlag parses the flag at args[i] into a field of v. It returns how
// many extra words it consumed (a separate value) and false when kong
// should parse the line instead.
func parseFlag(v reflect.Value, args []string, i int) (int, bool) {
	a := args[i]
	var name, value string
	hasValue, short := false, false
	switch {
	case a == "--":
		return 0, false
	case strings.HasPrefix(a, "--"):
		name = a[2:]
		if j := strings.IndexByte(name, '='); j >= 0 {
			name, value, hasValue = name[:j], name[j+1:], true
		}
	case len(a) == 2:
		name, short = a[1:], true
	default:
		return 0, false // -abc, -9: kong's business
	}
	if name == "help" || name == "version" || (short && (name == "h" || name == "v")) {
		return 0, false
	}
	var field reflect.StructField
	var fv reflect.Value
	found := false
	fields(v, func(sf reflect.StructField, f reflect.Value) bool {
		if _, isArg := sf.Tag.Lookup("arg"); isArg {
			return true
		}
		if _, cmd := sf.Tag.Lookup("cmd"); cmd {
			return true
		}
		n := sf.Tag.Get("name")
		if n == "" {
			n = flagName(sf.Name)
		}
		if (!short && n == name) || (short && sf.Tag.Get("short") == name) {
			field, fv, found = sf, f, true
			return false
		}
		return true
	})
	if !found {
		return 0, false
	}
	isBool := fv.Kind() == reflect.Bool
	if fv.Type() == reflect.TypeOf(rootlessMode("")) {
		// runc's --rootless always has a value; the bare form (spec
		// --rootless) is kong's.
		isBool = false
	}
	if isBool {
		if hasValue {
			return 0, false
		}
		fv.SetBool(true)
		return 0, true
	}
	used := 0
	if !hasValue {
		if i+1 >= len(args) {
			return 0, false
		}
		value = args[i+1]
		if strings.HasPrefix(value, "-") && value != "-" {
			return 0, false // kong may read this as the next flag
		}
		used = 1
	}
	if fv.Kind() == reflect.Slice {
		sep := ","
		if s, ok := field.Tag.Lookup("sep"); ok {
			sep = s
		}
		items := []string{value}
		if sep != "none" {
			items = strings.Split(value, sep)
		}
		fv.Set(reflect.AppendSlice(fv, reflect.ValueOf(items)))
		return used, true
	}
	if !setValue(fv, field, value) {
		return 0, false
	}
	return used, true
}

// setValue sets a scalar field from its text, within its enum if it has
// one.
func setValue(fv reflect.Value, sf reflect.StructField, s string) bool {
	if enum, ok := sf.Tag.Lookup("enum"); ok {
		in := false
		for _, e := range strings.Split(enum, ",") {
			if strings.TrimSpace(e) == s {
				in = true
			}
		}
		if !in {
			return false
		}
	}
	if fv.Type() == reflect.TypeOf(rootlessMode("")) {
		switch s {
		case "auto", "true", "false":
			fv.SetString(s)
			return true
		}
		return false
	}
	switch fv.Kind() {
	case reflect.String:
		fv.SetString(s)
	case reflect.Int:
		n, err := strconv.ParseInt(s, 0, 64)
		if err != nil {
			return false
		}
		fv.SetInt(n)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return false
		}
		fv.SetBool(b)
	case reflect.Slice:
		if s == "" {
			return true
		}
		fv.Set(reflect.ValueOf(strings.Split(s, ",")))
	default:
		return false
	}
	return true
}

// flagName is kong's default name of a field: PidFile -> pid-file,
// NoNewKeyring -> no-new-keyring, CPUShare -> cpu-share.
func flagName(field string) string {
	var b strings.Builder
	runes := []rune(field)
	for i, r := range runes {
		upper := r >= 'A' && r <= 'Z'
		if upper && i > 0 {
			prevLower := runes[i-1] >= 'a' && runes[i-1] <= 'z' || runes[i-1] >= '0' && runes[i-1] <= '9'
			nextLower := i+1 < len(runes) && runes[i+1] >= 'a' && runes[i+1] <= 'z'
			prevUpper := runes[i-1] >= 'A' && runes[i-1] <= 'Z'
			if prevLower || (prevUpper && nextLower) {
				b.WriteByte('-')
			}
		}
		if upper {
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
