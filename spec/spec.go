// Package spec loads, validates and generates OCI runtime configurations.
// It is pure: it reads files but makes no other system calls, so all of it
// is unit-tested without privileges.
package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ConfigName is the name of the configuration file inside a bundle.
const ConfigName = "config.json"

// Load reads and decodes <bundle>/config.json. It does not validate the
// result (see Validate). Unknown fields are ignored so that configurations
// written for newer runtime-spec versions still load.
//
// Errors name the file and, for decoding errors, the line and column and
// the JSON field path at fault, for example
//
//	bundle/config.json:4:14: process.user.uid: cannot unmarshal string into a number
func Load(bundle string) (*specs.Spec, error) {
	s, _, err := LoadRaw(bundle)
	return s, err
}

// LoadRaw is Load that also returns the bytes it decoded, for a caller
// that keeps a copy of the config.
func LoadRaw(bundle string) (*specs.Spec, []byte, error) {
	path := filepath.Join(bundle, ConfigName)
	data, err := os.ReadFile(path)
	if err != nil {
		// The *PathError repeats the path; keep only its cause, which
		// still matches errors.Is(err, fs.ErrNotExist).
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, nil, fmt.Errorf("open %s in bundle %s: %w", ConfigName, bundle, err)
	}
	s := new(specs.Spec)
	if err := json.Unmarshal(data, s); err != nil {
		return nil, nil, decodeError(path, data, err)
	}
	return s, data, nil
}

// decodeError turns an encoding/json error into one line naming the file,
// the position and, where known, the field path.
func decodeError(path string, data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		// Offset counts the bytes read including the offending one; the
		// json/v2 engine (GOEXPERIMENT=jsonv2) stops before the white
		// space ahead of it instead: point at the character itself.
		off := syn.Offset - 1
		for off >= 0 && off+1 < int64(len(data)) && isSpace(data[off]) {
			off++
		}
		line, col := position(data, off)
		return fmt.Errorf("%s:%d:%d: %w", path, line, col, err)
	case errors.As(err, &typ):
		field, start := locate(data, typ.Offset)
		if field == "" {
			field = typ.Field
		}
		if field == "" {
			field = "(top level)"
		}
		if start < 0 {
			start = typ.Offset - 1
		}
		line, col := position(data, start)
		return fmt.Errorf("%s:%d:%d: %s: %s", path, line, col, field, typeMismatch(typ))
	default:
		return fmt.Errorf("%s: %w", path, err)
	}
}

// typeMismatch describes a JSON value that does not fit its Go field in
// JSON terms rather than Go ones.
func typeMismatch(e *json.UnmarshalTypeError) string {
	want := jsonKind(e.Type)
	if lit, ok := strings.CutPrefix(e.Value, "number "); ok && want == "a number" {
		return fmt.Sprintf("number %s is out of range for %s", lit, e.Type)
	}
	return fmt.Sprintf("cannot unmarshal %s into %s", e.Value, want)
}

func jsonKind(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return jsonKind(t.Elem())
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return t.String()
}

// position converts a byte offset into a 1-based line and column.
func position(data []byte, off int64) (line, col int) {
	if off < 0 {
		off = 0
	}
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	before := data[:off]
	line = 1 + bytes.Count(before, []byte{'\n'})
	col = int(off) - bytes.LastIndexByte(before, '\n')
	return line, col
}

// frame is one open object or array while locate walks a document.
type frame struct {
	array    bool
	index    int    // arrays: element being read
	key      string // objects: member being read
	wantsKey bool   // objects: next token is a key (or '}')
}

// locate walks the (syntactically valid) document up to offset and returns
// the path of the value whose first token ends at or after offset, with
// array indices and map keys that json.UnmarshalTypeError.Field lacks
// ("linux.namespaces[2].type"), and the byte offset where that value
// starts. It returns "", -1 if it cannot tell. It is only used on the error
// path, so its cost does not matter.
func locate(data []byte, offset int64) (string, int64) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var stack []frame
	for {
		before := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return "", -1
		}
		top := len(stack) - 1
		if top >= 0 && !stack[top].array && stack[top].wantsKey {
			if k, ok := tok.(string); ok {
				stack[top].key = k
				stack[top].wantsKey = false
				continue
			}
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:top]
			advance(stack)
			continue
		}
		if dec.InputOffset() >= offset {
			return fieldPath(stack), valueStart(data, before)
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{wantsKey: true})
		case json.Delim('['):
			stack = append(stack, frame{array: true})
		default:
			advance(stack)
		}
	}
}

// advance moves the innermost open container past a completed value.
func advance(stack []frame) {
	if len(stack) == 0 {
		return
	}
	f := &stack[len(stack)-1]
	if f.array {
		f.index++
	} else {
		f.wantsKey = true
	}
}

func fieldPath(stack []frame) string {
	var b strings.Builder
	for _, f := range stack {
		switch {
		case f.array:
			b.WriteString("[" + strconv.Itoa(f.index) + "]")
		case plainKey(f.key):
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(f.key)
		default:
			b.WriteString("[" + strconv.Quote(f.key) + "]")
		}
	}
	return b.String()
}

// plainKey reports whether a key can be written after a dot in a field
// path; others (sysctl names, annotation keys) are written as ["key"].
func plainKey(k string) bool {
	if k == "" {
		return false
	}
	for _, c := range k {
		if !(c == '_' || c == '-' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// valueStart skips the separators between the previous token and a value.
func valueStart(data []byte, off int64) int64 {
	for off < int64(len(data)) && strings.IndexByte(" \t\r\n:,", data[off]) >= 0 {
		off++
	}
	return off
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
